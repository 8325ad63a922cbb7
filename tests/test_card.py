"""The dataset card: what it tells a reader, that it parses like the Hub parses it, and validate_build."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jinja2
import pytest
import yaml
from huggingface_hub import DatasetCard, DatasetCardData

from itdr_hf.builder import CITATION
from itdr_hf.card import CardOptions, InvalidBuild, length_unit, render_card, validate_build, write_card
from itdr_hf.sources import SOURCES


@pytest.fixture
def build_copy(demo_build: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "itdr"
    shutil.copytree(demo_build, dest)
    return dest


def _card(folder: Path) -> DatasetCard:
    return DatasetCard.load(folder / "README.md")


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n### ", start + len(heading))
    return text[start : end if end != -1 else None]


def test_card_metadata_round_trips_and_declares_every_config(demo_build: Path):
    card = _card(demo_build)
    data = card.data.to_dict()
    assert yaml.safe_load(card.data.to_yaml()) == data
    assert DatasetCard(str(card)).data.to_dict() == data
    assert isinstance(DatasetCardData(**data), DatasetCardData)
    configs = [c["config_name"] for c in data["configs"]]
    assert configs[-1] == "all" and "rating_prediction" in configs
    assert {i["config_name"] for i in data["dataset_info"]} == set(configs)
    assert data["license"] == "other" and data["language"] == ["en"]
    assert data["task_categories"] == ["text-generation"] and data["size_categories"] == ["n<1K"]
    assert data["pretty_name"].startswith("ITDR")


def test_card_tables_count_what_the_folder_holds(demo_build: Path):
    text = _card(demo_build).text
    report = json.loads((demo_build / "build_report.json").read_text())
    for cell in report["cells"]:
        section = _section(text, f"### `{cell['subtask']}`")
        row = next(line for line in section.splitlines() if line.startswith(f"| `{cell['source']}` |"))
        values = [v.strip() for v in row.strip("|").split("|")]
        assert values[1:7] == [
            str(cell["train"]), str(cell["validation"]), str(cell["test"]),
            str(cell["eval_subset"]), str(cell["total"]), str(cell["paper"]),
        ]
        assert float(values[7]) == pytest.approx(cell["avg_input_words"], abs=0.05)
        assert float(values[8]) == pytest.approx(cell["avg_output_words"], abs=0.05)
    assert f"| **total** | | {sum(c['train'] for c in report['cells'])} |" in _section(text, "### `all`")


def test_card_shows_paper_lengths_and_names_the_length_unit(demo_build: Path):
    text = _card(demo_build).text
    row = next(l for l in _section(text, "### `rating_prediction`").splitlines() if l.startswith("| `movielens_32m`"))
    assert row.rstrip().endswith("| 162.32 / 3 |")
    assert "22830" in _section(text, "### `rating_prediction`")  # the paper's RP total beside ours
    assert "whitespace-separated words (no tokenizer was requested)" in text
    assert "--card-tokenizer deepseek-ai/DeepSeek-V3" in text


def test_card_states_parameters_provenance_sources_and_citation(demo_build: Path):
    text = _card(demo_build).text
    assert "Task descriptions are **on**" in text
    for name, value in (("cap_per_cell", "6250"), ("seed", "42"), ("tkr_negatives", "5"), ("nir_negatives", "4")):
        assert f"| `{name}` | `{value}` |" in text
    provenance = re.findall(r"\| `target_user_identification` \| `movielens_32m` \| `([^`]+)` \| (\d+) \|", text)
    report = json.loads((demo_build / "build_report.json").read_text())
    tui = next(c for c in report["cells"] if c["subtask"] == "target_user_identification")
    assert provenance and sum(int(n) for _, n in provenance) == tui["total"]
    for name in ("movielens_32m", "movielens_1m"):
        source = SOURCES.get(name)
        assert f"### {source.title} (`{name}`)" in text
        assert source.license in text and source.citation in text
    assert CITATION in text
    assert "## Known limitations" in text
    assert "**This is a demo build**" in text


def test_validate_build_accepts_a_fresh_build(demo_build: Path):
    card = validate_build(demo_build)
    assert card.data.to_dict()["configs"]


def test_validate_build_rejects_a_wrong_split_size(build_copy: Path):
    readme = build_copy / "README.md"
    text = readme.read_text()
    text = text.replace("num_examples: 122", "num_examples: 999", 1)
    readme.write_text(text)
    with pytest.raises(InvalidBuild, match="load_dataset.*fails: .*Split"):
        validate_build(build_copy)


def test_validate_build_rejects_a_missing_split_file_and_a_loading_script(build_copy: Path):
    (build_copy / "all" / "validation-00000-of-00001.parquet").unlink()
    (build_copy / "itdr.py").write_text("# a loading script\n")
    with pytest.raises(InvalidBuild) as info:
        validate_build(build_copy)
    assert "config 'all' has no validation Parquet file in all/" in str(info.value)
    assert "loading scripts are not allowed by datasets >= 4: itdr.py" in str(info.value)
    assert "fix: rebuild it with itdr-build" in str(info.value)


def test_validate_build_accepts_a_config_without_an_empty_split_only_when_the_card_agrees(build_copy: Path):
    """Tiny builds drop a split with no rows (load_dataset cannot read a declared empty one)."""
    (build_copy / "rating_prediction" / "validation-00000-of-00001.parquet").unlink()
    with pytest.raises(InvalidBuild, match="'rating_prediction' has no validation Parquet file"):
        validate_build(build_copy, load=False)
    card = _card(build_copy)
    config = next(c for c in card.data["configs"] if c["config_name"] == "rating_prediction")
    config["data_files"] = [f for f in config["data_files"] if f["split"] != "validation"]
    info = next(i for i in card.data["dataset_info"] if i["config_name"] == "rating_prediction")
    info["splits"] = [s for s in info["splits"] if s["name"] != "validation"]
    card.save(build_copy / "README.md")
    validate_build(build_copy)


def test_validate_build_rejects_metadata_that_does_not_parse(build_copy: Path):
    readme = build_copy / "README.md"
    readme.write_text(readme.read_text().replace("license: other", "license: [other", 1))
    with pytest.raises(InvalidBuild, match="metadata does not parse"):
        validate_build(build_copy)


def test_render_fails_on_a_missing_value_instead_of_writing_a_blank(tmp_path: Path):
    template = tmp_path / "card.j2"
    template.write_text("---\n{{ card_data }}\n---\n{{ version }}\n")
    with pytest.raises(jinja2.UndefinedError, match="version"):
        render_card(DatasetCardData(license="other"), template)


def test_unloadable_tokenizer_falls_back_to_words_and_says_why(tmp_path: Path):
    unit = length_unit(str(tmp_path / "no-such-tokenizer"))
    assert unit.name == "words"
    assert f"`{tmp_path / 'no-such-tokenizer'}` could not be loaded" in unit.description
    assert unit.count(["a b  c", ""]) == [3, 0]


def test_card_counts_tokens_with_a_local_tokenizer(build_copy: Path, tmp_path: Path):
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    # a character-level tokenizer, built offline: its token count of a text is its length without spaces
    chars = sorted({chr(i) for i in range(32, 0x250)})
    model = tokenizers.models.WordLevel({c: i for i, c in enumerate(["[UNK]", *chars])}, unk_token="[UNK]")
    tok = tokenizers.Tokenizer(model)
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Sequence(
        [tokenizers.pre_tokenizers.WhitespaceSplit(), tokenizers.pre_tokenizers.Split(tokenizers.Regex("."), "isolated")]
    )
    folder = tmp_path / "char-tokenizer"
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(folder)

    unit = length_unit(str(folder))
    assert unit.name == "tokens"
    assert unit.count(["ab c", "héllo"]) == [3, 5]

    data = _card(build_copy).data
    configs = [c["config_name"] for c in data.to_dict()["configs"]]
    card = write_card(
        build_copy, data, configs=configs, options=CardOptions(tokenizer=str(folder)),
        version="0", repo_id="org/itdr", skipped=[], demo=False, parameters=[], task_descriptions=False,
        sources=[], citation=CITATION,
    )
    assert f"tokens of the `{folder}` tokenizer" in card.text
    assert "avg input tokens" in card.text and "Task descriptions are **off" in card.text
    assert (build_copy / "README.md").read_text() == str(card)


def test_card_options_make_the_card_tokenizer_flag():
    import argparse

    parser = argparse.ArgumentParser()
    CardOptions.add_arguments(parser)
    assert CardOptions.from_arguments(parser.parse_args([])) == CardOptions()
    args = parser.parse_args(["--card-tokenizer", "deepseek-ai/DeepSeek-V3"])
    assert CardOptions.from_arguments(args) == CardOptions(tokenizer="deepseek-ai/DeepSeek-V3")
    assert "DeepSeek-V3" in parser.format_help() and "whitespace words" in parser.format_help()


def test_card_lists_all_33_paper_cells_with_count_and_lengths(demo_build):
    from itdr_hf.card import paper_matrix

    cells = paper_matrix()
    assert len(cells) == 33
    text = (demo_build / "README.md").read_text(encoding="utf-8")
    section = text.split("### The paper's 33 cells", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")][:33]
    assert len(rows) == 33
    assert "| `top_k_recommendation` | `microlens` | 6250 | not given |" in rows
    assert "| `interest_recognition` | `steam` | 6228 | ? / 358 |" in rows
    assert "| `next_item_recommendation` | `movielens_32m` | 6250 | 306.52 / 9.3 |" in rows
