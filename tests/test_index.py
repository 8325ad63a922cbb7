"""itdr_hf.index: same-timestamp ties in a history are broken by a seeded hash, not by file order
(issue 14); the item lookup's dense integer path answers as the index's own hash lookup does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from itdr_hf.index import Histories, ItemLookup, SourceIndex


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


def string_items(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"title": [f"t{k}" for k in range(len(ids))]}, index=pd.Index(ids, name="item", dtype="str"))


def test_sorted_string_ids_are_searched_with_the_hash_engines_answers():
    """A strictly increasing string index is binary-searched in a fixed-width copy (SortedIds): every id
    present, absent, a prefix, an extension, non-ASCII or with a NUL gets ``get_loc``'s answer."""
    ids = sorted(["B00", "B001", "B0Z", "Bé", "Bé2", "Z", "a", "ab", "é", "日本"])
    lookup = ItemLookup(string_items(ids))
    assert lookup._sorted is not None and lookup._sorted.width == max(len(i.encode()) for i in ids)
    engine = pd.Index(ids, dtype=object)
    asked = [*ids, "", "B", "B0", "B0011", "Bé3", "Z" * 40, "\x00", "B00\x00", "日", "日本語", "zz"]
    for item in asked:
        want = engine.get_loc(item) if item in engine else None
        assert lookup.position(item) == want, item
    assert lookup.title("Bé") == f"t{ids.index('Bé')}"


def test_unsorted_repeated_or_nul_string_ids_keep_the_hash_lookup():
    assert ItemLookup(string_items(["B2", "B1"]))._sorted is None
    assert ItemLookup(string_items(["B1", "B1", "B2"]))._sorted is None  # get_loc's first-of-repeats: the engine
    assert ItemLookup(string_items(["B1", "B2\x00"]))._sorted is None
    lookup = ItemLookup(string_items(["B2", "B1", "B2"]))
    assert lookup.position("B2") == 0 and lookup.position("B1") == 1


def test_sorted_ids_are_np_sort_of_unique_with_string_ids_left_in_arrow():
    from itdr_hf.index import arrow_strings, member_mask, sorted_ids

    ids = ["b", "a", "é", "c", "a", "日", "b"]
    for values in (
        pd.Series(ids, dtype="category").astype(pd.CategoricalDtype(pd.Index(sorted(set(ids)) + ["zz"], dtype="str"))),
        pd.Series(pd.Categorical(ids, categories=pd.Index(["日", "é", "c", "b", "a"], dtype="str"))),
        pd.Series(ids, dtype="str"),
    ):
        got = sorted_ids(values)
        assert arrow_strings(got) is not None
        assert got.tolist() == sorted(set(ids))
        assert isinstance(got[0], str)
        assert np.array_equal(member_mask(values, got), values.isin(sorted(set(ids))).to_numpy())
        assert not member_mask(values, got[1:])[values.to_numpy() == "a"].any()
    counts = pd.Series(pd.Categorical(ids, categories=pd.Index(["日", "é", "c", "b", "a"], dtype="str"))).value_counts()
    assert sorted_ids(counts.index).tolist() == sorted(set(ids))
    assert np.array_equal(sorted_ids(pd.Series([3, 1, 3, 2])), np.array([1, 2, 3]))  # integer ids: a numpy array


def test_nothing_wanted_is_all_false_without_touching_the_rows(monkeypatch):
    from itdr_hf.index import member_mask

    values = pd.Series(pd.Categorical(["a", "b", "a"], categories=pd.Index(["a", "b"], dtype="str")))
    monkeypatch.setattr(pd.Series, "to_numpy", lambda *a, **k: pytest.fail("a Python object per row"))
    for wanted in (np.array([], dtype=object), [], pd.Index([], dtype="str"), set()):
        assert member_mask(values, wanted).tolist() == [False, False, False]


def engines(*indexes: pd.Index) -> list[bool]:
    return ["_engine" in index._cache for index in indexes]


def test_sorted_ids_build_no_hash_engine_on_the_ids_or_their_categories():
    from itdr_hf.index import sorted_ids

    categories = pd.Index(["日", "é", "c", "b", "a", "zz"], dtype="str")
    values = pd.Series(pd.Categorical(["b", "a", "é", "c", "a", "日", "b"], categories=categories))
    categories._cache.clear()  # pandas' own check of new categories built one
    got = sorted_ids(values)
    assert got.tolist() == ["a", "b", "c", "é", "日"]
    assert engines(got, categories) == [False, False]
    plain = pd.Index(["b", "a", "b", "c"], dtype="str")
    assert sorted_ids(plain).tolist() == ["a", "b", "c"] and engines(plain) == [False]


def domain_source() -> SourceIndex:
    from itdr_hf.tables import SourceTables

    rng = np.random.default_rng(3)
    ids = pd.Index([f"B{n:03d}" for n in rng.permutation(40)], dtype="str")  # categories not in id order
    items = pd.DataFrame({"title": [f"t{n}" for n in range(40)]}, index=ids)
    rows = 300
    inter = pd.DataFrame(
        {
            "user": pd.Categorical([f"u{n}" for n in rng.integers(0, 30, rows)]),
            "item": pd.Categorical.from_codes(rng.integers(0, 35, rows), dtype=pd.CategoricalDtype(ids)),
            "rating": np.ones(rows, dtype=np.float32),
            "timestamp": np.arange(rows, dtype=np.int64),
            "domain": pd.Categorical(rng.choice(["Books", "Music"], rows)),
        }
    )
    inter["item"].cat.categories._cache.clear()  # built by the dtype's own check, not by the code under test
    return SourceIndex(SourceTables("t", inter, items))


def test_domain_pools_and_popularity_are_pandas_counts_without_engines():
    index = domain_source()
    inter = index.tables.interactions
    for domain in ("Books", "Music"):
        pool, cdf = index._domain_pool(domain, "popularity")
        counts = inter.loc[inter["domain"] == domain, "item"].astype(str).value_counts()
        want = counts.sort_index()
        assert pool.tolist() == want.index.tolist()
        np.testing.assert_array_equal(cdf, np.cumsum(want.to_numpy(dtype=np.float64)))
    everywhere = inter["item"].astype(str).value_counts().sort_index()
    assert index.item_pool.tolist() == everywhere.index.tolist()
    np.testing.assert_array_equal(index.item_popularity, everywhere.to_numpy(dtype=np.float64))
    assert engines(inter["item"].cat.categories, index.item_pool) == [False, False]


def test_summed_by_code_is_groupby_sum_or_declines():
    from itdr_hf.index import summed_by_code

    categories = pd.Index(["d", "c", "b", "a"], dtype="str")
    frame = pd.DataFrame(
        {"item": pd.Categorical(["c", "a", "c", "b", "c"], categories=categories), "rows": np.array([3, 1, 2, 5, 0])}
    )
    categories._cache.clear()
    got = summed_by_code(frame["item"], frame["rows"])
    assert got.index.categories is categories and engines(categories) == [False]  # pandas' groupby builds one
    pd.testing.assert_series_equal(got, frame.groupby("item", observed=True)["rows"].sum())
    assert summed_by_code(frame["item"], frame["rows"].astype(float)) is None  # floats: pandas' own sum
    missing = frame.assign(item=pd.Categorical(["c", None, "c", "b", "c"], categories=categories))
    assert summed_by_code(missing["item"], missing["rows"]) is None


def test_found_in_is_set_membership_for_arrow_and_numpy_pools():
    from itdr_hf.index import found_in

    pool = pd.Index(["a", "b", "c", "é"], dtype="str")
    assert sorted(found_in(pool, np.array(["é", "x", "a"], dtype=object))) == ["a", "é"]
    assert found_in(pool, np.array([], dtype=object)) == [] and engines(pool) == [False]
    assert sorted(found_in(np.array([1, 5, 9]), np.array([9, 2, 1]))) == [1, 9]


def test_domain_rows_are_the_masked_rows_as_a_slice_where_contiguous():
    from itdr_hf.index import domain_rows

    frame = pd.DataFrame({"x": np.arange(7), "domain": pd.Categorical(list("aaabbbc"))})
    for domain in ("a", "b", "c", "z"):
        got = domain_rows(frame, domain)
        pd.testing.assert_frame_equal(got, frame[frame["domain"] == domain])
    assert np.shares_memory(domain_rows(frame, "b")["x"].to_numpy(), frame["x"].to_numpy())  # no copy
    mixed = frame.assign(domain=pd.Categorical(list("abababc")))
    for domain in ("a", "b"):
        pd.testing.assert_frame_equal(domain_rows(mixed, domain), mixed[mixed["domain"] == domain])


def test_codes_and_their_counts_without_copies_of_the_rows(monkeypatch):
    import itdr_hf.index as index_module
    from itdr_hf.index import code_counts, codes_of, value_counts

    users = pd.Series(pd.Categorical(["b", "a", "b", "c", "b"], categories=pd.Index(["a", "b", "c", "d"], dtype="str")),
                      name="user")
    codes = codes_of(users)
    assert codes.tolist() == users.cat.codes.tolist() and np.shares_memory(codes, users.array.codes)
    monkeypatch.setattr(index_module, "COUNTED_SLICE", 2)  # several slices
    where = np.array([True, False, True, True, False])
    assert code_counts(codes, 4).tolist() == [1, 3, 1, 0]
    assert code_counts(codes, 4, where).tolist() == np.bincount(codes[where], minlength=4).tolist()
    pd.testing.assert_series_equal(value_counts(users), users.value_counts(sort=False))
    pd.testing.assert_series_equal(value_counts(users, where), users[where].value_counts(sort=False))
    missing = pd.Series(pd.Categorical(["a", None, "a"]), name="user")
    pd.testing.assert_series_equal(value_counts(missing), missing.value_counts(sort=False))
    plain = pd.Series([3, 1, 3], name="user")
    pd.testing.assert_series_equal(value_counts(plain), plain.value_counts(sort=False))


def test_users_with_at_least_n_stay_in_their_buffer_with_pandas_answer():
    index = domain_source()
    counts = index.titled_interactions["user"].value_counts(sort=False)
    for n in (1, 10, 12, 100):
        got = index.users_with_at_least(n)
        assert isinstance(got, pd.Index) and got.tolist() == counts.index[counts.to_numpy() >= n].to_numpy().tolist()
    integer = SourceIndex(dataclasses_replace(index, user=np.arange(300) % 7))
    assert isinstance(integer.users_with_at_least(40), np.ndarray)


def dataclasses_replace(index: SourceIndex, **columns) -> object:
    import dataclasses

    return dataclasses.replace(index.tables, interactions=index.tables.interactions.assign(**columns))


def test_titled_rows_and_unknown_items_read_the_codes_when_they_are_item_table_rows(monkeypatch):
    import dataclasses

    import itdr_hf.index as index_module

    base = domain_source()
    items = base.tables.items.assign(title=[f"t{n}" if n % 4 else "  " for n in range(40)])  # some titles empty
    inter = base.tables.interactions
    codes = inter["item"].cat.codes.to_numpy().copy()
    codes[5] = -1  # an item the item table lacks
    inter = inter.assign(item=pd.Categorical.from_codes(codes, dtype=inter["item"].dtype))
    coded = SourceIndex(dataclasses.replace(base.tables, interactions=inter, items=items))
    plain = SourceIndex(dataclasses.replace(coded.tables, interactions=inter.assign(item=inter["item"].astype(object))))
    assert coded._coded_like_items(inter["item"]) and not plain._coded_like_items(plain.tables.interactions["item"])
    assert coded.unknown_item_rows == plain.unknown_item_rows and coded.unknown_item_rows[0] == 1
    want = plain.titled_interactions
    with monkeypatch.context() as patched:
        patched.setattr(index_module, "member_mask", lambda *a: pytest.fail("the hash path"))
        got = coded.titled_interactions
    assert 0 < len(got) < len(inter)
    pd.testing.assert_frame_equal(got.assign(item=got["item"].astype(object)), want)
    other = pd.Index(items.index[:30].tolist() + ["zz"], dtype="str")  # other categories: the hash path answers
    elsewhere = pd.Series(pd.Categorical(["zz", items.index[0], items.index[3]], categories=other))
    assert coded._titled_rows(elsewhere).tolist() == [False, bool(items["title"].iloc[0].strip()),
                                                      bool(items["title"].iloc[3].strip())]


def test_in_item_pool_reads_the_codes_of_the_pools_own_categories(monkeypatch):
    import itdr_hf.index as index_module

    index = domain_source()
    pool = set(index.item_pool.tolist())
    items = pd.Series(pd.Categorical.from_codes([0, 39, 5, -1, 36], dtype=index.tables.interactions["item"].dtype))
    want = [item in pool for item in items.astype(object).tolist()]
    with monkeypatch.context() as patched:
        patched.setattr(index_module, "member_mask", lambda *a: pytest.fail("the hash path"))
        assert index.in_item_pool(items).tolist() == want
    assert any(want) and not all(want)
    plain = items.astype(object)  # other ids: the hash path, the same answer
    assert index.in_item_pool(plain).tolist() == want


def test_arrow_text_reads_each_chunk_as_pandas_does():
    """Values by position straight from the Arrow chunks: the same strings pandas gives, its missing
    value where one is missing, across chunk boundaries, and an IndexError past either end."""
    import pyarrow as pa

    from itdr_hf.index import ArrowText

    chunked = pa.chunked_array([pa.array(["a", None], pa.large_string()), pa.array([], pa.large_string()),
                                pa.array(["c", "d", None], pa.large_string())])
    for na_value in (np.nan, pd.NA):
        series = pd.Series(pd.array(chunked.to_pylist(), dtype=pd.StringDtype("pyarrow", na_value=na_value)))
        series = pd.Series(pd.arrays.ArrowStringArray(chunked) if na_value is pd.NA else series)
        text = ArrowText(series.array, series.dtype.na_value)
        assert len(text) == 5
        for position in range(5):
            got, want = text[position], series.array[position]
            assert got == want if isinstance(want, str) else got is series.dtype.na_value, position
        with pytest.raises(IndexError):
            text[5]
        with pytest.raises(IndexError):
            text[-1]


def test_item_views_read_each_row_once_and_titles_are_kept():
    """A view from one lookup of the item's row says what the column-by-column lookups say; a title is
    cleaned once and the same string comes back; an unknown item is a KeyError either way."""
    from itdr_hf.text import clean, clean_list

    items = pd.DataFrame(
        {
            "title": pd.array(["Chili&#39;s", None, " c  d "], dtype="str"),
            "categories": [["x", "x", "y"], [], ["&amp;z"]],
            "tags": [["t"], ["u"], []],
            "year": pd.array(["1995", "", None], dtype="str"),
        },
        index=pd.Index([3, 7, 9], name="item"),
    )
    lookup = ItemLookup(items)
    for item in items.index:
        year = lookup.get("year", item)
        assert lookup.view(item) == {
            "id": str(item),
            "title": clean(lookup.get("title", item)),
            "categories": clean_list(lookup.get("categories", item)),
            "tags": clean_list(lookup.get("tags", item)),
            "year": "" if pd.isna(year) else clean(year),
            "domain": "",
            "details": {},
        }
    assert lookup.title(3) == "Chili's" and lookup.title(3) is lookup.title(3)
    for missing in (4, "3"):
        with pytest.raises(KeyError):
            lookup.view(missing)
        with pytest.raises(KeyError):
            lookup.title(missing)



def test_titled_interactions_skip_the_row_mask_only_when_every_item_is_known_and_titled(monkeypatch):
    """Every item in the item table and every one titled: the interactions themselves, without a mask
    over every row; an unknown item or an empty title anywhere: the masked rows, as before."""
    from itdr_hf import index as index_module
    from itdr_hf.tables import SourceTables

    inter = pd.DataFrame({"user": [1, 1, 2, 2], "item": [10, 20, 20, 30], "rating": [4.0, 3.0, 5.0, 2.0],
                          "timestamp": [1, 2, 3, 4]})
    masks = []
    real_mask = index_module.member_mask
    monkeypatch.setattr(index_module, "member_mask", lambda values, wanted: masks.append(1) or real_mask(values, wanted))
    cases = {
        "all known and titled": (["a", "b", "c"], [10, 20, 30], [0, 1, 2, 3]),
        "an empty title": (["a", " ", "c"], [10, 20, 30], [0, 3]),
        "an unknown item": (["a", "b"], [10, 20], [0, 1, 2]),
    }
    for case, (titles, ids, kept) in cases.items():
        index = SourceIndex(SourceTables("t", inter, pd.DataFrame({"title": titles}, index=pd.Index(ids, name="item"))))
        index.unknown_item_rows  # noqa: B018 - as the source report has it before cells are made
        masks.clear()
        titled = index.titled_interactions
        assert titled["item"].tolist() == inter["item"].iloc[kept].tolist(), case
        assert (titled is inter and not masks) if case == "all known and titled" else masks, case
