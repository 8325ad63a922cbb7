"""A loopback OpenAI-compatible chat server with fault injection, and hand-made IR/TUI cells.

The server (threaded ``http.server`` on 127.0.0.1, random port) answers ``POST
/v1/chat/completions`` with a deterministic English paragraph per prompt, and can be told to
misbehave: per request from a queue (``script``), or per prompt (``fault_for``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from itdr_hf.cells import Cell
from itdr_hf.references import ReferenceConfig

API_KEY = "sk-itdr-test-SECRET-0123456789"


def good_answer(prompt: str) -> str:
    tag = hashlib.sha256(prompt.encode()).hexdigest()[:8]
    return (f"This title suits patient viewers who enjoy quiet character studies, careful pacing and a "
            f"thoughtful mood, and who forgive a slow start; reference {tag}.")


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # a client that timed out closed its socket
        pass


class FakeChat:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bodies: list[dict] = []
        self.auth: list[str | None] = []
        self.times: list[float] = []
        self.script: list[str] = []
        self.fault_for = None  # callable(prompt) -> fault name or None
        self.answer_for = good_answer
        self.delay = 0.0
        self.sleep_for_timeout = 1.5
        self.retry_after = "0"
        self.inflight = 0
        self.max_inflight = 0
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> int:
        return len(self.bodies)

    def prompts(self) -> list[str]:
        return [b["messages"][-1]["content"] for b in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        chat = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                with chat.lock:
                    chat.bodies.append(body)
                    chat.auth.append(self.headers.get("Authorization"))
                    chat.times.append(time.monotonic())
                    fault = chat.script.pop(0) if chat.script else (chat.fault_for(prompt) if chat.fault_for else None)
                    chat.inflight += 1
                    chat.max_inflight = max(chat.max_inflight, chat.inflight)
                try:
                    time.sleep(chat.delay)
                    self._respond(fault, prompt, body)
                finally:
                    with chat.lock:
                        chat.inflight -= 1

            def _respond(self, fault, prompt, body) -> None:
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if fault == "429":
                    return self._send(429, {"error": {"message": "rate limited"}}, {"Retry-After": chat.retry_after})
                if fault in ("500", "503"):
                    return self._send(int(fault), {"error": {"message": "overloaded"}})
                if fault in ("400", "404"):
                    return self._send(int(fault), {"error": {"message": "bad request"}})
                if fault == "401":  # a careless proxy that echoes the credentials it refused
                    return self._send(401, {"error": {"message": f"invalid key {self.headers.get('Authorization')}"}})
                if fault == "timeout":
                    time.sleep(chat.sleep_for_timeout)
                if fault == "reset":
                    self.close_connection = True
                    return
                if fault == "malformed":
                    return self._send_raw(200, b'{"choices": [ {"message": ')
                text = {"echo": prompt, "chinese": "这部电影适合喜欢安静故事和细腻人物的观众，他们欣赏缓慢的节奏和深思的气氛。" * 2,
                        "short": "Drama fans."}.get(fault) or chat.answer_for(prompt)
                finish = "length" if fault == "length" else "stop"
                self._send(200, {"id": "x", "object": "chat.completion", "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": finish,
                                              "message": {"role": "assistant", "content": text}}]})

            def _send(self, status, payload, headers=None) -> None:
                self._send_raw(status, json.dumps(payload).encode(), headers)

            def _send_raw(self, status, data, headers=None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


@pytest.fixture
def api_key() -> str:
    return API_KEY


@pytest.fixture
def chat():
    server = FakeChat()
    yield server
    server.close()


@pytest.fixture
def ref_config(chat, tmp_path, monkeypatch):
    """Options pointed at the loopback server, with millisecond backoff so retries cost no time."""
    monkeypatch.setenv("ITDR_TEST_KEY", API_KEY)

    def make(**overrides) -> ReferenceConfig:
        options = {"writer": "openai", "model": "test-model", "base_url": chat.url, "api_key_env": "ITDR_TEST_KEY",
                   "cache": str(tmp_path / "refs.sqlite3"), "concurrency": 4, "timeout": 1.0, "max_retries": 3,
                   "retry_base_delay": 0.01, "retry_max_delay": 0.05}
        options.update(overrides)
        return ReferenceConfig(**options)

    return make


def reference_row(i: int, task: str = "target_user_identification") -> dict:
    derived = f"Film {i} suits movie lovers who enjoy Drama. 40% of the 12 users who rated it gave it 4.0 or more."
    text_input = f"Movie: Film {i} ({1990 + i})\nGenres: Drama, Mystery\nUser comments:\n1. slow but moving {i}\n2. great cast"
    instruction = "Describe the groups of users this movie suits."
    return {
        "id": f"TUI-demo-{i:016x}", "task": task, "source": "movielens_32m", "instruction": instruction,
        "input": text_input, "output": derived,
        "messages": [{"role": "user", "content": f"{instruction}\n\n{text_input}"},
                     {"role": "assistant", "content": derived}],
        "user_id": "", "item_id": str(i), "eval_subset": False, "reference_provenance": "derived:tui-v2",
    }


@pytest.fixture
def make_cells():
    """One TUI cell of ``n`` rows over the three splits, plus a cell without references (RP)."""

    def make(n: int = 6, task: str = "target_user_identification") -> list[Cell]:
        rows = [reference_row(i, task) for i in range(n)]
        cell = Cell(task, "movielens_32m", {"train": rows[: n - 2], "validation": rows[n - 2 : n - 1], "test": rows[n - 1 :]})
        plain = {"id": "RP-demo-1", "task": "rating_prediction", "output": "4", "messages": []}
        other = Cell("rating_prediction", "movielens_32m", {"train": [plain], "validation": [], "test": []})
        return [cell, other]

    return make

