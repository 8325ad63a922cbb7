"""Constrained decoding (``--predict-mode constrained``, issue 12): greedy decoding restricted to
token sequences that spell valid answers, so every answer parses.

The answer is built from *slots*; each slot is filled with one option's token ids, chosen token by
token by the model among the options still possible (a prefix trie walked incrementally):

* TKR/CDR: slot k (k = 1..n) is the line ``"k. <title>\\n"`` for a candidate not used in an
  earlier slot; the last line ends with the end-of-turn token instead of the newline. One title
  at a time, no repeats, every candidate once: always a complete ranking.
* NIR: one slot, ``"<title>"`` + end-of-turn.
* RP: one slot, a value of the rating scale (as likelihood mode lists them) + end-of-turn.

Each option is tokenised on its own (like likelihood mode's options) and its ids are appended to
what came before. The restriction is applied through ``generate``'s ``prefix_allowed_tokens_fn``
(a ``PrefixConstrainedLogitsProcessor``) so batching, left padding and the KV cache are the usual
ones; the token budget is the length of the longest valid answer, not ``--max-new-tokens``.
UAP/IR/TUI have no closed answer set and are generated as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .prompts import encode
from .scoring import ScoringOptions, format_rating, rating_options, record_from_text
from .tasks import Task


class SlotState:
    """The walk of one answer through its slots; ``feed`` one generated token, ``allowed`` the next ones."""

    def __init__(self, slots: Sequence[Callable[[set[int]], dict[int, list[int]]]], stop_id: int) -> None:
        # slots[k](used) -> {option index: token ids} for the options available in slot k
        self.slots = slots
        self.stop_id = stop_id
        self.used: set[int] = set()
        self.k = 0
        self.pos = 0
        self.alive: dict[int, list[int]] = slots[0](self.used) if slots else {}

    @property
    def done(self) -> bool:
        return self.k >= len(self.slots)

    def allowed(self) -> list[int]:
        if self.done:
            return [self.stop_id]
        nxt = sorted({ids[self.pos] for ids in self.alive.values()})
        return nxt or [self.stop_id]

    def feed(self, token: int) -> None:
        if self.done:
            return
        self.alive = {o: ids for o, ids in self.alive.items() if ids[self.pos] == token}
        self.pos += 1
        finished = [o for o, ids in self.alive.items() if len(ids) == self.pos]
        if finished:
            self.used.add(finished[0])
            self.k += 1
            self.pos = 0
            self.alive = self.slots[self.k](self.used) if not self.done else {}


def answer_slots(task: Task, row: Mapping[str, Any], tokenizer: Any, stop_id: int):
    """The slots of one row's answer (see the module docstring) and the longest answer in tokens."""
    def ids(text: str, last: bool) -> list[int]:
        return encode(tokenizer, text, False) + ([stop_id] if last else [])

    if task.answer == "ranking":
        cands = list(row["candidates"])
        n = len(cands)
        table = [[ids(f"{k + 1}. {c}" + ("" if k == n - 1 else "\n"), k == n - 1) for c in cands] for k in range(n)]

        def slot(k: int):
            return lambda used: {o: table[k][o] for o in range(n) if o not in used}

        return [slot(k) for k in range(n)], sum(max(len(x) for x in line) for line in table) + 1
    if task.answer == "rating":
        options = [format_rating(v) for v in rating_options(float(row["rating_min"]), float(row["rating_max"]))]
    else:
        options = list(row["candidates"])
    table1 = [ids(o, True) for o in options]
    return [lambda used: dict(enumerate(table1))], max(len(x) for x in table1) + 1


def predict_constrained(task: Task, rows: Sequence[Mapping[str, Any]], predictor: Any, *, batch_size: int,
                        opts: ScoringOptions, on_records: Callable[[list[dict[str, Any]]], None],
                        progress: bool = True,
                        finish: Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]] = lambda row, rec: rec,
                        ) -> None:
    """Constrained greedy answers for ``rows``; records are parsed from the decoded text like generated ones.

    Decoding uses the same explicit greedy settings as ``generate`` (``--gen-kwargs`` included), so a
    constrained answer differs from a free one only by the masked tokens. ``finish`` completes each
    record (target, fingerprint) as ``predict_rows`` does for generated ones."""
    import torch
    from tqdm.auto import tqdm

    from .fingerprint import sha256_text
    from .generation import generation_config, no_inherited_generation_config

    tok = predictor.tokenizer
    stop_id = predictor.stop_ids[-1]
    bar = tqdm(total=len(rows), desc=f"{task.abbr} constrained", disable=not progress)
    encoded = sorted(((row, *predictor.prompt_ids(row)) for row in rows), key=lambda x: -len(x[2]))
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start:start + batch_size]
        states, budget = [], 1
        for row, _, _ in chunk:
            slots, longest = answer_slots(task, row, tok, stop_id)
            states.append(SlotState(slots, stop_id))
            budget = max(budget, longest)
        ids, mask = predictor._left_pad([p for _, _, p in chunk])
        width = ids.shape[1]
        seen = [0] * len(chunk)

        def allowed(batch_id: int, sent, states=states, width=width, seen=seen) -> list[int]:
            st = states[batch_id]
            gen = sent[width:].tolist()
            for t in gen[seen[batch_id]:]:
                st.feed(int(t))
            seen[batch_id] = len(gen)
            return st.allowed()

        gc = generation_config(budget, predictor.pad_id, [stop_id], getattr(predictor, "gen_kwargs", None))
        with torch.inference_mode(), no_inherited_generation_config(predictor.model):
            out = predictor.model.generate(input_ids=ids, attention_mask=mask, generation_config=gc,
                                           prefix_allowed_tokens_fn=allowed)
        texts = [tok.decode(seq, skip_special_tokens=True).strip() for seq in out[:, width:]]
        records = []
        for (row, prompt, _), text in zip(chunk, texts):
            rec = record_from_text(task, row, text, opts)
            rec["mode"] = "constrained"
            rec["cut_off"] = False
            rec["prompt_hash"] = sha256_text(prompt)
            records.append(finish(row, rec))
        on_records(records)
        bar.update(len(chunk))
    bar.close()
