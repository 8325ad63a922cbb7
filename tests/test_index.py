"""itdr_hf.index: same-timestamp ties in a history are broken by a seeded hash, not by file order
(issue 14); the item lookup's dense integer path answers as the index's own hash lookup does."""

from __future__ import annotations

import numpy as np
import pandas as pd

from itdr_hf.index import Histories, ItemLookup


def batch(n_users: int = 200) -> pd.DataFrame:
    # As MovieLens writes ratings.csv: sorted by movieId within a user; one second per batch.
    rows = [(u, item, 4.0, 1000) for u in range(n_users) for item in (10, 20, 30, 40)]
    rows += [(u, 5, 3.0, 999) for u in range(n_users)]
    return pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])


def lasts(seed: int) -> list[int]:
    h = Histories(batch(), np.arange(200), seed)
    return [int(h.arrays(u).item[-1]) for u in range(200)]


def test_ties_are_not_file_order_and_every_tied_item_can_be_next():
    last = lasts(42)
    assert set(last) == {10, 20, 30, 40}  # file order would give 40 every time
    assert max(last.count(i) for i in (10, 20, 30, 40)) < 100


def test_tie_break_is_seeded_and_deterministic_and_time_still_rules():
    assert lasts(42) == lasts(42)
    assert lasts(42) != lasts(7)
    h = Histories(batch(), np.arange(200), 42)
    assert all(int(h.arrays(u).item[0]) == 5 for u in range(200))  # the earlier second comes first


def test_integer_ids_take_the_dense_path_with_the_same_answers():
    ids = [7, 3, 250, 3, 0, 41]  # unsorted, a repeated id (the first wins), 0
    items = pd.DataFrame({"title": [f"t{i}" for i in range(len(ids))]}, index=pd.Index(ids, name="item"))
    lookup = ItemLookup(items)
    assert lookup._dense is not None
    for item in [*ids, 1, 249, 251, 10**9, -1, np.int32(250), np.int64(41)]:
        assert lookup.position(item) == lookup._hash_position(item), item
    assert lookup.title(np.int64(3)) == "t1"
    assert lookup.get("title", 12345, "none") == "none"


def test_string_ids_keep_the_hash_lookup():
    items = pd.DataFrame({"title": ["a", "b"]}, index=pd.Index(["B01", "B02"], name="item"))
    lookup = ItemLookup(items)
    assert lookup._dense is None
    assert lookup.position("B02") == 1 and lookup.position("B03") is None


def test_lookup_values_are_to_numpys_without_an_object_per_item():
    """Titles stay in their Arrow buffer and string categoricals become references to their categories;
    every value read back is the one ``to_numpy`` gave (NaN where missing, ints stay ints)."""
    items = pd.DataFrame(
        {
            "title": pd.array(["a", None, "c", "d"], dtype="str"),
            "domain": pd.Categorical(["CDs", None, "Games", "CDs"]),
            "year": pd.Categorical([1985, 1990, None, 1985]),
            "categories": [["x"], [], ["y", "z"], ["x"]],
        },
        index=pd.Index(["B1", "B2", "B3", "B4"], name="item"),
    )
    lookup = ItemLookup(items)
    assert not isinstance(lookup.columns["title"], np.ndarray)
    assert lookup.columns["domain"].dtype == object
    for name in ("title", "domain", "year", "categories"):
        want = items[name].astype(str).to_numpy() if name == "title" else items[name].to_numpy()
        for position, item in enumerate(items.index):
            got, expected = lookup.get(name, item), want[position]
            assert type(got) is type(expected) and (got == expected or (pd.isna(got) and pd.isna(expected))), (name, item)
    assert lookup.title("B3") == "c"
