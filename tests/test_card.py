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
from itdr_hf.card import (
    CardOptions,
    InvalidBuild,
    length_unit,
    render_card,
    validate_build,
    write_card,
)
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


def test_card_lists_all_paper_cells_with_count_and_lengths(demo_build):
    from itdr_hf.card import paper_matrix
    from itdr_hf.paper import PAPER

    cells = paper_matrix()
    assert len(cells) == len(PAPER)
    text = (demo_build / "README.md").read_text(encoding="utf-8")
    section = text.split(f"### The paper's {len(PAPER)} cells", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")][: len(PAPER)]
    assert len(rows) == len(PAPER)
    assert "| `top_k_recommendation` | `microlens` | 6250 | not given |" in rows
    assert "| `interest_recognition` | `steam` | 6228 | ? / 358 |" in rows
    assert "| `next_item_recommendation` | `movielens_32m` | 6250 | 306.52 / 9.3 |" in rows


def _rewrite(folder: Path, options: CardOptions, **context) -> DatasetCard:
    data = _card(folder).data
    configs = [c["config_name"] for c in data.to_dict()["configs"]]
    sources = [SOURCES.get(n)() for n in ("movielens_32m", "movielens_1m")]
    kwargs = {
        "version": "1.2.3", "repo_id": "org/itdr", "skipped": [], "demo": False, "parameters": [],
        "task_descriptions": True, "sources": sources, "citation": CITATION,
    }
    return write_card(folder, data, configs=configs, options=options, **{**kwargs, **context})


def test_card_names_its_terms_sources_and_real_download_sizes(demo_build: Path):
    data = _card(demo_build).data.to_dict()
    assert data["license"] == "other" and data["license_name"] == "itdr-source-terms"
    assert data["license_link"] == "README.md#sources-and-terms"
    assert "## Sources and terms" in _card(demo_build).text  # the anchor license_link points at
    assert data["source_datasets"] == ["extended|MovieLens 32M", "extended|MovieLens 1M"]
    for info in data["dataset_info"]:
        files = sorted((demo_build / info["config_name"]).glob("*.parquet"))
        assert info["download_size"] == sum(p.stat().st_size for p in files) > 0
    assert "extra_gated_prompt" not in data  # gating is an option, off by default


def test_gated_card_asks_users_to_accept_the_sources_terms(build_copy: Path):
    card = _rewrite(build_copy, CardOptions(gated=True))
    data = DatasetCard.load(build_copy / "README.md").data.to_dict()
    assert "forbid redistribution" in data["extra_gated_prompt"]
    assert data["extra_gated_fields"]["Affiliation"] == "text"
    assert sum(kind == "checkbox" for kind in data["extra_gated_fields"].values()) == 2
    assert "Access to this repository is gated" in card.text
    validate_build(build_copy, load=False)  # still a valid, round-tripping card


def test_card_shows_every_columns_meaning_and_an_example_row_per_config(demo_build: Path):
    import pyarrow.parquet as pq

    text = _card(demo_build).text
    schema_doc = (Path(__file__).resolve().parents[1] / "docs" / "SCHEMA.md").read_text()
    for config in [c["config_name"] for c in _card(demo_build).data.to_dict()["configs"]]:
        section = text[text.index(f"### `{config}`") :]
        section = section[: section.index("```\n") + 4]
        first = pq.read_table(sorted((demo_build / config).glob("train-*.parquet"))[0]).slice(0, 1).to_pylist()[0]
        assert f"Columns of `{config}`" in section
        for column in first:
            assert f"`{column}`" in schema_doc, column
            meaning = re.search(rf"^\| `{column}` \| (.+) \|$", section, re.MULTILINE)
            assert meaning and meaning.group(1).strip(), f"{config}.{column} has no meaning on the card"
        assert f"id: {json.dumps(first['id'])}\n" in section and f"task: \"{first['task']}\"" in section


def test_card_says_which_release_it_describes_with_a_changelog_and_code_link(build_copy: Path):
    import itdr_hf
    from itdr_hf.card import changelog

    card = _rewrite(build_copy, CardOptions(code_url="https://github.com/org/itdr/tree/v1.2.3"), version="1.2.3")
    assert "This card describes release **v1.2.3**" in card.text
    assert "Code: [https://github.com/org/itdr/tree/v1.2.3](https://github.com/org/itdr/tree/v1.2.3)" in card.text
    assert "## Changelog" in card.text and changelog() in card.text and "<!--" not in changelog()
    # every package version that can print a card has its changelog entry
    assert f"### v{itdr_hf.__version__}\n" in changelog() + "\n"
    plain = _rewrite(build_copy, CardOptions(), version="1.2.3")
    assert "Code: [itdr-hf 1.2.3 on PyPI](https://pypi.org/project/itdr-hf/1.2.3/)" in plain.text


def test_card_states_uses_and_personal_information(demo_build: Path):
    text = _card(demo_build).text
    uses = text[text.index("## Uses") : text.index("## Personal and sensitive information")]
    assert "Intended:" in uses and "Out of scope:" in uses and "commercial use" in uses
    personal = text[text.index("## Personal and sensitive information") : text.index("## Sources and terms")]
    assert "`user_id` is the source's own user id" in personal
    assert "gender" in personal and "age" in personal and "country" in personal


def test_card_gated_and_code_url_flags():
    import argparse

    parser = argparse.ArgumentParser()
    CardOptions.add_arguments(parser)
    args = parser.parse_args(["--card-gated", "--card-code-url", "https://example.org/code"])
    assert CardOptions.from_arguments(args) == CardOptions(gated=True, code_url="https://example.org/code")
