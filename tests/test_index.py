"""The item lookup's dense integer path answers as the index's own hash lookup does."""

from __future__ import annotations

import numpy as np
import pandas as pd

from itdr_hf.index import ItemLookup


def _hash_position(index: pd.Index, item: object) -> int | None:
    try:
        loc = index.get_loc(item)
    except KeyError:
        return None
    if isinstance(loc, slice):
        return loc.start
    if isinstance(loc, np.ndarray):
        return int(np.flatnonzero(loc)[0])
    return int(loc)


def test_integer_ids_take_the_dense_path_with_the_same_answers():
    ids = [7, 3, 250, 3, 0, 41]  # unsorted, a repeated id (the first wins), 0
    items = pd.DataFrame({"title": [f"t{i}" for i in range(len(ids))]}, index=pd.Index(ids, name="item"))
    lookup = ItemLookup(items)
    assert lookup._dense is not None
    for item in [*ids, 1, 249, 251, 10**9, -1, np.int32(250), np.int64(41)]:
        assert lookup.position(item) == _hash_position(items.index, item), item
    assert lookup.title(np.int64(3)) == "t1"
    assert lookup.get("title", 12345, "none") == "none"


def test_string_ids_keep_the_hash_lookup():
    items = pd.DataFrame({"title": ["a", "b"]}, index=pd.Index(["B01", "B02"], name="item"))
    lookup = ItemLookup(items)
    assert lookup._dense is None
    assert lookup.position("B02") == 1 and lookup.position("B03") is None
