"""From source names and options to generated cells, with the reasons for every skipped cell.

One call reads each selected source once and generates each cell once; the ``datasets``
builder of every config is then handed these cells (:mod:`itdr_hf.assemble`), so nothing is
cached between calls.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import hashlib
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from .cells import Cell, make_cell
from .config import BuildConfig
from .errors import ConfigError, DataError, ItdrError, SourceUnavailable
from .heap import release_free_memory
from .index import SourceIndex
from .matrix import cells_for, paper_sources
from .sources import SOURCES, Source
from .subtasks import SUBTASKS, ordered_names

if TYPE_CHECKING:
    from datasets import DownloadManager

    from .references import ReferenceConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    """What to build: subtasks, sources (None: every source of the paper that has a reader), where raw files are."""

    subtasks: tuple[str, ...] = ()
    sources: tuple[str, ...] | None = None
    data_dir: str | None = None
    demo: bool = False
    strict: bool = False

    def __post_init__(self) -> None:
        for name in self.subtasks:
            SUBTASKS.get(name)
        for name in self.sources or ():
            SOURCES.get(name)

    def subtask_names(self) -> list[str]:
        return list(self.subtasks) if self.subtasks else ordered_names()

    def source_names(self) -> list[str]:
        if self.sources is not None:
            return list(self.sources)
        paper = paper_sources()
        names = [s for s in paper if s in SOURCES] + [s for s in SOURCES.names() if s not in paper]
        if self.demo:
            names = [s for s in names if SOURCES.get(s).demo_folder]
        return names

    def cells(self) -> list[tuple[str, str]]:
        cells = cells_for(self.subtask_names(), self.source_names())
        if self.strict and not cells:
            raise ConfigError(
                f"no cell of the paper's matrix pairs subtasks {self.subtask_names()} with sources {list(self.sources)}"
            )
        return cells


@dataclass
class Plan:
    selection: Selection
    config: BuildConfig
    cells: list[Cell] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    skipped_lines: list[dict] = field(default_factory=list)
    sources: dict[str, dict] = field(default_factory=dict)  # per source: rows read, rows dropped, absent inputs
    references: ReferenceConfig | None = None  # who wrote the IR/TUI references (for the card)


def demo_dir() -> Path:
    return Path(str(resources.files("itdr_hf.demo")))


def source_dir(source: Source, selection: Selection, dl_manager: DownloadManager | None) -> Path:
    if selection.demo:
        folder = demo_dir() / source.demo_folder if source.demo_folder else None
        if folder is None or source.find_in(folder) is None:
            raise SourceUnavailable(f"{source.name}: no demo sample is bundled")
        return folder
    data_dir = Path(selection.data_dir) if selection.data_dir else None
    if data_dir is not None and (found := source.find_in(data_dir)) is not None:
        return found
    if data_dir is not None and selection.strict:
        return source.locate(data_dir, None)
    return source.locate(None, dl_manager)


def load_source(name: str, root: Path, config: BuildConfig) -> SourceIndex:
    logger.info("reading %s from %s", name, root)
    index = SourceIndex(SOURCES.get(name)().read(root, config))
    release_free_memory()
    return index


def input_fingerprint(source: Source, root: Path) -> str:
    """Names, sizes and modification times of a source's files: cheap, and changes when they do."""
    digest = hashlib.sha256(source.name.encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}\x1f{stat.st_size}\x1f{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def run(
    selection: Selection,
    config: BuildConfig,
    dl_manager: DownloadManager | None = None,
    references: ReferenceConfig | None = None,
    workers: int = 1,
) -> Plan:
    """Read the selected sources and generate their cells; ``workers`` > 1 generates cells in parallel."""
    plan = Plan(selection, config, references=references)
    wanted = selection.cells()
    indexes: dict[str, SourceIndex | str] = {}
    for name in dict.fromkeys(source for _, source in wanted):
        try:
            source = SOURCES.get(name)()
            root = source_dir(source, selection, dl_manager)
            indexes[name] = load_source(name, root, config)
            plan.sources[name] = source_report(source, root, indexes[name], config)
            plan.skipped_lines.extend(s for s in indexes[name].tables.skipped_lines if s.get("skipped") or s.get("note"))
        except SourceUnavailable as exc:
            if selection.strict:
                raise
            indexes[name] = str(exc)
    todo: list[tuple[str, str]] = []
    for subtask, source in wanted:
        index = indexes[source]
        reason = index if isinstance(index, str) else SUBTASKS.get(subtask)().unsupported(index)
        if reason:
            plan.skipped.append((subtask, source, reason))
            continue
        todo.append((subtask, source))
    with _collector_skips_the_sources():
        generated = _generate(todo, indexes, config, workers)
    for (subtask, source), cell in zip(todo, generated):
        if cell.size == 0:
            plan.skipped.append((subtask, source, "no user or item meets the subtask's minimums"))
            continue
        plan.cells.append(cell)
    if references is not None and references.enabled:
        plan.cells = with_references(plan.cells, references)
    if not plan.cells:
        reasons = "\n".join(f"  - {line}" for line in skip_reasons(plan.skipped)) or "  - nothing selected"
        raise ItdrError(f"no cell could be built:\n{reasons}")
    return plan


def source_report(source: Source, root: Path, index: SourceIndex, config: BuildConfig) -> dict:
    """What reading a source dropped or lacked, for the report; too many unknown items fail the build.

    ``interactions`` counts every row read, also those a reader dropped early (``dropped_early``).

    Rows naming an item the item file lacks can never be shown to a model, so they are skipped,
    but counted against ``max_bad_line_fraction`` like unreadable lines: a truncated item file
    would otherwise shrink the build silently.
    """
    all_rows = index.tables.all_rows
    rows = len(index.tables.interactions) if all_rows is None else all_rows.read
    unknown, examples = index.unknown_item_rows
    if unknown > config.max_bad_line_fraction * rows:
        raise DataError(
            root,
            f"{source.name}: {unknown:,} of {rows:,} interactions ({unknown / max(rows, 1):.2%}) name an item missing "
            f"from the item file (first: {', '.join(examples)}); at most {config.max_bad_line_fraction:g} may",
            fix="check that the item file is complete (re-download or re-extract it), or raise --max-bad-line-fraction "
            "to skip these rows",
        )
    report = {
        "interactions": rows,
        "unknown_item_rows": unknown,
        "unknown_item_examples": examples,
        "absent_optional_files": source.absent_optional_files(root),
    }
    if all_rows is not None:  # rows read but not kept (their counts still are): how many, and why
        report["dropped_early"] = {"rows": all_rows.dropped, "reason": all_rows.reason}
    return report


def skip_reasons(skipped: list[tuple[str, str, str]]) -> list[str]:
    """One line per distinct reason, naming the cells it cost (a missing source costs several)."""
    cells: dict[str, list[str]] = {}
    for subtask, source, reason in skipped:
        cells.setdefault(reason, []).append(f"{subtask}/{source}")
    return [f"{', '.join(names)}: {reason}" for reason, names in cells.items()]


_FORKED_INDEXES: dict = {}


def _make_forked_cell(subtask: str, source: str, config: BuildConfig) -> Cell:
    return make_cell(subtask, _FORKED_INDEXES[source], config)


def _worker_init(parent: int) -> None:
    """A worker dies with the build that forked it, even one killed with SIGKILL, and leaves Ctrl-C
    and SIGTERM to the parent (which stops the workers and cleans up) instead of printing tracebacks."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not _parent_death_signal():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _parent_death_signal() -> bool:
    """Linux's PR_SET_PDEATHSIG: the kernel sends SIGKILL to this process when its parent exits."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API before Python 3.14
    for process in processes:
        process.kill()
    for process in processes:
        process.join(timeout=5)


# Objects allocated between collections of the youngest generation (CPython's default: 700).
GC_YOUNG_THRESHOLD = 100_000


@contextlib.contextmanager
def _collector_skips_the_sources():
    """While cells are generated, the cyclic collector leaves the read sources alone and runs less.

    Generation allocates millions of short-lived dicts and lists (contexts, rows), and each
    collection walked every object the read left behind: 7% of a MovieLens 32M build's CPU in
    ``gc_collect_main`` (perf). Frozen objects are skipped, and a forked worker does not copy the
    pages whose headers a collection would write (CPython's advice for ``fork``). Garbage cycles
    among the sources are collected first; the thresholds and the freeze are restored after.
    """
    thresholds = gc.get_threshold()
    ours = gc.get_freeze_count() == 0  # a caller's own frozen objects are left as they were
    if ours:
        gc.collect()
        gc.freeze()
    gc.set_threshold(max(thresholds[0], GC_YOUNG_THRESHOLD), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if ours:
            gc.unfreeze()


def _generate(todo: list[tuple[str, str]], indexes: dict, config: BuildConfig, workers: int) -> list[Cell]:
    """The cells of ``todo``, in its order. Cells are independent (each has its own seeded RNG), so
    forked worker processes, which share the read sources copy-on-write, give the same rows as
    one process does; without ``fork`` (Windows, macOS defaults) generation stays sequential."""
    progress = tqdm(total=len(todo), desc="cells", unit="cell", disable=None)
    # Sources that ask for it (``Source.fork_cells`` False: Amazon 2023) are generated here, one cell
    # at a time: a forked worker would copy every page of their tables' heap it touches.
    forkable = [
        (subtask, source) for subtask, source in todo if getattr(SOURCES.get(source), "fork_cells", True)
    ]
    cells: dict[tuple[str, str], Cell] = {}
    if workers > 1 and len(forkable) > 1 and "fork" in multiprocessing.get_all_start_methods():
        _FORKED_INDEXES.update({k: v for k, v in indexes.items() if not isinstance(v, str)})
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(forkable)), mp_context=context, initializer=_worker_init, initargs=(os.getpid(),)
        )
        try:
            futures = {key: pool.submit(_make_forked_cell, *key, config) for key in forkable}
            _generate_here([key for key in todo if key not in futures], indexes, config, progress, cells)
            for key, future in futures.items():
                cells[key] = future.result()
                progress.update()
        except BaseException:
            _kill_workers(pool)  # Ctrl-C, SIGTERM or a failed cell: the other cells are not wanted any more
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            _FORKED_INDEXES.clear()
    else:
        _generate_here(todo, indexes, config, progress, cells)
    progress.close()
    return [cells[key] for key in todo]


def _generate_here(todo: list[tuple[str, str]], indexes: dict, config: BuildConfig, progress, cells: dict) -> None:
    for subtask, source in todo:
        progress.set_postfix_str(f"{subtask}/{source}")
        cells[(subtask, source)] = make_cell(subtask, indexes[source], config)
        if not getattr(SOURCES.get(source), "fork_cells", True):
            release_free_memory()  # the cell's transients, before the next one
        progress.update()


def with_references(cells: list[Cell], references: ReferenceConfig) -> list[Cell]:
    """Cells with LLM-written references where they have a ``reference_provenance`` column."""
    from .references import write_references

    return write_references(cells, references)[0]


def selection_fingerprint(selection: Selection, config: BuildConfig) -> str:
    payload = json.dumps(
        {"selection": [list(selection.subtasks), selection.sources, selection.data_dir, selection.demo, selection.strict],
         "config": config.to_dict()},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
