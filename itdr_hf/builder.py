"""The ``datasets`` builder: one builder class, one config per subtask plus ``all``.

It is an ``ArrowBasedBuilder`` (the base of datasets' own csv/json/parquet builders) rather
than a ``GeneratorBasedBuilder``: the rows of a cell are handed over as one Arrow table, which
skips the per-example Python encoding that took half of the MovieLens 32M build time.

There is no loading script (datasets ≥ 4 refuses them): the builder runs here, in
``itdr-build``, and the export step writes its Parquet output in the Hub layout that
``load_dataset`` reads. ``itdr-build`` generates the cells once (:func:`itdr_hf.pipeline.run`)
and hands them to the builder of every config (``cells=``), which picks its subtask's cells; this
class is the one place that defines the features, splits and configs. Driven directly, without
``cells``, it runs the pipeline itself::

    builder = Itdr.from_options("rating_prediction", build=BuildConfig(seed=1), data_dir="ml-32m")
    builder.download_and_prepare()
    ds = builder.as_dataset()

``from_options`` derives the builder's ``hash`` from the options, the raw files and the
templates, so a changed input never silently reuses an old cache.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import datasets
import pyarrow as pa
from datasets.utils.py_utils import classproperty

from . import __version__
from .cells import Cell
from .config import BuildConfig
from .features import ALL, features_for
from .pipeline import Selection, run, selection_fingerprint
from .references.config import ReferenceConfig
from .splits import SPLITS
from .subtasks import SUBTASKS, ordered_names
from .templates import template_digest

DESCRIPTION = (
    "ITDR: an instruction-tuning dataset that teaches large language models to recommend "
    "(Liu, Huang, Sang; arXiv 2508.05667), rebuilt from its public sources."
)
CITATION = """@article{liu2025itdr,
  title={ITDR: An Instruction Tuning Dataset for Enhancing Large Language Models in Recommendations},
  author={Liu, Zekun and Huang, Xiaowen and Sang, Jitao},
  journal={arXiv preprint arXiv:2508.05667},
  year={2025},
  note={Accepted to KDD 2026}
}"""


@dataclass
class ItdrConfig(datasets.BuilderConfig):
    """One subtask (or ``all``) and the options of the build it belongs to."""

    build: BuildConfig = field(default_factory=BuildConfig)
    sources: tuple[str, ...] | None = None
    demo: bool = False
    strict: bool = False
    references: ReferenceConfig | None = None
    subtasks: tuple[str, ...] | None = None

    def selection(self) -> Selection:
        """``all`` holds the build's subtasks (every subtask unless ``subtasks`` narrows it)."""
        subtasks = (self.subtasks or tuple(ordered_names())) if self.name == ALL else (self.name,)
        return Selection(
            subtasks=subtasks, sources=self.sources, data_dir=self.data_dir, demo=self.demo, strict=self.strict
        )


def _configs() -> list[ItdrConfig]:
    configs = [
        ItdrConfig(name=name, version=datasets.Version("1.0.0"), description=SUBTASKS.get(name).title)
        for name in ordered_names()
    ]
    configs.append(ItdrConfig(name=ALL, version=datasets.Version("1.0.0"), description="Every subtask"))
    return configs


class Itdr(datasets.ArrowBasedBuilder):
    BUILDER_CONFIG_CLASS = ItdrConfig
    DEFAULT_CONFIG_NAME = "rating_prediction"

    config: ItdrConfig

    # Computed on each use rather than once at import, so a subtask registered later (a plugin,
    # a test) has a config like the paper's seven.
    @classproperty
    @classmethod
    def BUILDER_CONFIGS(cls) -> list[ItdrConfig]:  # noqa: N802 - the name datasets reads
        return _configs()

    @classproperty
    @classmethod
    def builder_configs(cls) -> dict[str, ItdrConfig]:
        return {config.name: config for config in _configs()}

    def __init__(self, *args, cells: list[Cell] | None = None, **kwargs) -> None:
        self._given_cells = cells
        super().__init__(*args, **kwargs)

    @classmethod
    def from_options(
        cls,
        config_name: str,
        *,
        build: BuildConfig | None = None,
        sources: tuple[str, ...] | None = None,
        data_dir: str | None = None,
        demo: bool = False,
        strict: bool = False,
        cache_dir: str | None = None,
        references: ReferenceConfig | None = None,
        subtasks: tuple[str, ...] | None = None,
        cells: list[Cell] | None = None,
    ) -> Itdr:
        """A builder for ``config_name``; ``cells`` (the whole build's, already generated) spare it the pipeline run."""
        build = build or BuildConfig()
        selection = Selection(subtasks=subtasks or (), sources=sources, data_dir=data_dir, demo=demo, strict=strict)
        return cls(
            config_name=config_name,
            cache_dir=cache_dir,
            hash=build_hash(selection, build, references),
            build=build,
            sources=sources,
            data_dir=data_dir,
            demo=demo,
            strict=strict,
            references=references,
            subtasks=subtasks,
            cells=cells,
        )

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=DESCRIPTION,
            features=features_for(self.config.name),
            homepage="https://arxiv.org/abs/2508.05667",
            citation=CITATION,
            license="other",
        )

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        if self._given_cells is None:
            self.cells = run(self.config.selection(), self.config.build, dl_manager, self.config.references).cells
        else:
            self.cells = cells_of(self.config.name, self._given_cells)
        return [datasets.SplitGenerator(name=split, gen_kwargs={"split": split}) for split in SPLITS]

    def _generate_tables(self, split: str):
        schema = features_for(self.config.name).arrow_schema
        for number, cell in enumerate(self.cells):
            rows = cell.rows[split]
            if rows:
                yield (0, number), pa.Table.from_pylist(rows, schema=schema)


def cells_of(config_name: str, cells: list[Cell]) -> list[Cell]:
    """A config's cells: its subtask's, or for ``all`` every cell, by subtask in the paper's order."""
    if config_name != ALL:
        return [c for c in cells if c.subtask == config_name]
    order = {name: position for position, name in enumerate(ordered_names())}
    return sorted(cells, key=lambda c: order[c.subtask])


def build_hash(selection: Selection, build: BuildConfig, references: ReferenceConfig | None = None) -> str:
    """Changes when options (reference writer included), selected sources, raw files, templates or this package change."""
    from .pipeline import input_fingerprint, source_dir
    from .sources import SOURCES

    digest = hashlib.sha256()
    digest.update(selection_fingerprint(selection, build).encode())
    digest.update(template_digest().encode())
    digest.update(__version__.encode())
    if references is not None and references.enabled:
        digest.update(references.fingerprint().encode())
    if selection.data_dir or selection.demo:
        for name in selection.source_names():
            source = SOURCES.get(name)()
            try:
                root = source_dir(source, Selection(sources=(name,), data_dir=selection.data_dir, demo=selection.demo), None)
            except Exception:  # noqa: BLE001 - missing files fail later, with the real error
                continue
            digest.update(input_fingerprint(source, root).encode())
    return digest.hexdigest()[:16]
