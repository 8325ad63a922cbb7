"""The dataset card (the output folder's README.md) and the check that a build folder is publishable.

The card is a function of the build folder's Parquet files plus the construction options: its
statistics are counted from the files that ship, so the card can never describe rows the folder
does not hold. Lengths are counted with a tokenizer named by :class:`CardOptions` (the paper used
the DeepSeek-V3 tokenizer); an offline build cannot download it, so when it cannot be loaded the
card counts whitespace words and says so, instead of failing the build.

:func:`validate_build` is what the publisher runs before anything leaves the machine: the card
must parse and round-trip the way the Hub parses it, and every config must load back with
``load_dataset`` under the default verification (split sizes included).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cellstats
from .baselines import popularity_cells
from .cellstats import CellStats
from .errors import ItdrError
from .matrix import PAPER_CELLS
from .paper import PAPER, PAPER_LENGTHS
from .splits import SPLITS

if TYPE_CHECKING:  # imported where used, so `itdr-build --help` (which adds the card flags) stays instant
    from huggingface_hub import DatasetCard, DatasetCardData

logger = logging.getLogger(__name__)

PAPER_TOKENIZER = "deepseek-ai/DeepSeek-V3"

def paper_lengths_text(subtask: str, source: str) -> str:
    """The paper's "input / output" tokens of a cell, "?" for a half it gives none, "not given" for none."""
    pair = PAPER_LENGTHS.get((subtask, source))
    if pair is None:
        return "not given"
    return " / ".join("?" if v is None else f"{v:g}" for v in pair)


def paper_matrix() -> list[dict]:
    """Every cell of the paper with its count and lengths, for the card."""
    return [
        {"subtask": c.subtask, "source": c.source, "count": c.count, "lengths": paper_lengths_text(c.subtask, c.source)}
        for c in PAPER
    ]


def provenance_tasks() -> tuple[str, ...]:
    """The subtasks whose answers say who wrote them (a ``reference_provenance`` column)."""
    from .subtasks import SUBTASKS, ordered_names

    return tuple(n for n in ordered_names() if "reference_provenance" in SUBTASKS.get(n).features)


# What each column means, shown under every config of the card (docs/SCHEMA.md is the long form;
# tests/test_card.py checks that every column a build has is described here and named there).
FIELD_MEANINGS: dict[str, str] = {
    "id": "stable row id `{abbr}-{source}-{16 hex}` (hash of task, source, user, target), unique in the dataset",
    "task": "the subtask (the config name)",
    "source": "the source dataset's registry name, e.g. `movielens_32m`",
    "instruction": "the task description paragraph (`\"\"` in a build without task descriptions)",
    "input": "the rendered input: the user's history, candidates; its last line is the subtask's question (kept without task descriptions)",
    "output": "the reference answer a model is trained to write",
    "messages": "the same example in chat form: `user` = instruction + input, `assistant` = output",
    "user_id": "the source's own (pseudonymous) user id; `\"\"` for item-centric rows (target user identification)",
    "item_id": "the target item's source id; `\"\"` where there is none",
    "eval_subset": "true for the fixed evaluation subset of the test split; always false in train and validation",
    "rating": "the true rating (rating prediction); `output` is it formatted",
    "rating_min": "the lowest rating of the source's scale",
    "rating_max": "the highest rating of the source's scale",
    "candidates": "candidate titles in the order the prompt shows them",
    "candidate_ids": "the candidates' item ids, same order",
    "positives": "the relevant candidates' titles (top-K / cross-domain: the user's next real items; next item: the one true next item)",
    "attributes": "the user's attributes `{name, value, kind}`; `kind` is `categorical` or `numeric`",
    "reference_provenance": "who wrote `output`: `derived:<rule>` (built from the data) or `llm:<backend>:<model>`",
}

# The Hub's access form when the card is gated (CardOptions.gated): users accept the sources' terms first.
GATED_PROMPT = (
    "ITDR is derived from third-party datasets whose terms apply to it (see 'Sources and terms' on this card); "
    "most of them forbid redistribution of their data and several forbid commercial use. "
    "Access is granted to users who agree to follow every source's terms."
)
GATED_FIELDS = {
    "Affiliation": "text",
    "I have read the terms of every source listed on this card and will use ITDR only as they allow": "checkbox",
    "I will not redistribute ITDR or data derived from it outside what those terms allow": "checkbox",
}
LICENSE_NAME = "itdr-source-terms"
EXAMPLE_CHARS = 300  # long strings of the example row are cut to this many characters

# The first words of a demo build's notice (cards/README.md.j2): how the publisher recognises a demo build.
DEMO_NOTICE = "> **This is a demo build**"
_DATA_FILE = re.compile(r"^(?P<split>[a-z_]+)-\d{5}-of-\d{5}\.parquet$")


class InvalidBuild(ItdrError):
    """A build folder whose card or data the Hub or ``load_dataset`` would reject."""

    def __init__(self, folder: Path, problems: Sequence[str]) -> None:
        self.folder = folder
        self.problems = tuple(problems)
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{folder} is not a valid ITDR build:\n{listed}\n  fix: rebuild it with itdr-build (do not edit the folder by hand)"
        )


@dataclass(frozen=True, kw_only=True)
class CardOptions:
    """How the card is written. Not part of the data: changing them never changes a row."""

    tokenizer: str | None = field(
        default=None,
        metadata={
            "help": "Tokenizer the card counts average lengths with: a Hub id (the paper used "
            f"{PAPER_TOKENIZER}) or a local folder, loaded with transformers' AutoTokenizer. "
            "When unset or not loadable (offline), lengths are whitespace words and the card says so."
        },
    )
    gated: bool = field(
        default=False,
        metadata={
            "help": "Gate the Hub dataset: the card asks users to accept the sources' terms (extra_gated_prompt "
            "and extra_gated_fields) before they can download. Also switch gating on in the repo's settings."
        },
    )
    code_url: str | None = field(
        default=None,
        metadata={
            "help": "Link to the code that built this release (e.g. the GitHub tree of the release tag); "
            "without it the card links the itdr-hf release on PyPI."
        },
    )

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one ``--card-<field>`` flag per field, with the field's help text."""
        from .options import add_flags

        add_flags(parser.add_argument_group("dataset card"), cls, prefix="card_", show_default=False, bool_action="store_true")

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> CardOptions:
        from .options import from_flags

        return from_flags(cls, args, prefix="card_")


@dataclass(frozen=True)
class LengthUnit:
    """What the card's lengths count, and why (e.g. the tokenizer failed to load)."""

    name: str  # "tokens" or "words"
    description: str
    count: Callable[[list[str]], list[int]]


@lru_cache(maxsize=8)
def length_unit(tokenizer: str | None) -> LengthUnit:
    """Load ``tokenizer`` lazily (:mod:`itdr_hf.lengths`); fall back to whitespace words, saying so."""
    words = LengthUnit("words", "whitespace-separated words (no tokenizer was requested)", _count_words)
    if not tokenizer:
        return words
    try:
        from .lengths import token_counter

        count = token_counter(tokenizer)
    except Exception as exc:  # noqa: BLE001 - any failure (offline, missing files, no transformers) means the same
        reason = str(exc).splitlines()[0][:200] if str(exc) else ""
        logger.warning("could not load tokenizer %s (%s); counting words instead", tokenizer, type(exc).__name__)
        return dataclasses.replace(
            words,
            description=f"whitespace-separated words: the requested tokenizer `{tokenizer}` could not be loaded "
            f"({type(exc).__name__}: {reason})",
        )
    return LengthUnit("tokens", f"tokens of the `{tokenizer}` tokenizer (special tokens not counted)", count)


def _count_words(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


# -- statistics counted from the folder ------------------------------------------------------------


def data_files(folder: Path, config: str) -> dict[str, list[Path]]:
    """The Parquet shards of one config folder, by split, in shard order."""
    found: dict[str, list[Path]] = {}
    for path in sorted((folder / config).glob("*.parquet")):
        match = _DATA_FILE.match(path.name)
        if match:
            found.setdefault(match["split"], []).append(path)
    return found


def collect_cells(folder: Path, configs: Iterable[str], unit: LengthUnit) -> list[CellStats]:
    """Count every cell of the subtask configs (``all`` repeats them) from the Parquet files."""
    return cellstats.collect_cells(folder, configs, unit, data_files, provenance_tasks())


# -- rendering ---------------------------------------------------------------------------------------


def template_path() -> Path:
    return Path(str(resources.files("itdr_hf.cards") / "README.md.j2"))


def render_card(data: DatasetCardData, template: Path | None = None, **context: Any) -> DatasetCard:
    """Render the card body with ``StrictUndefined`` (a missing value fails here, not on the Hub)."""
    import jinja2
    from huggingface_hub import DatasetCard

    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True
    )
    source = (template or template_path()).read_text(encoding="utf-8")
    content = env.from_string(source).render(card_data=data.to_yaml(), **context)
    return DatasetCard(content)


def write_card(
    folder: Path,
    data: DatasetCardData,
    *,
    configs: Sequence[str],
    options: CardOptions | None = None,
    template: Path | None = None,
    cells: Sequence[CellStats] | None = None,
    **context: Any,
) -> DatasetCard:
    """Count the folder's cells, render the card and write it as ``folder/README.md``.

    ``context`` carries what the folder cannot tell: version, repo id, construction parameters,
    sources, skipped cells, the paper's citation, whether this is a demo build.
    """
    options = options or CardOptions()
    unit = length_unit(options.tokenizer)
    if cells is None:  # a build passes the statistics it reports; a re-card (publish) counts the folder
        cells = collect_cells(folder, configs, unit)
    _add_metadata(folder, data, options, context.get("sources") or [])
    by_config = {c: [cell for cell in cells if c == "all" or cell.subtask == c] for c in configs}
    provenance = [cell for cell in cells if cell.subtask in provenance_tasks()]
    card = render_card(
        data,
        template,
        configs=list(configs),
        cells=cells,
        by_config=by_config,
        provenance_cells=provenance,
        unit=unit,
        paper_tokenizer=PAPER_TOKENIZER,
        paper_totals={t: sum(c.values()) for t, c in PAPER_CELLS.items()},
        paper_lengths=paper_lengths_text,
        paper_matrix=paper_matrix(),
        splits=list(SPLITS),
        examples={c: example_row(folder, c) for c in configs},
        field_meanings=FIELD_MEANINGS,
        changelog=changelog(),
        code_url=options.code_url,
        gated=options.gated,
        popularity_cells=popularity_cells(folder, configs),  # how hard the candidate lists are
        **context,
    )
    (folder / "README.md").write_text(str(card), encoding="utf-8")
    return card


def _add_metadata(folder: Path, data: DatasetCardData, options: CardOptions, sources: Sequence[Any]) -> None:
    """What the Hub reads from the YAML besides the configs: terms, sources, real sizes, gating."""
    data["license_name"] = LICENSE_NAME
    data["license_link"] = "README.md#sources-and-terms"  # the card's own section on each source's terms
    data["source_datasets"] = [f"extended|{src.title}" for src in sources] or None
    infos = data.get("dataset_info") or []
    for info in [infos] if isinstance(infos, dict) else infos:
        files = [p for paths in data_files(folder, info.get("config_name", "default")).values() for p in paths]
        info["download_size"] = sum(p.stat().st_size for p in files)
    if options.gated:
        data["extra_gated_prompt"] = GATED_PROMPT
        data["extra_gated_fields"] = dict(GATED_FIELDS)


def example_row(folder: Path, config: str) -> list[tuple[str, str]]:
    """The first row of the config's first non-empty split as (column, JSON value), long strings cut."""
    import json

    import pyarrow.parquet as pq

    found = data_files(folder, config)
    for split in SPLITS:
        for path in found.get(split, []):
            parquet = pq.ParquetFile(path)
            if parquet.metadata.num_rows == 0:
                continue
            table = parquet.read_row_group(0)
            row = table.slice(0, 1).to_pylist()[0]
            return [(name, _short(json.dumps(value, ensure_ascii=False))) for name, value in row.items()]
    return []


def _short(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + f"… ({len(text):,} characters)"


def changelog() -> str:
    """The release notes shipped with the package (cards/CHANGELOG.md), newest first."""
    text = Path(str(resources.files("itdr_hf.cards") / "CHANGELOG.md")).read_text(encoding="utf-8")
    return re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL).strip()


# -- validation -----------------------------------------------------------------------------------------


def check_card(folder: Path) -> tuple[DatasetCard, list[str]]:
    """Parse the card as the Hub does and compare it with the folder, without loading any data.

    Returns the card (or raises :class:`InvalidBuild` when there is none to parse) and the problems found.
    """
    import yaml
    from huggingface_hub import DatasetCard

    folder = Path(folder)
    readme = folder / "README.md"
    if not readme.is_file():
        raise InvalidBuild(folder, ["README.md is missing"])
    text = readme.read_text(encoding="utf-8")
    try:
        card = DatasetCard(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise InvalidBuild(folder, [f"README.md metadata does not parse: {exc}"]) from None
    problems = []
    data = card.data.to_dict()
    if not text.startswith("---\n"):
        problems.append("README.md does not start with a YAML block")
    # what the Hub stores is what huggingface_hub writes back (DatasetCardData.to_yaml): it must read the same
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader, when built, is ~10x faster
    if yaml.load(card.data.to_yaml(), Loader=loader) != data:
        problems.append("README.md metadata does not survive a YAML round trip")
    for key in ("license", "configs", "dataset_info", "pretty_name", "task_categories", "language", "size_categories"):
        if not data.get(key):
            problems.append(f"card metadata lacks {key!r}")
    problems += _check_configs(folder, data)
    top_scripts = [p.name for p in folder.glob("*.py")]
    if top_scripts:
        problems.append(f"loading scripts are not allowed by datasets >= 4: {', '.join(top_scripts)}")
    return card, problems


def declared_splits(config: dict) -> list[str]:
    """The splits a ``configs`` entry of the card declares (a tiny build may lack an empty one)."""
    files = config.get("data_files") or []
    return [f["split"] for f in files if isinstance(f, dict) and "split" in f] if isinstance(files, list) else []


def _check_configs(folder: Path, data: dict) -> list[str]:
    problems = []
    configs = [c for c in data.get("configs") or [] if isinstance(c, dict)]
    infos = data.get("dataset_info") or []
    infos = [infos] if isinstance(infos, dict) else infos
    declared = [c.get("config_name") for c in configs if isinstance(c, dict)]
    info_names = {i.get("config_name", "default") for i in infos if isinstance(i, dict)}
    if len([c for c in configs if isinstance(c, dict) and c.get("default")]) > 1:
        problems.append("more than one config is marked default")
    for config in configs:
        name = config.get("config_name")
        if name not in info_names:
            problems.append(f"config {name!r} has no dataset_info entry")
        splits = declared_splits(config)
        if not splits:
            problems.append(f"config {name!r} declares no split")
        found = data_files(folder, name)
        for split in splits:
            if not found.get(split):
                problems.append(f"config {name!r} has no {split} Parquet file in {name}/")
        for split in sorted(set(found) - set(splits)):
            problems.append(f"config {name!r} has {split} Parquet files the card does not declare")
    for name in sorted(info_names - set(declared)):
        problems.append(f"dataset_info describes {name!r}, which configs does not declare")
    return problems


def validate_build(folder: str | Path, *, load: bool = True) -> DatasetCard:
    """Raise :class:`InvalidBuild` unless the folder is publishable; return its card.

    Checks the card (parse, YAML round trip, required metadata, every config declared with its
    files) and, with ``load``, loads every config with ``load_dataset(folder, config)`` under the
    default verification into a throw-away cache, so a wrong split size fails here and not for a
    user of the Hub.
    """
    folder = Path(folder).absolute()
    card, problems = check_card(folder)
    if not problems and load:
        declared = {c["config_name"]: declared_splits(c) for c in card.data.to_dict()["configs"]}
        problems = _load_every_config(folder, declared)
    if problems:
        raise InvalidBuild(folder, problems)
    return card


def _load_every_config(folder: Path, configs: dict[str, list[str]]) -> list[str]:
    import datasets

    problems = []
    bars_were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        with tempfile.TemporaryDirectory(prefix="itdr-validate-") as cache:
            for name, splits in configs.items():
                try:
                    loaded = datasets.load_dataset(str(folder), name, cache_dir=cache)
                except Exception as exc:  # noqa: BLE001 - every failure is reported, with its type
                    problems.append(f"load_dataset(folder, {name!r}) fails: {type(exc).__name__}: {exc}")
                    continue
                if sorted(loaded) != sorted(splits):
                    problems.append(f"load_dataset(folder, {name!r}) gives splits {sorted(loaded)}, the card declares {splits}")
    finally:
        if bars_were_on:
            datasets.enable_progress_bars()
    return problems
