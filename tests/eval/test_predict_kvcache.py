"""Likelihood scoring with the prompt's KV cache reused across options (issue 13) against the
full left-padded pass it replaces, on a tiny random model."""

import dataclasses

import pytest
import torch
from itdr_eval.modeling import load_model
from itdr_eval.predict import Predictor
from itdr_eval.prompts import PromptFormat
from itdr_eval.scoring import rating_options
from itdr_eval.tasks import get_task
from itdr_eval_testutils import make_rows

OPTIONS = ["Movie Alpha<|im_end|>\n", "Movie Lima and something much longer than that<|im_end|>\n", "x", "4.5"]


@pytest.fixture(scope="module")
def loaded(tiny_model):
    return load_model(tiny_model, dtype=torch.float32)


@pytest.mark.parametrize("norm", ["sum", "mean"])
@pytest.mark.parametrize("max_length", [8192, 24])
def test_cached_scores_equal_the_full_pass(loaded, norm, max_length):
    cached = Predictor(loaded.model.eval(), loaded.tokenizer, PromptFormat("chat"), "cpu", max_length=max_length,
                       likelihood_norm=norm)
    full = dataclasses.replace(cached, kv_reuse=False)
    for config in ("next_item_recommendation", "top_k_recommendation"):
        _, p_ids = cached.prompt_ids(make_rows(config, "test")[0])
        if max_length == 24:
            assert len(p_ids) == 24  # the prompt really was cut by max_length
        got, ref = cached.option_scores(p_ids, OPTIONS), full.option_scores(p_ids, OPTIONS)
        assert got == pytest.approx(ref, abs=1e-4)
        assert len({round(g, 3) for g in got}) == len(OPTIONS)  # distinct options, distinct scores
        # only one-token options: the prompt pass alone scores them
        assert cached.option_scores(p_ids, ["x", "y"]) == pytest.approx(full.option_scores(p_ids, ["x", "y"]), abs=1e-4)


def test_cached_record_equals_full_record(loaded):
    cached = Predictor(loaded.model.eval(), loaded.tokenizer, PromptFormat("chat"), "cpu")
    full = dataclasses.replace(cached, kv_reuse=False)
    for abbr, config in (("rp", "rating_prediction"), ("nir", "next_item_recommendation"), ("tkr", "top_k_recommendation")):
        row = make_rows(config, "test")[0]
        a, b = cached.likelihood_record(get_task(abbr), row, None), full.likelihood_record(get_task(abbr), row, None)
        assert a["parsed"] == b["parsed"] and a["raw"]["scores"] == pytest.approx(b["raw"]["scores"], abs=1e-4)


def test_prompt_tokens_go_through_the_model_once(loaded):
    """The point of the cache: the prompt is run once per row, not once per option."""
    model = loaded.model.eval()
    seen: list[int] = []
    hook = model.register_forward_pre_hook(lambda m, a, kw: seen.append(int(kw["input_ids"].numel())), with_kwargs=True)
    try:
        pred = Predictor(model, loaded.tokenizer, PromptFormat("chat"), "cpu")
        row = make_rows("rating_prediction", "test")[0]
        _, p_ids = pred.prompt_ids(row)
        n_opts = len(rating_options(row["rating_min"], row["rating_max"]))
        pred.likelihood_record(get_task("rp"), row, None)
    finally:
        hook.remove()
    assert len(p_ids) > 20 and seen[0] == len(p_ids)
    assert sum(seen) < len(p_ids) + n_opts * 8  # the options' few tokens each, never the prompt again
