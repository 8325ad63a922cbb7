"""A loopback (127.0.0.1) OpenAI-protocol server for the itdr-eval tests, serving a tiny
transformers model the way vLLM would, with fault injection.

Routes: ``/v1/chat/completions`` (the tokenizer's chat template, greedy ``generate``, stop at eos
or end-of-turn; ``continue_final_message``; ``guided_choice`` = the choice with the highest
log-likelihood),
``/v1/completions`` (text or token-id prompts; ``echo`` + ``logprobs``; vLLM ``prompt_logprobs``).
Log-probabilities come from one unbatched forward pass, independent of the client's code.

``faults`` is a queue of what to do to the next requests instead of answering: ``429`` (with
``Retry-After: retry_after``), ``500``, ``500-auth`` (echoes the Authorization header back in the
error body, to test scrubbing), ``timeout`` (answers after ``timeout_s``), ``malformed``,
``slow`` (answers normally after ``slow_s``), ``ok`` (answers normally: a place holder in the queue).
Each ``log`` entry is marked ``done`` just before its answer is written, so a client that holds
the answer sees it done.
``fail_after = N`` answers N requests then fails every later one with 500 (an outage).
``caps`` switches capabilities off: ``echo``, ``prompt_logprobs``, ``guided``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


class OpenAITestServer:
    def __init__(self, model_dir: str, served_id: str = "tiny/qwen2-random", api_key: str | None = None) -> None:
        self.tok = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
        self.served_id = served_id
        self.api_key = api_key
        self.faults: list[str] = []
        self.retry_after = "0.3"
        self.timeout_s = 1.0
        self.slow_s = 0.5
        self.fail_after: int | None = None
        self.caps = {"echo": True, "prompt_logprobs": True, "guided": True}
        self.log: list[dict] = []  # every request: path, body, status
        self._lock = threading.Lock()
        self._model_lock = threading.Lock()
        stops = [self.tok.eos_token_id]
        im_end = self.tok.convert_tokens_to_ids("<|im_end|>")
        if isinstance(im_end, int) and im_end != self.tok.unk_token_id and self.tok.chat_template:
            stops.append(im_end)
        self.stops = stops
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def answered(self) -> list[dict]:
        return [r for r in self.log if r["status"] == 200]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # ------------------------------------------------------------------ model
    def logprobs(self, ids: list[int]) -> tuple[list[float | None], int]:
        """Per-token log-probabilities of ``ids`` (first None) and the greedy next token."""
        with self._model_lock, torch.no_grad():
            logp = torch.log_softmax(self.model(input_ids=torch.tensor([ids])).logits[0].float(), -1)
        values = [None] + [float(logp[i - 1, t]) for i, t in enumerate(ids) if i > 0]
        return values, int(logp[-1].argmax())

    def generate(self, ids: list[int], max_tokens: int) -> tuple[str, str]:
        with self._model_lock, torch.no_grad():
            out = self.model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                      max_new_tokens=max_tokens, do_sample=False, eos_token_id=self.stops,
                                      pad_token_id=self.tok.pad_token_id)
        new = out[0, len(ids):].tolist()
        finish = "stop" if new and new[-1] in self.stops else "length"
        return self.tok.decode(new, skip_special_tokens=True), finish

    def chat(self, body: dict) -> dict:
        msgs, partial = body["messages"], ""
        if body.get("continue_final_message") and msgs[-1]["role"] == "assistant":
            msgs, partial = msgs[:-1], msgs[-1]["content"]
        text = self.tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True) + partial
        ids = self.tok(text, add_special_tokens=False)["input_ids"]
        choices = body.get("guided_choice")
        if choices and self.caps["guided"]:
            content, finish = self.best_choice(ids, choices), "stop"
        else:
            content, finish = self.generate(ids, body["max_tokens"])
        return {"id": "chatcmpl-test", "object": "chat.completion", "model": self.served_id,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}]}

    def best_choice(self, ids: list[int], choices: list[str]) -> str:
        """Guided choice, emulated: the choice with the highest summed log-probability."""
        scores = []
        for c in choices:
            c_ids = self.tok(c, add_special_tokens=False)["input_ids"]
            scores.append(sum(self.logprobs(ids + c_ids)[0][len(ids):]))
        return choices[max(range(len(choices)), key=scores.__getitem__)]

    def completions(self, body: dict) -> dict:
        prompt = body["prompt"]
        ids = list(prompt) if isinstance(prompt, list) else self.tok(prompt)["input_ids"]
        choice: dict = {"index": 0, "logprobs": None}
        if body.get("echo") and body.get("logprobs") is not None and self.caps["echo"]:
            values, nxt = self.logprobs(ids)
            toks = ids + [nxt]
            choice["text"] = self.tok.decode(toks)
            choice["logprobs"] = {"tokens": self.tok.convert_ids_to_tokens(toks),
                                  "token_logprobs": values + [self.logprobs(toks)[0][-1]], "top_logprobs": None}
            choice["finish_reason"] = "length"
        elif body.get("guided_choice") and self.caps["guided"]:
            choice["text"], choice["finish_reason"] = self.best_choice(ids, body["guided_choice"]), "stop"
        else:
            choice["text"], choice["finish_reason"] = self.generate(ids, body["max_tokens"])
        if body.get("prompt_logprobs") is not None and self.caps["prompt_logprobs"]:
            values, _ = self.logprobs(ids)
            choice["prompt_logprobs"] = [None] + [{str(t): {"logprob": v, "rank": 1}} for t, v in zip(ids[1:], values[1:])]
        return {"id": "cmpl-test", "object": "text_completion", "model": self.served_id, "choices": [choice]}


def _handler(server: OpenAITestServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, status: int, payload: bytes, headers: dict | None = None) -> None:
            self._entry["done"] = True
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            entry = self._entry = {"path": self.path, "body": body, "status": 200, "done": False}
            with server._lock:
                server.log.append(entry)
                fault = server.faults.pop(0) if server.faults else None
                if fault is None and server.fail_after is not None and len(server.answered()) > server.fail_after:
                    fault = "500"
            auth = self.headers.get("Authorization")
            if server.api_key and auth != f"Bearer {server.api_key}":
                entry["status"] = 401
                return self._send(401, b'{"error": {"message": "bad key"}}')
            if fault == "429":
                entry["status"] = 429
                return self._send(429, b'{"error": {"message": "slow down"}}', {"Retry-After": server.retry_after})
            if fault in ("500", "500-auth"):
                entry["status"] = 500
                detail = f"internal error; you sent {auth}" if fault == "500-auth" else "internal error"
                return self._send(500, json.dumps({"error": {"message": detail}}).encode())
            if fault == "malformed":
                entry["status"] = 299  # answered, but not with JSON
                return self._send(200, b'{"choices": [ truncated')
            if fault == "timeout":
                entry["status"] = 298
                time.sleep(server.timeout_s)
            if fault == "slow":
                time.sleep(server.slow_s)
            path = self.path.split("?", 1)[0]
            if path.endswith("/chat/completions"):
                out = server.chat(body)
            elif path.endswith("/completions"):
                out = server.completions(body)
            else:
                entry["status"] = 404
                return self._send(404, b'{"error": {"message": "no such route"}}')
            try:
                self._send(200, json.dumps(out).encode())
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler
