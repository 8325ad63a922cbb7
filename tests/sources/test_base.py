"""Finding raw files: a data directory, or a download checked against its checksum."""

from __future__ import annotations

import hashlib
import zipfile

import datasets
import pytest

from itdr_hf.errors import DataError, SourceUnavailable
from itdr_hf.pipeline import demo_dir
from itdr_hf.sources.base import RemoteArchive
from itdr_hf.sources.movielens_1m import MovieLens1M


def zipped_ml1m(tmp_path):
    archive = tmp_path / "ml-1m.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("ratings.dat", "users.dat", "movies.dat"):
            zf.write(demo_dir() / "ml-1m" / name, f"ml-1m/{name}")
    return archive


def manager(tmp_path):
    return datasets.DownloadManager(
        dataset_name="itdr", download_config=datasets.DownloadConfig(cache_dir=str(tmp_path / "cache"))
    )


def source_with(remote):
    source = MovieLens1M()
    source.remote = remote  # instance attribute: the class keeps the real GroupLens URL
    return source


def test_the_real_archive_is_pinned_by_sha256():
    assert MovieLens1M.remote.url == "https://files.grouplens.org/datasets/movielens/ml-1m.zip"
    assert len(MovieLens1M.remote.sha256) == 64


def test_download_verifies_and_extracts(tmp_path):
    archive = zipped_ml1m(tmp_path)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    root = source_with(RemoteArchive(url=str(archive), sha256=digest)).locate(None, manager(tmp_path))
    assert root.name == "ml-1m" and (root / "ratings.dat").is_file()


def test_md5_file_published_beside_the_archive(tmp_path):
    archive = zipped_ml1m(tmp_path)
    md5 = tmp_path / "ml-1m.zip.md5"
    md5.write_text(f"{hashlib.md5(archive.read_bytes()).hexdigest()}  ml-1m.zip\n")
    root = source_with(RemoteArchive(url=str(archive), md5_url=str(md5))).locate(None, manager(tmp_path))
    assert (root / "users.dat").is_file()


def test_checksum_mismatch_is_refused(tmp_path):
    archive = zipped_ml1m(tmp_path)
    with pytest.raises(DataError, match=r"sha256 is [0-9a-f]{64}, expected 00+\n  fix: the download is corrupt"):
        source_with(RemoteArchive(url=str(archive), sha256="0" * 64)).locate(None, manager(tmp_path))


def test_truncated_archive(tmp_path):
    archive = zipped_ml1m(tmp_path)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(DataError, match=r"ml-1m\.zip"):
        source_with(RemoteArchive(url=str(archive), sha256=digest)).locate(None, manager(tmp_path))


def test_unreachable_download_says_how_to_get_the_files(tmp_path):
    missing = tmp_path / "nowhere.zip"
    with pytest.raises(SourceUnavailable, match=r"movielens_1m: could not download .*nowhere\.zip.*--data-dir"):
        source_with(RemoteArchive(url=str(missing), sha256="0" * 64)).locate(None, manager(tmp_path))


def test_data_dir_may_be_the_parent_of_the_source_folder(tmp_path):
    archive = zipped_ml1m(tmp_path)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path / "raw")
    assert MovieLens1M().find_in(tmp_path / "raw") == tmp_path / "raw" / "ml-1m"
    assert MovieLens1M().find_in(tmp_path / "raw" / "ml-1m") == tmp_path / "raw" / "ml-1m"
    assert MovieLens1M().find_in(tmp_path) is None


def test_missing_files_error_says_per_file_where_it_looked_and_what_it_found(tmp_path):
    """Issue 15: with a source folder under --data-dir, the error listed files as missing from
    --data-dir itself, so files that were there were reported missing."""
    from itdr_hf.sources.anime_2023 import Anime2023

    folder = tmp_path / "data" / "anime_2023"
    folder.mkdir(parents=True)
    (folder / "anime-dataset-2023.csv").write_text("x\n")
    (folder / "users-score-2023.csv").write_text("x\n")
    (folder / "notes.txt").write_text("x\n")
    with pytest.raises(DataError) as caught:
        Anime2023().locate(tmp_path / "data", None)
    message = str(caught.value)
    assert message.startswith(f"{folder}: anime_2023: incomplete source folder: ")
    assert ("anime-dataset-2023.csv: found; users-score-2023.csv: found; users-details-2023.csv: missing. "
            f"Looked in {tmp_path / 'data'}/, {folder}/, {tmp_path / 'data' / 'myanimelist-dataset'}/; "
            f"{folder}/ holds anime-dataset-2023.csv, notes.txt, "
            "users-score-2023.csv") in message
    assert f"fix: put anime-dataset-2023.csv, users-score-2023.csv, users-details-2023.csv into {folder}/" in message


def test_missing_files_error_names_an_accepted_variant_found(tmp_path):
    from itdr_hf.sources.steam import Steam

    folder = tmp_path / "steam"
    folder.mkdir()
    (folder / "steam_games.json").write_text("{}\n")
    with pytest.raises(DataError) as caught:
        Steam().locate(tmp_path, None)
    message = str(caught.value)
    assert "steam_reviews.json.gz: missing (also accepted: steam_reviews.json, steam_reviews.jsonl.gz, steam_reviews.jsonl)" in message
    assert "steam_games.json.gz: found as steam_games.json" in message
    assert "or the Australian version: australian_user_reviews.json.gz" in message
