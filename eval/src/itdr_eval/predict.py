"""Prediction: batched greedy generation, or log-likelihood scoring of closed-set options.

Generation left-pads a batch of prompts (sorted by length) and decodes greedily with a per-task
``max_new_tokens``. Likelihood mode runs the prompt of a row once, keeps its KV cache, and then
runs only the option tokens of all options as one right-padded batch against that cache (repeated
per option): the prompt is usually 10-100x longer than an option, so this is what keeps scoring
10 RP options or 20 TKR candidates cheap (issue 13). ``kv_reuse=False`` is the previous single
batched pass over left-padded ``prompt + option`` sequences, kept as the reference (same scores to
float rounding) and for models whose forward returns no cache.

Options per subtask: RP - each value of the rating scale, NIR - each candidate title (both as the
full trained response, end-of-turn included); TKR/CDR - each candidate as the complete first
line ``"1. <title>\n"`` (newline included, so a title that is a prefix of another gets no free
advantage), candidates ranked by that score (ties keep the prompt order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .fingerprint import sha256_text
from .metrics import ranking_from_scores
from .prompts import PromptFormat, encode, end_of_turn_ids, prompt_text, response_text
from .scoring import (
    ScoringOptions,
    format_rating,
    make_record,
    rating_options,
    record_from_text,
)
from .tasks import Task


@dataclass
class Predictor:
    model: Any
    tokenizer: Any
    fmt: PromptFormat
    device: Any
    max_length: int = 8192
    likelihood_norm: str = "mean"
    gen_kwargs: Mapping[str, Any] | None = None  # --gen-kwargs overrides of generation.GREEDY
    # RP likelihood options: per (rating_min, rating_max) the exact answer string of each scale value,
    # as the dataset writes it (see scoring.rating_option_strings); None = formatted with format_rating
    rating_strings: Mapping[tuple[float, float], Mapping[float, str]] | None = None
    kv_reuse: bool = True  # likelihood: one prompt pass, then only the option tokens on its KV cache

    def __post_init__(self) -> None:
        tok = self.tokenizer
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        self.stop_ids = end_of_turn_ids(tok, self.fmt)
        self.last_cut: list[bool] = []  # per sequence of the last generate call: budget exhausted

    # ------------------------------------------------------------------ helpers
    def prompt_ids(self, row: Mapping[str, Any]) -> tuple[str, list[int]]:
        prompt = prompt_text(self.tokenizer, row, self.fmt)
        ids = encode(self.tokenizer, prompt, self.fmt.add_special_tokens())
        return prompt, ids[-self.max_length:]

    def _left_pad(self, seqs: Sequence[Sequence[int]]):
        import torch

        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            if s:
                ids[i, width - len(s):] = torch.tensor(list(s), dtype=torch.long)
                mask[i, width - len(s):] = 1
        return ids.to(self.device), mask.to(self.device)

    # ------------------------------------------------------------------ generate
    def generate(self, prompts: Sequence[Sequence[int]], max_new_tokens: int) -> list[str]:
        import torch

        from .generation import generation_config, no_inherited_generation_config

        ids, mask = self._left_pad(prompts)
        gc = generation_config(max_new_tokens, self.pad_id, self.stop_ids, self.gen_kwargs)
        with torch.inference_mode(), no_inherited_generation_config(self.model):
            out = self.model.generate(input_ids=ids, attention_mask=mask, generation_config=gc)
        new = out[:, ids.shape[1]:]
        stops = set(self.stop_ids)
        # an answer is cut off when it used the whole budget without producing a stop token
        self.last_cut = [len(seq) >= max_new_tokens and not any(int(t) in stops for t in seq) for seq in new]
        return [self.tokenizer.decode(seq, skip_special_tokens=True).strip() for seq in new]

    # ------------------------------------------------------------------ likelihood
    def option_scores(self, prompt_ids: Sequence[int], completions: Sequence[str]) -> list[float]:
        """Log-likelihood of each completion after the prompt (sum or mean over its tokens)."""
        comp_ids = [encode(self.tokenizer, c, False) or [self.pad_id] for c in completions]
        token_lps = None
        if self.kv_reuse and len(prompt_ids) > 0:
            token_lps = self._option_logprobs_cached(prompt_ids, comp_ids)
        if token_lps is None:
            token_lps = self._option_logprobs_full(prompt_ids, comp_ids)
        scores: list[float] = []
        for lp in token_lps:
            total = float(lp.sum())
            scores.append(total / len(lp) if self.likelihood_norm == "mean" else total)
        return scores

    def _option_logprobs_full(self, prompt_ids: Sequence[int], comp_ids: Sequence[Sequence[int]]) -> list:
        """Per-token log-probabilities of each option from one left-padded pass over ``prompt + option``."""
        import torch

        width = max(len(c) for c in comp_ids)
        ids, mask = self._left_pad([list(prompt_ids) + list(c) for c in comp_ids])
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = self.model(input_ids=ids, attention_mask=mask, position_ids=position_ids,
                                logits_to_keep=width + 1, use_cache=False).logits
        logp = torch.log_softmax(logits[:, -(width + 1):-1].float(), dim=-1)
        out = []
        for i, c in enumerate(comp_ids):
            target = torch.tensor(list(c), device=logp.device)
            out.append(logp[i, width - len(c):, :].gather(-1, target[:, None]).squeeze(-1))
        return out

    def _cache_kwarg(self) -> str:
        """transformers 5.25 renamed ``past_key_values`` to ``cache`` (the old name warns); 5.17 knows only the old."""
        import inspect

        base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"

    def _option_logprobs_cached(self, prompt_ids: Sequence[int], comp_ids: Sequence[Sequence[int]]) -> list | None:
        """Per-token log-probabilities of each option: the prompt once, then the options on its cache.

        The first token of every option is scored by the prompt pass's last logits; tokens 2..n by
        one batched pass over the options' tokens 1..n-1 (right-padded: padding comes after every
        real token, so causal attention never lets a real token see it), with the prompt's cache
        repeated once per option. Returns None when the model gives back no cache.
        """
        import torch

        p_len = len(prompt_ids)
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([list(prompt_ids)], device=self.device),
                             use_cache=True, logits_to_keep=1)
            first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
            rest_width = max(len(c) for c in comp_ids) - 1
            rest = None
            if rest_width > 0:
                if cache is None or not hasattr(cache, "batch_repeat_interleave"):
                    return None
                n = len(comp_ids)
                cache.batch_repeat_interleave(n)
                ids = torch.full((n, rest_width), self.pad_id, dtype=torch.long)
                mask = torch.zeros((n, p_len + rest_width), dtype=torch.long)
                mask[:, :p_len] = 1
                for i, c in enumerate(comp_ids):
                    if len(c) > 1:
                        ids[i, :len(c) - 1] = torch.tensor(list(c[:-1]), dtype=torch.long)
                        mask[i, p_len:p_len + len(c) - 1] = 1
                position_ids = torch.arange(p_len, p_len + rest_width, dtype=torch.long).expand(n, -1)
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                    position_ids=position_ids.to(self.device), use_cache=True,
                                    **{self._cache_kwarg(): cache}).logits
                rest = torch.log_softmax(logits.float(), dim=-1)
        lps = []
        for i, c in enumerate(comp_ids):
            lp = first[c[0]].reshape(1)
            if len(c) > 1:
                target = torch.tensor(list(c[1:]), device=rest.device)
                lp = torch.cat([lp, rest[i, :len(c) - 1].gather(-1, target[:, None]).squeeze(-1)])
            lps.append(lp)
        return lps

    def likelihood_record(self, task: Task, row: Mapping[str, Any], opts: ScoringOptions) -> dict[str, Any]:
        prompt, p_ids = self.prompt_ids(row)
        if task.answer == "rating":
            lo, hi = float(row["rating_min"]), float(row["rating_max"])
            values = rating_options(lo, hi)
            strings = (self.rating_strings or {}).get((lo, hi))
            options = [strings[v] if strings else format_rating(v) for v in values]
        else:
            options = list(row["candidates"])
        if task.answer == "ranking":
            # each title as a complete first line, terminator included: without "\n" a title that is a
            # prefix of another always scores at least as high under --likelihood-norm sum (issue 12)
            completions = [f"1. {o}\n" for o in options]
        else:
            completions = [response_text(self.tokenizer, row, self.fmt, o, prompt) for o in options]
        scores = self.option_scores(p_ids, completions)
        raw = {"options": options, "scores": scores}
        if task.answer == "ranking":
            parsed: Any = ranking_from_scores(options, scores)
        else:
            best = max(range(len(options)), key=lambda i: (scores[i], -i))
            parsed = values[best] if task.answer == "rating" else options[best]
        rec = make_record(task, row, mode="likelihood", raw=raw, parsed=parsed, ok=True, opts=opts)
        rec["prompt_hash"] = sha256_text(prompt)
        return rec


def predict_rows(task: Task, rows: Sequence[Mapping[str, Any]], predictor: Predictor, *, mode: str,
                 batch_size: int, max_new_tokens: int, opts: ScoringOptions,
                 on_records: Callable[[list[dict[str, Any]]], None], progress: bool = True,
                 auto_batch: bool = False, extra: Mapping[str, Any] | None = None) -> int:
    """Predict and score ``rows``; ``on_records`` receives each finished batch of records.

    Every record also carries the prompt's SHA-256 (``prompt_hash``; the prompt is rebuilt from the
    row id, the dataset and the recorded prompt format), the ``target`` and ``extra`` (e.g. the
    prediction fingerprint). With ``auto_batch`` a batch that runs out of accelerator memory is
    halved and retried. Returns the batch size finally used.
    """
    from tqdm.auto import tqdm

    from .errors import is_oom

    use_likelihood = mode == "likelihood" and task.closed_set

    def finish(row: Mapping[str, Any], rec: dict[str, Any]) -> dict[str, Any]:
        rec["target"] = row.get("output")
        rec.update(dict(extra or {}))
        return rec

    if mode == "constrained" and task.closed_set and hasattr(predictor, "constrained_text"):  # a served model
        for row in rows:
            rec = record_from_text(task, row, predictor.constrained_text(task, row), opts)
            rec.update(mode="constrained", cut_off=False, prompt_hash=sha256_text(predictor.prompt_ids(row)[0]))
            on_records([finish(row, rec)])
        return batch_size
    if mode == "constrained" and task.closed_set:  # greedy decoding restricted to valid answers
        from .constrained import predict_constrained

        predict_constrained(task, rows, predictor, batch_size=batch_size, opts=opts,
                            on_records=on_records, progress=progress, finish=finish)
        return batch_size
    bar = tqdm(total=len(rows), desc=f"{task.abbr} {'likelihood' if use_likelihood else 'generate'}",
               disable=not progress)
    if use_likelihood:
        for row in rows:
            on_records([finish(row, predictor.likelihood_record(task, row, opts))])
            bar.update(1)
        bar.close()
        return batch_size
    encoded = [(row, *predictor.prompt_ids(row)) for row in rows]
    encoded.sort(key=lambda x: -len(x[2]))  # similar lengths per batch, longest first (fail fast on OOM)
    start = 0
    while start < len(encoded):
        chunk = encoded[start:start + batch_size]
        try:
            texts = predictor.generate([ids for _, _, ids in chunk], max_new_tokens)
        except Exception as exc:
            if not (auto_batch and is_oom(exc) and batch_size > 1):
                raise
            _free_accelerator_memory()
            batch_size = max(1, batch_size // 2)
            continue
        records = []
        for (row, prompt, _), text, cut in zip(chunk, texts, predictor.last_cut):
            rec = record_from_text(task, row, text, opts)
            rec["prompt_hash"] = sha256_text(prompt)
            rec["cut_off"] = bool(cut)
            records.append(finish(row, rec))
        on_records(records)
        bar.update(len(chunk))
        start += len(chunk)
    bar.close()
    return batch_size


def _free_accelerator_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
