"""Interest recognition: who is eligible, what is shown, the derived reference, and the Kaggle demo build."""

import numpy as np
import pandas as pd
import pytest
from datasets import get_dataset_config_names, load_dataset

from itdr_hf import build_dataset
from itdr_hf.cells import make_cell
from itdr_hf.config import BuildConfig
from itdr_hf.errors import ConfigError
from itdr_hf.features import features_for
from itdr_hf.index import SourceIndex
from itdr_hf.pipeline import Selection
from itdr_hf.sources.amazon_books import AmazonBooks
from itdr_hf.splits import SPLITS
from itdr_hf.subtasks.common import trim
from itdr_hf.subtasks.interest_recognition import (
    PROVENANCE,
    InterestRecognition,
    _contrast,
)
from itdr_hf.synthetic.kaggle import write_amazon_books
from itdr_hf.tables import FrameTextStore, SourceTables

IR = "interest_recognition"


@pytest.fixture(scope="module")
def amazon(tmp_path_factory) -> SourceIndex:
    folder = write_amazon_books(tmp_path_factory.mktemp("ab") / "amazon_books", n_users=50, n_books=90, per_user=12, seed=9)
    return SourceIndex(AmazonBooks().read(folder, BuildConfig()))


def generate(index: SourceIndex, **options):
    config = BuildConfig(**options)
    from itdr_hf.cells import cell_rng

    return InterestRecognition().generate(index, config, cell_rng(config, IR, index.tables.name))


def tiny(ratings: dict, texts: dict | None = None) -> SourceIndex:
    """A hand-made source: ``ratings`` {(user, item): rating}, reviews for every pair unless ``texts`` says."""
    pairs = list(ratings)
    inter = pd.DataFrame({"user": [u for u, _ in pairs], "item": [i for _, i in pairs],
                          "rating": np.array(list(ratings.values()), dtype=np.float32),
                          "timestamp": np.arange(len(pairs), dtype=np.int64)})
    items = sorted({i for _, i in pairs})
    genre = {i: ["Horror"] if i.startswith("h") else ["Romance"] for i in items}
    texts = texts if texts is not None else {p: f"review of {p[1]} with chilling suspense" if ratings[p] >= 4
                                             else f"review of {p[1]} with tedious plotting" for p in pairs}
    store = FrameTextStore(pd.DataFrame([(u, i, t) for (u, i), t in texts.items()], columns=["user", "item", "text"]))
    return SourceIndex(SourceTables(
        name="tiny", interactions=inter, texts=store, rating_scale=(1.0, 5.0), item_noun="book",
        items=pd.DataFrame({"title": [f"Title {i}" for i in items], "categories": [genre[i] for i in items]},
                           index=pd.Index(items, name="item")),
    ))


def test_shown_items_are_liked_and_disliked_with_the_users_own_reviews(amazon):
    examples = generate(amazon)
    assert examples
    tables = amazon.tables
    like, dislike = tables.like_cutoff(0.7), tables.like_cutoff(0.5)
    rated = tables.interactions.set_index(["user", "item"])["rating"]
    for ex in examples:
        liked, disliked = ex.context["liked"], ex.context["disliked"]
        assert (len(liked), len(disliked)) == (3, 3)
        assert all(rated[(ex.user_id, i["id"])] >= like for i in liked)
        assert all(rated[(ex.user_id, i["id"])] <= dislike for i in disliked)
        pairs = pd.DataFrame({"user": ex.user_id, "item": [i["id"] for i in liked + disliked]})
        own = tables.texts.fetch(pairs).drop_duplicates(["user", "item"]).set_index("item")["text"]
        assert [i["review"] for i in liked + disliked] == [trim(own[i["id"]], 250) for i in liked + disliked]
        assert ex.item_id == "" and ex.truth == {"reference_provenance": PROVENANCE}


def test_shown_items_follow_the_history_order(amazon):
    times = amazon.tables.interactions.set_index(["user", "item"])["timestamp"]
    for ex in generate(amazon):
        for side in ("liked", "disliked"):
            stamps = [times[(ex.user_id, i["id"])] for i in ex.context[side]]
            assert stamps == sorted(stamps)


def test_exactly_the_users_with_enough_liked_and_disliked_reviews_are_eligible(amazon):
    rated = amazon.tables.interactions
    liked = rated[rated["rating"] >= 4].groupby("user").size()
    disliked = rated[rated["rating"] <= 3].groupby("user").size()
    expected = {u for u in rated["user"].unique() if liked.get(u, 0) >= 3 and disliked.get(u, 0) >= 3}
    assert {ex.user_id for ex in generate(amazon)} == expected
    stricter = {ex.user_id for ex in generate(amazon, ir_liked=5, ir_disliked=5)}
    assert stricter < expected


def test_deterministic_and_seeded(amazon):
    first, second = generate(amazon), generate(amazon)
    assert [e.context for e in first] == [e.context for e in second]
    assert [e.context for e in generate(amazon, seed=3)] != [e.context for e in first]


def test_reference_is_derived_from_the_shown_items():
    ratings = {("u", "h1"): 5, ("u", "h2"): 5, ("u", "h3"): 4, ("u", "r1"): 1, ("u", "r2"): 2, ("u", "r3"): 3}
    (ex,) = generate(tiny(ratings))
    reference = ex.context["reference"]
    assert reference.startswith("The user enjoys books in Horror, as their liking for Title h1; Title h2; Title h3 shows.")
    assert "positive reviews dwell on chilling and suspense" in reference
    assert "less keen on Romance, and did not care for Title r1; Title r2; Title r3; their critical reviews mention plotting and tedious" in reference
    # The paper's form: a paragraph ending "In short: ..."; no average the input does not show.
    assert reference.endswith("In short: a fan of Horror who steers clear of Romance, won over by chilling and suspense.")
    assert "4.7" not in reference and "average" not in reference
    # The words of an item's own title never count as what the user values.
    assert "title" not in reference.lower().split("dwell on")[1].split(".")[0]


def test_contrast_prefers_the_side_where_a_value_is_more_frequent():
    assert _contrast(["a", "a", "b", "c"], ["b", "b", "c"], 3) == (["a"], ["b"])


def test_a_pair_without_review_text_costs_the_user_its_example():
    ratings = {(u, i): r for u in ("u", "v") for i, r in (("h1", 5), ("h2", 5), ("h3", 4), ("r1", 1), ("r2", 2), ("r3", 3))}
    texts = {p: "fine words" for p in ratings}
    texts[("v", "r2")] = "   "
    assert [ex.user_id for ex in generate(tiny(ratings, texts))] == ["u"]


def test_unsupported_without_reviews_or_ratings(amazon):
    ratings = {("u", "h1"): 5}
    no_text = tiny(ratings, texts={})
    assert "no user-written reviews" in InterestRecognition().unsupported(no_text)
    tables = tiny(ratings).tables
    unrated = SourceIndex(SourceTables(name="x", interactions=tables.interactions, items=tables.items, texts=tables.texts))
    assert "no ratings" in InterestRecognition().unsupported(unrated)
    assert InterestRecognition().unsupported(amazon) is None


def test_a_dislike_threshold_above_the_like_threshold_is_refused(amazon):
    with pytest.raises(ConfigError, match="ir_dislike_threshold"):
        generate(amazon, ir_dislike_threshold=0.8)


def test_rendered_rows_match_the_schema(amazon):
    cell = make_cell(IR, amazon, BuildConfig())
    columns = set(features_for(IR))
    for split in SPLITS:
        for row in cell.rows[split]:
            assert set(row) == columns and row["reference_provenance"] == PROVENANCE
            assert row["input"].startswith("Books the user liked:\n1. ") and "\nBooks the user disliked:\n1. " in row["input"]
            assert row["output"].startswith("The user ") and "{" not in row["output"]


def test_demo_build_of_the_kaggle_sources_loads(tmp_path):
    out = tmp_path / "itdr"
    result = build_dataset(
        out, Selection(sources=("amazon_books", "anime_2023", "bookcrossing"), demo=True, strict=True), BuildConfig()
    )
    built = {(s.subtask, s.source) for s in result.stats}
    assert built >= {
        ("rating_prediction", "bookcrossing"), ("rating_prediction", "anime_2023"),
        ("top_k_recommendation", "amazon_books"), ("top_k_recommendation", "anime_2023"),
        ("user_attribute_prediction", "anime_2023"), ("user_attribute_prediction", "bookcrossing"),
        ("interest_recognition", "amazon_books"),
    }
    skipped = {(t, s): reason for t, s, reason in result.skipped}
    assert "no user-written reviews" in skipped[("interest_recognition", "anime_2023")]
    assert ("interest_recognition", "anime_2023") not in built
    for name in get_dataset_config_names(str(out)):
        ds = load_dataset(str(out), name)
        assert set(ds) == set(SPLITS) and sum(len(s) for s in ds.values()) > 0
    ir = load_dataset(str(out), IR)["train"]
    assert set(ir["reference_provenance"]) == {PROVENANCE}


def test_without_ratings_the_weight_percentile_decides():
    """Steam has hours played, not stars: liked = most played of the user's reviewed games."""
    hours = {"h1": 50, "h2": 40, "h3": 30, "r0": 20, "r1": 1, "r2": 2, "r3": 3, "r4": 4}
    base = tiny({("u", i): 3 for i in hours}).tables
    inter = base.interactions.assign(rating=np.float32("nan"), weight=[np.float32(hours[i]) for i in base.interactions["item"]])
    index = SourceIndex(SourceTables(name="w", interactions=inter, items=base.items, texts=base.texts, item_noun="game"))
    assert InterestRecognition().unsupported(index) is None
    (ex,) = generate(index)
    assert [i["id"] for i in ex.context["liked"]] == ["h1", "h2", "h3"]
    assert {i["id"] for i in ex.context["disliked"]} < {"r1", "r2", "r3", "r4"}
    row = make_cell(IR, index, BuildConfig()).rows
    text = next(r for s in SPLITS for r in row[s])
    assert "rated" not in text["input"] and "On average" not in text["output"]
    assert text["input"].splitlines()[1].startswith("1. Title h1 (Horror)")
