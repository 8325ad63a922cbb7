"""Constrained decoding (issue 12): a random tiny model can only produce valid, complete,
duplicate-free answers; and likelihood ranking scores each title as a complete line."""

import json
import os
from pathlib import Path

import pytest
from itdr_eval.cli import main
from itdr_eval.constrained import SlotState, predict_constrained
from itdr_eval.modeling import load_model
from itdr_eval.predict import Predictor
from itdr_eval.prompts import resolve_format
from itdr_eval.scoring import ScoringOptions
from itdr_eval.tasks import get_task
from itdr_eval.validity import record_validity
from itdr_eval_testutils import make_rows

TRICKY = ["Movie Alpha", "Movie Alpha Bravo", "Movie Alpha Bravo 2", "Déjà Vu (Deja Vu) (2006)", "Alpha",
          "Up", "Up (2009)", "Movie Kilo", "Movie Lima", "Movie Charlie"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_slot_state_walks_a_trie_one_title_at_a_time_without_repeats():
    table = {0: [5, 6], 1: [5, 7, 8], 2: [9]}
    st = SlotState([lambda used: {o: ids for o, ids in table.items() if o not in used}] * 2, stop_id=0)
    assert st.allowed() == [5, 9]
    st.feed(5)
    assert st.allowed() == [6, 7]
    st.feed(7)
    st.feed(8)  # option 1 done; slot 2 may not repeat it
    assert st.allowed() == [5, 9]
    st.feed(9)
    assert st.done and st.allowed() == [0]


def _rows(config, n):
    rows = []
    for i in range(n):
        r = dict(make_rows(config, "test")[i % 3])
        if "candidates" in r:
            k = len(r["candidates"])
            cands = [TRICKY[(i + j) % len(TRICKY)] for j in range(k)]
            r.update(id=f"{r['id']}-{i}", candidates=cands, positives=cands[: len(r["positives"])],
                     input="History: Movie Golf.\nCandidates:\n" + "\n".join(f"{j + 1}. {c}" for j, c in enumerate(cands)))
            r["messages"] = [{"role": "user", "content": r["instruction"] + "\n\n" + r["input"]}]
        else:
            r["id"] = f"{r['id']}-{i}"
        rows.append(r)
    return rows


@pytest.mark.parametrize("config", ["top_k_recommendation", "next_item_recommendation", "rating_prediction"])
def test_random_tiny_model_never_gives_an_invalid_or_duplicate_answer(tiny_model, config):
    loaded = load_model(tiny_model, dtype=None)
    fmt = resolve_format(loaded.tokenizer, "auto")
    pred = Predictor(loaded.model.eval(), loaded.tokenizer, fmt, "cpu")
    task = get_task(config)
    rows = _rows(config, 8 if task.answer != "ranking" else 4)
    recs = []
    predict_constrained(task, rows, pred, batch_size=4, opts=ScoringOptions(), on_records=recs.extend, progress=False)
    assert len(recs) == len(rows)
    for row, rec in zip(sorted(rows, key=lambda r: r["id"]), sorted(recs, key=lambda r: r["id"])):
        assert rec["parse_ok"] and rec["mode"] == "constrained", rec["raw"]
        assert not any(record_validity(task, row, rec).values()), rec["raw"]
        if task.answer == "ranking":
            assert sorted(rec["parsed"]) == sorted(row["candidates"])  # complete, no repeats
            assert rec["raw"].splitlines() == [f"{j + 1}. {c}" for j, c in enumerate(rec["parsed"])]
        elif task.answer == "choice":
            assert rec["raw"] in row["candidates"]
        else:
            assert rec["parsed"] is not None and float(rec["raw"]) == rec["parsed"]


def test_cli_constrained_mode_is_always_valid(dataset_dir, tiny_model, tmp_path):
    out = str(tmp_path / "c")
    assert main(["--model", tiny_model, "--finetune", "none", "--dataset", dataset_dir, "--tasks", "rp,tkr,nir", "--limit", "1",
                 "--predict-mode", "constrained", "--output", out, "--no-chart", "--bootstrap-resamples", "0"]) == 0
    res = json.loads(Path(os.path.join(out, "results.json")).read_text())
    assert res["cells"] and all(c["mode"] == "constrained" and c["validity"]["valid"] == 1.0 for c in res["cells"])


def test_likelihood_ranking_scores_each_title_as_a_complete_line(tiny_model, monkeypatch):
    loaded = load_model(tiny_model, dtype=None)
    pred = Predictor(loaded.model.eval(), loaded.tokenizer, resolve_format(loaded.tokenizer, "auto"), "cpu",
                     likelihood_norm="sum")
    seen = []
    real = Predictor.option_scores

    def spy(self, prompt_ids, completions):
        seen.append(list(completions))
        return real(self, prompt_ids, completions)

    monkeypatch.setattr(Predictor, "option_scores", spy)
    row = _rows("top_k_recommendation", 1)[0]
    rec = pred.likelihood_record(get_task("tkr"), row, ScoringOptions())
    # "Movie Alpha" is a prefix of "Movie Alpha Bravo": without the terminator its sum score could never be lower
    assert seen[0] == [f"1. {c}\n" for c in row["candidates"]]
    assert sorted(rec["parsed"]) == sorted(row["candidates"])
