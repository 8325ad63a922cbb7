"""The paper's whole matrix, built offline from the bundled samples: every cell and config loads."""

from datasets import get_dataset_config_names, load_dataset

from itdr_hf import build_dataset
from itdr_hf.config import BuildConfig
from itdr_hf.matrix import PAPER_CELLS
from itdr_hf.paper import PAPER
from itdr_hf.pipeline import Selection

KNOWN_GAPS = {("interest_recognition", "anime_2023")}  # the Anime 2023 dump has no user-written reviews


def test_demo_builds_every_cell_of_the_paper(tmp_path):
    out = tmp_path / "itdr"
    result = build_dataset(out, Selection(demo=True), BuildConfig(), workers=2)
    built = {(s.subtask, s.source) for s in result.stats}
    paper = {(t, s) for t, sources in PAPER_CELLS.items() for s in sources}
    assert len(paper) == len(PAPER)
    assert built == paper - KNOWN_GAPS
    assert {(t, s) for t, s, _ in result.skipped} == KNOWN_GAPS
    assert all(s.train > 0 for s in result.stats)

    configs = get_dataset_config_names(str(out))
    assert configs == [*PAPER_CELLS, "all"]
    total = 0
    for config in configs[:-1]:
        ds = load_dataset(str(out), config)
        rows = sum(ds[s].num_rows for s in ds)
        assert rows == sum(s.total for s in result.stats if s.subtask == config)
        total += rows
    everything = load_dataset(str(out), "all")
    assert sum(everything[s].num_rows for s in everything) == total
