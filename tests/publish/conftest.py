"""Fixtures of the publisher tests: a writable copy of the demo build and a loopback Hub."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from huggingface_hub import constants

from .hub_server import HubServer

TOKEN = "hf_TestTokenNeverPrinted0123456789"


@pytest.fixture
def release_folder(demo_build: Path, tmp_path: Path) -> Path:
    """A copy of the shared demo build that a test may change."""
    dest = tmp_path / "itdr"
    shutil.copytree(demo_build, dest)
    return dest


@pytest.fixture
def hub(monkeypatch) -> HubServer:
    """An in-memory Hub on a random loopback port; clients reach it through ``HF_ENDPOINT``."""
    # Xet off: the fake speaks the Hub's LFS protocol, which huggingface_hub takes whenever Xet is unavailable
    # (huggingface_hub._commit_api._upload_files). The constant is read at import, so patch it too.
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # another conftest may have switched huggingface_hub offline at import time; the loopback Hub is local
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with HubServer(TOKEN) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server
