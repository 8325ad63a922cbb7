"""Interest recognition (IR, UIU): summarise a user's interests from what they liked and disliked.

One example per user with at least ``ir_liked`` liked and ``ir_disliked`` disliked items they
wrote a review of: liked at or above ``like_threshold`` of the source's rating scale, disliked
at or below ``ir_dislike_threshold``. A source without ratings but with an interaction
``weight`` (Steam: hours played) uses the same two fractions on each user's own scale: the
percentile of an item's weight among the items the user reviewed (0 = least, 1 = most played).
The items shown are drawn (seeded) from those, each with the user's own review (trimmed to
``max_text_tokens``), in the user's history order.

The paper's references are prose an LLM wrote. Offline, the reference is *derived* from the
data by one deterministic rule (``derived:ir-v2``, rendered by ``reference.j2``): the genres or
categories the liked items share and the disliked ones do not (and vice versa), an author or
studio behind several liked items, the words the user's positive reviews use and the negative
ones do not (and vice versa), and the average rating on each side. An LLM writer (a later
step) may replace it; ``reference_provenance`` records which one a row has.
"""

from __future__ import annotations

import re
from collections import Counter

import datasets
import numpy as np
import pandas as pd

from ..config import BuildConfig
from ..errors import ConfigError
from ..index import SourceIndex
from ..splits import choose_units
from ..templates import render
from .base import UIU, Example, Subtask, register_subtask
from .common import trim

PROVENANCE = "derived:ir-v2"
TOP_CATEGORIES = 3
TOP_WORDS = 4
CREATOR_KEYS = ("author", "studio")
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]")
# Function words and the vocabulary of every review ("book", "really", "recommend"): they say
# nothing about what this user cares for.
STOPWORDS = frozenset(
    """
    about above after again against also although always among another anyone anything around away back
    because been before being below best better between both could didn't does doesn't doing done down
    during each else enough even ever every first from further gave give given gives going good great
    have having here into it's itself just know like liked little made make makes many might more most
    much must never next none nothing often once only other others otherwise over part quite rather read
    reading really same second seem seemed seems should since some something still such than that that's
    their them themselves then there these they thing things think this those though thought through
    time times together took very want wanted wanting wants well went were what when where which while
    whole will with without would wouldn't write written wrote year years your you're yourself book
    books novel story author anime movie film game item recommend recommended anyone's everyone someone
    loved love hate hated enjoyed enjoy review reviews star stars
    """.split()  # noqa: SIM905 - a word list reads better as text
)


@register_subtask
class InterestRecognition(Subtask):
    name = "interest_recognition"
    abbr = "IR"
    root = UIU
    title = "Interest recognition"
    answer = "text"
    features = {"reference_provenance": datasets.Value("string")}

    def unsupported(self, index: SourceIndex) -> str | None:
        if not index.tables.has_ratings and "weight" not in index.tables.interactions.columns:
            return "the source has no ratings (or play counts) to tell liked from disliked items"
        if index.tables.texts.empty:
            return "the source has no user-written reviews to show (interest recognition needs the user's own words)"
        return None

    def generate(self, index: SourceIndex, config: BuildConfig, rng: np.random.Generator) -> list[Example]:
        tables = index.tables
        if config.ir_dislike_threshold >= config.like_threshold:
            raise ConfigError(
                f"ir_dislike_threshold ({config.ir_dislike_threshold}) must be below like_threshold ({config.like_threshold})"
            )
        reviewed = _sides(_reviewed(index), tables, config)
        counts = (
            reviewed.groupby(["user", "side"], observed=True).size().unstack(fill_value=0)
            .reindex(columns=["liked", "disliked"], fill_value=0)
        )
        eligible = counts.index[(counts["liked"] >= config.ir_liked) & (counts["disliked"] >= config.ir_disliked)].to_numpy()
        users, splits = choose_units(eligible, config, tables.name, "user", rng)
        chosen = _choose_pairs(reviewed[reviewed["user"].isin(users)], users, config, rng)
        texts = _first_texts(tables.texts.fetch(chosen[["user", "item"]]))
        examples = []
        columns = [chosen[c].to_numpy() for c in ("user", "item", "rating", "side")]
        starts = np.flatnonzero(np.r_[True, columns[0][1:] != columns[0][:-1]]) if len(chosen) else np.array([], int)
        bounds = dict(zip(columns[0][starts], zip(starts, np.r_[starts[1:], len(chosen)])))
        for user, split in zip(users, splits):
            start, end = bounds[user]
            rows = list(zip(*(c[start:end] for c in columns)))
            shown = [self._shown(index, u, i, r, texts, config) for u, i, r, _ in rows]
            if any(s is None for s in shown):
                continue  # a review the file no longer has, or an empty one
            liked = [s for s, row in zip(shown, rows) if row[3] == "liked"]
            disliked = [s for s, row in zip(shown, rows) if row[3] == "disliked"]
            facts = _facts(liked, disliked, tables)
            context = {"liked": liked, "disliked": disliked, "noun": tables.item_noun, **facts["scale"]}
            context["reference"] = " ".join(render(self.name, "reference", **context, **facts["summary"]).split())
            examples.append(
                Example(user_id=user, item_id="", split=int(split), context=context, truth={"reference_provenance": PROVENANCE})
            )
        return examples

    @staticmethod
    def _shown(index: SourceIndex, user, item, rating, texts: dict, config: BuildConfig) -> dict | None:
        text = texts.get((user, item))
        if not text:
            return None
        rated = index.tables.has_ratings
        return {
            **index.item_view(item),
            "rating": index.tables.format_rating(rating) if rated else "",
            "rating_value": float(rating) if rated else float("nan"),
            "review": trim(text, config.max_text_tokens),
        }


def _reviewed(index: SourceIndex) -> pd.DataFrame:
    """(user, item, rating, weight) of every titled item with a review and a signal, in history order."""
    tables = index.tables
    authors = tables.texts.authors()[["user", "item"]].drop_duplicates()
    signal = "rating" if tables.has_ratings else "weight"
    inter = index.titled_interactions
    columns = ["user", "item", "rating", "timestamp"] + (["weight"] if "weight" in inter.columns else [])
    known = inter.loc[inter[signal].notna(), columns]
    known = known.assign(_pos=np.arange(len(known))).drop_duplicates(["user", "item"], keep="last")
    joined = authors.merge(known, on=["user", "item"], how="inner")
    order = np.lexsort((joined["_pos"].to_numpy(), joined["timestamp"].to_numpy()))
    return joined.iloc[order].reset_index(drop=True)


def _sides(reviewed: pd.DataFrame, tables, config: BuildConfig) -> pd.DataFrame:
    """Label each reviewed pair ``liked`` or ``disliked``; pairs in between are dropped."""
    if tables.has_ratings:
        value = reviewed["rating"]
        like, dislike = tables.like_cutoff(config.like_threshold), tables.like_cutoff(config.ir_dislike_threshold)
    else:
        # The percentile of the weight among the user's reviewed items; ties share a rank.
        ranks = reviewed.groupby("user", observed=True)["weight"].rank(method="average")
        sizes = reviewed.groupby("user", observed=True)["weight"].transform("size")
        value = ((ranks - 1) / (sizes - 1)).where(sizes > 1)
        like, dislike = config.like_threshold, config.ir_dislike_threshold
    side = np.select([value >= like, value <= dislike], ["liked", "disliked"], "")
    return reviewed.assign(side=side)[side != ""]


def _choose_pairs(reviewed: pd.DataFrame, users: np.ndarray, config: BuildConfig, rng: np.random.Generator) -> pd.DataFrame:
    """For each user in ``users`` order, a seeded draw of liked and disliked pairs, kept in history order."""
    user_col = reviewed["user"].to_numpy()
    order = np.argsort(pd.factorize(user_col)[0], kind="stable")  # grouped by user, history order inside
    grouped = user_col[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]) if len(grouped) else np.array([], int)
    bounds = dict(zip(grouped[starts], zip(starts, np.r_[starts[1:], len(grouped)])))
    side = reviewed["side"].to_numpy()[order]
    picked = []
    for user in users:
        start, end = bounds[user]
        keep = []
        for name, n in (("liked", config.ir_liked), ("disliked", config.ir_disliked)):
            positions = start + np.flatnonzero(side[start:end] == name)
            keep.extend(np.sort(rng.choice(positions, size=n, replace=False)).tolist())
        picked.extend(sorted(keep))
    return reviewed.iloc[order[np.asarray(picked, dtype=np.int64)]].reset_index(drop=True)


def _first_texts(texts: pd.DataFrame) -> dict:
    """One review per (user, item): the first the source has (a user may review several editions)."""
    texts = texts[texts["text"].astype(str).str.strip() != ""].drop_duplicates(["user", "item"], keep="first")
    return {(u, i): str(t) for u, i, t in texts[["user", "item", "text"]].itertuples(index=False)}


def _facts(liked: list[dict], disliked: list[dict], tables) -> dict:
    """What the derived reference says, computed from the shown items only (what the model sees)."""
    enjoys, avoids = _contrast([c for i in liked for c in i["categories"]], [c for i in disliked for c in i["categories"]], TOP_CATEGORIES)
    praise, complaints = _contrast_words(liked, disliked, tables.item_noun)
    creators = Counter(i["details"][k] for i in liked for k in CREATOR_KEYS if i["details"].get(k))
    rated = tables.has_ratings
    return {
        "scale": {"scale_max": tables.format_rating(tables.rating_scale[1]) if rated else ""},
        "summary": {
            "enjoys": enjoys,
            "avoids": avoids,
            "creators": sorted((c for c, n in creators.items() if n >= 2), key=lambda c: (-creators[c], c))[:2],
            "praise": praise,
            "complaints": complaints,
            "liked_titles": [i["title"] for i in liked],
            "disliked_titles": [i["title"] for i in disliked],
        },
    }


def _contrast(pro: list[str], con: list[str], top: int) -> tuple[list[str], list[str]]:
    """Values more frequent on one side than the other, most frequent first, ties alphabetical."""
    pro_n, con_n = Counter(pro), Counter(con)
    first = sorted((v for v in pro_n if pro_n[v] > con_n.get(v, 0)), key=lambda v: (-pro_n[v], v))[:top]
    second = sorted((v for v in con_n if con_n[v] > pro_n.get(v, 0)), key=lambda v: (-con_n[v], v))[:top]
    return first, second


def _contrast_words(liked: list[dict], disliked: list[dict], noun: str) -> tuple[list[str], list[str]]:
    """Content words that the positive reviews use and the negative ones do not, and vice versa.

    Read from the reviews as shown (trimmed), so the reference says nothing the input does not.
    Counted once per review (one long review must not decide), and never a word of the item's
    own title, its categories or the item noun: the point is what the user values, not what the
    item is called (the categories are stated already).
    """
    def words(item: dict) -> set[str]:
        named = " ".join([item["title"], *item["categories"]]).lower()
        own = set(_WORD.findall(named)) | {noun, f"{noun}s"}
        return {w for w in _WORD.findall(item["review"].lower()) if len(w) >= 4 and w not in STOPWORDS and w not in own}

    pro = [w for item in liked for w in words(item)]
    con = [w for item in disliked for w in words(item)]
    pro_n, con_n = Counter(pro), Counter(con)

    def floor(items: list[dict]) -> int:
        return 2 if len(items) >= 2 else 1  # a word found in one review only is an accident

    praise = [w for w in _contrast(pro, con, 10**6)[0] if pro_n[w] >= floor(liked)][:TOP_WORDS]
    complaints = [w for w in _contrast(pro, con, 10**6)[1] if con_n[w] >= floor(disliked)][:TOP_WORDS]
    return praise, complaints
