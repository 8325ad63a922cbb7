"""The console report and build_report.json count tokens when a tokenizer is given, and say the unit."""

from __future__ import annotations

from itdr_hf.card import LengthUnit, length_unit
from itdr_hf.cells import Cell
from itdr_hf.report import as_json, as_table, cell_stats


def cell() -> Cell:
    c = Cell("rating_prediction", "movielens_32m")
    c.rows["train"] = [{"input": "a b c d", "output": "4.0", "eval_subset": False}]
    return c


def test_tokens_are_reported_beside_words_and_the_papers():
    chars = LengthUnit("tokens", "tokens of the `chars` tokenizer", lambda texts: [len(t) for t in texts])
    stats = [cell_stats(cell(), chars)]
    assert (stats[0].avg_input_tokens, stats[0].avg_output_tokens) == (7, 3)
    assert as_json(stats, [])["cells"][0]["length_unit"] == "tokens of the `chars` tokenizer"
    table = as_table(stats, [])
    assert "in tok" in table and "162.32" in table and "lengths: words, and tokens of the `chars` tokenizer" in table


def test_a_fallback_to_words_is_said():
    stats = [cell_stats(cell(), length_unit("/nonexistent/tokenizer.json"))]
    assert stats[0].avg_input_tokens is None
    assert "could not be loaded" in as_table(stats, []) and "in tok" not in as_table(stats, [])


def test_without_a_tokenizer_the_report_is_words_only():
    assert "lengths:" not in as_table([cell_stats(cell())], [])


def test_the_report_and_the_card_show_one_set_of_statistics_counted_from_the_written_files(tmp_path):
    """build_report.json, the console table and the card come from one count of the published Parquet."""
    import json

    from itdr_hf import build_dataset
    from itdr_hf.card import collect_cells
    from itdr_hf.pipeline import Selection

    result = build_dataset(tmp_path / "demo", Selection(demo=True))
    counted = collect_cells(result.output, result.configs, length_unit(None))
    assert list(result.stats) == counted and len(counted) == 32
    report = json.loads((result.output / "build_report.json").read_text())
    assert report["cells"] == [s.as_report() for s in counted]
    card = (result.output / "README.md").read_text()
    for s in counted:  # the card's per-source rows carry the same averages
        assert f"| `{s.source}` | {s.train} | {s.validation} | {s.test} | {s.eval_subset} | {s.total} |" in card
        assert f"{s.avg_input:.1f} | {s.avg_output:.1f} |" in card
    assert any(s.provenance for s in counted)  # reference provenance is part of the same statistics
