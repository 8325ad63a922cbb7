"""The wheel must carry every subpackage and the data files a fresh virtualenv needs for --demo."""

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11; the check is the same on every Python

ROOT = Path(__file__).resolve().parents[1]


DEV_ONLY = {"itdr_hf.synthetic"}  # used by tests, benchmarks and scripts/make_demo_data.py, not by users


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "itdr_hf").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert on_disk - DEV_ONLY <= listed, sorted(on_disk - DEV_ONLY - listed)
    assert not DEV_ONLY & listed
    assert {"itdr_hf.builders", "itdr_hf.cards"} <= listed
    assert config["package-dir"] == {"itdr_hf": "itdr_hf", "itdr_hf.builders": "builders", "itdr_hf.cards": "cards"}


def test_every_demo_file_type_is_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["itdr_hf.demo"]
    suffixes = {p.rsplit(".", 1)[1] for p in patterns}
    shipped = {p.name.rsplit(".", 1)[-1] for p in (ROOT / "itdr_hf" / "demo").rglob("*") if p.is_file() and "." in p.name}
    assert shipped - {"py", "pyc"} <= suffixes, sorted(shipped - suffixes)


def test_what_downloading_needs_is_a_dependency():
    """A fresh ``pip install .`` must download sources: fsspec's HTTP file system imports aiohttp."""
    from packaging.requirements import Requirement

    requirements = [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    assert any(r.name == "aiohttp" or (r.name == "fsspec" and "http" in r.extras) for r in requirements)
