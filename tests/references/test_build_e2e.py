"""``itdr-build --demo --reference-writer openai …`` against the loopback server, end to end."""

from __future__ import annotations

import pandas as pd

from itdr_hf.cli import main

TUI = "target_user_identification"


def read_config(out, config: str) -> pd.DataFrame:
    files = sorted((out / config).glob("*.parquet")) or sorted(out.glob(f"{config}/**/*.parquet"))
    assert files, f"no parquet under {out / config}"
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def build(out, chat, cache, *extra: str) -> int:
    return main(["--demo", "--subtasks", TUI, "--sources", "movielens_32m", "--output", str(out),
                 "--reference-writer", "openai", "--reference-base-url", chat.url, "--reference-model", "test-model",
                 "--reference-api-key-env", "ITDR_TEST_KEY", "--reference-cache", str(cache),
                 "--reference-retry-base-delay", "0.01", *extra])


def test_build_writes_llm_references_and_a_rerun_sends_nothing(chat, tmp_path, monkeypatch, api_key, capsys):
    monkeypatch.setenv("ITDR_TEST_KEY", api_key)
    cache, export = tmp_path / "refs.sqlite3", tmp_path / "refs.jsonl"
    chat.script = ["429", "500"]
    assert build(tmp_path / "one", chat, cache, "--reference-cache-export", str(export)) == 0
    rows = read_config(tmp_path / "one", TUI)
    assert len(rows) > 0 and set(rows["reference_provenance"]) == {"llm:openai:test-model"}
    assert rows["output"].is_unique
    assert all(m[-1]["content"] == o for m, o in zip(rows["messages"], rows["output"]))
    # `all` may hold other subtasks of the built sources; every row with a reference column gets one
    all_rows = read_config(tmp_path / "one", "all")
    llm = all_rows[all_rows["reference_provenance"].notna()]
    assert set(llm["reference_provenance"]) == {"llm:openai:test-model"}
    assert chat.requests == len(llm) + 2, "one request per reference row (plus two retries), across all configs"
    assert set(llm["output"]) == {chat.answer_for(p) for p in chat.prompts()}
    assert set(rows["output"]) <= set(llm["output"])
    assert len(export.read_text().splitlines()) == len(llm), "the export holds every answer the build used"
    err = capsys.readouterr().err
    assert f"references: {len(rows)} rows — {len(rows)} written, 0 cached, 0 failed" in err and api_key not in err

    sent = chat.requests
    assert build(tmp_path / "two", chat, cache) == 0
    assert chat.requests == sent
    again = read_config(tmp_path / "two", TUI)
    assert dict(zip(again["id"], again["output"])) == dict(zip(rows["id"], rows["output"]))

    assert build(tmp_path / "three", chat, tmp_path / "fresh.sqlite3", "--reference-cache-import", str(export),
                 "--reference-offline") == 0
    assert chat.requests == sent
    shipped = read_config(tmp_path / "three", TUI)
    assert dict(zip(shipped["id"], shipped["output"])) == dict(zip(rows["id"], rows["output"]))


def test_failed_references_fail_the_build_and_keep_the_old_output(chat, tmp_path, monkeypatch, api_key, capsys):
    monkeypatch.setenv("ITDR_TEST_KEY", api_key)
    chat.fault_for = lambda prompt: "500"
    out = tmp_path / "itdr"
    assert build(out, chat, tmp_path / "c.sqlite3", "--reference-max-retries", "0") == 2
    err = capsys.readouterr().err
    assert "itdr-build: error:" in err and "HTTP 500" in err and "0 written, 0 cached" in err
    assert not out.exists()


def test_builder_hash_follows_the_reference_writer():
    from itdr_hf.builder import build_hash
    from itdr_hf.config import BuildConfig
    from itdr_hf.pipeline import Selection
    from itdr_hf.references import ReferenceConfig

    selection, build_config = Selection(sources=("movielens_32m",), demo=True), BuildConfig()
    derived = build_hash(selection, build_config)
    assert build_hash(selection, build_config, ReferenceConfig()) == derived
    llm = ReferenceConfig(writer="openai", model="m")
    assert build_hash(selection, build_config, llm) != derived
    moved = ReferenceConfig(writer="openai", model="m", base_url="http://elsewhere/v1", concurrency=1)
    assert build_hash(selection, build_config, moved) == build_hash(selection, build_config, llm)


def test_missing_model_is_reported_by_the_cli(tmp_path, capsys):
    assert main(["--demo", "--output", str(tmp_path / "x"), "--reference-writer", "openai"]) == 2
    assert "--reference-writer openai needs --reference-model" in capsys.readouterr().err
