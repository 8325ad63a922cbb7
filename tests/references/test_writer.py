"""The writer against a loopback chat server: rewriting rows, cache, retries, resume, gates, bounds."""

from __future__ import annotations

import hashlib
import logging

import pytest

from itdr_hf.errors import ConfigError
from itdr_hf.references import (
    ReferenceCache,
    ReferenceWriteError,
    reference_prompt,
    write_references,
)
from itdr_hf.references.backends import Backend, BackendError, Completion


def reference_rows(cells) -> list[dict]:
    return [r for c in cells for rows in c.rows.values() for r in rows if "reference_provenance" in r]


def test_rewrites_output_assistant_message_and_provenance(chat, ref_config, make_cells):
    cells = make_cells(6)
    before = [dict(r) for r in reference_rows(cells)]
    out, summary = write_references(cells, ref_config())
    rows = reference_rows(out)
    assert len(rows) == 6 and chat.requests == 6
    for old, row in zip(before, rows):
        prompt = reference_prompt(old)
        assert row["output"] == chat.answer_for(prompt)
        assert row["messages"][-1] == {"role": "assistant", "content": row["output"]}
        assert row["messages"][0] == old["messages"][0]
        assert row["reference_provenance"] == "llm:openai:test-model"
        assert old["input"] in prompt and old["output"] in prompt  # the item texts and the derived facts
    assert reference_rows(cells) == before, "the input cells must not change"
    assert out[1].rows == cells[1].rows, "cells without references pass through"
    assert (summary.rows, summary.written, summary.cached, summary.failed) == (6, 6, 0, 0)


def test_prompt_leaves_out_the_task_description(make_cells):
    row = reference_rows(make_cells(1))[0]
    without = {**row, "instruction": "", "messages": [{"role": "user", "content": row["input"]}, row["messages"][1]]}
    assert reference_prompt(row) == reference_prompt(without)
    assert row["instruction"] not in reference_prompt(row)


def test_interest_recognition_rows_use_their_own_prompt(chat, ref_config, make_cells):
    cells = make_cells(2, task="interest_recognition")
    out, _ = write_references(cells, ref_config())
    assert all(r["reference_provenance"] == "llm:openai:test-model" for r in reference_rows(out))
    assert all("Summarise this user's interests" in p for p in chat.prompts())


def test_rerun_reuses_every_answer(chat, ref_config, make_cells):
    first, _ = write_references(make_cells(6), ref_config())
    sent = chat.requests
    second, summary = write_references(make_cells(6), ref_config())
    assert chat.requests == sent
    assert (summary.cached, summary.written) == (6, 0)
    assert reference_rows(first) == reference_rows(second)


def test_transient_errors_are_retried(chat, ref_config, make_cells):
    chat.script = ["429", "500", "503", "timeout", "malformed", "reset"]
    chat.sleep_for_timeout = 2.0  # margins wide enough for a loaded CI machine
    out, summary = write_references(make_cells(4), ref_config(timeout=1.0, max_retries=6, concurrency=1))
    assert summary.failed == 0 and summary.written == 4
    assert summary.retries == 6 and chat.requests == 4 + 6
    assert all(r["reference_provenance"].startswith("llm:") for r in reference_rows(out))


def test_retry_after_is_honoured(chat, ref_config, make_cells):
    chat.script = ["429"]
    chat.retry_after = "1"
    write_references(make_cells(1), ref_config(retry_max_delay=5))
    assert chat.requests == 2
    assert chat.times[1] - chat.times[0] >= 0.95


def test_interrupted_run_fails_with_summary_then_resumes(chat, ref_config, make_cells):
    def odd(prompt: str):
        return "500" if int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 2 else None

    chat.fault_for = odd
    cells = make_cells(10)
    failing = sum(odd(reference_prompt(r)) is not None for r in reference_rows(cells))
    assert 0 < failing < 10
    with pytest.raises(ReferenceWriteError) as info:
        write_references(cells, ref_config(max_retries=1))
    message = str(info.value)
    assert f"{failing} of 10 references could not be written" in message
    assert f"{10 - failing} written, 0 cached, {failing} failed" in message
    assert "HTTP 500" in message and "rerun" in message
    assert info.value.summary.failed == failing

    chat.fault_for = None
    before = chat.requests
    out, summary = write_references(cells, ref_config(max_retries=1))
    assert chat.requests - before == failing, "only the missing answers are requested"
    assert (summary.cached, summary.written, summary.failed) == (10 - failing, failing, 0)
    assert all(r["reference_provenance"] == "llm:openai:test-model" for r in reference_rows(out))


def test_echo_is_rejected_retried_warmer_then_failed(chat, ref_config, make_cells):
    chat.fault_for = lambda prompt: "echo"
    with pytest.raises(ReferenceWriteError, match="echoes its prompt") as info:
        write_references(make_cells(2), ref_config(max_attempts=3))
    assert info.value.summary.rejected == 6 and chat.requests == 6
    temperatures = sorted(b["temperature"] for b in chat.bodies)
    assert temperatures == [0.0, 0.0, 0.7, 0.7, 0.7, 0.7]
    with ReferenceCache(ref_config().cache_path()) as cache:
        assert len(cache) == 0, "a rejected answer is never cached"


@pytest.mark.parametrize("fault, reason", [("chinese", "not English"), ("short", "too short"), ("length", "cut off")])
def test_quality_gates_reject_then_accept(chat, ref_config, make_cells, fault, reason, caplog):
    chat.script = [fault]
    with caplog.at_level(logging.INFO, logger="itdr_hf.references"):
        out, summary = write_references(make_cells(1), ref_config())
    assert (summary.rejected, summary.written, chat.requests) == (1, 1, 2)
    assert reason in caplog.text
    assert reference_rows(out)[0]["output"] == chat.answer_for(chat.prompts()[0])


def test_concurrency_is_bounded(chat, ref_config, make_cells):
    chat.delay = 0.05
    write_references(make_cells(12), ref_config(concurrency=3))
    assert chat.max_inflight == 3


def test_keep_derived_keeps_failed_rows_derived(chat, ref_config, make_cells):
    chat.fault_for = lambda prompt: "500" if "Film 1 " in prompt else None
    cells = make_cells(3)
    out, summary = write_references(cells, ref_config(max_retries=0, on_failure="keep-derived"))
    rows = {r["item_id"]: r for r in reference_rows(out)}
    assert rows["1"] == reference_rows(cells)[1]
    assert rows["1"]["reference_provenance"] == "derived:tui-v2"
    assert rows["0"]["reference_provenance"] == "llm:openai:test-model"
    assert (summary.failed, summary.kept_derived, summary.written) == (1, 1, 2)


def test_api_key_is_sent_but_never_logged(chat, ref_config, make_cells, caplog, api_key):
    chat.script = ["500"]
    with caplog.at_level(logging.DEBUG):
        write_references(make_cells(1), ref_config())
    assert chat.auth == [f"Bearer {api_key}"] * 2
    assert api_key not in caplog.text


def test_rejected_credentials_stop_the_run_without_leaking_the_key(chat, ref_config, make_cells, caplog, capsys, api_key):
    chat.fault_for = lambda prompt: "401"
    with caplog.at_level(logging.DEBUG), pytest.raises(BackendError) as info:
        write_references(make_cells(20), ref_config(concurrency=1))
    message = str(info.value)
    assert "HTTP 401" in message and "$ITDR_TEST_KEY" in message and "***" in message
    assert chat.requests < 5, "a fatal error stops the run instead of failing every row"
    captured = capsys.readouterr()
    for text in (message, caplog.text, captured.out, captured.err, repr(info.value)):
        assert api_key not in text


def test_wrong_route_is_fatal_with_a_fix(chat, ref_config, make_cells):
    with pytest.raises(BackendError, match="--reference-base-url"):
        write_references(make_cells(2), ref_config(base_url=chat.url.removesuffix("/v1")))


def test_bad_request_fails_the_row_without_retries(chat, ref_config, make_cells):
    chat.script = ["400"]
    with pytest.raises(ReferenceWriteError, match="HTTP 400"):
        write_references(make_cells(1), ref_config())
    assert chat.requests == 1


def test_offline_uses_the_cache_only(chat, ref_config, make_cells):
    with pytest.raises(ReferenceWriteError, match="--reference-offline"):
        write_references(make_cells(2), ref_config(offline=True))
    assert chat.requests == 0
    write_references(make_cells(2), ref_config())
    _, summary = write_references(make_cells(2), ref_config(offline=True))
    assert chat.requests == 2 and summary.cached == 2


def test_export_then_import_rebuilds_offline(chat, ref_config, make_cells, tmp_path):
    exported = tmp_path / "refs.jsonl"
    first, _ = write_references(make_cells(3), ref_config(cache_export=str(exported)))
    assert len(exported.read_text().splitlines()) == 3
    fresh = ref_config(cache=str(tmp_path / "other.sqlite3"), cache_import=str(exported), offline=True)
    second, summary = write_references(make_cells(3), fresh)
    assert summary.cached == 3 and chat.requests == 3
    assert reference_rows(first) == reference_rows(second)


def test_cached_answer_that_fails_tightened_gates_is_asked_again(chat, ref_config, make_cells):
    write_references(make_cells(1), ref_config())
    longer = chat.answer_for
    chat.answer_for = lambda prompt: longer(prompt) + " " + longer(prompt)
    out, summary = write_references(make_cells(1), ref_config(min_words=40, max_attempts=1))
    assert chat.requests == 2 and (summary.cached, summary.written) == (0, 1)
    assert reference_rows(out)[0]["output"] == chat.answer_for(chat.prompts()[0])


def test_subtask_without_prompt_template_is_a_clear_error(ref_config, make_cells):
    with pytest.raises(ConfigError, match="builders/rating_prediction/reference_prompt.j2"):
        write_references(make_cells(1, task="rating_prediction"), ref_config())


def test_derived_writer_changes_nothing(make_cells):
    from itdr_hf.references import ReferenceConfig

    cells = make_cells(2)
    out, summary = write_references(cells, ReferenceConfig())
    assert out == cells and summary.rows == 0


def test_rows_with_identical_prompts_share_one_request(chat, ref_config, make_cells):
    cells = make_cells(3)
    twin = dict(cells[0].rows["train"][0], id="TUI-demo-twin")
    cells[0].rows["train"].append(twin)
    out, summary = write_references(cells, ref_config())
    assert chat.requests == 3 and summary.written == 4
    rows = {r["id"]: r for r in reference_rows(out)}
    original = cells[0].rows["train"][0]["id"]
    assert rows["TUI-demo-twin"]["output"] == rows[original]["output"]
    assert rows["TUI-demo-twin"]["reference_provenance"] == "llm:openai:test-model"


def test_an_endpoint_that_is_down_stops_the_run_early(chat, ref_config, make_cells):
    chat.fault_for = lambda prompt: "500"
    with pytest.raises(BackendError, match="5 references failed in a row") as info:
        write_references(make_cells(30), ref_config(max_retries=0, concurrency=1, max_consecutive_failures=5))
    assert chat.requests == 5
    assert "5 failed" in str(info.value), "the summary is part of the message"


class _InterruptedBackend(Backend):
    """Answers ``budget`` requests, then behaves like a user pressing Ctrl-C."""

    name = "fake"

    def __init__(self, config, budget: int) -> None:
        super().__init__(config)
        self.budget = budget
        self.calls = 0

    def complete(self, messages, params):
        self.calls += 1
        if self.calls > self.budget:
            raise KeyboardInterrupt
        return Completion(f"Readers who like careful, patient stories with quiet characters will enjoy this one; answer {self.calls}.")


def test_ctrl_c_keeps_the_answers_so_far_and_the_next_run_resumes(ref_config, make_cells):
    config = ref_config(concurrency=1)
    with pytest.raises(KeyboardInterrupt):
        write_references(make_cells(6), config, backend=_InterruptedBackend(config, budget=4))
    resumed = _InterruptedBackend(config, budget=100)
    out, summary = write_references(make_cells(6), config, backend=resumed)
    assert (summary.cached, summary.written, resumed.calls) == (4, 2, 2)
    assert all(r["reference_provenance"] == "llm:openai:test-model" for r in reference_rows(out))
