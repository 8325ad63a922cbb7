"""The contract of a source reader, and how its raw files are found or fetched.

A source is one module: its homepage, license, citation and format quirks in the docstring
and class attributes, and one method, :meth:`Source.read`, that turns a folder of raw files
into :class:`~itdr_hf.tables.SourceTables`. It never writes prompt text.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..errors import DataError, SourceUnavailable
from ..registry import Registry
from ..tables import SourceTables

if TYPE_CHECKING:
    from datasets import DownloadManager

    from ..config import BuildConfig


@dataclass(frozen=True)
class RemoteArchive:
    """A zip the builder may download, and how to check it.

    ``sha256`` pins the archive when its digest is known; ``md5_url`` names a checksum file the
    publisher serves beside it (GroupLens does), checked when no sha256 is pinned.
    """

    url: str
    sha256: str | None = None
    md5_url: str | None = None


@dataclass(frozen=True)
class RemoteFile:
    """One file the builder may download as is (no unpacking), saved as ``name`` in the source folder.

    For sources published as loose files rather than one archive (Amazon 2023: two gzipped
    JSON-lines files per category). ``sha256`` pins it when the publisher gives a digest.
    """

    name: str
    url: str
    sha256: str | None = None


class Source:
    """Base class of every source reader.

    Subclasses set the class attributes and implement :meth:`read`. ``required_files`` are
    paths relative to the source folder; :meth:`locate` finds that folder in a user's data
    directory (directly, or one of ``folder_names`` below it) or downloads ``remote``.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    homepage: ClassVar[str]
    license: ClassVar[str]
    citation: ClassVar[str]
    required_files: ClassVar[tuple[str, ...]]
    folder_names: ClassVar[tuple[str, ...]] = ()
    remote: ClassVar[RemoteArchive | tuple[RemoteFile, ...] | None] = None
    manual_download: ClassVar[str] = ""
    demo_folder: ClassVar[str | None] = None
    # Files the source reads when present, and what their absence changes (said in the build report).
    # A file with only a header counts as absent.
    optional_files: ClassVar[dict[str, str]] = {}
    alternative_files: ClassVar[str] = ""  # another accepted set of files, named in the missing-files error
    # Cells beyond the paper's matrix (itdr_hf/paper.py): further subtasks built from this source.
    subtasks: ClassVar[tuple[str, ...]] = ()
    # False: this source's cells are generated in the build's own process, never in forked workers
    # (a source whose tables are gigabytes: each worker would copy the pages it touches).
    fork_cells: ClassVar[bool] = True

    def read(self, root: Path, config: BuildConfig) -> SourceTables:
        raise NotImplementedError

    def absent_optional_files(self, root: Path) -> dict[str, str]:
        return {name: effect for name, effect in self.optional_files.items() if not has_rows(root / name)}

    # -- finding the raw files -------------------------------------------------------------

    def candidate_dirs(self, data_dir: Path) -> list[Path]:
        """Where a source's files may be: the data dir itself, a known folder name, or the registry name."""
        return [data_dir, *(data_dir / name for name in dict.fromkeys((*self.folder_names, self.name)))]

    def find_in(self, data_dir: Path) -> Path | None:
        for candidate in self.candidate_dirs(data_dir):
            if all(self.file_in(candidate, f) is not None for f in self.required_files):
                return candidate
        return None

    @staticmethod
    def file_in(folder: Path, name: str) -> Path | None:
        """``folder/name``, or the same file under another accepted name (:func:`file_variants`)."""
        return next((folder / v for v in file_variants(name) if (folder / v).is_file()), None)

    def path(self, root: Path, name: str) -> Path:
        """Where a reader finds ``name`` in its source folder (``root/name`` when absent, for the error)."""
        return self.file_in(root, name) or root / name

    def locate(self, data_dir: Path | None, dl_manager: DownloadManager | None) -> Path:
        if data_dir is not None:
            found = self.find_in(Path(data_dir))
            if found is None:
                raise self.missing_files(Path(data_dir))
            return found
        if self.remote is None or dl_manager is None:
            raise SourceUnavailable(
                f"{self.name}: needs a manual download. {self.manual_download}".strip()
            )
        return self._download(dl_manager)

    def missing_files(self, data_dir: Path) -> DataError:
        """The error for an incomplete source folder: per file, where it was looked for and what is there.

        The folder reported is the candidate holding most of the files (a source-named folder
        over ``--data-dir`` itself on a tie), since that is where the user meant to put them.
        """
        candidates = self.candidate_dirs(data_dir)
        existing = [d for d in candidates if d.is_dir()]

        def held(folder: Path) -> int:
            return sum(self.file_in(folder, f) is not None for f in self.required_files)

        folder = max(existing, key=lambda d: (held(d), d != data_dir), default=data_dir)
        status = []
        for name in self.required_files:
            at = self.file_in(folder, name)
            variants = file_variants(name)
            if at is not None:
                status.append(f"{name}: found" + (f" as {at.name}" if at.name != name else ""))
            else:
                status.append(f"{name}: missing" + (f" (also accepted: {', '.join(variants[1:])})" if len(variants) > 1 else ""))
        try:
            present = sorted(p.name for p in folder.iterdir())
        except OSError:
            present = []
        holds = ", ".join(present[:10]) + (f", … ({len(present)} entries)" if len(present) > 10 else "")
        return DataError(
            folder,
            f"{self.name}: incomplete source folder: {'; '.join(status)}. "
            f"Looked in {', '.join(f'{d}/' for d in candidates)}; {folder}/ holds {holds or 'nothing'}"
            + (f" ({self.alternative_files})" if self.alternative_files else ""),
            fix=f"put {', '.join(self.required_files)} into {data_dir / self.name}/ (or point --data-dir at the folder holding them)",
        )

    def _download(self, dl_manager: DownloadManager) -> Path:
        assert self.remote is not None
        if isinstance(self.remote, tuple):
            return self._download_files(dl_manager, self.remote)
        try:
            archive = Path(dl_manager.download(self.remote.url))
        except Exception as exc:  # noqa: BLE001 - any network failure means the same to the user
            raise SourceUnavailable(
                f"{self.name}: could not download {self.remote.url} ({type(exc).__name__}: {exc}). "
                f"Download it yourself, unzip it and pass --data-dir. {self.manual_download}".strip()
            ) from None
        self._verify(archive, dl_manager)
        try:
            extracted = Path(dl_manager.extract(str(archive)))
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DataError(archive, f"cannot unpack: {exc}", fix="delete it and build again to re-download") from None
        found = self.find_in(extracted)
        if found is None:
            raise DataError(archive, f"archive lacks {', '.join(self.required_files)}", fix="delete it and build again")
        return found

    def _download_files(self, dl_manager: DownloadManager, files: tuple[RemoteFile, ...]) -> Path:
        """Download each file into the datasets cache; link them under their names in one folder."""
        try:
            cached = dl_manager.download({f.name: f.url for f in files})
        except Exception as exc:  # noqa: BLE001 - any network failure means the same to the user
            raise SourceUnavailable(
                f"{self.name}: could not download its files ({type(exc).__name__}: {exc}). "
                f"Download them yourself and pass --data-dir. {self.manual_download}".strip()
            ) from None
        folder = Path(cached[files[0].name]).parent / f"{self.name}-files"
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            path = Path(cached[f.name])
            if f.sha256:
                verify_digest(path, "sha256", f.sha256)
            link = folder / f.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(path.resolve())
        return folder

    def _verify(self, archive: Path, dl_manager: DownloadManager) -> None:
        assert self.remote is not None
        if self.remote.sha256:
            verify_digest(archive, "sha256", self.remote.sha256)
        elif self.remote.md5_url:
            try:
                expected = Path(dl_manager.download(self.remote.md5_url)).read_text().split()[0]
            except Exception as exc:  # noqa: BLE001
                raise SourceUnavailable(f"{self.name}: could not fetch the checksum {self.remote.md5_url}: {exc}") from None
            verify_digest(archive, "md5", expected)


def has_rows(path: Path) -> bool:
    """Whether ``path`` is a file with a non-blank line after its first (the header); reads only that far."""
    if not path.is_file():
        return False
    seen = 0
    with open(path, "rb") as fh:
        for line in fh:
            seen += bool(line.strip())
            if seen > 1:
                return True
    return False


def file_variants(name: str) -> tuple[str, ...]:
    """The names a raw file is accepted under: a gzipped original also gunzipped, and a JSON-lines
    file as ``.json`` or ``.jsonl`` either way (public copies rename both). Readers open files by
    content (gzip magic), so the name only has to be found."""
    if not name.endswith(".gz"):
        return (name,)
    plain = name[: -len(".gz")]
    if plain.endswith((".json", ".jsonl")):
        stem = plain.rsplit(".", 1)[0]
        return tuple(dict.fromkeys((name, plain, *(f"{stem}{ext}" for ext in (".json.gz", ".json", ".jsonl.gz", ".jsonl")))))
    return (name, plain)


def verify_digest(path: Path, algorithm: str, expected: str) -> None:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected.lower():
        raise DataError(
            path,
            f"{algorithm} is {digest.hexdigest()}, expected {expected}",
            fix="the download is corrupt or the file changed upstream: delete it and build again",
        )


SOURCES: Registry[type[Source]] = Registry("source")
register_source = SOURCES.register
