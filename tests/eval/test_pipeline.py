"""End to end through the CLI function: LoRA fine-tune -> predict -> score -> report, on a tiny
random model and the fixture dataset; plus adapter scoring, likelihood mode, resume and studies."""

import json
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


def test_adapter_model_with_lora_is_refused(trained_run, dataset_dir, tmp_path):
    with pytest.raises(ValueError, match="adapter"):
        main(["--model", os.path.join(trained_run, "adapter"), "--dataset", dataset_dir, "--finetune", "lora",
              "--tasks", "rp", "--output", str(tmp_path / "x")])


def test_rerun_skips_done_ids(tiny_model, dataset_dir, tmp_path):
    out = str(tmp_path / "resume")
    args = ["--dataset", dataset_dir, "--tasks", "rp,nir", "--output", out, *FAST]
    main(["--model", tiny_model, *args])
    lines = _read(os.path.join(out, "predictions.jsonl")).splitlines()
    assert len(lines) == len(_eval_ids(["rating_prediction", "next_item_recommendation"]))
    # all done: the model is not even loaded
    main(["--model", str(tmp_path / "does-not-exist"), "--resume", *args])
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


def test_retraining_sets_stale_predictions_aside(trained_run, tiny_model, dataset_dir, tmp_path):
    out = str(tmp_path / "stale")
    shutil.copytree(trained_run, out)
    main(["--model", tiny_model, "--dataset", dataset_dir, "--tasks", "nir", "--output", out, "--finetune", "lora",
          "--epochs", "1", "--grad-accum", "2", "--save-steps", "100", *FAST])
    assert any(f.startswith("predictions.stale-") for f in os.listdir(out))
    assert len(_records(out)) == len(_eval_ids(["next_item_recommendation"]))


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
