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
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ItdrError
from .matrix import PAPER_CELLS, paper_count
from .splits import SPLITS

if TYPE_CHECKING:  # imported where used, so `itdr-build --help` (which adds the card flags) stays instant
    from huggingface_hub import DatasetCard, DatasetCardData

logger = logging.getLogger(__name__)

PAPER_TOKENIZER = "deepseek-ai/DeepSeek-V3"

# (subtask, source) → (avg input tokens, avg output tokens) as the paper reports them (SPEC §3);
# cells the paper gives no lengths for are absent.
PAPER_LENGTHS: dict[tuple[str, str], tuple[float | None, float | None]] = {
    ("rating_prediction", "movielens_32m"): (162.32, 3.0),
    ("rating_prediction", "bookcrossing"): (78, 1.0),
    ("rating_prediction", "anime_2023"): (120, 1.0),
    ("rating_prediction", "yelp"): (324, 1.0),
    ("top_k_recommendation", "amazon_2023"): (435, 265),
    ("top_k_recommendation", "movielens_32m"): (208, 109),
    ("cross_domain_recommendation", "amazon_2023"): (652, 314),
    ("next_item_recommendation", "movielens_32m"): (306.52, 9.3),
    ("user_attribute_prediction", "movielens_1m"): (310, 18.3),
    ("interest_recognition", "amazon_books"): (1675, 107),
    # Issue 14's notes: Steam IR output ~358; MovieLens TUI output 238.53, and its input 0.65x of a
    # measured 79.6, i.e. ~122.5 (reconstructed from that ratio, to about a token).
    ("interest_recognition", "steam"): (None, 358),
    ("target_user_identification", "movielens_32m"): (122.5, 238.53),
}


def paper_lengths_text(subtask: str, source: str) -> str:
    """The paper's "input / output" tokens of a cell, "?" for a half it gives none, "not given" for none."""
    pair = PAPER_LENGTHS.get((subtask, source))
    if pair is None:
        return "not given"
    return " / ".join("?" if v is None else f"{v:g}" for v in pair)


def paper_matrix() -> list[dict]:
    """All 33 cells of the paper with its count and lengths, for the card."""
    return [
        {"subtask": t, "source": s, "count": n, "lengths": paper_lengths_text(t, s)}
        for t, cells in PAPER_CELLS.items()
        for s, n in cells.items()
    ]


PROVENANCE_TASKS = ("interest_recognition", "target_user_identification")
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

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one ``--card-<field>`` flag per field, with the field's help text."""
        group = parser.add_argument_group("dataset card")
        for f in dataclasses.fields(cls):
            group.add_argument(
                "--card-" + f.name.replace("_", "-"), dest=f"card_{f.name}", default=f.default,
                help=f.metadata["help"].replace("%", "%%"),
            )

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> CardOptions:
        return cls(**{f.name: getattr(args, f"card_{f.name}") for f in dataclasses.fields(cls)})


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


@dataclass(frozen=True)
class CellCard:
    """One (subtask, source) cell as the card shows it."""

    subtask: str
    source: str
    splits: dict[str, int]
    eval_subset: int
    avg_input: float
    avg_output: float
    provenance: dict[str, int]
    paper: int | None
    paper_input: float | None
    paper_output: float | None

    @property
    def total(self) -> int:
        return sum(self.splits.values())


def data_files(folder: Path, config: str) -> dict[str, list[Path]]:
    """The Parquet shards of one config folder, by split, in shard order."""
    found: dict[str, list[Path]] = {}
    for path in sorted((folder / config).glob("*.parquet")):
        match = _DATA_FILE.match(path.name)
        if match:
            found.setdefault(match["split"], []).append(path)
    return found


def collect_cells(folder: Path, configs: Iterable[str], unit: LengthUnit) -> list[CellCard]:
    """Count every cell of the subtask configs (``all`` repeats them) from the Parquet files."""
    import pyarrow.parquet as pq

    tallies: dict[tuple[str, str], dict[str, Any]] = {}
    for config in configs:
        if config == "all":
            continue
        for split, paths in data_files(folder, config).items():
            for path in paths:
                table = pq.read_table(path)
                names = set(table.column_names)
                cols = {c: table.column(c).to_pylist() for c in ("task", "source", "input", "output", "eval_subset")}
                provenance = table.column("reference_provenance").to_pylist() if "reference_provenance" in names else None
                inputs, outputs = unit.count(cols["input"]), unit.count(cols["output"])
                for i, (task, source) in enumerate(zip(cols["task"], cols["source"], strict=True)):
                    t = tallies.setdefault(
                        (task, source),
                        {"splits": Counter(), "eval": 0, "inp": 0, "out": 0, "prov": Counter()},
                    )
                    t["splits"][split] += 1
                    t["eval"] += bool(cols["eval_subset"][i])
                    t["inp"] += inputs[i]
                    t["out"] += outputs[i]
                    if provenance is not None and task in PROVENANCE_TASKS:
                        t["prov"][provenance[i] or "(missing)"] += 1
    cells = []
    for (task, source), t in tallies.items():
        n = sum(t["splits"].values())
        paper_in, paper_out = PAPER_LENGTHS.get((task, source), (None, None))
        cells.append(
            CellCard(
                subtask=task,
                source=source,
                splits={s: t["splits"].get(s, 0) for s in SPLITS},
                eval_subset=t["eval"],
                avg_input=t["inp"] / n,
                avg_output=t["out"] / n,
                provenance=dict(sorted(t["prov"].items())),
                paper=paper_count(task, source),
                paper_input=paper_in,
                paper_output=paper_out,
            )
        )
    order = {name: i for i, name in enumerate(PAPER_CELLS)}
    return sorted(cells, key=lambda c: (order.get(c.subtask, len(order)), c.source))


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
    **context: Any,
) -> DatasetCard:
    """Count the folder's cells, render the card and write it as ``folder/README.md``.

    ``context`` carries what the folder cannot tell: version, repo id, construction parameters,
    sources, skipped cells, the paper's citation, whether this is a demo build.
    """
    unit = length_unit((options or CardOptions()).tokenizer)
    cells = collect_cells(folder, configs, unit)
    by_config = {c: [cell for cell in cells if c == "all" or cell.subtask == c] for c in configs}
    provenance = [cell for cell in cells if cell.subtask in PROVENANCE_TASKS]
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
        **context,
    )
    (folder / "README.md").write_text(str(card), encoding="utf-8")
    return card


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
