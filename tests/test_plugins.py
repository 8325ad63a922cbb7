"""A source and a subtask defined outside the package, each registered with one line, are built like the paper's.

The two modules below are written to a temporary folder and imported from there, so nothing
in ``itdr_hf`` names them: the CLI's list, the card and the ``all`` config must find them through
the registries alone.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest
from datasets import get_dataset_config_names, load_dataset

from itdr_hf import build_dataset
from itdr_hf.cli import main
from itdr_hf.pipeline import Selection
from itdr_hf.sources import SOURCES
from itdr_hf.subtasks import SUBTASKS, ordered_names

SOURCE_MODULE = '''
"""A toy source: ``toy.csv`` with user,item,title lines."""
import numpy as np
import pandas as pd

from itdr_hf.sources import Source, register_source
from itdr_hf.tables import SourceTables


@register_source
class ToySource(Source):
    name = "toy_source"
    title = "Toy source"
    homepage = "https://example.org/toy"
    license = "CC0"
    citation = ""
    required_files = ("toy.csv",)

    def read(self, root, config):
        frame = pd.read_csv(root / "toy.csv")
        interactions = pd.DataFrame({
            "user": frame["user"].to_numpy(), "item": frame["item"].to_numpy(),
            "rating": np.full(len(frame), np.nan, dtype="float32"), "timestamp": np.arange(len(frame), dtype="int64"),
        })
        items = frame.drop_duplicates("item").set_index("item")[["title"]]
        return SourceTables(self.name, interactions, items, has_timestamps=False)
'''

SUBTASK_MODULE = '''
"""A toy subtask: name the last item a user touched."""
from pathlib import Path

from itdr_hf.splits import choose_units
from itdr_hf.subtasks import UII, Example, Subtask, register_subtask


@register_subtask
class LastItem(Subtask):
    name = "last_item"
    abbr = "LI"
    root = UII
    title = "Last item"
    answer = "text"
    sources = ("toy_source",)
    templates = str(Path(__file__).parent / "templates")

    def generate(self, index, config, rng):
        inter = index.tables.interactions
        users, splits = choose_units(inter["user"].unique(), config, index.tables.name, "user", rng)
        last = inter.groupby("user")["item"].last()
        return [
            Example(user_id=u, item_id=last[u], split=int(s), context={"title": index.title_of[last[u]]})
            for u, s in zip(users, splits)
        ]
'''

TEMPLATES = {
    "instruction": "Name the last item.",
    "input": "A user's history.",
    "question": "Which item did the user touch last?",
    "output": "{{ title }}",
}


@pytest.fixture
def plugins(tmp_path):
    folder = tmp_path / "plugins"
    (folder / "templates" / "last_item").mkdir(parents=True)
    for part, text in TEMPLATES.items():
        (folder / "templates" / "last_item" / f"{part}.j2").write_text(text)
    for name, code in (("toy_source_module", SOURCE_MODULE), ("last_item_module", SUBTASK_MODULE)):
        (folder / f"{name}.py").write_text(textwrap.dedent(code))
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    data = tmp_path / "data" / "toy_source"
    data.mkdir(parents=True)
    lines = ["user,item,title"] + [f"u{u},i{(u + k) % 40},Item {(u + k) % 40}" for u in range(60) for k in range(4)]
    (data / "toy.csv").write_text("\n".join(lines) + "\n")
    yield tmp_path / "data"
    SOURCES.unregister("toy_source")
    SUBTASKS.unregister("last_item")
    for name in ("toy_source_module", "last_item_module"):
        sys.modules.pop(name, None)


def test_registered_plugins_reach_the_cli_the_card_and_all(plugins, tmp_path, capsys):
    assert ordered_names()[-1] == "last_item"
    assert main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert "  last_item: toy_source" in listed and "  toy_source: Toy source" in listed

    out = tmp_path / "out"
    result = build_dataset(out, Selection(sources=("toy_source",), data_dir=str(plugins), strict=True))
    assert [(s.subtask, s.source) for s in result.stats] == [("last_item", "toy_source")]
    assert get_dataset_config_names(str(out)) == ["last_item", "all"]
    everything = load_dataset(str(out), "all")
    assert {r["task"] for split in everything.values() for r in split} == {"last_item"}
    assert sum(ds.num_rows for ds in everything.values()) == result.stats[0].total == 60
    assert everything["train"][0]["output"].startswith("Item ")
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "last_item" in card and "Toy source" in card and "https://example.org/toy" in card


def test_the_cli_builds_a_registered_source(plugins, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["--sources", "toy_source", "--data-dir", str(plugins), "--output", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert get_dataset_config_names(str(out)) == ["last_item", "all"]
