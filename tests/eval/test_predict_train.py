"""Prompt formats, the SFT collator/masking, and the predictor's batching (left padding) and
likelihood scoring against unbatched reference computations on a tiny random model."""

import pytest
import torch
from itdr_eval.modeling import load_model
from itdr_eval.predict import Predictor
from itdr_eval.prompts import (
    PromptFormat,
    encode,
    prompt_text,
    resolve_format,
    response_text,
)
from itdr_eval.train import IGNORE_INDEX, SFTCollator, infer_seqlen, tokenize_example
from itdr_eval_testutils import make_rows


@pytest.fixture(scope="module")
def loaded(tiny_model):
    return load_model(tiny_model, dtype=torch.float32)


def test_alpaca_format(tiny_model_no_template):
    tok = load_model(tiny_model_no_template, dtype=torch.float32).tokenizer
    fmt = resolve_format(tok, "auto")
    assert fmt.kind == "alpaca"
    row = make_rows("next_item_recommendation", "test")[0]
    # LLaMA-Factory's Alpaca converter joins instruction and input with one newline
    assert prompt_text(tok, row, fmt) == f"{row['instruction']}\n{row['input']}\n\n"
    assert prompt_text(tok, {**row, "instruction": ""}, fmt) == f"{row['input']}\n\n"
    assert response_text(tok, row, fmt, "X") == "X" + tok.eos_token
    with pytest.raises(ValueError):
        resolve_format(tok, "chat")
    sys_fmt = resolve_format(tok, "auto", system="Be brief.")
    assert prompt_text(tok, row, sys_fmt) == f"Be brief.\n\n{row['instruction']}\n{row['input']}\n\n"


def test_chat_format_response_is_assistant_turn(loaded):
    tok = loaded.tokenizer
    fmt = resolve_format(tok, "auto")
    row = make_rows("rating_prediction", "test")[0]
    prompt = prompt_text(tok, row, fmt)
    assert prompt.startswith("<|im_start|>user\n" + row["messages"][0]["content"]) and prompt.endswith("<|im_start|>assistant\n")
    assert response_text(tok, row, fmt, "4.5", prompt) == "4.5<|im_end|>\n"
    sys_fmt = resolve_format(tok, "auto", system="Be brief.")
    sys_prompt = prompt_text(tok, row, sys_fmt)
    assert sys_prompt.startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n")
    assert response_text(tok, row, sys_fmt, "4.5", sys_prompt) == "4.5<|im_end|>\n"


def test_tokenize_example_masks_prompt_and_truncates(loaded):
    tok = loaded.tokenizer
    fmt = PromptFormat("chat")
    row = make_rows("top_k_recommendation", "train")[0]
    ex = tokenize_example(tok, row, fmt, 4096)
    p_len = len(encode(tok, prompt_text(tok, row, fmt), False))
    assert ex["labels"][:p_len] == [IGNORE_INDEX] * p_len
    assert ex["labels"][p_len:] == ex["input_ids"][p_len:] and len(ex["labels"]) > p_len
    short = tokenize_example(tok, row, fmt, 40)
    assert len(short["input_ids"]) == 40
    r_len = len(ex["input_ids"]) - p_len
    _, kept_r = infer_seqlen(p_len, r_len, 40)
    assert sum(t != IGNORE_INDEX for t in short["labels"]) == kept_r


def test_truncation_is_llama_factorys_infer_seqlen():
    """LLaMA-Factory's cases; the old rule kept 25 response tokens in the third, LLaMA-Factory 40."""
    assert infer_seqlen(150, 20, 100) == (80, 20)  # short response: cut the prompt
    assert infer_seqlen(20, 150, 100) == (20, 80)  # short prompt: cut the response
    assert infer_seqlen(90, 60, 100) == (60, 40)  # both long: in proportion (100 * 60 / 150 = 40)
    assert infer_seqlen(60, 90, 100) == (40, 60)


def test_collator_right_pads_with_ignored_labels():
    batch = SFTCollator(pad_token_id=0)([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [5], "labels": [5]}])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [5, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [5, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def _reference_logprob(model, prompt_ids, comp_ids):
    ids = torch.tensor([prompt_ids + comp_ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
    n = len(prompt_ids)
    return sum(float(logp[n - 1 + j, t]) for j, t in enumerate(comp_ids))


@pytest.mark.parametrize("norm", ["sum", "mean"])
def test_likelihood_scores_match_unbatched_forward(loaded, norm):
    pred = Predictor(loaded.model.eval(), loaded.tokenizer, PromptFormat("chat"), "cpu", likelihood_norm=norm)
    row = make_rows("next_item_recommendation", "test")[0]
    _, p_ids = pred.prompt_ids(row)
    completions = ["Movie Alpha<|im_end|>\n", "Movie Lima and something longer<|im_end|>\n", "x"]
    got = pred.option_scores(p_ids, completions)
    for g, c in zip(got, completions):
        c_ids = encode(loaded.tokenizer, c, False)
        ref = _reference_logprob(loaded.model, p_ids, c_ids)
        assert g == pytest.approx(ref / (len(c_ids) if norm == "mean" else 1), abs=1e-4)


def test_batched_generation_equals_single(loaded):
    pred = Predictor(loaded.model.eval(), loaded.tokenizer, PromptFormat("chat"), "cpu")
    rows = make_rows("interest_recognition", "test")[:2] + make_rows("top_k_recommendation", "test")[:1]
    prompts = [pred.prompt_ids(r)[1] for r in rows]
    assert len({len(p) for p in prompts}) > 1  # really padded
    batched = pred.generate(prompts, 6)
    single = [pred.generate([p], 6)[0] for p in prompts]
    assert batched == single and any(batched)


def test_likelihood_rp_scores_the_dataset_answer_strings(loaded, monkeypatch):
    """Regression (issue 11, defect 2): options were '4', '5' while MovieLens targets are '4.0', '5.0'."""
    from itdr_eval.scoring import rating_option_strings
    from itdr_eval.tasks import get_task

    rows = [{**make_rows("rating_prediction", "train")[0], "rating": r, "output": f"{r:.1f}"} for r in (4.0, 5.0, 3.5)]
    strings = rating_option_strings(rows)
    assert strings[(0.5, 5.0)][5.0] == "5.0" and strings[(0.5, 5.0)][1.0] == "1.0" and strings[(0.5, 5.0)][3.5] == "3.5"
    pred = Predictor(loaded.model.eval(), loaded.tokenizer, PromptFormat("chat"), "cpu", rating_strings=strings)
    seen = []
    monkeypatch.setattr(pred, "option_scores", lambda p, comps: seen.extend(comps) or [float(i) for i in range(len(comps))])
    rec = pred.likelihood_record(get_task("rp"), rows[0], None)
    assert "5.0<|im_end|>\n" in seen and "5<|im_end|>\n" not in seen
    assert rec["raw"]["options"][-1] == "5.0" and rec["parsed"] == 5.0


def test_same_seed_gives_the_same_lora_initialisation(tiny_model):
    """Regression (issue 11, defect 3): get_peft_model drew LoRA A before the Trainer seeded."""
    from itdr_eval.config import EvalConfig
    from itdr_eval.train import init_lora

    cfg = EvalConfig(model=tiny_model, seed=42)
    weights = []
    for noise in (1, 2):
        torch.manual_seed(noise)  # whatever ran before must not matter
        peft = init_lora(cfg, load_model(tiny_model, dtype=torch.float32).model)
        weights.append({k: v.clone() for k, v in peft.state_dict().items() if "lora_A" in k})
    assert weights[0] and all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    other = init_lora(EvalConfig(model=tiny_model, seed=7), load_model(tiny_model, dtype=torch.float32).model)
    assert any(not torch.equal(v, weights[0][k]) for k, v in other.state_dict().items() if k in weights[0])


def test_generation_ignores_the_models_own_generation_config(tiny_model):
    """Regression (issue 11, defect 4): a shipped repetition penalty / n-gram ban changed "greedy" answers."""
    import copy

    from itdr_eval.generation import generation_settings

    first = load_model(tiny_model, dtype=torch.float32)
    clean, tok = first.model.eval(), first.tokenizer
    dirty = copy.deepcopy(clean)
    dirty.generation_config.repetition_penalty = 1.8
    dirty.generation_config.no_repeat_ngram_size = 2
    dirty.generation_config.do_sample = True
    dirty.generation_config.temperature = 5.0
    rows = make_rows("rating_prediction", "test")[:2]
    p_clean = Predictor(clean, tok, PromptFormat("chat"), "cpu")
    p_dirty = Predictor(dirty, tok, PromptFormat("chat"), "cpu")
    prompts = [p_clean.prompt_ids(r)[1] for r in rows]
    assert p_dirty.generate(prompts, 12) == p_clean.generate(prompts, 12)
    assert dirty.generation_config.repetition_penalty == 1.8  # the model itself is left as it was
    # an explicit override is applied, and recorded
    p_pen = Predictor(clean, tok, PromptFormat("chat"), "cpu", gen_kwargs={"repetition_penalty": 1.8, "no_repeat_ngram_size": 2})
    assert p_pen.generate(prompts, 12) != p_clean.generate(prompts, 12)
    assert generation_settings({"repetition_penalty": 1.8})["repetition_penalty"] == 1.8
    assert generation_settings()["do_sample"] is False and generation_settings()["repetition_penalty"] == 1.0


def test_auto_batch_size_halves_on_out_of_memory(loaded):
    """--batch-size auto: a batch that runs out of memory is retried at half the size, nothing lost."""
    from itdr_eval.predict import predict_rows
    from itdr_eval.scoring import ScoringOptions
    from itdr_eval.tasks import get_task

    pred = Predictor(loaded.model.eval(), loaded.tokenizer, PromptFormat("chat"), "cpu")
    real = pred.generate
    sizes = []

    def fake(prompts, n):
        sizes.append(len(prompts))
        if len(prompts) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(prompts, n)

    pred.generate = fake
    rows = make_rows("next_item_recommendation", "test")
    got = []
    used = predict_rows(get_task("nir"), rows, pred, mode="generate", batch_size=8, max_new_tokens=2,
                        opts=ScoringOptions(), on_records=got.extend, progress=False, auto_batch=True)
    assert used == 2 and sizes == [3, 3, 2, 1]  # 8 -> 4 (still too big for 3 rows) -> 2
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in rows)
    with pytest.raises(RuntimeError, match="out of memory"):
        predict_rows(get_task("nir"), rows, pred, mode="generate", batch_size=8, max_new_tokens=2,
                     opts=ScoringOptions(), on_records=got.extend, progress=False, auto_batch=False)


def test_multi_billion_finetune_on_cpu_stops_unless_forced():
    from itdr_eval.config import EvalConfig
    from itdr_eval.errors import EvalError
    from itdr_eval.runner import _check_cpu_finetune

    class Big:
        def parameters(self):
            return [torch.empty(3_000_000_000, device="meta")]  # no memory: a meta tensor

    with pytest.raises(EvalError, match="CPU hours"):
        _check_cpu_finetune(EvalConfig(model="big"), Big(), "cpu", 1000)
    _check_cpu_finetune(EvalConfig(model="big", force=True), Big(), "cpu", 1000)
    _check_cpu_finetune(EvalConfig(model="big"), Big(), "cuda:0", 1000)
