"""Regenerate the synthetic demo sample shipped in itdr_hf/demo (deterministic)."""

from pathlib import Path

from itdr_hf.synthetic.movielens import write_movielens_1m, write_movielens_csv

DEMO = Path(__file__).resolve().parents[1] / "itdr_hf" / "demo"

if __name__ == "__main__":
    write_movielens_csv(DEMO / "ml-32m", n_users=150, n_items=500, n_ratings=9000, n_tags=900, seed=7)
    write_movielens_1m(DEMO / "ml-1m", n_users=120, n_items=300, n_ratings=6000, seed=8)
