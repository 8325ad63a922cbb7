"""Cross-domain recommendation (CDR, UII): rank target-domain candidates from two domains' history.

For each directed domain pair S → T of ``cdr_pairs`` (paper: four Amazon 2023 pairs; *inferred*
both ways, since its 4,118 examples sit just under 8 directed pairs × 525), users with history
in both domains get one example: their ``cdr_history`` most recent S items and ``cdr_history``
T items before the prediction point, and 10 T candidates — their next ``tkr_positives`` real T
interactions plus ``tkr_negatives`` items sampled from T alone (the output format, gold order
and ground-truth columns are top-K recommendation's). The S history is cut at the time of the
first positive, so nothing shown happened after what is predicted.

Users are split by the same hash as in every other cell (leakage-free across pairs and
subtasks). Each pair draws at most ``cap_per_domain`` users (0: ``cap_per_cell`` shared
evenly by the pairs present). Pairs whose domains the source lacks are skipped; a source
with none of them is a configuration error naming the domains it has.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..config import BuildConfig
from ..errors import ConfigError
from ..index import (
    Histories,
    SourceIndex,
    arrow_strings,
    codes_of,
    complete_codes,
    domain_rows,
    found_in,
    in_id_order,
    member_mask,
    value_counts,
)
from ..splits import choose_units
from .base import UII, Example, Subtask, register_subtask
from .common import aligned, candidates_with_negatives, distinct_titles
from .top_k_recommendation import RANKING_FEATURES, ranking_truth


def parse_pairs(value: str) -> list[tuple[str, str]]:
    """``"A<->B,C->D"`` → ``[(A, B), (B, A), (C, D)]`` (source, target), in the order written."""
    pairs: list[tuple[str, str]] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        both = "<->" in part
        left, sep, right = part.partition("<->" if both else "->")
        left, right = left.strip(), right.strip()
        if not sep or not left or not right or left == right or "<" in left + right or ">" in left + right:
            raise ConfigError(f"cdr_pairs: {part!r} is not 'Source->Target' or 'A<->B' (in {value!r})")
        pairs.append((left, right))
        if both:
            pairs.append((right, left))
    if not pairs:
        raise ConfigError("cdr_pairs lists no domain pair")
    return list(dict.fromkeys(pairs))


def _domains_per_user(inter: pd.DataFrame) -> np.ndarray:
    """How many domains each user has interactions in; integer codes keep it cheap at 100M+ rows."""
    users = inter["user"]
    codes = codes_of(users) if isinstance(users.dtype, pd.CategoricalDtype) else pd.factorize(users)[0]
    counts = np.zeros(int(codes.max()) + 1 if len(codes) else 0, dtype=np.int16)
    domain = inter["domain"]
    # a categorical's own codes (int8 for Amazon's 12), not factorize's int64 copy of them (0.4 GB at 52M rows)
    domains = codes_of(domain) if isinstance(domain.dtype, pd.CategoricalDtype) else pd.factorize(domain)[0]
    seen = np.zeros(len(counts), dtype=bool)
    for code in range(int(domains.max()) + 1 if len(domains) else 0):  # -1, a missing domain, in none
        seen[:] = False
        seen[codes[domains == code]] = True  # marks, not np.unique: no sorted copy of a domain's user codes
        counts += seen
    return counts


def _users_in_two_domains(index: SourceIndex) -> bool:
    """Whether some user has titled interactions in two domains. The kept rows answer unless a reader
    dropped rows early (:class:`~itdr_hf.tables.AllRows`) and they say no: then every row read does."""
    if bool((_domains_per_user(index.titled_interactions) > 1).any()):
        return True
    all_rows = index.tables.all_rows
    return all_rows is not None and all_rows.users_in_two_domains(index.item_pool)


def domain_label(domain: str) -> str:
    return domain.replace("_", " ")


def _active_in_both(target: pd.Series, t_least: int, source: pd.Series, s_least: int) -> np.ndarray | pd.Index:
    """Users with at least ``t_least`` target rows and ``s_least`` source rows, sorted: ``np.intersect1d`` of the two
    sets, but through the codes where both are one categorical of Arrow string ids, answered as an Index of that
    buffer (Amazon's big pairs have millions of users, a Python string each otherwise)."""
    t_counts, s_counts = value_counts(target), value_counts(source)
    t_users, s_users = t_counts.index, s_counts.index
    if (
        isinstance(t_users, pd.CategoricalIndex) and isinstance(s_users, pd.CategoricalIndex)
        and t_users.dtype is s_users.dtype and arrow_strings(categories := t_users.categories) is not None
        and np.array_equal(t_users.codes, s_users.codes) and not (t_users.codes < 0).any()
    ):
        both = t_users.codes[(t_counts.to_numpy() >= t_least) & (s_counts.to_numpy() >= s_least)]
        return categories.take(in_id_order(categories, both))
    return np.intersect1d(
        t_users[t_counts.to_numpy() >= t_least].to_numpy(), s_users[s_counts.to_numpy() >= s_least].to_numpy()
    )


def _before_first_positive(target: pd.DataFrame, source: pd.DataFrame, h: int, p: int) -> pd.Index | None:
    """The users with ``h`` source rows before their first positive (the ``p``-th last target row in (time, file)
    order), sorted, from the user codes; None unless both frames' users are one categorical of Arrow string ids
    without missing codes (then :meth:`CrossDomainRecommendation._eligible`'s pandas path answers).

    Why: pandas' sort and groupby over the user categorical build a hash table of every user id, a Python
    string each (Amazon's big pairs: millions), once per step.
    """
    users = target["user"]
    if not isinstance(users.dtype, pd.CategoricalDtype) or source["user"].dtype is not users.dtype:
        return None
    categories = users.cat.categories
    t_codes, s_codes = complete_codes(users), complete_codes(source["user"])
    if t_codes is None or s_codes is None or arrow_strings(categories) is None:
        return None
    t_time = target["timestamp"].to_numpy()
    order = np.lexsort((np.arange(len(t_codes)), t_time, t_codes))  # by user, then time, then file order
    ordered = t_codes[order]
    ends = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True])  # each user's last row
    starts = np.r_[0, ends[:-1] + 1]
    at = ends[ends - starts + 1 >= p] - (p - 1)  # each user's p-th last row
    cut = np.full(len(categories), np.nan)
    cut[ordered[at]] = t_time[order[at]]
    before = source["timestamp"].to_numpy() < cut[s_codes]  # NaN (no positive): never before
    counts = np.bincount(s_codes[before], minlength=len(categories))
    present = np.bincount(s_codes, minlength=len(categories)) > 0
    return categories.take(in_id_order(categories, np.flatnonzero(present & (counts >= h))))


@register_subtask
class CrossDomainRecommendation(Subtask):
    name = "cross_domain_recommendation"
    abbr = "CDR"
    root = UII
    title = "Cross-domain recommendation"
    answer = "ranking"
    features = RANKING_FEATURES

    def unsupported(self, index: SourceIndex) -> str | None:
        if len(index.domains) < 2:
            return "the source is not made of several domains (no 'domain' column with two or more values)"
        if not _users_in_two_domains(index):
            return "no user has interactions in two domains"
        return None

    def generate(self, index: SourceIndex, config: BuildConfig, rng: np.random.Generator) -> list[Example]:
        tables = index.tables
        present = set(index.domains)
        pairs = [(s, t) for s, t in parse_pairs(config.cdr_pairs) if s in present and t in present]
        if not pairs:
            raise ConfigError(
                f"none of the cdr_pairs ({config.cdr_pairs}) has both domains in {tables.name}; "
                f"its domains: {', '.join(sorted(present))}"
            )
        cap = config.cap_per_domain or math.ceil(config.cap_per_cell / len(pairs))
        examples: list[Example] = []
        seen: set = set()
        for source_domain, target_domain in pairs:
            eligible = self._eligible(index, source_domain, target_domain, config)
            users, splits = choose_units(eligible, config, tables.name, "user", rng, cap=cap)
            for example in self._pair(index, config, rng, source_domain, target_domain, users, splits):
                key = (example.user_id, example.item_id)
                if key not in seen:  # overlapping pairs could repeat a (user, target) example
                    seen.add(key)
                    examples.append(example)
        return examples

    @staticmethod
    def _eligible(
        index: SourceIndex, source_domain: str, target_domain: str, config: BuildConfig
    ) -> np.ndarray | pd.Index:
        """Users with h + p target items and h source items before their first positive."""
        h, p = config.cdr_history, config.tkr_positives
        inter = index.titled_interactions
        target = domain_rows(inter, target_domain)  # slices, not copies: a whole domain's rows
        source = domain_rows(inter, source_domain)
        both = _active_in_both(target["user"], h + p, source["user"], h)
        if not len(both):
            return both
        target = target.loc[member_mask(target["user"], both), ["user", "timestamp"]]
        source = source.loc[member_mask(source["user"], both), ["user", "timestamp"]]
        by_codes = _before_first_positive(target, source, h, p)
        if by_codes is not None:
            return by_codes
        # the first positive: the p-th last target interaction in (time, file) order, as Histories sorts
        target = target.assign(_pos=np.arange(len(target))).sort_values(["user", "timestamp", "_pos"], kind="stable")
        rank_from_end = target.groupby("user", observed=True).cumcount(ascending=False)
        cut = target.loc[rank_from_end.to_numpy() == p - 1].set_index("user")["timestamp"]
        before = source["timestamp"].to_numpy() < aligned(cut, source["user"])
        n_before = pd.Series(before).groupby(source["user"].to_numpy(), observed=True).sum()
        return n_before.index[n_before.to_numpy() >= h].to_numpy()

    @staticmethod
    def _pair(index, config, rng, source_domain, target_domain, users, splits):
        h, p = config.cdr_history, config.tkr_positives
        if not len(users):
            return
        inter = index.titled_interactions
        chosen = member_mask(inter["user"], users)  # first: a whole domain's rows were a copy (Amazon's Home: ~0.9 GB)
        target_h = Histories(inter[chosen & (inter["domain"] == target_domain).to_numpy()], users, config.seed)
        source_h = Histories(inter[chosen & (inter["domain"] == source_domain).to_numpy()], users, config.seed)
        del chosen
        noun = index.tables.item_noun
        pool = index.domain_items(target_domain)
        in_pool = set(found_in(pool, pd.unique(target_h.rows["item"].to_numpy())))  # the chosen users' items only
        for user, split in zip(users, splits):
            rows = target_h.arrays(user)
            window = rows[len(rows) - (h + p):]
            positives = window.item[h:].tolist()
            if not distinct_titles(index, positives):
                continue
            unseen = len(pool) - sum(1 for item in set(rows.item.tolist()) if item in in_pool)
            if unseen < config.tkr_negatives:  # the user has bought nearly all of a small domain
                continue
            source_rows = source_h.arrays(user)
            source_items = source_rows.item[source_rows.timestamp < window.timestamp[h]][-h:]
            candidates, negatives = candidates_with_negatives(
                index, rng, positives, rows, config.tkr_negatives, config.negative_sampling, domain=target_domain
            )
            yield Example(
                user_id=user,
                item_id=positives[0],
                split=int(split),
                context={
                    "source_domain": domain_label(source_domain),
                    "target_domain": domain_label(target_domain),
                    "source_history": [index.item_view(i) for i in source_items],
                    "target_history": [index.item_view(i) for i in window.item[:h]],
                    "candidates": [index.item_view(c) for c in candidates],
                    "ranking": [index.item_view(i) for i in positives + negatives],
                    "noun": noun,
                },
                truth=ranking_truth(index, candidates, positives),
            )
