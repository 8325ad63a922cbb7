"""Cross-domain recommendation on synthetic Amazon 2023 files: who is chosen, what is shown, where it lands."""

from __future__ import annotations

import numpy as np
import pytest

from itdr_hf.cells import cell_rng, make_cell
from itdr_hf.config import BuildConfig
from itdr_hf.errors import ConfigError
from itdr_hf.index import SourceIndex
from itdr_hf.pipeline import Selection, load_source, source_dir
from itdr_hf.sources import SOURCES
from itdr_hf.sources.amazon_2023 import Amazon2023
from itdr_hf.splits import split_of
from itdr_hf.subtasks.cross_domain_recommendation import (
    CrossDomainRecommendation,
    parse_pairs,
)
from itdr_hf.synthetic.amazon import write_amazon_2023

CATEGORIES = ("CDs_and_Vinyl", "Video_Games", "All_Beauty", "Amazon_Fashion")
CONFIG = BuildConfig(
    amazon_categories=",".join(CATEGORIES), cdr_pairs="CDs_and_Vinyl<->Video_Games,All_Beauty->Amazon_Fashion"
)


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> SourceIndex:
    root = write_amazon_2023(tmp_path_factory.mktemp("amazon"), categories=CATEGORIES, n_users=40, n_items=60,
                             n_reviews=400, seed=2)
    return SourceIndex(Amazon2023().read(root, CONFIG))


def generate(index: SourceIndex, config: BuildConfig = CONFIG):
    return CrossDomainRecommendation().generate(index, config, cell_rng(config, "cross_domain_recommendation", "amazon_2023"))


def rows_of(index: SourceIndex, user: str, domain: str):
    inter = index.titled_interactions
    rows = inter[(inter["user"] == user) & (inter["domain"] == domain)]
    order = np.lexsort((np.arange(len(rows)), rows["timestamp"].to_numpy()))
    return rows.iloc[order]


def test_pairs_parse_both_directions_and_reject_nonsense():
    assert parse_pairs("A<->B, C->D") == [("A", "B"), ("B", "A"), ("C", "D")]
    for wrong in ("A-B", "A->A", "A<->", "->B", ",", "A->B->C"):
        with pytest.raises(ConfigError, match="cdr_pairs"):
            parse_pairs(wrong)


def test_examples_come_from_every_directed_pair_the_source_has(index):
    examples = generate(index)
    targets = {e.context["target_domain"] for e in examples}
    assert targets == {"Video Games", "CDs and Vinyl", "Amazon Fashion"}  # All_Beauty is never a target
    assert len(examples) >= 20


def test_histories_candidates_and_positives_follow_the_users_real_timeline(index):
    title_domain = index.tables.items["domain"].astype(str).to_dict()
    for example in generate(index):
        target = example.context["target_domain"].replace(" ", "_")
        source = example.context["source_domain"].replace(" ", "_")
        user = example.user_id
        target_rows = rows_of(index, user, target)
        source_rows = rows_of(index, user, source)
        assert len(target_rows) >= 10 and len(source_rows) >= 5  # history in both domains
        last = target_rows["item"].astype(str).tolist()[-10:]
        assert [v["id"] for v in example.context["target_history"]] == last[:5]
        positives = last[5:]
        assert [example.truth["candidate_ids"][example.truth["candidates"].index(t)]
                for t in example.truth["positives"]] == positives  # chronological, in the gold order
        first_positive_time = target_rows["timestamp"].to_numpy()[-5]
        shown = [v["id"] for v in example.context["source_history"]]
        earlier = source_rows[source_rows["timestamp"] < first_positive_time]["item"].astype(str).tolist()
        assert len(shown) == 5 and shown == earlier[-5:]  # nothing shown happened after the prediction point
        candidates = example.truth["candidate_ids"]
        assert len(candidates) == 10 == len(set(candidates)) == len(set(example.truth["candidates"]))
        assert all(title_domain[c] == target for c in candidates)  # target-domain candidates only
        negatives = set(candidates) - set(positives)
        assert len(negatives) == 5 and not negatives & set(index.titled_interactions.loc[
            index.titled_interactions["user"] == user, "item"].astype(str))
        assert [v["id"] for v in example.context["ranking"]][:5] == positives


def test_splits_are_per_user_and_agree_with_every_other_cell(index):
    examples = generate(index)
    users = np.array([e.user_id for e in examples], dtype=object)
    expected = split_of(users, CONFIG, "amazon_2023", "user")
    assert [e.split for e in examples] == expected.tolist()
    by_user: dict = {}
    for e in examples:
        by_user.setdefault(e.user_id, set()).add(e.split)
    assert all(len(s) == 1 for s in by_user.values())  # a user in two pairs stays in one split


def test_each_directed_pair_is_capped(index):
    config = BuildConfig(amazon_categories=CONFIG.amazon_categories, cdr_pairs=CONFIG.cdr_pairs, cap_per_domain=3)
    examples = generate(index, config)
    per_pair: dict = {}
    for e in examples:
        key = (e.context["source_domain"], e.context["target_domain"])
        per_pair[key] = per_pair.get(key, 0) + 1
    assert max(per_pair.values()) <= 3 and sum(per_pair.values()) < len(generate(index))


def test_generation_is_deterministic_and_seeded(index):
    first, second = generate(index), generate(index)
    assert [(e.user_id, e.truth) for e in first] == [(e.user_id, e.truth) for e in second]
    other = generate(index, BuildConfig(amazon_categories=CONFIG.amazon_categories, cdr_pairs=CONFIG.cdr_pairs, seed=5))
    assert [e.truth for e in other] != [e.truth for e in first]


def test_pairs_the_source_lacks_are_a_config_error_naming_its_domains(index):
    config = BuildConfig(amazon_categories=CONFIG.amazon_categories, cdr_pairs="Software<->Appliances")
    with pytest.raises(ConfigError, match="its domains: All_Beauty, Amazon_Fashion, CDs_and_Vinyl, Video_Games"):
        generate(index, config)


def test_rows_render_with_both_histories(index):
    cell = make_cell("cross_domain_recommendation", index, CONFIG)
    row = cell.rows["train"][0]
    assert "(source domain)" in row["input"] and "(target domain)" in row["input"]
    assert row["output"].splitlines()[0] == f"1. {row['positives'][0]}"
    assert len(row["output"].splitlines()) == 10


def test_a_single_domain_source_is_unsupported_with_the_reason():
    root = source_dir(SOURCES.get("movielens_32m")(), Selection(demo=True), None)
    reason = CrossDomainRecommendation().unsupported(load_source("movielens_32m", root, BuildConfig()))
    assert reason and "domains" in reason


def test_no_shared_users_is_unsupported(index):
    tables = index.tables
    inter = tables.interactions.copy()
    inter = inter[inter["domain"] == "Video_Games"].copy()
    other = tables.interactions[tables.interactions["domain"] == "CDs_and_Vinyl"].copy()
    other["user"] = other["user"].cat.rename_categories(lambda u: "X" + u)
    import pandas as pd

    from itdr_hf.tables import SourceTables

    merged = pd.concat([inter.assign(user=inter["user"].astype(str)), other.assign(user=other["user"].astype(str))])
    apart = SourceIndex(SourceTables(name="amazon_2023", interactions=merged, items=tables.items))
    assert CrossDomainRecommendation().unsupported(apart) == "no user has interactions in two domains"


def test_without_a_per_domain_cap_the_cell_cap_is_shared_by_the_pairs(index):
    config = BuildConfig(amazon_categories=CONFIG.amazon_categories, cdr_pairs=CONFIG.cdr_pairs,
                         cap_per_domain=0, cap_per_cell=6)
    per_pair: dict = {}
    for e in generate(index, config):
        key = (e.context["source_domain"], e.context["target_domain"])
        per_pair[key] = per_pair.get(key, 0) + 1
    assert max(per_pair.values()) <= 2  # ceil(6 / 3 directed pairs)


def plain_users(index: SourceIndex) -> SourceIndex:
    """The same source with user ids as plain strings: every step takes pandas' own path, not the codes'."""
    import dataclasses

    inter = index.tables.interactions
    return SourceIndex(dataclasses.replace(index.tables, interactions=inter.assign(user=inter["user"].astype(object))))


def test_eligible_users_from_the_codes_are_pandas_answer(index, monkeypatch):
    from itdr_hf.subtasks import cross_domain_recommendation as cdr

    plain = plain_users(index)
    for source, target in parse_pairs(CONFIG.cdr_pairs):
        got = CrossDomainRecommendation._eligible(index, source, target, CONFIG)
        want = CrossDomainRecommendation._eligible(plain, source, target, CONFIG)
        assert isinstance(got, type(index.item_pool)) and got.tolist() == want.tolist()
        assert len(want), "each pair has eligible users, or this compares nothing"
    # the codes' path is the one taken on the reader's categoricals
    monkeypatch.setattr(cdr, "aligned", lambda *a: pytest.fail("pandas' path"))
    CrossDomainRecommendation._eligible(index, "CDs_and_Vinyl", "Video_Games", CONFIG)


def test_examples_are_the_same_from_codes_and_from_plain_ids(index):
    def keys(examples):
        return [(e.user_id, e.item_id, e.split, [v["id"] for v in e.context["candidates"]]) for e in examples]

    assert keys(generate(index)) == keys(generate(plain_users(index)))
