"""Which folders a build may replace, and the staging folders it leaves if it is killed.

A build replaces its output folder as a whole, so pointing ``--output`` at the wrong folder
would delete the user's files. It therefore replaces only a folder it recognises as an earlier
build of its own (the marker in ``build_report.json`` plus nothing but the Hub layout), an
empty folder, or any folder when the user passes ``--overwrite``; and never the raw data it
reads, a folder holding it, or a folder inside it, even with ``--overwrite``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from .errors import ConfigError

MARKER = "itdr-hf"  # build_report.json's "generator" field: what makes a folder ours
REPORT = "build_report.json"
CARD = "README.md"


def is_itdr_build(folder: Path) -> bool:
    """A folder holding only our card, our report and config folders of Parquet files.

    Builds made before the marker existed are recognised by the same layout and report keys.
    """
    try:
        report = json.loads((folder / REPORT).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(report, dict) or not (report.get("generator") == MARKER or {"cells", "total"} <= set(report)):
        return False
    if not (folder / CARD).is_file():
        return False
    for entry in folder.iterdir():
        if entry.name in (CARD, REPORT):
            continue
        if entry.is_symlink() or not entry.is_dir() or not _config_name(entry.name):
            return False
        if any(p.is_symlink() or not p.is_file() or p.suffix != ".parquet" for p in entry.iterdir()):
            return False
    return True


def _config_name(name: str) -> bool:
    from .features import ALL
    from .subtasks import SUBTASKS

    return name == ALL or name in SUBTASKS


def check_output(output: Path, data_dirs: list[Path], overwrite: bool = False) -> None:
    """Refuse an ``output`` whose replacement would destroy something that is not an old build."""
    real = Path(os.path.realpath(output))
    for data in data_dirs:
        data = Path(os.path.realpath(data))
        if real == data or data.is_relative_to(real) or real.is_relative_to(data):
            how = "is" if real == data else ("holds" if data.is_relative_to(real) else "is inside")
            raise ConfigError(
                f"--output {output} {how} the data directory {data}; a build replaces its output folder, "
                "so write it somewhere else (e.g. --output ./itdr)"
            )
    if not output.exists() and not output.is_symlink():
        return
    if output.is_symlink() or not output.is_dir():
        raise ConfigError(f"--output {output} exists and is not a folder; choose another path")
    if overwrite or is_itdr_build(output) or not any(output.iterdir()):
        return
    shown = sorted(p.name for p in output.iterdir())
    listing = ", ".join(shown[:3]) + (", …" if len(shown) > 3 else "")
    raise ConfigError(
        f"--output {output} is a folder that is not an itdr build (it holds {listing}); choose another path, "
        "or pass --overwrite to replace it and everything in it"
    )


def previous_total(output: Path) -> int | None:
    """Rows of the build at ``output``, from its report, to notice a collapsing rebuild."""
    try:
        total = json.loads((output / REPORT).read_text()).get("total")
    except (OSError, ValueError, AttributeError):
        return None
    return total if isinstance(total, int) else None


def staging_prefix(output: Path) -> str:
    """Hidden staging folders beside ``output`` name their process, so a later build can tell a
    dead build's leftovers from a running one's."""
    return f".{output.name}.partial-{os.getpid()}-"


def remove_stale_staging(output: Path) -> list[Path]:
    """Delete staging folders of ``output`` left by builds whose process is gone (killed, crashed)."""
    return remove_dead_folders(output.parent, rf"\.{re.escape(output.name)}\.(?:partial|old)-")


def remove_dead_folders(parent: Path, prefix: str) -> list[Path]:
    """Delete the folders in ``parent`` named ``prefix`` (a regex), a process id, then ``-`` or nothing, whose
    process is gone: what a build killed with SIGKILL left (staging beside ``--output``, spills under TMPDIR)."""
    pattern = re.compile(rf"^{prefix}(\d+)(-|$)")
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
