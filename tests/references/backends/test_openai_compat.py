"""The OpenAI-compatible client against the loopback server: request shape, error classes."""

from __future__ import annotations

import email.utils
import time

import pytest

from itdr_hf.references.backends import BackendError, RequestFailed, TransientError
from itdr_hf.references.backends.openai_compat import OpenAICompatBackend, _retry_after

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Who is this film for?"}]
PARAMS = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 64, "seed": None}


def test_request_shape_and_answer(chat, ref_config, api_key):
    backend = OpenAICompatBackend(ref_config(base_url=chat.url + "/"))
    completion = backend.complete(MESSAGES, {**PARAMS, "seed": 5})
    body = chat.bodies[0]
    assert body["model"] == "test-model" and body["messages"] == MESSAGES and body["stream"] is False
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"]) == (0.0, 1.0, 64, 5)
    assert chat.auth == [f"Bearer {api_key}"]
    assert completion.text == chat.answer_for("Who is this film for?") and not completion.truncated
    assert api_key not in repr(backend)


def test_no_seed_and_no_key_when_unset(chat, ref_config, monkeypatch):
    monkeypatch.delenv("ITDR_TEST_KEY")
    OpenAICompatBackend(ref_config()).complete(MESSAGES, PARAMS)
    assert "seed" not in chat.bodies[0] and chat.auth == [None]


def test_length_stop_is_reported_as_truncated(chat, ref_config):
    chat.script = ["length"]
    assert OpenAICompatBackend(ref_config()).complete(MESSAGES, PARAMS).truncated


@pytest.mark.parametrize("fault, kind", [("429", TransientError), ("500", TransientError), ("503", TransientError),
                                          ("malformed", TransientError), ("reset", TransientError),
                                          ("timeout", TransientError), ("400", RequestFailed), ("401", BackendError),
                                          ("404", BackendError)])
def test_error_classes(chat, ref_config, fault, kind, api_key):
    chat.script = [fault]
    chat.sleep_for_timeout = 2.0  # margins wide enough for a loaded CI machine
    with pytest.raises(kind) as info:
        OpenAICompatBackend(ref_config(timeout=1.0)).complete(MESSAGES, PARAMS)
    assert api_key not in str(info.value)


def test_retry_after_header_is_passed_on(chat, ref_config):
    chat.script, chat.retry_after = ["429"], "7"
    with pytest.raises(TransientError) as info:
        OpenAICompatBackend(ref_config()).complete(MESSAGES, PARAMS)
    assert info.value.retry_after == 7.0


def test_retry_after_parsing():
    assert _retry_after("3") == 3.0 and _retry_after("0.5") == 0.5 and _retry_after(None) is None
    assert _retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= _retry_after(later) <= 31


def test_unreachable_server_is_transient(ref_config):
    backend = OpenAICompatBackend(ref_config(base_url="http://127.0.0.1:9/v1"))
    with pytest.raises(TransientError, match="cannot reach"):
        backend.complete(MESSAGES, PARAMS)
