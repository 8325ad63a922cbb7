"""Leakage-free splits and the fixed evaluation subset.

Every user (item, for item-centric subtasks) of a source is assigned to train, validation or
test by a seeded hash of its id, the same in every subtask. A user's examples therefore all
land in one split across the whole source, so no test target is ever seen in training, in
this cell or any other. When a cell is capped, users are sampled from each split's pool in
the exact 80/10/10 proportions; uncapped cells keep every eligible user, and their split
sizes follow the hash (within a percent or two of 80/10/10).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

from .config import BuildConfig

if TYPE_CHECKING:
    import pandas as pd

SPLITS = ("train", "validation", "test")
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _salt(*parts: object) -> np.uint64:
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def unit_hash(ids: np.ndarray, *salt: object) -> np.ndarray:
    """A uniform number in [0, 1) per id, stable across runs, platforms and subtasks."""
    ids = np.asarray(ids)
    if ids.dtype.kind in "iu":
        keys = ids.astype(np.int64).view(np.uint64)
    else:
        keys = np.fromiter(
            (int.from_bytes(hashlib.blake2b(str(i).encode(), digest_size=8).digest(), "little") for i in ids),
            dtype=np.uint64,
            count=len(ids),
        )
    mixed = _splitmix64(keys ^ _salt(*salt))
    return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def split_of(ids: np.ndarray, config: BuildConfig, source: str, unit: str) -> np.ndarray:
    """0 = train, 1 = validation, 2 = test for each id."""
    u = unit_hash(ids, config.seed, source, unit)
    cuts = [config.train_fraction, config.train_fraction + config.validation_fraction]
    return np.searchsorted(cuts, u, side="right").astype(np.int8)


def choose_units(
    eligible: np.ndarray,
    config: BuildConfig,
    source: str,
    unit: str,
    rng: np.random.Generator,
    *,
    cap: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick at most ``cap`` (default ``cap_per_cell``) units, split-stratified; returns (ids, split codes), sorted by split then id.

    The draw is of positions in the sorted distinct ids: ``rng.choice`` reads only the pool's size, so it
    draws what it would of the ids themselves, and ids in an Arrow buffer (:func:`_in_buffer`) become Python
    strings only once chosen.
    """
    cap = config.cap_per_cell if cap is None else cap
    if _in_buffer(eligible):
        ids, codes = _sorted_in_buffer(eligible, config, source, unit)
        take = lambda positions: ids.take(positions).to_numpy()  # noqa: E731
    else:
        ids = np.sort(np.unique(eligible))
        codes = split_of(ids, config, source, unit)
        take = ids.__getitem__
    if len(ids) <= cap:
        order = np.argsort(codes, kind="stable")  # by split, then id (the ids are sorted and distinct)
        return take(order), codes[order]
    n_train = round(cap * config.train_fraction)
    n_val = round(cap * config.validation_fraction)
    targets = (n_train, n_val, cap - n_train - n_val)
    picked, labels = [], []
    for code, want in enumerate(targets):
        pool = np.flatnonzero(codes == code)
        chosen = np.sort(rng.choice(pool, size=min(want, len(pool)), replace=False)) if want else pool[:0]
        picked.append(chosen)
        labels.append(np.full(len(chosen), code, dtype=np.int8))
    return take(np.concatenate(picked)), np.concatenate(labels)


HASHED_SLICE = 1 << 16  # string ids made Python strings at once to hash them (:func:`_sorted_in_buffer`)


def _in_buffer(ids: object) -> bool:
    """Whether ``ids`` are a pandas Index of Arrow strings; a NumPy array is not, and asks no import of pandas
    (the card's statistics import this module, and ``itdr-build --help`` must stay instant)."""
    if isinstance(ids, np.ndarray):
        return False
    from .index import arrow_strings

    return arrow_strings(ids) is not None


def _sorted_in_buffer(eligible: pd.Index, config: BuildConfig, source: str, unit: str) -> tuple[pd.Index, np.ndarray]:
    """``np.sort(np.unique(eligible))`` and their split codes, for string ids in an Arrow buffer
    (:func:`~itdr_hf.index.sorted_ids`): the ids stay in it, and become Python strings a slice at a time to hash.

    Why: Amazon's big categories have millions of eligible users for a cell that keeps a few thousand;
    their ids as Python strings, sorted and deduplicated as objects, were a few hundred MB a cell.
    """
    import pyarrow as pa

    from .index import in_id_order

    ids = eligible.take(in_id_order(eligible, distinct=False))
    names = pa.array(ids.array)
    codes = np.concatenate(
        [split_of(np.asarray(names.slice(start, HASHED_SLICE).to_pylist(), dtype=object), config, source, unit)
         for start in range(0, len(names), HASHED_SLICE)] or [np.zeros(0, dtype=np.int8)]
    )
    return ids, codes


def choose_units_by_group(
    eligible: np.ndarray, groups: np.ndarray, config: BuildConfig, source: str, unit: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`choose_units` with at most ``cap_per_domain`` units per group (a source's domain).

    Each unit belongs to one group. Splits still come from the unit's hash alone, so the
    leakage-free guarantee holds across groups; groups are visited in sorted order, so the
    seeded draw is the same whatever order the source listed them in.
    """
    eligible = eligible if _in_buffer(eligible) else np.asarray(eligible)  # ids left in their buffer
    groups = np.asarray(groups)
    ids, labels = [], []
    for group in np.unique(groups):
        picked, codes = choose_units(eligible[groups == group], config, source, unit, rng, cap=config.cap_per_domain)
        ids.append(picked)
        labels.append(codes)
    if not ids:
        return np.asarray(eligible[:0]), np.zeros(0, dtype=np.int8)
    ids_all, labels_all = np.concatenate(ids), np.concatenate(labels)
    order = np.lexsort((ids_all, labels_all))
    return ids_all[order], labels_all[order]


def eval_subset_mask(n_test: int, config: BuildConfig, rng: np.random.Generator) -> np.ndarray:
    """Which of a cell's test rows form the fixed evaluation subset every model is scored on."""
    mask = np.zeros(n_test, dtype=bool)
    if n_test:
        mask[rng.choice(n_test, size=min(config.eval_subset_size, n_test), replace=False)] = True
    return mask
