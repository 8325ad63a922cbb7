"""Options dataclass -> CLI derivation, task registry, and a --help that never imports torch."""

import dataclasses
import subprocess
import sys

import pytest
from itdr_eval.config import EvalConfig, build_parser, parse_config
from itdr_eval.tasks import TASKS, get_task, max_new_tokens_table, parse_task_list


def test_every_field_is_an_option_with_help():
    parser = build_parser()
    dests = {a.dest: a for a in parser._actions}
    for f in dataclasses.fields(EvalConfig):
        assert f.name in dests and f.metadata["help"]
        assert dests[f.name].help == f.metadata["help"]


def test_paper_recipe_defaults():
    cfg = parse_config(["--model", "m"])
    assert (cfg.learning_rate, cfg.lr_scheduler, cfg.epochs) == (1e-4, "cosine", 2.0)
    assert (cfg.per_device_batch_size, cfg.grad_accum, cfg.cutoff_len) == (1, 8, 2048)
    assert (cfg.lora_rank, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_target) == (8, 16.0, 0.0, "all-linear")
    assert cfg.subset == "eval" and cfg.precision == "auto"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.model = "x"


def test_cli_parses_types_and_bools():
    cfg = parse_config(["--model", "m", "--lora-rank", "16", "--train-fraction", "0.25", "--resume", "--no-chart"])
    assert cfg.lora_rank == 16 and cfg.train_fraction == 0.25 and cfg.resume and not cfg.chart
    with pytest.raises(ValueError):
        parse_config(["--model", "m", "--train-fraction", "0"])
    with pytest.raises(SystemExit):
        parse_config(["--model", "m", "--predict-mode", "beam"])


def test_task_lists():
    assert [t.name for t in parse_task_list("all")] == list(TASKS)
    assert "top_k_recommendation" not in [t.name for t in parse_task_list("all,-top_k_recommendation")]
    assert len(parse_task_list("all,-tkr")) == 6
    assert [t.abbr for t in parse_task_list("uii")] == ["RP", "TKR", "CDR", "NIR"]
    assert [t.abbr for t in parse_task_list("uiu")] == ["UAP", "IR", "TUI"]
    assert [t.abbr for t in parse_task_list("nir,rp")] == ["RP", "NIR"]
    assert len(parse_task_list("-ir")) == 6
    with pytest.raises(KeyError, match="known"):
        get_task("bogus")
    with pytest.raises(ValueError):
        parse_task_list("rp,-rp")


def test_max_new_tokens_overrides():
    table = max_new_tokens_table("rp=4, TKR=100")
    assert table["rating_prediction"] == 4 and table["top_k_recommendation"] == 100
    assert table["next_item_recommendation"] == TASKS["next_item_recommendation"].max_new_tokens


@pytest.mark.parametrize("argv", [["-m", "itdr_eval", "--help"], ["-c", "import sys; from itdr_eval.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\nassert 'torch' not in sys.modules and 'transformers' not in sys.modules, sorted(sys.modules)"]])
def test_help_does_not_import_torch(argv):
    code = ("import runpy, sys\nsys.argv=['itdr-eval','--help']\n"
            "try:\n    runpy.run_module('itdr_eval', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "bad=[m for m in ('torch','transformers','datasets','peft','evaluate') if m in sys.modules]\n"
            "assert not bad, bad\n") if argv[0] == "-m" else argv[1]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    if argv[0] == "-m":
        assert "--finetune" in proc.stdout and "--predict-mode" in proc.stdout


def test_compare_folder_must_hold_results(tmp_path):
    with pytest.raises(ValueError, match="results.json"):
        parse_config(["--model", "m", "--compare", str(tmp_path)])


def test_a_group_scores_the_configs_a_build_has_and_a_named_missing_one_is_an_error():
    from itdr_eval.tasks import parse_task_list, present_tasks

    have = ["rating_prediction", "top_k_recommendation", "next_item_recommendation", "target_user_identification", "all"]
    kept, missing = present_tasks("all", parse_task_list("all"), have, "--dataset x")
    assert [t.name for t in kept] == have[:3] + ["target_user_identification"]
    assert missing == ["cross_domain_recommendation", "user_attribute_prediction", "interest_recognition"]
    assert present_tasks("uii,-rp", parse_task_list("uii,-rp"), have, "--dataset x")[1] == ["cross_domain_recommendation"]
    with pytest.raises(ValueError, match="--dataset x has no cross_domain_recommendation config"):
        present_tasks("rp,cdr", parse_task_list("rp,cdr"), have, "--dataset x")
    with pytest.raises(ValueError, match="has none of the subtasks"):
        present_tasks("uiu,-tui", parse_task_list("uiu,-tui"), have, "--dataset x")
    assert present_tasks("cdr", parse_task_list("cdr"), None, "x")[0][0].name == "cross_domain_recommendation"


def test_config_names_of_a_bare_parquet_folder(tmp_path):
    from itdr_eval.data import config_names

    (tmp_path / "rating_prediction").mkdir()
    (tmp_path / "rating_prediction" / "test-00000-of-00001.parquet").write_bytes(b"")
    (tmp_path / "notes").mkdir()
    assert config_names(str(tmp_path)) == ["rating_prediction"]
    assert config_names(str(tmp_path / "absent" / "x")) is None
