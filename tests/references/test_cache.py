"""The answer store: persistence, thread safety, deterministic export, verified import."""

from __future__ import annotations

import json
import threading

import pytest

from itdr_hf.errors import ConfigError
from itdr_hf.references.cache import (
    Entry,
    ReferenceCache,
    cache_key,
    export_cache,
    import_cache,
    prompt_digest,
)

PARAMS = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 64, "seed": None}


def entry(i: int, model: str = "m") -> Entry:
    digest = prompt_digest([{"role": "user", "content": f"prompt {i}"}])
    return Entry(cache_key("openai", model, digest, PARAMS), "openai", model, digest, PARAMS, f"answer {i}", f"row-{i}")


def test_key_depends_on_writer_model_prompt_and_params():
    digest = prompt_digest([{"role": "user", "content": "p"}])
    base = cache_key("openai", "m", digest, PARAMS)
    assert base == cache_key("openai", "m", digest, dict(reversed(PARAMS.items())))
    assert base != cache_key("transformers", "m", digest, PARAMS)
    assert base != cache_key("openai", "m2", digest, PARAMS)
    assert base != cache_key("openai", "m", prompt_digest([{"role": "user", "content": "q"}]), PARAMS)
    assert base != cache_key("openai", "m", digest, {**PARAMS, "temperature": 0.5})


def test_answers_survive_reopening(tmp_path):
    path = tmp_path / "deep" / "refs.sqlite3"
    with ReferenceCache(path) as cache:
        cache.put(entry(1))
    with ReferenceCache(path) as cache:
        assert cache.get(entry(1).key) == "answer 1" and cache.get(entry(2).key) is None and len(cache) == 1


def test_concurrent_writers(tmp_path):
    with ReferenceCache(tmp_path / "c.sqlite3") as cache:
        threads = [threading.Thread(target=lambda k=k: [cache.put(entry(i)) for i in range(k * 50, k * 50 + 50)]) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(cache) == 200


def test_export_is_sorted_and_reproducible_and_imports_back(tmp_path):
    with ReferenceCache(tmp_path / "a.sqlite3") as cache:
        for i in (3, 1, 2):
            cache.put(entry(i))
    first, second = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert export_cache(tmp_path / "a.sqlite3", first) == 3
    export_cache(tmp_path / "a.sqlite3", second)
    assert first.read_bytes() == second.read_bytes()
    lines = [json.loads(line) for line in first.read_text().splitlines()]
    assert [line["key"] for line in lines] == sorted(line["key"] for line in lines)
    assert "created" not in lines[0]
    assert import_cache(tmp_path / "b.sqlite3", first) == 3
    with ReferenceCache(tmp_path / "b.sqlite3") as cache:
        assert cache.get(entry(2).key) == "answer 2"


def test_export_of_selected_keys(tmp_path):
    with ReferenceCache(tmp_path / "a.sqlite3") as cache:
        for i in range(3):
            cache.put(entry(i))
        assert cache.export_jsonl(tmp_path / "x.jsonl", keys=[entry(1).key]) == 1


def test_import_refuses_a_tampered_entry(tmp_path):
    line = {**entry(1).__dict__, "model": "another-model"}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(ConfigError, match="line 1: its key does not match"):
        import_cache(tmp_path / "c.sqlite3", path)
    path.write_text("{not json\n")
    with pytest.raises(ConfigError, match="line 1: not a reference-cache entry"):
        import_cache(tmp_path / "c.sqlite3", path)
    with pytest.raises(ConfigError, match="not found"):
        import_cache(tmp_path / "c.sqlite3", tmp_path / "missing.jsonl")
