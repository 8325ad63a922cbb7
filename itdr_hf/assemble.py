"""Build ITDR into a Hub-layout folder, atomically.

Everything is written into a hidden staging folder beside the output and moved into place only
when every config has been built and its card written; a failed build removes the staging
folder and leaves an existing output untouched.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import datasets

from . import __version__, card
from .builder import CITATION, Itdr
from .card import CardOptions, length_unit
from .cellstats import CellStats
from .config import BuildConfig
from .errors import ItdrError
from .export import card_data, drop_empty_splits, place_parquet
from .features import ALL
from .outdir import (
    MARKER,
    check_output,
    previous_total,
    remove_stale_staging,
    staging_prefix,
)
from .pipeline import Plan, Selection, run
from .references.config import ReferenceConfig
from .report import as_json
from .sources import SOURCES
from .subtasks import ordered_names

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildResult:
    output: Path
    configs: tuple[str, ...]
    stats: tuple[CellStats, ...]
    skipped: tuple[tuple[str, str, str], ...]
    skipped_lines: tuple[dict, ...] = ()
    warnings: tuple[str, ...] = ()
    sources: dict = dataclasses.field(default_factory=dict)  # per source: see pipeline.source_report


def build_dataset(
    output: str | Path,
    selection: Selection | None = None,
    config: BuildConfig | None = None,
    *,
    repo_id: str = "itdr",
    references: ReferenceConfig | None = None,
    card_options: CardOptions | None = None,
    workers: int = 1,
    overwrite: bool = False,
) -> BuildResult:
    """Build into ``output``; ``workers`` processes generate cells in parallel (same rows as one).

    ``output`` is replaced only when it is empty, an earlier build, or ``overwrite`` is set
    (:func:`itdr_hf.outdir.check_output`); it is never the data directory or near it.
    """
    output = Path(output).absolute()
    selection = selection or Selection()
    config = config or BuildConfig()
    data_dirs = [Path(selection.data_dir)] if selection.data_dir else []
    check_output(output, data_dirs, overwrite)
    before = previous_total(output)
    staging = _make_staging(output)
    bars_were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        result = _build_into(staging, output, selection, config, repo_id, references, card_options, workers)
        _swap_into_place(staging, output)
        return dataclasses.replace(result, warnings=_collapse_warning(output, before, sum(s.total for s in result.stats)))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if bars_were_on:
            datasets.enable_progress_bars()


def _make_staging(output: Path) -> Path:
    """The hidden folder the build writes into, beside ``output``; a dead build's are removed first."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(output)
        return Path(tempfile.mkdtemp(prefix=staging_prefix(output), dir=output.parent))
    except OSError as exc:
        raise ItdrError(
            f"cannot write --output {output}: {exc.strerror or exc} in {output.parent}; choose a folder you can write"
        ) from None


def _collapse_warning(output: Path, before: int | None, after: int) -> tuple[str, ...]:
    """A rebuild with far fewer rows than the build it replaced usually means broken inputs."""
    if before is None or before < 10 or after * 2 > before:
        return ()
    warning = (
        f"WARNING: this build has {after:,} rows; the build it replaced in {output} had {before:,} "
        f"({100 * (before - after) / before:.0f}% fewer). Check the inputs: build_report.json lists the skipped lines."
    )
    return (warning,)


def _build_into(
    staging: Path, output: Path, selection: Selection, config: BuildConfig, repo_id: str,
    references: ReferenceConfig | None = None,
    card_options: CardOptions | None = None,
    workers: int = 1,
) -> BuildResult:
    dl_manager = datasets.DownloadManager(dataset_name="itdr", download_config=datasets.DownloadConfig())
    plan = run(selection, config, dl_manager, references, workers=workers)
    built_sources = tuple(dict.fromkeys(c.source for c in plan.cells))
    subtasks = [name for name in ordered_names() if any(c.subtask == name for c in plan.cells)]
    infos: dict[str, datasets.DatasetInfo] = {}
    for name in [*subtasks, ALL]:
        builder = Itdr.from_options(
            name,
            build=config,
            sources=built_sources,
            data_dir=selection.data_dir,
            demo=selection.demo,
            strict=selection.strict,
            cache_dir=str(staging / ".cache"),
            references=references,
            subtasks=tuple(subtasks),
            cells=plan.cells,
        )
        prepared = staging / ".prepared" / name
        builder.download_and_prepare(output_dir=str(prepared), file_format="parquet", dl_manager=dl_manager)
        infos[name] = builder.info
        place_parquet(prepared, name, staging, drop_empty_splits(infos[name]))
    shutil.rmtree(staging / ".prepared", ignore_errors=True)
    shutil.rmtree(staging / ".cache", ignore_errors=True)
    tokenizer = (card_options or CardOptions()).tokenizer
    unit = length_unit(tokenizer)  # the card's unit: tokens in the report too
    # one set of statistics, counted from the Parquet files just written: what the card and the report show
    stats = card.collect_cells(staging, subtasks, unit)
    _write_card(staging, plan, infos, stats, repo_id, card_options or CardOptions())
    report = {"generator": MARKER, **as_json(stats, plan.skipped, plan.skipped_lines, plan.sources)}
    (staging / "build_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return BuildResult(
        output, tuple(infos), tuple(stats), tuple(plan.skipped), tuple(plan.skipped_lines), sources=dict(plan.sources)
    )


def _write_card(
    folder: Path, plan: Plan, infos: dict, stats: list[CellStats], repo_id: str, options: CardOptions = CardOptions()
) -> None:
    default = next(iter(infos))
    data = card_data(
        infos,
        default,
        license="other",
        pretty_name="ITDR: Instruction Tuning Dataset for Recommendation",
        language=["en"],
        task_categories=["text-generation"],
        tags=["recommendation", "instruction-tuning", "recommender-systems"],
        size_categories=[_size_category(sum(s.total for s in stats))],
    )
    sources = [SOURCES.get(name)() for name in dict.fromkeys(c.source for c in plan.cells)]
    parameters = [
        {"name": f.name, "value": getattr(plan.config, f.name), "help": f.metadata.get("help", "")}
        for f in dataclasses.fields(plan.config)
    ]
    card.write_card(
        folder, data, configs=list(infos), options=options,
        version=__version__, repo_id=repo_id, skipped=plan.skipped, demo=plan.selection.demo,
        parameters=parameters, task_descriptions=plan.config.task_descriptions, sources=sources, citation=CITATION,
        cells=stats,
    )


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return label
    return "1M<n<10M"


def _swap_into_place(staging: Path, output: Path) -> None:
    """Replace ``output`` by ``staging`` with two renames, so no reader ever sees a half-written folder."""
    final = staging.with_name(staging.name + ".done")
    old = output.with_name(f".{output.name}.old-{os.getpid()}")
    try:
        os.rename(staging, final)
        if output.exists():
            os.rename(output, old)
        os.rename(final, output)
    except OSError as exc:
        if old.exists() and not output.exists():
            os.rename(old, output)
        shutil.rmtree(final, ignore_errors=True)
        raise ItdrError(f"cannot replace --output {output}: {exc.strerror or exc}; the earlier build, if any, is unchanged") from None
    shutil.rmtree(old, ignore_errors=True)
