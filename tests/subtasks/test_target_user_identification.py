"""Target user identification on the real ml-latest-small: three distinct taggers per item."""

from __future__ import annotations

import pytest


def test_target_user_identification_uses_three_distinct_taggers(ml, rows_of):
    rows = rows_of("target_user_identification", ml)
    assert rows
    texts = ml.tables.texts.authors()
    for row in rows:
        item = int(row["item_id"])
        comments = row["input"].split("User comments:\n")[1].splitlines()[:-1]
        assert len(comments) == 3
        assert texts[texts["item"] == item]["user"].nunique() >= 3
        assert row["reference_provenance"] == "derived:tui-v2"
        assert row["output"].startswith(ml.title_of[item])
        assert row["user_id"] == ""


def test_domains_of_chosen_items_are_the_reindexed_ones_without_the_items_hash_engine():
    """The domain of each eligible item, as ``reindex(...).astype(str)`` gave it (a missing domain or an unknown
    item: NaN), found through the item lookup so that pandas builds no hash engine on the item index."""
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd

    from itdr_hf.index import SourceIndex
    from itdr_hf.subtasks.target_user_identification import _domains_of

    def make() -> pd.DataFrame:
        ids = pd.Index(["B1", "B2", "B3", "B4"], dtype="str", name="item")
        return pd.DataFrame({"title": ["a", "b", "c", "d"], "domain": pd.Categorical(["CDs", None, "Games", "CDs"])},
                            index=ids)

    asked = np.array(["B4", "B2", "B9", "B1", "B3"], dtype=object)
    want = make()["domain"].reindex(asked).astype(str).to_numpy()
    items = make()
    got = _domains_of(SourceIndex(SimpleNamespace(items=items)), asked)
    assert [str(g) for g in got] == [str(w) for w in want] and pd.isna(got[1]) and pd.isna(got[2])
    assert "_engine" not in items.index._cache


def test_domains_of_items_coded_as_item_table_rows_are_read_from_the_codes(monkeypatch):
    """Eligible items as a categorical index over the item table's own ids (Amazon's readers): the domains come
    from the codes, with no lookup per item, and equal the reindexed ones."""
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd

    from itdr_hf.index import ItemLookup, SourceIndex
    from itdr_hf.subtasks.target_user_identification import _domains_of

    ids = pd.Index(["B1", "B2", "B3", "B4"], dtype="str", name="item")
    items = pd.DataFrame({"title": list("abcd"), "domain": pd.Categorical(["CDs", None, "Games", "CDs"])}, index=ids)
    asked = pd.CategoricalIndex(pd.Categorical.from_codes([3, 1, -1, 0, 2], dtype=pd.CategoricalDtype(ids)))
    want = items["domain"].reindex(np.asarray(asked)).astype(str).to_numpy()
    monkeypatch.setattr(ItemLookup, "position", lambda *a: pytest.fail("a lookup per item"))
    got = _domains_of(SourceIndex(SimpleNamespace(items=items)), asked)
    assert [str(g) for g in got] == [str(w) for w in want] and pd.isna(got[1]) and pd.isna(got[2])
