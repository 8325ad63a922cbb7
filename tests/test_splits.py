import numpy as np
import pytest

from itdr_hf.config import BuildConfig
from itdr_hf.splits import choose_units, eval_subset_mask, split_of, unit_hash


def test_unit_hash_is_stable_and_uniform():
    ids = np.arange(100_000)
    u = unit_hash(ids, 42, "src", "user")
    assert np.array_equal(u, unit_hash(ids, 42, "src", "user"))
    assert 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01
    assert not np.array_equal(u, unit_hash(ids, 43, "src", "user"))


def test_string_and_integer_ids_both_hash_by_value_not_position():
    pair = unit_hash(np.array(["a", "b"]), 1)
    assert pair.shape == (2,) and pair[0] != pair[1]
    assert unit_hash(np.array(["b", "a", "c"]), 1)[1] == pair[0]
    ints = unit_hash(np.array([7, 8]), 1)
    assert ints[0] != ints[1] and unit_hash(np.array([9, 8]), 1)[1] == ints[1]


def test_a_units_split_depends_on_the_unit_alone_not_on_its_pool():
    ids = np.arange(10_000)
    config = BuildConfig()
    codes = split_of(ids, config, "src", "user")
    subset = ids[::7]
    assert np.array_equal(split_of(subset, config, "src", "user"), codes[::7])
    shares = np.bincount(codes) / len(ids)
    assert np.allclose(shares, [0.8, 0.1, 0.1], atol=0.02)


def test_a_user_is_in_the_same_split_in_every_subtask():
    """No leakage across subtasks: a test user of one subtask is never a training user of another."""
    from itdr_hf.pipeline import Selection, run

    subtasks = ("rating_prediction", "top_k_recommendation", "next_item_recommendation")  # user-unit subtasks
    plan = run(Selection(subtasks=subtasks, sources=("movielens_32m",), demo=True), BuildConfig())
    split_of_user: dict[str, str] = {}
    shared = 0
    for cell in plan.cells:
        for split, rows in cell.rows.items():
            for row in rows:
                shared += row["user_id"] in split_of_user
                assert split_of_user.setdefault(row["user_id"], split) == split, row["id"]
    assert shared > 50


def test_capped_cells_are_split_exactly_and_stay_in_their_pool():
    config = BuildConfig(cap_per_cell=1000)
    eligible = np.arange(50_000)
    ids, codes = choose_units(eligible, config, "src", "user", np.random.default_rng(0))
    assert np.bincount(codes).tolist() == [800, 100, 100]
    assert len(np.unique(ids)) == 1000
    assert np.array_equal(codes, split_of(ids, config, "src", "user"))


def test_small_cells_keep_everyone():
    config = BuildConfig()
    ids, codes = choose_units(np.arange(300), config, "src", "user", np.random.default_rng(0))
    assert sorted(ids.tolist()) == list(range(300))


def test_eval_subset_size():
    config = BuildConfig(eval_subset_size=250)
    assert eval_subset_mask(625, config, np.random.default_rng(0)).sum() == 250
    assert eval_subset_mask(40, config, np.random.default_rng(0)).sum() == 40
    assert eval_subset_mask(0, config, np.random.default_rng(0)).sum() == 0


@pytest.mark.parametrize("cap", [3, 50, 1000])
def test_ids_in_an_arrow_buffer_are_chosen_as_their_strings_are(cap):
    import pandas as pd

    rng = np.random.default_rng(5)
    ids = [f"u{n}" for n in rng.integers(0, 400, 600)] + ["é", "日"]  # repeated, unsorted, beyond ASCII
    config = BuildConfig(cap_per_cell=cap)
    arrow, plain = np.random.default_rng(9), np.random.default_rng(9)
    eligible = pd.Index(ids, dtype="str")
    got = choose_units(eligible, config, "s", "user", arrow)
    want = choose_units(np.array(ids, dtype=object), config, "s", "user", plain)
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
    assert arrow.random() == plain.random()  # the same draws, so later cells draw the same too
    assert "_engine" not in eligible._cache


def test_grouped_choice_of_ids_in_an_arrow_buffer_is_the_choice_of_their_strings():
    import pandas as pd

    from itdr_hf.splits import choose_units_by_group

    rng = np.random.default_rng(8)
    ids = [f"B{n:05d}" for n in rng.permutation(3000)]
    groups = rng.choice(["CDs", "Games", "Toys"], len(ids))
    config = BuildConfig(cap_per_domain=40)
    arrow, plain = np.random.default_rng(2), np.random.default_rng(2)
    got = choose_units_by_group(pd.Index(ids, dtype="str"), groups, config, "s", "item", arrow)
    want = choose_units_by_group(np.array(ids, dtype=object), groups, config, "s", "item", plain)
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist() and len(got[0]) == 120
    assert arrow.random() == plain.random()
