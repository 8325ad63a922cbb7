"""The backend interface: the local transformers path and the HTTP path answer the same calls
alike; the response cache survives a torn write."""

import json

import pytest
import torch
from itdr_eval.backends import GenerationSettings
from itdr_eval.backends.bridge import BackendPredictor, LocalBackend
from itdr_eval.backends.openai_http import OpenAIBackend
from itdr_eval.backends.options import redact_url
from itdr_eval.http_cache import ResponseCache, request_key
from itdr_eval.modeling import load_model
from itdr_eval.predict import Predictor
from itdr_eval.prompts import PromptFormat, response_text
from itdr_eval_testutils import make_rows
from openai_testserver import OpenAITestServer


def test_local_and_http_backends_answer_the_interface_alike(tiny_model):
    loaded = load_model(tiny_model, dtype=torch.float32)
    fmt = PromptFormat("chat")
    pred = Predictor(loaded.model.eval(), loaded.tokenizer, fmt, "cpu")
    rows = [make_rows("next_item_recommendation", "test")[0], make_rows("rating_prediction", "test")[1]]
    render = BackendPredictor(None, loaded.tokenizer, fmt, "cpu", backend=None)
    prompts = [render.prompt_ids(r)[1] for r in rows]
    conts = [response_text(loaded.tokenizer, rows[0], fmt, c) for c in rows[0]["candidates"]]
    local = LocalBackend(pred)
    settings = GenerationSettings(max_new_tokens=6)
    with OpenAITestServer(tiny_model) as srv:
        http = OpenAIBackend(base_url=srv.url, model="itdr", tokenizer=loaded.tokenizer, fmt=fmt)
        assert http.generate(prompts, settings) == [local.generate([p], settings)[0] for p in prompts]
        for norm in ("sum", "mean"):
            assert http.loglikelihood(prompts[0], conts, norm) == pytest.approx(
                local.loglikelihood(prompts[0], conts, norm), abs=1e-4)
        http.close()
    assert local.loglikelihood(prompts[0], conts, "mean") == pytest.approx(pred.option_scores(list(prompts[0].ids), conts))


def test_cache_ignores_a_torn_line_and_appends_after_it(tmp_path):
    path = tmp_path / "c.jsonl"
    k1, k2 = request_key("/completions", {"model": "m", "prompt": "a"}), request_key("/completions", {"model": "m", "prompt": "b"})
    assert k1 != k2 and k1 == request_key("/completions", {"prompt": "a", "model": "m"})  # key order does not matter
    cache = ResponseCache(str(path))
    cache.put(k1, {"text": "x"})
    cache.close()
    with open(path, "a") as fh:
        fh.write('{"key": "' + k2 + '", "resp')  # killed mid-write
    cache = ResponseCache(str(path))
    assert cache.get(k1) == {"text": "x"} and cache.get(k2) is None
    cache.put(k2, {"text": "y"})
    cache.close()
    assert ResponseCache(str(path)).get(k2) == {"text": "y"}
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()[-1:]] == [k2]


def test_redact_url_drops_credentials_query_and_fragment():
    assert redact_url("https://u:p@api.example.com:8443/v1?key=s#f") == "https://api.example.com:8443/v1"
