import subprocess
import sys

import pytest
from datasets import load_dataset

from itdr_hf.cli import main


def test_demo_build_through_the_cli(tmp_path, capsys):
    out = tmp_path / "itdr"
    assert main(["--demo", "--sources", "movielens_32m", "--subtasks", "rating_prediction", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rating_prediction" in printed and "wrote" in printed
    assert load_dataset(str(out), "rating_prediction")["train"].num_rows > 0


def test_options_come_from_the_build_config(tmp_path):
    out = tmp_path / "itdr"
    assert main(["--demo", "--sources", "movielens_32m", "--subtasks", "rating_prediction",
                 "--no-task-descriptions", "--cap-per-cell", "20", "--output", str(out)]) == 0
    ds = load_dataset(str(out), "rating_prediction")
    assert sum(ds[s].num_rows for s in ds) == 20
    assert set(ds["train"]["instruction"]) == {""}


def test_user_errors_exit_2_without_a_traceback(tmp_path, capsys):
    assert main(["--sources", "nope", "--output", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("itdr-build: error: unknown source 'nope'; known:") and "Traceback" not in err


def test_help_is_instant_and_lists_construction_options():
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from itdr_hf.cli import _parser; _parser().format_help(); "
         "print('datasets' in sys.modules, 'pandas' in sys.modules)"],
        capture_output=True, text=True, check=True,
    )
    assert result.stdout.strip() == "False False"
    help_text = subprocess.run([sys.executable, "-m", "itdr_hf", "--help"], capture_output=True, text=True).stdout
    assert "--cap-per-cell" in help_text and "--negative-sampling" in help_text and "--demo" in help_text


def test_all_holds_only_the_selected_subtasks(tmp_path):
    out = tmp_path / "itdr"
    assert main(["--demo", "--sources", "movielens_32m", "--subtasks", "next_item_recommendation", "--output", str(out)]) == 0
    everything = load_dataset(str(out), "all")
    assert set(everything["train"]["task"]) == {"next_item_recommendation"}


def test_an_empty_name_list_says_it_is_empty(tmp_path, capsys):
    for option in ("--sources", "--subtasks"):
        assert main(["--demo", option, "", "--output", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"itdr-build: error: {option} '' names nothing;") and "itdr-build --list" in err
    assert not (tmp_path / "x").exists()


def test_help_states_each_default_once_and_keeps_arrows_whole():
    help_text = subprocess.run(
        [sys.executable, "-m", "itdr_hf", "--help"], capture_output=True, text=True, env={"COLUMNS": "80", "PATH": ""}, check=False,
    ).stdout
    blocks = help_text.split("\n  --")
    assert blocks and all(block.count("Default:") <= 1 for block in blocks), [b for b in blocks if b.count("Default:") > 1]
    assert "Default: None" not in help_text
    lines = help_text.splitlines()
    assert all(not line.rstrip().endswith("<-") and not line.strip().startswith(">") for line in lines)
    assert "Appliances<->Industrial_and_Scientific," in help_text
    assert max(len(line) for line in lines if "<->" in line) <= 80


def test_the_printed_load_line_loads_the_build(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["--demo", "--sources", "movielens_32m", "--subtasks", "rating_prediction", "--output", "itdr"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("load it with: "))
    assert line == f'load it with: load_dataset("{tmp_path / "itdr"}", "rating_prediction")'


def test_builds_run_without_transparent_huge_pages_unless_asked(tmp_path, monkeypatch):
    """The build's process gives up transparent huge pages before it reads anything (benchmarks/README.md:
    on a VM they cost more than they save); --transparent-huge-pages keeps them; --list touches nothing."""
    from itdr_hf import heap

    calls = []
    monkeypatch.setattr(heap, "disable_transparent_huge_pages", lambda: calls.append("off") or True)
    empty = tmp_path / "empty"
    empty.mkdir()
    build = ["--sources", "movielens_32m", "--data-dir", str(empty), "--output", str(tmp_path / "out")]
    assert main(build) == 2 and calls == ["off"]  # the source is missing: the build stops, after the call
    assert main([*build, "--transparent-huge-pages"]) == 2 and calls == ["off"]
    assert main(["--list"]) == 0 and calls == ["off"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_THP_DISABLE) is Linux's")
def test_huge_pages_are_off_for_the_process_and_its_forked_workers():
    script = (
        "import ctypes, os\n"
        "from itdr_hf.heap import PR_GET_THP_DISABLE, PR_SET_THP_DISABLE, disable_transparent_huge_pages\n"
        "get = lambda: ctypes.CDLL(None).prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0)\n"
        "ctypes.CDLL(None).prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0)  # inherited: pytest may have built in-process\n"
        "before = get()\n"
        "print(before, disable_transparent_huge_pages(), get(), flush=True)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    print(get(), flush=True)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "True", "1", "1"]
