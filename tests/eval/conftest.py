"""Fixtures for itdr-eval tests: a tiny random causal LM, an offline-trained tokenizer and a small
ITDR-shaped dataset in Hub layout (Parquet + README `configs:`), all built in temporary folders.
No test touches the network."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_HF_HOME = tempfile.mkdtemp(prefix="itdr-eval-hf-")
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)  # every run (and xdist worker) made one in /tmp
for _k, _v in {
    "HF_HOME": _HF_HOME,
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_EVALUATE_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}.items():
    os.environ[_k] = _v

import sys

import pytest

# the repository runs pytest with --import-mode=importlib: make the helper module importable
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from itdr_eval_testutils import make_tiny_model, write_hub_layout


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory) -> str:
    return write_hub_layout(str(tmp_path_factory.mktemp("itdr")))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    return make_tiny_model(str(tmp_path_factory.mktemp("tiny-qwen")))


@pytest.fixture(scope="session")
def tiny_model_no_template(tmp_path_factory) -> str:
    return make_tiny_model(str(tmp_path_factory.mktemp("tiny-plain")), chat=False)


@pytest.fixture
def one_torch_thread():
    """The tiny model's matmuls are far too small for threads: on a shared CPU they only contend.
    A module opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
