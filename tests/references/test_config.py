"""ReferenceConfig: validation with the flag to fix, the hash, and the CLI derived from it."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from itdr_hf.errors import ConfigError
from itdr_hf.references import ReferenceConfig


def test_defaults_are_the_offline_derived_writer():
    config = ReferenceConfig()
    assert not config.enabled and config.on_failure == "fail" and config.temperature == 0.0


@pytest.mark.parametrize(
    "options, flag",
    [
        ({"writer": "openai"}, "--reference-model"),
        ({"writer": "gpt"}, "--reference-writer"),
        ({"cache_export": "x.jsonl"}, "--reference-writer openai"),
        ({"writer": "openai", "model": "m", "min_words": 50, "max_words": 10}, "--reference-min-words"),
        ({"writer": "openai", "model": "m", "concurrency": 0}, "--reference-concurrency"),
        ({"writer": "openai", "model": "m", "on_failure": "skip"}, "--reference-on-failure"),
    ],
)
def test_invalid_options_name_the_flag(options, flag):
    with pytest.raises(ConfigError, match=flag):
        ReferenceConfig(**options)


def test_frozen_and_keyword_only():
    with pytest.raises(TypeError):
        ReferenceConfig("openai")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ReferenceConfig().writer = "openai"  # type: ignore[misc]


def test_fingerprint_follows_what_changes_the_references():
    base = ReferenceConfig(writer="openai", model="m")
    same = dataclasses.replace(base, base_url="http://other/v1", concurrency=2, cache="/tmp/x", api_key_env="K", timeout=5)
    assert base.fingerprint() == same.fingerprint()
    for change in ({"model": "m2"}, {"temperature": 0.3}, {"max_tokens": 9}, {"min_words": 3}, {"on_failure": "keep-derived"}):
        assert dataclasses.replace(base, **change).fingerprint() != base.fingerprint()


def test_local_model_folder_is_named_by_its_last_part(tmp_path):
    folder = tmp_path / "tiny-llama"
    folder.mkdir()
    config = ReferenceConfig(writer="transformers", model=str(folder))
    assert config.provenance == "llm:transformers:tiny-llama"
    assert ReferenceConfig(writer="openai", model="deepseek-chat").provenance == "llm:openai:deepseek-chat"


def test_base_url_falls_back_to_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env-host:8000/v1/")
    assert ReferenceConfig(writer="openai", model="m").resolved_base_url() == "http://env-host:8000/v1"
    assert ReferenceConfig(writer="openai", model="m", base_url="http://x/v1").resolved_base_url() == "http://x/v1"


def test_every_field_has_a_flag_and_round_trips():
    parser = argparse.ArgumentParser()
    ReferenceConfig.add_arguments(parser)
    flags = {s for action in parser._actions for s in action.option_strings}
    for f in dataclasses.fields(ReferenceConfig):
        assert f"--reference-{f.name.replace('_', '-')}" in flags
    args = parser.parse_args(["--reference-writer", "openai", "--reference-model", "m", "--reference-concurrency", "3",
                              "--reference-seed", "7", "--reference-offline", "--reference-max-echo-share", "0.4"])
    config = ReferenceConfig.from_arguments(args)
    assert (config.writer, config.model, config.concurrency, config.seed, config.offline, config.max_echo_share) == (
        "openai", "m", 3, 7, True, 0.4)
    assert ReferenceConfig.from_arguments(parser.parse_args([])) == ReferenceConfig()
