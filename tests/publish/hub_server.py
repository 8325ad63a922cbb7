"""A small in-memory Hub on 127.0.0.1 that speaks what huggingface_hub and datasets call.

Write side (what ``itdr-publish`` uses): ``POST /api/repos/create`` (a 409 for an existing repo
carries its ``url``, as the Hub's does), ``DELETE /api/repos/delete``, ``POST /api/validate-yaml``,
``POST /api/datasets/{repo}/preupload/{rev}`` (``lfs`` for paths the revision's ``.gitattributes``
sends to LFS, e.g. ``*.parquet``, and for files of 10 MiB or more; ``regular`` otherwise, like the
Hub), the LFS batch endpoint ``POST /datasets/{repo}.git/info/lfs/objects/batch`` (basic transfer:
an upload URL to ``PUT`` the content to and a verify URL), ``POST /api/datasets/{repo}/commit/{rev}``
(NDJSON ``file`` and ``lfsFile`` lines, ``parentCommit`` enforced like the Hub),
``POST|DELETE /api/datasets/{repo}/tag/...``.
Read side (what ``load_dataset(..., revision=...)`` uses, streaming included): repo info by
revision (LFS metadata of LFS files), refs, tree, paths-info, and ``resolve/{rev}/{path}`` (HEAD and
GET, honouring ``Range`` with a 206 like the Hub's CDN).

The body of every request is read, routed or not, so a keep-alive connection stays usable after a 404.

Faults are switches on :class:`FakeHub`: ``fail_commit`` answers the commit with a 500,
``fail_tag`` the tag creation. Writes need ``Authorization: Bearer <token>``; a wrong token is a 401.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import yaml

_REPO = r"(?P<kind>datasets|models|spaces)/(?P<repo>[^/]+/[^/]+)"
LFS_THRESHOLD = 10 * 1024 * 1024  # the Hub sends files of this size or more to LFS whatever .gitattributes says
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def git_blob_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def lfs_pointer(content: bytes) -> bytes:
    """The git-lfs pointer file git stores for an LFS file (its blob id is what the Hub reports)."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256(content)}\nsize {len(content)}\n".encode()


def lfs_patterns(files: dict[str, bytes]) -> list[str]:
    """The patterns a revision's ``.gitattributes`` routes to LFS (``filter=lfs``)."""
    text = files.get(".gitattributes", b"").decode()
    return [line.split()[0] for line in text.splitlines() if line.strip() and "filter=lfs" in line.split()[1:]]


@dataclass
class Commit:
    oid: str
    parent: str | None
    message: str
    files: dict[str, bytes]
    lfs: frozenset[str] = frozenset()  # paths stored through LFS

    def entry(self, path: str) -> dict:
        """A file as the Hub's tree and paths-info list it (LFS files with their ``lfs`` block)."""
        content = self.files[path]
        if path in self.lfs:
            pointer = lfs_pointer(content)
            return {"type": "file", "oid": git_blob_oid(pointer), "size": len(content), "path": path,
                    "lfs": {"oid": sha256(content), "size": len(content), "pointerSize": len(pointer)}}
        return {"type": "file", "oid": git_blob_oid(content), "size": len(content), "path": path}


@dataclass
class Repo:
    repo_id: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def resolve(self, rev: str) -> Commit | None:
        rev = unquote(rev)
        oid = self.branches.get(rev) or self.tags.get(rev) or (rev if rev in self.commits else None)
        return self.commits.get(oid) if oid else None


@dataclass
class FakeHub:
    token: str
    repos: dict[str, Repo] = field(default_factory=dict)
    fail_commit: bool = False
    lose_commit_reply: bool = False  # apply the commit, then answer 500 as if the reply was lost
    fail_tag: bool = False
    lfs_objects: dict[str, bytes] = field(default_factory=dict)  # sha256 -> content, uploaded and verified
    requests: list[tuple[str, str]] = field(default_factory=list)
    ranges: list[tuple[str, str]] = field(default_factory=list)  # (path, Range header) of the partial reads served
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def new_commit(
        self, repo: Repo, parent: str | None, message: str, files: dict[str, bytes], lfs: frozenset[str] = frozenset()
    ) -> Commit:
        oid = hashlib.sha1(f"{repo.repo_id}\0{parent}\0{message}\0{time.time_ns()}\0{len(repo.commits)}".encode()).hexdigest()
        commit = Commit(oid, parent, message, files, frozenset(p for p in lfs if p in files))
        repo.commits[oid] = commit
        repo.branches["main"] = oid
        return commit

    def create(self, repo_id: str) -> Repo:
        repo = Repo(repo_id)
        self.new_commit(repo, None, "initial commit", {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"})
        self.repos[repo_id] = repo
        return repo

    def head_files(self, repo_id: str) -> dict[str, bytes]:
        return self.head(repo_id).files

    def head(self, repo_id: str) -> Commit:
        repo = self.repos[repo_id]
        return repo.commits[repo.branches["main"]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: FakeHub

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    # -- plumbing ------------------------------------------------------------------------------

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, payload=None, *, headers: dict | None = None, body: bytes | None = None) -> None:
        if body is None:
            body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if payload is not None else "application/octet-stream")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str, code: str | None = None) -> None:
        self._send(status, {"error": message}, headers={"X-Error-Code": code, "X-Error-Message": message} if code else None)

    def _authorized(self, required: bool) -> bool:
        auth = self.headers.get("Authorization")
        if auth is None and not required:
            return True
        if auth != f"Bearer {self.hub.token}":
            self._error(401, "Invalid credentials in Authorization header")
            return False
        return True

    def _repo(self, repo_id: str) -> Repo | None:
        repo = self.hub.repos.get(unquote(repo_id))
        if repo is None:
            self._error(404, "Repository not found", "RepoNotFound")
        return repo

    def _commit(self, repo: Repo, rev: str) -> Commit | None:
        commit = repo.resolve(rev)
        if commit is None:
            self._error(404, f"Invalid rev id: {unquote(rev)}", "RevisionNotFound")
        return commit

    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        self.query = parse_qs(url.query)
        path = url.path
        self.hub.requests.append((method, path))
        with self.hub.lock:
            for pattern, handler in _ROUTES.get(method, []):
                match = re.fullmatch(pattern, path)
                if match:
                    try:
                        return handler(self, **match.groupdict())
                    except Exception as exc:  # a bug in the fake: say so instead of dropping the connection
                        return self._error(500, f"fake hub bug: {type(exc).__name__}: {exc}")
        self._body()  # read what the client sent, or its next request on this connection would be garbage
        self._error(404, f"no route for {method} {path}")

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_PUT(self) -> None:
        self._route("PUT")

    # -- write endpoints -------------------------------------------------------------------------

    def create_repo(self) -> None:
        payload = json.loads(self._body())
        if not self._authorized(True):
            return
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        if repo_id in self.hub.repos:  # the Hub names the existing repo; huggingface_hub reads `url` from it
            return self._send(409, {"error": "You already created this dataset repo", "url": f"{self.hub.url}/datasets/{repo_id}"})
        self.hub.create(repo_id)
        self._send(200, {"url": f"{self.hub.url}/datasets/{repo_id}", "name": repo_id})

    def delete_repo(self) -> None:
        payload = json.loads(self._body())
        if not self._authorized(True):
            return
        repo_id = f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        if self.hub.repos.pop(repo_id, None) is None:
            return self._error(404, "Repository not found", "RepoNotFound")
        self._send(200, {})

    def validate_yaml(self) -> None:
        payload = json.loads(self._body())
        if not self._authorized(False):
            return
        match = re.match(r"^---\s*\n(.*?)\n---\s*\n", payload["content"], re.S)
        errors = []
        try:
            meta = yaml.safe_load(match.group(1)) if match else {}
        except yaml.YAMLError as exc:
            meta, errors = {}, [{"message": f"YAML does not parse: {exc}"}]
        if not isinstance(meta, dict):
            errors.append({"message": "metadata must be a mapping"})
        else:
            for config in meta.get("configs") or []:
                if not isinstance(config, dict) or "config_name" not in config or "data_files" not in config:
                    errors.append({"message": f"\"configs\" entry must have config_name and data_files: {config!r}"})
        if errors:
            return self._send(400, {"errors": errors, "warnings": []})
        self._send(200, {"errors": [], "warnings": []})

    def preupload(self, kind: str, repo: str, rev: str) -> None:
        payload = json.loads(self._body())
        if not self._authorized(True):
            return
        target = self._repo(repo)
        commit = target and self._commit(target, rev)
        if commit is None:
            return
        patterns = lfs_patterns(commit.files)

        def mode(f: dict) -> str:
            name = f["path"].rsplit("/", 1)[-1]
            routed = any(fnmatch.fnmatch(f["path"], p) or ("/" not in p and fnmatch.fnmatch(name, p)) for p in patterns)
            return "lfs" if routed or f["size"] >= LFS_THRESHOLD else "regular"

        def oid(path: str) -> str | None:
            """Like the Hub: a file already there is named by its oid (sha256 for LFS), so unchanged files are skipped."""
            if path not in commit.files:
                return None
            return sha256(commit.files[path]) if path in commit.lfs else git_blob_oid(commit.files[path])

        files = [{"path": f["path"], "uploadMode": mode(f), "shouldIgnore": False, "oid": oid(f["path"])} for f in payload["files"]]
        self._send(200, {"files": files, "commitOid": None})

    def lfs_batch(self, kind: str, repo: str) -> None:
        payload = json.loads(self._body())
        if not self._authorized(True):
            return
        if self._repo(repo) is None:
            return
        if payload.get("operation") != "upload" or "basic" not in payload.get("transfers", ["basic"]):
            return self._error(400, "only basic uploads are supported")
        objects = []
        for obj in payload["objects"]:
            if obj["oid"] in self.hub.lfs_objects:  # already stored: no actions, the client skips the upload
                objects.append({"oid": obj["oid"], "size": obj["size"]})
                continue
            objects.append({
                "oid": obj["oid"], "size": obj["size"], "authenticated": True,
                "actions": {
                    "upload": {"href": f"{self.hub.url}/lfs-storage/{obj['oid']}?size={obj['size']}"},
                    "verify": {"href": f"{self.hub.url}/{kind}/{repo}.git/info/lfs/objects/verify",
                               "header": {"Authorization": f"Bearer {self.hub.token}"}},
                },
            })
        self._send(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"})

    def lfs_upload(self, oid: str) -> None:
        """The pre-signed storage URL: no token (like S3), content must hash to the oid it was issued for."""
        content = self._body()
        if sha256(content) != oid or str(len(content)) != self.query.get("size", [""])[0]:
            return self._error(400, "uploaded content does not match the oid or size it was issued for")
        self.hub.lfs_objects[oid] = content
        self._send(200, body=b"")

    def lfs_verify(self, kind: str, repo: str) -> None:
        payload = json.loads(self._body())
        if not self._authorized(True):
            return
        content = self.hub.lfs_objects.get(payload["oid"])
        if content is None or len(content) != payload["size"]:
            return self._error(404, f"LFS object {payload['oid']} was not uploaded")
        self._send(200, {})

    def commit(self, kind: str, repo: str, rev: str) -> None:
        lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
        if not self._authorized(True):
            return
        target = self._repo(repo)
        if target is None:
            return
        if self.hub.fail_commit:
            return self._error(500, "Internal Error - We're working hard to fix this as soon as possible!")
        header = lines[0]["value"]
        head = target.branches["main"]
        if header.get("parentCommit") and header["parentCommit"] != head:
            return self._error(412, "A commit has happened since. Please refresh and try again.")
        files = dict(target.commits[head].files)
        lfs = set(target.commits[head].lfs)
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
                lfs.discard(value["path"])
            elif line["key"] == "lfsFile":
                content = self.hub.lfs_objects.get(value["oid"])
                if content is None:
                    return self._error(422, f"LFS file {value['path']} points to {value['oid']}, which was never uploaded")
                files[value["path"]] = content
                lfs.add(value["path"])
            elif line["key"] == "deletedFile":
                if value["path"] not in files:
                    return self._error(404, f"file {value['path']} does not exist", "EntryNotFound")
                del files[value["path"]]
            elif line["key"] == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {p: c for p, c in files.items() if not p.startswith(prefix)}
            else:
                return self._error(400, f"unsupported commit line {line['key']}")
        commit = self.hub.new_commit(target, head, header["summary"], files, frozenset(lfs))
        if self.hub.lose_commit_reply:
            return self._error(500, "Internal Error (the commit was applied; this reply is lost)")
        self._send(200, {"success": True, "commitOid": commit.oid, "commitUrl": f"{self.hub.url}/datasets/{repo}/commit/{commit.oid}"})

    def create_tag(self, kind: str, repo: str, rev: str) -> None:
        payload = json.loads(self._body())
        if not self._authorized(True):
            return
        target = self._repo(repo)
        if target is None:
            return
        commit = self._commit(target, rev)
        if commit is None:
            return
        if self.hub.fail_tag:
            return self._error(500, "Internal Error")
        if payload["tag"] in target.tags:
            return self._error(409, f"Tag {payload['tag']} already exists")
        target.tags[payload["tag"]] = commit.oid
        self._send(200, {})

    def delete_tag(self, kind: str, repo: str, tag: str) -> None:
        if not self._authorized(True):
            return
        target = self._repo(repo)
        if target is None:
            return
        if target.tags.pop(unquote(tag), None) is None:
            return self._error(404, f"Tag {unquote(tag)} not found", "RevisionNotFound")
        self._send(200, {})

    # -- read endpoints ---------------------------------------------------------------------------

    def info(self, kind: str, repo: str, rev: str = "main") -> None:
        if not self._authorized(False):
            return
        target = self._repo(repo)
        commit = target and self._commit(target, rev)
        if commit is None:
            return
        self._send(200, {
            "id": target.repo_id, "_id": target.repo_id, "author": target.repo_id.split("/")[0], "sha": commit.oid,
            "private": False, "gated": False, "disabled": False, "lastModified": "2026-11-26T00:00:00.000Z",
            "tags": [],
            "siblings": [self._sibling(commit, p) if "blobs" in self.query else {"rfilename": p} for p in sorted(commit.files)],
        })

    @staticmethod
    def _sibling(commit: Commit, path: str) -> dict:
        entry = commit.entry(path)
        sibling = {"rfilename": path, "size": entry["size"], "blobId": entry["oid"]}
        if "lfs" in entry:
            sibling["lfs"] = {"sha256": entry["lfs"]["oid"], "size": entry["size"], "pointerSize": entry["lfs"]["pointerSize"]}
        return sibling

    def refs(self, kind: str, repo: str) -> None:
        target = self._repo(repo)
        if target is None:
            return

        def ref(name: str, oid: str, prefix: str) -> dict:
            return {"name": name, "ref": f"refs/{prefix}/{name}", "targetCommit": oid}

        self._send(200, {
            "branches": [ref(n, o, "heads") for n, o in target.branches.items()],
            "tags": [ref(n, o, "tags") for n, o in target.tags.items()],
            "converts": [], "pullRequests": [],
        })

    def _entries(self, commit: Commit, prefix: str, recursive: bool) -> list[dict]:
        prefix = prefix.strip("/")
        entries: dict[str, dict] = {}
        for path in sorted(commit.files):
            if prefix and not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1 :] if prefix else path
            parts = rest.split("/")
            for depth in range(1, len(parts)):
                if depth > 1 and not recursive:
                    break
                folder = "/".join(([prefix] if prefix else []) + parts[:depth])
                entries.setdefault(folder, {"type": "directory", "oid": "0" * 40, "size": 0, "path": folder})
            if len(parts) == 1 or recursive:
                entries[path] = commit.entry(path)
        return list(entries.values())

    def tree(self, kind: str, repo: str, rev: str, path: str = "") -> None:
        target = self._repo(repo)
        commit = target and self._commit(target, rev)
        if commit is None:
            return
        path = unquote(path or "").strip("/")
        if path and path not in commit.files and not any(p.startswith(path.strip("/") + "/") for p in commit.files):
            return self._error(404, f"{path} not found", "EntryNotFound")
        recursive = self.query.get("recursive", ["false"])[0].lower() in ("1", "true")
        self._send(200, self._entries(commit, path, recursive))

    def paths_info(self, kind: str, repo: str, rev: str) -> None:
        body = self._body().decode()
        target = self._repo(repo)
        commit = target and self._commit(target, rev)
        if commit is None:
            return
        if self.headers.get("Content-Type", "").startswith("application/json"):
            paths = json.loads(body).get("paths", [])
        else:
            paths = parse_qs(body).get("paths", [])
        out = []
        for path in paths:
            path = path.strip("/")
            if path in commit.files:
                out.append(commit.entry(path))
            elif any(p.startswith(path + "/") for p in commit.files):
                out.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": path})
        self._send(200, out)

    def resolve(self, kind: str, repo: str, rev: str, path: str) -> None:
        target = self._repo(repo)
        commit = target and self._commit(target, rev)
        if commit is None:
            return
        path = unquote(path)
        content = commit.files.get(path)
        if content is None:
            return self._error(404, "Entry not found", "EntryNotFound")
        entry = commit.entry(path)
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{entry["oid"]}"', "Accept-Ranges": "bytes"}
        if "lfs" in entry:  # the Hub names an LFS file by its sha256 (huggingface_hub prefers X-Linked-Etag)
            headers.update({"X-Linked-Etag": f'"{entry["lfs"]["oid"]}"', "X-Linked-Size": str(len(content))})
        wanted = self.headers.get("Range")
        if wanted is None:
            return self._send(200, body=content, headers=headers)
        match = _RANGE.match(wanted.strip())
        if not match or match.groups() == ("", ""):
            return self._send(416, body=b"", headers={"Content-Range": f"bytes */{len(content)}"})
        first, last = match.groups()
        if first == "":  # a suffix: the last N bytes
            start, end = max(len(content) - int(last), 0), len(content) - 1
        else:
            start, end = int(first), min(int(last) if last else len(content) - 1, len(content) - 1)
        if start >= len(content) or start > end:
            return self._send(416, body=b"", headers={"Content-Range": f"bytes */{len(content)}"})
        headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
        self.hub.ranges.append((path, wanted))
        self._send(206, body=content[start : end + 1], headers=headers)


def _routes() -> dict[str, list]:
    api = rf"/api/{_REPO}"
    h = _Handler
    return {
        "POST": [
            (r"/api/repos/create", h.create_repo),
            (r"/api/validate-yaml", h.validate_yaml),
            (rf"{api}/preupload/(?P<rev>[^/]+)", h.preupload),
            (rf"{api}/commit/(?P<rev>[^/]+)", h.commit),
            (rf"{api}/tag/(?P<rev>[^/]+)", h.create_tag),
            (rf"{api}/paths-info/(?P<rev>[^/]+)", h.paths_info),
            (r"/(?P<kind>datasets|models|spaces)/(?P<repo>[^/]+/[^/]+?)\.git/info/lfs/objects/batch", h.lfs_batch),
            (r"/(?P<kind>datasets|models|spaces)/(?P<repo>[^/]+/[^/]+?)\.git/info/lfs/objects/verify", h.lfs_verify),
        ],
        "PUT": [
            (r"/lfs-storage/(?P<oid>[0-9a-f]{64})", h.lfs_upload),
        ],
        "DELETE": [
            (r"/api/repos/delete", h.delete_repo),
            (rf"{api}/tag/(?P<tag>[^/]+)", h.delete_tag),
        ],
        "GET": [
            (rf"{api}", h.info),
            (rf"{api}/revision/(?P<rev>[^/]+)", h.info),
            (rf"{api}/refs", h.refs),
            (rf"{api}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", h.tree),
            (rf"/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", h.resolve),
        ],
        "HEAD": [
            (rf"/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)", h.resolve),
        ],
    }


_ROUTES = _routes()


class HubServer:
    """Run a :class:`FakeHub` on a random loopback port in a daemon thread."""

    def __init__(self, token: str) -> None:
        self.hub = FakeHub(token=token)
        handler = type("Handler", (_Handler,), {"hub": self.hub})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.hub.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return self.hub.url

    def __enter__(self) -> HubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
