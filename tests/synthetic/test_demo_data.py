"""The bundled demo sample is exactly what the generators write: nothing hand-edited, nothing stale."""

import gzip
import importlib.util
from pathlib import Path

from itdr_hf.pipeline import demo_dir

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_demo_data.py"


def content(path: Path) -> bytes:
    """A file's bytes; gzip files by their content (the gzip framing differs across Python versions)."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): content(p) for p in sorted(root.rglob("*")) if p.is_file()}


def test_regenerating_the_demo_gives_the_shipped_files(tmp_path):
    spec = importlib.util.spec_from_file_location("make_demo_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    shipped = demo_dir()
    generated = files(tmp_path)
    assert generated
    shipped_folders = {p.name for p in shipped.iterdir() if p.is_dir() and not p.name.startswith("__")}
    assert shipped_folders == {p.name for p in tmp_path.iterdir()}, "every bundled folder comes from a generator"
    bundled = {k: v for k, v in files(shipped).items() if k.split("/")[0] in {p.name for p in tmp_path.iterdir()}}
    assert generated.keys() == bundled.keys()
    assert [k for k in generated if generated[k] != bundled[k]] == []
