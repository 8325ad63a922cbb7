"""The memory-lean paths of the Amazon 2023 build give exactly what the pandas idioms they replace give.

Each replaces a pandas call that held tens of bytes per review (issue 15); a difference would
change the built rows silently, so each is compared with the original on awkward inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from itdr_hf import index as index_module
from itdr_hf.index import member_mask
from itdr_hf.sources.amazon_2023 import _categorical, _codes_in, _Encoder
from itdr_hf.subtasks.common import aligned
from itdr_hf.subtasks.target_user_identification import _raters_of, _writers


def _ids(rng, n, k, prefix):
    return np.array([f"{prefix}{v}" for v in rng.integers(0, k, size=n)], dtype=object)


@pytest.mark.parametrize("min_merge", [1, 3, 50, 1 << 20])
def test_encoder_merges_to_one_whole_column_encoding(min_merge):
    rng = np.random.default_rng(min_merge)
    encoder = _Encoder()
    encoder.MIN_MERGE = min_merge
    blocks = [
        pa.chunked_array([pa.array(list(_ids(rng, int(n), 40, "u")), type=pa.string()) for n in rng.integers(0, 20, 2)],
                         type=pa.string())
        for _ in range(30)
    ]
    for block in blocks:
        encoder.add(block)
    ids, codes = encoder.finish()
    whole = pa.chunked_array([c for b in blocks for c in b.chunks], type=pa.string()).dictionary_encode()
    assert ids.equals(whole.chunk(0).dictionary)
    assert np.array_equal(codes, np.concatenate([c.indices.to_numpy() for c in whole.chunks]))


def _frame(rng, n=500):
    users = pd.Index(sorted(set(_ids(rng, 200, 120, "A"))), dtype="str")
    items = pd.Index(sorted(set(_ids(rng, 200, 60, "B"))), dtype="str")
    user_codes = rng.integers(0, len(users), n).astype(np.int32)
    item_codes = rng.integers(0, len(items), n).astype(np.int32)
    return pd.DataFrame({"user": _categorical(user_codes, users), "item": _categorical(item_codes, items),
                         "timestamp": rng.integers(0, 1000, n)})


def test_categorical_is_the_checked_one():
    rng = np.random.default_rng(1)
    frame = _frame(rng)
    checked = pd.Categorical.from_codes(frame["user"].cat.codes, categories=frame["user"].cat.categories)
    assert frame["user"].dtype == checked.dtype and (frame["user"].to_numpy() == np.asarray(checked)).all()


@pytest.mark.parametrize("wanted", [
    ["A3", "A7", "nope"], np.array(["A3", "A5"]), [], np.array(["A3", None], dtype=object), [3, "A3"],
])
def test_member_mask_of_categoricals_is_isin(wanted):
    rng = np.random.default_rng(2)
    values = _frame(rng)["user"].copy()
    values.iloc[:5] = np.nan  # missing codes
    assert np.array_equal(member_mask(values, wanted), values.isin(wanted).to_numpy())


@pytest.mark.parametrize("slice_size", [1, 7, 1 << 16])
def test_member_mask_of_more_wanted_ids_than_categories_is_isin(monkeypatch, slice_size):
    """Wanted ids outnumbering the categories: the categories are hashed and the ids scanned in slices."""
    monkeypatch.setattr(index_module, "WANTED_SLICE", slice_size)
    rng = np.random.default_rng(6)
    values = _frame(rng)["user"].copy()
    values.iloc[:5] = np.nan  # missing codes
    categories = list(values.cat.categories)
    wanted = [c for c in categories if rng.random() < 0.5] * 3 + [f"Z{i}" for i in range(2 * len(categories))]
    rng.shuffle(wanted)
    for form in (wanted, np.array(wanted), np.array(wanted, dtype=object)):
        assert len(form) > len(categories)
        assert np.array_equal(member_mask(values, form), values.isin(form).to_numpy())


def test_codes_in_is_categorical_codes():
    rng = np.random.default_rng(3)
    categories = _frame(rng)["item"].cat.categories
    values = pd.Series(list(categories[::3]) + ["missing", categories[0]])
    want = pd.Categorical(values, categories=categories).codes
    assert np.array_equal(_codes_in(values, categories), want)


def test_writers_is_grouped_nunique():
    rng = np.random.default_rng(4)
    frame = _frame(rng, 2000)
    frame = pd.concat([frame, frame.iloc[:300]])  # repeated (user, item) pairs, as across two categories
    want = frame.groupby("item", observed=True)["user"].nunique()
    got = _writers(frame)
    pd.testing.assert_series_equal(got, want, check_names=False)
    assert got.index.equals(want.index) and got.index.dtype == want.index.dtype


def test_aligned_is_reindex():
    rng = np.random.default_rng(5)
    frame = _frame(rng)
    cut = frame.drop_duplicates("user").iloc[::2].set_index("user")["timestamp"]
    want = cut.reindex(frame["user"].to_numpy()).to_numpy()
    np.testing.assert_array_equal(aligned(cut, frame["user"]), want)


def test_raters_of_is_reindex_fillna():
    """TUI's raters per writer-item: through the shared codes for categoricals, pandas' reindex otherwise."""
    rng = np.random.default_rng(7)
    frame = _frame(rng, 2000)
    writers = _writers(frame)
    raters = frame.iloc[:40].groupby("item", observed=True).size()  # most written-about items have no rater
    assert raters.index.categories is writers.index.categories and len(raters) < len(writers)
    want = raters.reindex(writers.index).fillna(0).to_numpy()
    assert np.array_equal(_raters_of(raters, writers.index), want)
    plain = pd.Series(raters.to_numpy(), index=raters.index.astype(str))
    assert np.array_equal(_raters_of(plain, writers.index.astype(str)), want)


def test_aligned_with_repeated_index_keys_falls_back_to_reindex_rules():
    categories = pd.Index(["a", "b"], dtype="str")
    keys = pd.Series(pd.Categorical(["a", "b"], categories=categories))
    values = pd.Series([1.0, 2.0], index=pd.CategoricalIndex(pd.Categorical(["a", "b"], categories=categories)))
    np.testing.assert_array_equal(aligned(values, keys), [1.0, 2.0])
    assert "_engine" not in values.index._cache  # uniqueness read from the codes
    repeated = pd.Series([1.0, 2.0], index=pd.CategoricalIndex(pd.Categorical(["a", "a"], categories=categories)))
    with pytest.raises(ValueError):  # pandas: cannot reindex on an axis with duplicate labels
        aligned(repeated, keys)
