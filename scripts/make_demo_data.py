"""Regenerate the synthetic demo sample shipped in itdr_hf/demo (deterministic: same files every run).

Every source has a bundled sample in its real raw layout, so `itdr-build --demo` builds every
cell of the paper's matrix offline. Nothing here is real data: see itdr_hf/demo/README.txt.
"""

from pathlib import Path

from itdr_hf.synthetic import amazon, kaggle, lastfm, mind, movielens, steam, westlake, yelp

DEMO = Path(__file__).resolve().parents[1] / "itdr_hf" / "demo"


def main(DEMO: Path = DEMO) -> None:  # noqa: N803 - the folder constant, overridable for tests
    movielens.write_movielens_csv(DEMO / "ml-32m", n_users=150, n_items=500, n_ratings=9000, n_tags=900, seed=7)
    movielens.write_movielens_1m(DEMO / "ml-1m", n_users=120, n_items=300, n_ratings=6000, seed=8)
    amazon.write_demo(DEMO / "amazon_2023")
    kaggle.write_demos(DEMO)
    yelp.write_yelp(DEMO / "yelp", n_users=30, n_businesses=38, n_reviews=355, seed=61, with_users=False)
    steam.write_steam(DEMO / "steam", n_users=40, n_games=50, n_reviews=600, seed=12)
    lastfm.write_lastfm_1k(DEMO / "lastfm-1k", n_users=30, n_artists=60, n_events=900, seed=13)
    lastfm.write_lastfm_360k(DEMO / "lastfm-360k", n_users=60, n_artists=80, per_user=16, seed=14)
    mind.write_mind(DEMO / "mind", n_users=60, n_news=150, n_impressions=560, seed=15)
    westlake.write_microlens(DEMO / "microlens", n_users=120, n_items=150, per_user=14, seed=16)
    westlake.write_pixelrec(DEMO / "pixelrec", n_users=120, n_items=150, per_user=14, seed=17)


if __name__ == "__main__":
    main()
