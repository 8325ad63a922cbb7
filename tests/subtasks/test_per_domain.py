"""Sources made of several domains (Amazon 2023): top-K and next-item stay inside one category."""

import pytest

from itdr_hf.cells import make_cell
from itdr_hf.config import BuildConfig
from itdr_hf.pipeline import Selection, load_source, source_dir
from itdr_hf.sources import SOURCES
from itdr_hf.splits import SPLITS


@pytest.fixture(scope="module")
def amazon():
    root = source_dir(SOURCES.get("amazon_2023")(), Selection(demo=True), None)
    return load_source("amazon_2023", root, BuildConfig())


@pytest.mark.parametrize("subtask", ["top_k_recommendation", "next_item_recommendation"])
def test_each_example_lives_in_one_domain(amazon, subtask):
    domain_of = amazon.tables.items["domain"].astype(str).to_dict()
    rows = [r for s in SPLITS for r in make_cell(subtask, amazon, BuildConfig()).rows[s]]
    assert len({domain_of[r["item_id"]] for r in rows}) > 1
    for row in rows:
        assert {domain_of[c] for c in row["candidate_ids"]} == {domain_of[row["item_id"]]}
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))


def test_cap_per_domain_caps_each_category(amazon):
    domain_of = amazon.tables.items["domain"].astype(str).to_dict()
    rows = [r for s in SPLITS for r in make_cell("top_k_recommendation", amazon, BuildConfig(cap_per_domain=2)).rows[s]]
    per_domain = {}
    for row in rows:
        per_domain[domain_of[row["item_id"]]] = per_domain.get(domain_of[row["item_id"]], 0) + 1
    assert per_domain and max(per_domain.values()) <= 2


def test_without_a_per_domain_cap_the_cell_mixes_domains(amazon):
    """cap_per_domain=0 turns per-domain generation off: candidates then come from every category."""
    domain_of = amazon.tables.items["domain"].astype(str).to_dict()
    rows = [r for s in SPLITS for r in make_cell("top_k_recommendation", amazon, BuildConfig(cap_per_domain=0)).rows[s]]
    assert rows and any(len({domain_of[c] for c in r["candidate_ids"]}) > 1 for r in rows)
