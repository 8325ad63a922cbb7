"""Same-timestamp ties in a history are broken by a seeded hash, not by file order (issue 14)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from itdr_hf.index import Histories


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
