"""--backend openai against a loopback OpenAI-protocol server serving the tiny test model
(tests/eval/openai_testserver.py): same predictions as the local backend, retries and faults,
capability errors, the response cache (resume, no repeated requests) and the API key's secrecy."""

import json
import logging
import os
import re
import time

import pytest
import torch
from itdr_eval.backends import BackendError, GenerationSettings, Prompt
from itdr_eval.backends.bridge import BackendPredictor, LocalBackend
from itdr_eval.backends.openai_http import OpenAIBackend
from itdr_eval.cli import main
from itdr_eval.modeling import load_model, load_tokenizer
from itdr_eval.predict import Predictor
from itdr_eval.prompts import PromptFormat, encode, prompt_text, response_text
from itdr_eval_testutils import make_rows
from openai_testserver import OpenAITestServer

BUDGETS = ["--max-new-tokens", "tkr=16,cdr=16,nir=8,uap=8,ir=10,tui=10,rp=4"]
GEN_TASKS = "rp,tkr,nir,uap,ir"
LIK_TASKS = "rp,tkr,nir"


@pytest.fixture(scope="module")
def server(tiny_model):
    with OpenAITestServer(tiny_model) as srv:
        yield srv


@pytest.fixture()
def srv(server):
    server.faults, server.fail_after, server.log[:] = [], None, []
    server.caps = {"echo": True, "prompt_logprobs": True, "guided": True}
    server.api_key = None
    yield server
    server.faults, server.fail_after, server.api_key = [], None, None


def _records(run):
    with open(os.path.join(run, "predictions.jsonl")) as fh:
        return {r["id"]: r for r in map(json.loads, fh)}


def _results(run):
    with open(os.path.join(run, "results.json")) as fh:
        return json.load(fh)


def _common(dataset_dir, out, tasks, *extra):
    return ["--dataset", dataset_dir, "--tasks", tasks, "--output", str(out), "--finetune", "none", "--limit", "1",
            "--no-chart", *BUDGETS, *extra]


def _served(srv, dataset_dir, out, tasks, *extra):
    return ["--backend", "openai", "--model", "itdr", "--base-url", srv.url, "--retry-base-delay", "0.01",
            "--max-concurrency", "4", *_common(dataset_dir, out, tasks, *extra)]


@pytest.fixture(scope="module")
def local_runs(tiny_model, dataset_dir, tmp_path_factory):
    gen = tmp_path_factory.mktemp("local-gen")
    lik = tmp_path_factory.mktemp("local-lik")
    assert main(["--model", tiny_model, *_common(dataset_dir, gen, GEN_TASKS, "--batch-size", "1")]) == 0
    assert main(["--model", tiny_model, *_common(dataset_dir, lik, LIK_TASKS, "--predict-mode", "likelihood",
                                                "--batch-size", "1")]) == 0
    return {"generate": _records(gen), "likelihood": _records(lik)}


def test_generation_equals_local_backend(srv, local_runs, dataset_dir, tmp_path):
    out = tmp_path / "served"
    assert main(_served(srv, dataset_dir, out, GEN_TASKS)) == 0
    local, served = local_runs["generate"], _records(out)
    assert served.keys() == local.keys() and len(served) >= 6
    for rid, rec in served.items():
        for k in ("raw", "parsed", "parse_ok", "scores", "mode"):
            assert rec[k] == local[rid][k], (rid, k)
    assert {r["path"] for r in srv.log} == {"/v1/chat/completions"}
    body = srv.log[0]["body"]
    assert body["temperature"] == 0.0 and body["top_p"] == 1.0 and body["frequency_penalty"] == 0.0
    assert body["presence_penalty"] == 0.0 and body["n"] == 1 and body["model"] == "itdr"
    assert {b["body"]["max_tokens"] for b in srv.log} == {4, 16, 8, 10}  # the per-task budgets
    res = _results(out)
    assert res["model"]["endpoint_model"] == "itdr" and res["model"]["server_model_ids"] == ["tiny/qwen2-random"]
    assert res["model"]["backend"] == "openai" and res["config"]["finetune"] == "none"
    assert res["model"]["requests"] == len(srv.log) and res["cells"]


def test_likelihood_scores_match_local_backend(srv, local_runs, tiny_model, dataset_dir, tmp_path):
    out = tmp_path / "served-lik"
    assert main(_served(srv, dataset_dir, out, LIK_TASKS, "--predict-mode", "likelihood", "--tokenizer", tiny_model)) == 0
    local, served = local_runs["likelihood"], _records(out)
    assert served.keys() == local.keys()
    for rid, rec in served.items():
        assert rec["raw"]["options"] == local[rid]["raw"]["options"]
        assert rec["raw"]["scores"] == pytest.approx(local[rid]["raw"]["scores"], abs=1e-4)
        assert rec["parsed"] == local[rid]["parsed"]
    assert all(r["body"].get("echo") is True for r in srv.log)
    assert _results(out)["model"]["likelihood_route"] == "echo"


def test_alpaca_prompts_use_completions(tiny_model_no_template, dataset_dir, tmp_path):
    with OpenAITestServer(tiny_model_no_template) as plain:
        assert main(["--model", tiny_model_no_template, *_common(dataset_dir, tmp_path / "l", "rp,nir", "--batch-size", "1")]) == 0
        assert main(_served(plain, dataset_dir, tmp_path / "s", "rp,nir", "--prompt-format", "alpaca")) == 0
        assert {r["path"] for r in plain.log} == {"/v1/completions"}
    local, served = _records(tmp_path / "l"), _records(tmp_path / "s")
    assert {k: v["raw"] for k, v in served.items()} == {k: v["raw"] for k, v in local.items()}


def test_local_and_http_backends_answer_the_interface_alike(srv, tiny_model):
    loaded = load_model(tiny_model, dtype=torch.float32)
    fmt = PromptFormat("chat")
    pred = Predictor(loaded.model.eval(), loaded.tokenizer, fmt, "cpu")
    rows = [make_rows("next_item_recommendation", "test")[0], make_rows("rating_prediction", "test")[1]]
    render = BackendPredictor(None, loaded.tokenizer, fmt, "cpu", backend=None)
    prompts = [render.prompt_ids(r)[1] for r in rows]
    conts = [response_text(loaded.tokenizer, rows[0], fmt, c) for c in rows[0]["candidates"]]
    local = LocalBackend(pred)
    settings = GenerationSettings(max_new_tokens=6)
    http = OpenAIBackend(base_url=srv.url, model="itdr", tokenizer=loaded.tokenizer, fmt=fmt)
    assert http.generate(prompts, settings) == [local.generate([p], settings)[0] for p in prompts]
    for norm in ("sum", "mean"):
        assert http.loglikelihood(prompts[0], conts, norm) == pytest.approx(
            local.loglikelihood(prompts[0], conts, norm), abs=1e-4)
    http.close()
    assert local.loglikelihood(prompts[0], conts, "mean") == pytest.approx(pred.option_scores(list(prompts[0].ids), conts))



def _backend(srv, tmp_path=None, **kw):
    tok = kw.pop("tokenizer", None)
    args = {"base_url": srv.url, "model": "itdr", "tokenizer": tok, "fmt": PromptFormat("chat"),
            "retry_base_delay": 0.01, "timeout": 5.0, "max_retries": 6,
            "cache_path": str(tmp_path / "cache.jsonl") if tmp_path else None}
    args.update(kw)
    return OpenAIBackend(**args)


def _prompt(tok=None, config="next_item_recommendation"):
    row = make_rows(config, "test")[0]
    msgs = ({"role": "user", "content": row["messages"][0]["content"]},)
    if tok is None:
        return Prompt(msgs, ""), row
    text = prompt_text(tok, row, PromptFormat("chat"))
    return Prompt(msgs, text, tuple(encode(tok, text, False))), row


def test_faults_are_retried_honouring_retry_after(srv):
    prompt, _ = _prompt()
    settings = GenerationSettings(max_new_tokens=6)
    clean = _backend(srv).generate([prompt], settings)
    srv.log.clear()
    srv.faults = ["429", "500", "malformed", "timeout"]
    srv.retry_after, srv.timeout_s = "0.3", 2.0  # margins wide enough for a loaded CI machine
    backend = _backend(srv, timeout=1.0, retry_base_delay=0.001)
    start = time.perf_counter()
    assert backend.generate([prompt], settings) == clean
    assert time.perf_counter() - start >= 0.3 + 1.0  # waited what Retry-After asked, and the timeout
    assert [r["status"] for r in srv.log] == [429, 500, 299, 298, 200]
    assert backend.stats["failed_attempts"] == 4


def test_stops_after_consecutive_failures(srv):
    srv.fail_after = 0
    backend = _backend(srv, max_consecutive_failures=3, max_retries=10)
    with pytest.raises(BackendError, match="3 consecutive failed requests.*rerun to resume"):
        backend.generate([_prompt()[0]], GenerationSettings(max_new_tokens=4))
    assert len(srv.log) == 3


def test_missing_logprobs_fall_back_to_prompt_logprobs_then_fail_clearly(srv, tiny_model):
    tok = load_tokenizer(tiny_model)
    prompt, row = _prompt(tok)
    conts = [response_text(tok, row, PromptFormat("chat"), c, prompt.text) for c in row["candidates"][:3]]
    echo = _backend(srv, tokenizer=tok).loglikelihood(prompt, conts)
    srv.caps["echo"] = False  # like a server that ignores echo: vLLM's prompt_logprobs instead
    vllm = _backend(srv, tokenizer=tok)
    assert vllm.loglikelihood(prompt, conts) == pytest.approx(echo, abs=1e-6)
    assert vllm.describe()["likelihood_route"] == "prompt_logprobs"
    srv.caps["prompt_logprobs"] = False
    with pytest.raises(BackendError, match="does not return prompt log-probabilities.*--predict-mode generate"):
        _backend(srv, tokenizer=tok).loglikelihood(prompt, conts)


def test_a_failed_call_returns_only_when_its_requests_are_done(srv, tiny_model):
    """One option fails fast while two are still waiting for slow answers: the error is raised only
    after they are answered, and no request of the call is sent after it (it once was: a finished
    test found a later test's server log holding an option's vLLM fallback request)."""
    tok = load_tokenizer(tiny_model)
    prompt, row = _prompt(tok)
    conts = [response_text(tok, row, PromptFormat("chat"), c, prompt.text) for c in row["candidates"][:3]]
    srv.caps["echo"] = srv.caps["prompt_logprobs"] = False  # every option fails after its two routes
    srv.faults = ["ok", "slow", "slow"]  # the first echo request answers at once, the other two late
    with pytest.raises(BackendError, match="does not return prompt log-probabilities"):
        _backend(srv, tokenizer=tok, max_concurrency=3).loglikelihood(prompt, conts)
    assert len(srv.log) == 2 * len(conts) and all(e["done"] for e in srv.log)
    time.sleep(srv.slow_s)
    assert len(srv.log) == 2 * len(conts)


def _refused(args, capsys, pattern):
    """The CLI's one-line error (exit 2, no traceback) matching ``pattern``."""
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert re.search(pattern, err) and "Traceback" not in err, err
    return err


def test_likelihood_without_tokenizer_is_refused(srv, dataset_dir, tmp_path, capsys):
    _refused(_served(srv, dataset_dir, tmp_path / "x", "rp", "--predict-mode", "likelihood"), capsys, "needs --tokenizer")
    assert srv.log == []


def test_guided_choice_constrains_or_fails_clearly(srv):
    prompt, row = _prompt()
    settings = GenerationSettings(max_new_tokens=8)
    assert _backend(srv).choose(prompt, row["candidates"], settings) in row["candidates"]
    assert srv.log[0]["body"]["guided_choice"] == row["candidates"]
    srv.log.clear()
    ranked = _backend(srv).rank(prompt, row["candidates"], settings)
    assert sorted(ranked) == sorted(row["candidates"]) and len(srv.log) == len(ranked) - 1
    last = srv.log[-1]["body"]
    assert last["continue_final_message"] is True and last["messages"][-1]["role"] == "assistant"
    assert last["messages"][-1]["content"] == "".join(f"{i + 1}. {t}\n" for i, t in enumerate(ranked[:-2])) + f"{len(ranked) - 1}. "
    assert last["guided_choice"] == [c for c in row["candidates"] if c not in ranked[:-2]]
    srv.caps["guided"] = False  # the server ignores the field and answers freely
    with pytest.raises(BackendError, match="ignored guided_choice"):
        _backend(srv).choose(prompt, row["candidates"], settings)


def test_lora_with_served_model_is_refused(srv, dataset_dir, tmp_path, capsys):
    args = _served(srv, dataset_dir, tmp_path / "x", "rp")
    args[args.index("--finetune") + 1] = "lora"
    _refused(args, capsys, "LoRA fine-tuning needs --backend local")


def test_interrupted_run_resumes_without_repeating_requests(srv, dataset_dir, tmp_path, capsys):
    out = tmp_path / "resume"
    args = _served(srv, dataset_dir, out, GEN_TASKS, "--max-consecutive-failures", "2", "--max-concurrency", "1")
    srv.fail_after = 3  # an outage after 3 answers: the run stops
    _refused(args, capsys, "consecutive failed requests.*rerun to resume")
    args = [*args, "--resume"]  # the predictions made before the outage continue only with --resume
    first = [json.dumps(r["body"], sort_keys=True) for r in srv.answered()]
    assert len(first) == 3 and len(srv.log) == 3 + 2
    srv.log.clear()
    srv.fail_after = None
    assert main(args) == 0
    second = [json.dumps(r["body"], sort_keys=True) for r in srv.answered()]
    assert not set(first) & set(second) and len(set(second)) == len(second)  # nothing asked twice
    records = _records(out)
    assert len(records) == 7 and len(first) + len(second) == 5  # 7 rows, 5 distinct prompts (2 rows repeat one)
    # a rerun from scratch (predictions gone) is answered from the cache: no request at all
    os.remove(out / "predictions.jsonl")
    srv.log.clear()
    assert main(args) == 0
    assert srv.log == [] and _records(out) == records
    assert _results(out)["model"]["cache_hits"] == len(records)


def test_api_key_is_never_written_or_logged(srv, dataset_dir, tmp_path, monkeypatch, caplog, capfd):
    key = "sk-test-SECRET-4f9d1c"
    monkeypatch.setenv("ITDR_TEST_KEY", key)
    srv.api_key = key
    srv.faults = ["500-auth", "429"]  # the server echoes the Authorization header in an error
    srv.retry_after = "0"
    out = tmp_path / "keyed"
    url = srv.url + "?token=QUERYSECRET"
    args = ["--backend", "openai", "--model", "itdr", "--base-url", url, "--api-key-env", "ITDR_TEST_KEY",
            "--retry-base-delay", "0.01", *_common(dataset_dir, out, "rp,nir")]
    with caplog.at_level(logging.DEBUG):
        assert main(args) == 0
    # the server answers only requests bearing the key (else 401), so the key did reach it
    assert [r["status"] for r in srv.log][:3] == [500, 429, 200] and 401 not in [r["status"] for r in srv.log]
    assert any("you sent Bearer ***" in r.getMessage() for r in caplog.records)  # scrubbed, not dropped
    captured = capfd.readouterr()
    texts = [caplog.text, captured.out, captured.err]
    for root, _, files in os.walk(out):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                texts.append(fh.read().decode("utf-8", "replace"))
    assert len(texts) >= 6  # predictions, results.json/.md, http cache, logs
    for text in texts:
        assert key not in text and "QUERYSECRET" not in text
    res = _results(out)
    assert res["model"]["api_key_set"] is True and res["model"]["api_key_env"] == "ITDR_TEST_KEY"
    assert res["config"]["base_url"] == srv.url and res["model"]["base_url"] == srv.url
    # without the key the server refuses, and the error names the variable, not the value
    monkeypatch.delenv("ITDR_TEST_KEY")
    with pytest.raises(BackendError, match=r"HTTP 401.*\$ITDR_TEST_KEY \(unset\)"):
        _backend(srv, api_key_env="ITDR_TEST_KEY").generate([_prompt()[0]], GenerationSettings(max_new_tokens=2))


def test_constrained_mode_through_guided_decoding_gives_valid_answers(srv, dataset_dir, tmp_path, capsys):
    out = tmp_path / "constrained"
    assert main(_served(srv, dataset_dir, out, "rp,tkr,nir", "--predict-mode", "constrained")) == 0
    recs = _records(out)
    assert {r["mode"] for r in recs.values()} == {"constrained"} and all(r["parse_ok"] for r in recs.values())
    tkr = next(r for r in recs.values() if r["task"] == "top_k_recommendation")
    assert len(tkr["parsed"]) == len(set(tkr["parsed"]))  # a complete ranking, no repeats
    assert all("guided_choice" in r["body"] for r in srv.log)
    srv.caps["guided"] = False  # a server without guided decoding: a one-line error, not free text
    _refused(_served(srv, dataset_dir, tmp_path / "free", "nir", "--predict-mode", "constrained"), capsys,
             "ignored guided_choice")
