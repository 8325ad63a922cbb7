"""The response cache survives a torn write; results never show a URL's secret parts.
(The backends themselves: test_backends_openai.py.)"""

import json

from itdr_eval.backends.options import redact_url
from itdr_eval.http_cache import ResponseCache, request_key


def test_cache_ignores_a_torn_line_and_appends_after_it(tmp_path):
    path = tmp_path / "c.jsonl"
    k1, k2 = request_key("/completions", {"model": "m", "prompt": "a"}), request_key("/completions", {"model": "m", "prompt": "b"})
    assert k1 != k2 and k1 == request_key("/completions", {"prompt": "a", "model": "m"})  # key order does not matter
    cache = ResponseCache(str(path))
    cache.put(k1, {"text": "x"})
    cache.close()
    with open(path, "a") as fh:
        fh.write('{"key": "' + k2 + '", "resp')  # killed mid-write
    cache = ResponseCache(str(path))
    assert cache.get(k1) == {"text": "x"} and cache.get(k2) is None
    cache.put(k2, {"text": "y"})
    cache.close()
    assert ResponseCache(str(path)).get(k2) == {"text": "y"}
    assert [json.loads(line)["key"] for line in path.read_text().splitlines()[-1:]] == [k2]


def test_redact_url_drops_credentials_query_and_fragment():
    assert redact_url("https://u:p@api.example.com:8443/v1?key=s#f") == "https://api.example.com:8443/v1"
