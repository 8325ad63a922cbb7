"""A killed build: its workers die with it, SIGTERM/Ctrl-C clean up with one line, the next build sweeps leftovers.

Real processes and real signals: the build runs in a subprocess whose cell generator sleeps in the
workers, so the test can signal it while workers are alive.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.pipeline import Selection

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="forked workers and /proc are Linux's")

SCRIPT = textwrap.dedent("""
    import os, sys, time
    import itdr_hf.pipeline as pipeline
    parent, marks = os.getpid(), sys.argv[1]
    real = pipeline.make_cell

    def slow(subtask, index, config):
        if os.getpid() != parent:  # a worker: say so, then take long enough to be killed
            open(os.path.join(marks, str(os.getpid())), "w").close()
            time.sleep(120)
        return real(subtask, index, config)

    pipeline.make_cell = slow
    from itdr_hf.cli import main
    sys.exit(main(["--demo", "--sources", "movielens_32m", "--workers", "2", "--output", sys.argv[2]]))
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent's reaping is missing


def _foreground_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(tmp_path: Path) -> tuple[subprocess.Popen, list[int], Path]:
    marks = tmp_path / "marks"
    marks.mkdir()
    output = tmp_path / "out" / "itdr"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(marks), str(output)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        # A foreground terminal job: CI may start us in the background, where SIGINT is inherited as
        # ignored and Python would then never raise KeyboardInterrupt.
        preexec_fn=_foreground_sigint,
    )
    deadline = time.monotonic() + 60
    while len(list(marks.iterdir())) < 2:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"the workers never started: {proc.communicate()}")
        time.sleep(0.1)
    return proc, [int(p.name) for p in marks.iterdir()], output


def _wait_dead(pids: list[int], seconds: float = 10) -> list[int]:
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [p for p in pids if _alive(p)]
    for pid in alive:  # do not leave them running if the test fails
        os.kill(pid, signal.SIGKILL)
    return alive


def _staging(output: Path) -> list[str]:
    return sorted(p.name for p in output.parent.iterdir() if p.name.startswith(f".{output.name}."))


def test_sigkill_takes_the_workers_along_and_the_next_build_sweeps_up(tmp_path):
    proc, workers, output = _start(tmp_path)
    proc.kill()
    proc.wait(timeout=10)
    assert _wait_dead(workers) == []
    assert len(_staging(output)) == 1  # SIGKILL cannot be caught: the staging folder stays ...
    build_dataset(output, Selection(sources=("movielens_32m",), subtasks=("rating_prediction",), demo=True,
                                    strict=True), BuildConfig())
    assert _staging(output) == []  # ... until the next build of the same output removes it


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_sigterm_and_ctrl_c_clean_up_with_one_line(tmp_path, how):
    proc, workers, output = _start(tmp_path)
    if how == "SIGTERM":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)  # the terminal sends Ctrl-C to the whole foreground group
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == (143 if how == "SIGTERM" else 130)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"itdr-build: stopped by {'SIGTERM' if how == 'SIGTERM' else 'interrupt'}; "
                          f"the unfinished build was removed and {output} is unchanged")
    assert _wait_dead(workers) == []
    assert _staging(output) == [] and not output.exists()
