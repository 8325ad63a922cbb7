"""Where a build's time goes: ``itdr-build`` run with a timer around each of its phases.

    python benchmarks/build_phases.py --sources movielens_32m --data-dir DIR --output OUT [itdr-build options]

Prints, per phase, wall seconds and the CPU seconds of every process it ran in (user, and system:
on a VM, system time is mostly the kernel faulting in fresh pages), then one line per cell from
the process that made it, with the share spent rendering its rows (``cells.render_row``: templates
and row dicts). Untimed by the build itself; nothing here changes what it writes.
"""

from __future__ import annotations

import functools
import os
import resource
import sys
import time

_START = time.perf_counter()
_ROWS: list[tuple[str, float, float, float]] = []


def _cpu() -> tuple[float, float]:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + children.ru_utime, own.ru_stime + children.ru_stime


def _timed(label: str, function):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        wall, (user, system) = time.perf_counter(), _cpu()
        try:
            return function(*args, **kwargs)
        finally:
            after = _cpu()
            _ROWS.append((label, time.perf_counter() - wall, after[0] - user, after[1] - system))
    return timed


def _cell_timer(make_cell, render_row_module):
    """``make_cell`` that prints its own wall and CPU time, and its rows' render time, where it runs."""
    spent = [0.0]
    render_row = render_row_module.render_row

    def counted_render_row(*args, **kwargs):
        started = time.perf_counter()
        try:
            return render_row(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started

    render_row_module.render_row = counted_render_row

    @functools.wraps(make_cell)
    def timed(subtask, index, config):
        spent[0] = 0.0
        wall, usage = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        cell = make_cell(subtask, index, config)
        after = resource.getrusage(resource.RUSAGE_SELF)
        print(f"  cell {subtask}/{cell.source} (pid {os.getpid()}): {time.perf_counter() - wall:.2f} s wall, "
              f"{after.ru_utime - usage.ru_utime:.2f} s user, {after.ru_stime - usage.ru_stime:.2f} s system; "
              f"rendering rows {spent[0]:.2f} s", file=sys.stderr, flush=True)
        return cell
    return timed


def main(argv: list[str]) -> int:
    imports = time.perf_counter(), _cpu()
    import datasets  # noqa: F401 - the build's heaviest import, timed here with the rest

    from itdr_hf import assemble, card, cells, cli, pipeline

    after = _cpu()
    _ROWS.append(("imports (itdr_hf, datasets, pandas, pyarrow)", time.perf_counter() - imports[0],
                  after[0] - imports[1][0], after[1] - imports[1][1]))
    pipeline.load_source = _timed("read the source (load_source)", pipeline.load_source)
    pipeline.source_report = _timed("source report", pipeline.source_report)
    pipeline._generate = _timed("cells (all processes)", pipeline._generate)
    pipeline.make_cell = _cell_timer(pipeline.make_cell, cells)
    datasets.DatasetBuilder.download_and_prepare = _timed(
        "Parquet, one config (datasets builder)", datasets.DatasetBuilder.download_and_prepare)
    card.collect_cells = _timed("statistics of the written files", card.collect_cells)
    assemble._write_card = _timed("dataset card", assemble._write_card)
    code = cli.main(argv)
    total = time.perf_counter() - _START, *_cpu()
    print(f"\n{'phase':<48}{'runs':>5}{'wall s':>9}{'user s':>9}{'system s':>10}")
    merged: dict[str, list[float]] = {}
    for label, wall, user, system in _ROWS:
        row = merged.setdefault(label, [0, 0.0, 0.0, 0.0])
        row[0] += 1
        row[1] += wall
        row[2] += user
        row[3] += system
    for label, (runs, wall, user, system) in merged.items():
        print(f"{label:<48}{runs:>5}{wall:>9.2f}{user:>9.2f}{system:>10.2f}")
    accounted = sum(row[1] for row in merged.values())
    print(f"{'the rest (CLI, staging, report)':<48}{'':>5}{total[0] - accounted:>9.2f}")
    print(f"{'total':<48}{'':>5}{total[0]:>9.2f}{total[1]:>9.2f}{total[2]:>10.2f}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
