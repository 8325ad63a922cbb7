"""The package's public entry points."""

from __future__ import annotations

import subprocess
import sys


def test_itdr_hf_build_can_be_called_twice(tmp_path):
    """A submodule named ``itdr_hf.build`` used to replace the function on import, so a second call raised TypeError."""
    script = (
        "import sys, itdr_hf\n"
        "from itdr_hf.pipeline import Selection\n"
        "selection = Selection(sources=('movielens_32m',), subtasks=('rating_prediction',), demo=True, strict=True)\n"
        "first = itdr_hf.build(sys.argv[1] + '/a', selection)\n"
        "second = itdr_hf.build(sys.argv[1] + '/b', selection)\n"
        "import itdr_hf.assemble\n"
        "third = itdr_hf.build(sys.argv[1] + '/c', selection)\n"
        "fourth = itdr_hf.build_dataset(sys.argv[1] + '/d', selection)\n"
        "print(first.configs == second.configs == third.configs == fourth.configs)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
