"""Fingerprints of what produced a predictions file, so that no run reuses another run's predictions.

``predictions.jsonl`` is an append-only store that ``--resume`` continues. Its sidecar
``predictions.fingerprint.json`` records everything that changes a raw prediction: the model (and
adapter) identity, the dataset content, the prompt format and system instruction, the prediction
mode and budgets, and the generation settings. A later run into the same folder compares its own
fingerprint with the stored one: any difference is an error naming the differing fields; an equal
fingerprint continues only with ``--resume``.

Scoring options (fuzzy threshold, BLEU tokenizer, ROUGE stemming) are *not* part of the fingerprint:
they are re-applied to the stored raw outputs every time results are written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

SIDECAR_SUFFIX = ".fingerprint.json"

# Files hashed in full when fingerprinting a local model folder; weight shards (often many GB) are
# identified by name, size and their first and last MiB.
_CHUNK = 1 << 20
_WEIGHTS = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".msgpack", ".h5")

# fields compared between runs; the rest of the fingerprint is informational
COMPARED = ("model_identity", "adapter_hash", "dataset_content", "prompt_format", "system_instruction",
            "predict_mode", "likelihood_norm", "max_length", "max_new_tokens", "generation")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def folder_hash(path: str) -> str:
    """Content hash of a local model/adapter folder (sub-folders such as checkpoints excluded)."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if not os.path.isfile(full) or name == "README.md":
            continue
        size = os.path.getsize(full)
        h.update(f"{name}\0{size}\0".encode())
        with open(full, "rb") as fh:
            if name.endswith(_WEIGHTS) and size > 4 * _CHUNK:
                h.update(fh.read(_CHUNK))
                fh.seek(-_CHUNK, os.SEEK_END)
                h.update(fh.read(_CHUNK))
            else:
                for block in iter(lambda: fh.read(_CHUNK), b""):
                    h.update(block)
    return h.hexdigest()


def model_identity(model: str, revision: str | None = None) -> str:
    """``sha256:<folder hash>`` for a local folder, else ``<hub id>@<revision or 'main'>``."""
    if os.path.isdir(model):
        return "sha256:" + folder_hash(model)
    return f"{model}@{revision or 'main'}"


def rows_hash(rows: Iterable[Mapping[str, Any]]) -> str:
    """Content hash of a split's rows (order included)."""
    h = hashlib.sha256()
    for r in rows:
        h.update(json.dumps(r, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def short(fp: Mapping[str, Any]) -> str:
    """A 16-hex digest of the compared fields (stored in every prediction record)."""
    return sha256_text(json.dumps({k: fp.get(k) for k in COMPARED}, sort_keys=True, default=str))[:16]


def differences(stored: Mapping[str, Any], current: Mapping[str, Any], skip: Iterable[str] = ()) -> list[str]:
    """``"field: stored -> current"`` for every compared field that differs.

    ``dataset_content`` is compared per subtask present in both (a run may score fewer subtasks).
    """
    skip = set(skip)
    out: list[str] = []
    for key in COMPARED:
        if key in skip:
            continue
        a, b = stored.get(key), current.get(key)
        if key == "dataset_content":
            a, b = a or {}, b or {}
            bad = sorted(t for t in set(a) & set(b) if a[t] != b[t])
            if bad:
                out.append(f"dataset_content[{','.join(bad)}]: the test split's rows differ")
            continue
        if a != b:
            out.append(f"{key}: {_show(a)} -> {_show(b)}")
    return out


def _show(v: Any) -> str:
    text = json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def sidecar(pred_path: str) -> str:
    return pred_path[: -len(".jsonl")] + SIDECAR_SUFFIX if pred_path.endswith(".jsonl") else pred_path + SIDECAR_SUFFIX


def read(pred_path: str) -> dict[str, Any] | None:
    path = sidecar(pred_path)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write(pred_path: str, fp: Mapping[str, Any]) -> None:
    """Write the sidecar atomically; ``dataset_content`` keeps the subtasks of earlier runs too."""
    stored = read(pred_path) or {}
    merged = dict(fp)
    merged["dataset_content"] = {**(stored.get("dataset_content") or {}), **(fp.get("dataset_content") or {})}
    path = sidecar(pred_path)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(merged, fh, indent=2, sort_keys=True, default=str)
    os.replace(tmp, path)
