"""End to end through the CLI function: LoRA fine-tune -> predict -> score -> report, on a tiny
random model and the fixture dataset; plus adapter scoring, likelihood mode, resume and studies."""

import json
import math
import os
import shutil

import pytest
from itdr_eval.cli import main
from itdr_eval_testutils import CONFIGS, make_rows

FAST = ["--max-new-tokens", "tkr=24,cdr=24,nir=8,uap=8,ir=12,tui=12,rp=4", "--logging-steps", "1"]


def _eval_ids(configs=CONFIGS):
    return {r["id"] for c in configs for r in make_rows(c, "test") if r["eval_subset"]}


def _read(path):
    with open(path) as fh:
        return fh.read()


def _records(run):
    with open(os.path.join(run, "predictions.jsonl")) as fh:
        return [json.loads(line) for line in fh]


def _results(run):
    with open(os.path.join(run, "results.json")) as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def trained_run(tiny_model, dataset_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("run") / "lora")
    assert main(["--model", tiny_model, "--dataset", dataset_dir, "--tasks", "all", "--finetune", "lora",
                 "--output", out, "--epochs", "1", "--grad-accum", "2", "--save-steps", "3", *FAST]) == 0
    return out


def test_finetune_predict_score_writes_everything(trained_run, tiny_model):
    for name in ("predictions.jsonl", "results.json", "results.md", "results.png", "adapter/adapter_config.json",
                 "adapter/README.md", "adapter/tokenizer_config.json"):
        assert os.path.isfile(os.path.join(trained_run, name)), name
    assert any(d.startswith("checkpoint-") for d in os.listdir(os.path.join(trained_run, "checkpoints")))
    with open(os.path.join(trained_run, "results.png"), "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    recs = _records(trained_run)
    assert {r["id"] for r in recs} == _eval_ids() and len(recs) == len(_eval_ids())
    for r in recs:
        assert {"id", "task", "source", "raw", "parsed", "parse_ok", "scores", "mode"} <= set(r)
    res = _results(trained_run)
    cells = {(c["task"], c["source"]) for c in res["cells"]}
    assert cells == {(r["task"], r["source"]) for c in CONFIGS for r in make_rows(c, "test")}
    for c in res["cells"]:
        assert c["n"] >= 1 and 0.0 <= c["parse_rate"] <= 1.0 and c["metrics"]
    assert res["model"]["training"]["examples"] == sum(len(make_rows(c, "train")) for c in CONFIGS)
    assert res["model"]["prompt_format"] == "chat"
    assert res["versions"]["torch"] and res["config"]["lora_alpha"] == 16.0
    assert "pUII" in res["summary"] and "formula" in res["summary"]
    assert "13a" in res["notes"]["bleu"]
    md = _read(os.path.join(trained_run, "results.md"))
    assert "## TKR (top_k_recommendation)" in md and "prediction mode: `generate`" in md
    card = _read(os.path.join(trained_run, "adapter", "README.md"))
    assert f"base_model: {tiny_model}" in card and "lora_rank" in card


def test_score_saved_adapter_in_likelihood_mode_with_compare(trained_run, dataset_dir, tmp_path):
    out = str(tmp_path / "lik")
    main(["--model", os.path.join(trained_run, "adapter"), "--dataset", dataset_dir, "--tasks", "uii",
          "--predict-mode", "likelihood", "--output", out, "--compare", trained_run, *FAST])
    res = _results(out)
    assert res["model"]["adapter"] == os.path.join(trained_run, "adapter")
    assert res["predict_mode"] == "likelihood"
    assert all(c["mode"] == "likelihood" and c["parse_rate"] == 1.0 for c in res["cells"])
    recs = _records(out)
    tkr = [r for r in recs if r["task"] == "top_k_recommendation"]
    assert all(sorted(r["parsed"]) == sorted(r["raw"]["options"]) for r in tkr)
    md = _read(os.path.join(out, "results.md"))
    assert "values are `this / lora`" in md and " / " in md.split("## RP")[1]


def test_adapter_model_with_lora_is_refused(trained_run, dataset_dir, tmp_path, capsys):
    args = ["--model", os.path.join(trained_run, "adapter"), "--dataset", dataset_dir, "--finetune", "lora",
            "--tasks", "rp", "--output", str(tmp_path / "x")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a LoRA adapter" in err[0] and "--finetune none" in err[0]
    with pytest.raises(ValueError, match="adapter"):
        main([*args, "--debug"])


def test_rerun_skips_done_ids(tiny_model, dataset_dir, tmp_path):
    out = str(tmp_path / "resume")
    args = ["--dataset", dataset_dir, "--tasks", "rp,nir", "--output", out, *FAST]
    main(["--model", tiny_model, *args])
    lines = _read(os.path.join(out, "predictions.jsonl")).splitlines()
    assert len(lines) == len(_eval_ids(["rating_prediction", "next_item_recommendation"]))
    # same settings without --resume: refused, nothing touched
    assert main(["--model", tiny_model, *args]) == 2
    # all done: nothing is predicted again
    assert main(["--model", tiny_model, "--resume", *args]) == 0
    assert _read(os.path.join(out, "predictions.jsonl")).splitlines() == lines
    # drop two records (and leave a torn last line): only those are predicted again
    with open(os.path.join(out, "predictions.jsonl"), "w") as fh:
        fh.write("\n".join(lines[:-2]) + "\n" + lines[-2][:20])
    main(["--model", tiny_model, "--resume", *args])
    recs = _records_tolerant(out)
    assert {r["id"] for r in recs} == _eval_ids(["rating_prediction", "next_item_recommendation"])
    assert _read(os.path.join(out, "predictions.jsonl")).splitlines()[: len(lines) - 2] == lines[:-2]


def _records_tolerant(run):
    out = []
    for line in _read(os.path.join(run, "predictions.jsonl")).splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def test_resume_training_from_checkpoint_and_skip_when_adapter_exists(trained_run, tiny_model, dataset_dir, tmp_path):
    out = str(tmp_path / "copy")
    shutil.copytree(trained_run, out)
    os.remove(os.path.join(out, "predictions.jsonl"))
    base = ["--model", tiny_model, "--dataset", dataset_dir, "--tasks", "rp", "--finetune", "lora", "--output", out,
            "--epochs", "1", "--grad-accum", "2", "--save-steps", "3", "--resume", *FAST]
    main(base)
    assert _results(out)["model"]["training"].startswith("skipped")
    shutil.rmtree(os.path.join(out, "adapter"))
    os.remove(os.path.join(out, "predictions.jsonl"))
    main(base)
    training = _results(out)["model"]["training"]
    assert training["resumed_from"] and "checkpoint-" in training["resumed_from"]


def test_leave_one_out_training_fraction_and_alpaca(tiny_model_no_template, dataset_dir, tmp_path):
    out = str(tmp_path / "loo")
    main(["--model", tiny_model_no_template, "--dataset", dataset_dir, "--tasks", "rp", "--finetune", "lora",
          "--train-tasks", "all,-top_k_recommendation", "--train-fraction", "0.5", "--output", out,
          "--epochs", "1", "--grad-accum", "4", "--subset", "test", "--no-chart", *FAST])
    res = _results(out)
    # train rows per config: RP 4, CDR 2, NIR 2, UAP 2, IR 2, TUI 2 -> half of each
    assert res["model"]["training"]["examples"] == 2 + 1 + 1 + 1 + 1 + 1
    assert res["model"]["prompt_format"] == "alpaca"
    assert sum(c["n"] for c in res["cells"]) == len(make_rows("rating_prediction", "test"))
    assert not os.path.exists(os.path.join(out, "results.png"))


def test_rerun_with_other_settings_is_refused_naming_the_fields(tiny_model, tiny_model_no_template, dataset_dir,
                                                                tmp_path, capsys):
    """Regression (issue 11, defect 1): another model/budget into a finished folder relabelled the old predictions."""
    first = str(tmp_path / "R")
    base = ["--dataset", dataset_dir, "--tasks", "rp,ir", "--finetune", "none", "--no-chart", *FAST]
    assert main(["--model", tiny_model, "--output", first, *base]) == 0
    copy = str(tmp_path / "R2")
    shutil.copytree(first, copy)
    before = _read(os.path.join(copy, "predictions.jsonl"))
    capsys.readouterr()
    rc = main(["--model", tiny_model_no_template, "--output", copy, *base, "--max-new-tokens", "tkr=3",
               "--bleu-tokenize", "char", "--resume"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "model_identity" in err[0] and "max_new_tokens" in err[0] and "bleu" not in err[0]
    assert _read(os.path.join(copy, "predictions.jsonl")) == before
    assert _results(copy)["config"]["model"] == tiny_model  # nothing relabelled
    # scoring options alone may change: re-applied to the stored raw outputs
    assert main(["--model", tiny_model, "--output", copy, *base, "--bleu-tokenize", "char", "--resume"]) == 0
    assert _read(os.path.join(copy, "predictions.jsonl")) == before
    res = _results(copy)
    assert "'char'" in res["notes"]["bleu"]
    samples = [json.loads(x) for x in _read(os.path.join(copy, "samples.jsonl")).splitlines()]
    stored = {r["id"]: r for r in map(json.loads, before.splitlines())}
    ir = [r for r in samples if r["task"] == "interest_recognition" and r["raw"]]
    assert ir and any(r["scores"]["bleu1_stats"] != stored[r["id"]]["scores"]["bleu1_stats"] for r in ir)
    for r in samples:
        assert {"prompt_hash", "target", "raw", "parsed", "scores", "fingerprint"} <= set(r)


def test_results_files_schema_timestamps_and_summary(tiny_model, dataset_dir, tmp_path):
    from itdr_eval.schema import load_schema, validate_results

    out = str(tmp_path / "ts")
    args = ["--model", tiny_model, "--dataset", dataset_dir, "--tasks", "rp,nir,uap,ir", "--finetune", "none",
            "--output", out, "--limit", "1", *FAST, "--max-new-tokens", "rp=4,nir=8,uap=8",
            "--gen-kwargs", "repetition_penalty=1.0"]
    assert main(args) == 0
    first = _results(out)
    validate_results(first)
    try:
        import jsonschema
    except ImportError:
        jsonschema = None
    if jsonschema is not None:
        jsonschema.validate(first, load_schema())
    assert first["summary"]["method"] == "paper" and first["summary"]["alternative"]["method"] == "cells"
    assert first["model"]["generation_config"]["repetition_penalty"] == 1.0
    assert first["model"]["chat_template_sha256"] and first["date"]["finished"]
    for c in first["cells"]:
        assert set(c["stderr"]) == set(c["metrics"]) and set(c["higher_is_better"]) == set(c["metrics"])
        assert c["n_effective"] == c["n"] == 1 < c["n_original"]
    rmse = next(c for c in first["cells"] if c["task"] == "rating_prediction")
    assert rmse["higher_is_better"] == {"rmse": False}
    # IR/TUI budgets derived from the train references, and the share cut off reported
    ir = first["generation_budgets"]["interest_recognition"]["per_source"]["steam"]
    assert ir["max_new_tokens"] == math.ceil(ir["p99_reference_tokens"] * 1.1) + 8
    assert next(c for c in first["cells"] if c["task"] == "interest_recognition")["cut_off_share"] is not None
    # scoring again (--resume, all predictions present) never overwrites the earlier results
    assert main([*args, "--resume", "--summary", "cells"]) == 0
    stamped = sorted(f for f in os.listdir(out) if f.startswith("results_") and f.endswith(".json"))
    assert len(stamped) == 2
    latest = _results(out)
    assert latest["summary"]["method"] == "cells"
    with open(os.path.join(out, stamped[0])) as fh:
        assert json.load(fh)["summary"]["method"] == "paper"
    assert _read(os.path.join(out, "latest")).strip() in stamped[1]
    assert latest["summary"]["pUII"] == pytest.approx(first["summary"]["alternative"]["pUII"])
    # --compare refuses another subset unless forced
    other = str(tmp_path / "other")
    assert main(["--model", tiny_model, "--dataset", dataset_dir, "--tasks", "rp", "--finetune", "none", "--output",
                 other, "--subset", "test", "--no-chart", *FAST]) == 0
    cmp_args = ["--model", tiny_model, "--dataset", dataset_dir, "--tasks", "rp", "--finetune", "none",
                "--output", str(tmp_path / "cmp"), "--compare", other, "--no-chart", *FAST]
    assert main(cmp_args) == 2
    assert main([*cmp_args, "--force"]) == 0


def test_predict_only_writes_predictions_without_results(tiny_model, dataset_dir, tmp_path):
    out = str(tmp_path / "po")
    assert main(["--model", tiny_model, "--dataset", dataset_dir, "--tasks", "nir", "--finetune", "none", "--output",
                 out, "--predict-only", *FAST]) == 0
    assert len(_records(out)) == len(_eval_ids(["next_item_recommendation"]))
    assert not os.path.exists(os.path.join(out, "results.json"))


def test_unloadable_inputs_give_one_line_errors(tiny_model, dataset_dir, tmp_path, capsys):
    cases = [
        (["--model", tiny_model, "--dataset", str(tmp_path / "no-such-build")], "no such folder"),
        (["--model", str(tmp_path / "no-such-model"), "--dataset", dataset_dir], "cannot load"),
    ]
    for args, needle in cases:
        capsys.readouterr()
        assert main([*args, "--tasks", "rp", "--finetune", "none", "--output", str(tmp_path / "e")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0] and "Traceback" not in err[0], err
    # an adapter whose base model is gone
    adapter = str(tmp_path / "adapter")
    os.makedirs(adapter)
    with open(os.path.join(adapter, "adapter_config.json"), "w") as fh:
        json.dump({"peft_type": "LORA", "base_model_name_or_path": str(tmp_path / "gone"), "task_type": "CAUSAL_LM",
                   "r": 8, "lora_alpha": 16, "target_modules": ["q_proj"]}, fh)
    capsys.readouterr()
    assert main(["--model", adapter, "--dataset", dataset_dir, "--tasks", "rp", "--output", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "LoRA adapter whose base model" in err[0]


def test_two_process_cpu_launch_shards_and_gathers(tiny_model, dataset_dir, tmp_path):
    """torchrun --nproc_per_node 2 on CPU (gloo): DDP training, rows sharded by rank, one writer."""
    import socket
    import subprocess
    import sys

    import torch.distributed as dist

    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("gloo backend unavailable")
    out = str(tmp_path / "ddp")
    with socket.socket() as sock:  # a free port, so concurrent test runs do not collide
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
           "-m", "itdr_eval", "--model", tiny_model, "--dataset", dataset_dir, "--tasks", "rp",
           "--finetune", "lora", "--epochs", "1", "--grad-accum", "2", "--subset", "test", "--output", out,
           "--no-chart", *FAST]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ids = [r["id"] for r in _records(out)]
    expected = {r["id"] for r in make_rows("rating_prediction", "test")}
    assert len(ids) == len(set(ids)) and set(ids) == expected
    training = _results(out)["model"]["training"]
    # 4 train rows over 2 ranks x batch 1 x accum 2 -> 1 optimizer step (one process alone would take 2)
    assert training["global_steps"] == 1
