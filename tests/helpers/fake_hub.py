"""A local HTTP server that imitates the parts of the Hugging Face Hub API huggingface_hub downloads through.

``/{repo}/resolve/{revision}/{path}``: HEAD and GET. Small files answer themselves with their git blob id as
ETag; LFS files (``lfs=True``) answer with a redirect to a "CDN" on another loopback address
(127.0.0.2, as the real Hub redirects to a CDN host) carrying X-Linked-Etag (the sha256) and
X-Linked-Size. Every answer carries X-Repo-Commit. Gated repos answer 401 without a token and 403 with a
wrong one (X-Error-Code: GatedRepo). Ranges are honoured; ``cut_after`` cuts the next body after N bytes;
``corrupt`` serves other bytes than the ones the headers describe. Plain URLs (``/files/...``) too.
Only loopback addresses; the test stops it.
"""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
from dataclasses import dataclass, field

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    files: dict[str, bytes] = field(default_factory=dict)
    lfs: set[str] = field(default_factory=set)
    gated_token: str | None = None  # the token that opens a gated repo


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, hub: FakeHub):
        super().__init__((host, hub.port), _Handler)
        self.hub = hub


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.plain: dict[str, bytes] = {}  # /files/NAME -> bytes (non-Hub URLs)
        self.requests: list[
            tuple[str, str, str | None, str | None]
        ] = []  # method, path, Range, Authorization
        self.cut_after: int | None = None
        self.corrupt: set[str] = set()  # paths served with other bytes
        self.port = 0
        self._servers: list[_Server] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, repo: str, path: str, data: bytes, lfs: bool = False) -> None:
        r = self.repos.setdefault(repo, Repo())
        r.files[path] = data
        if lfs:
            r.lfs.add(path)

    def start(self) -> FakeHub:
        first = _Server("127.0.0.1", self)
        self.port = first.server_address[1]
        self._servers = [first, _Server("127.0.0.2", self)]  # 127.0.0.2: the "CDN" host
        for s in self._servers:
            threading.Thread(target=s.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for s in self._servers:
            s.shutdown()
            s.server_close()

    def gets(self, path_part: str) -> list[str | None]:
        """Range headers of the GETs whose path holds path_part."""
        return [rng for m, p, rng, _ in self.requests if m == "GET" and path_part in p]


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet tests
        pass

    def do_HEAD(self):
        self._serve(body=False)

    def do_GET(self):
        self._serve(body=True)

    def _send(self, status: int, headers: dict[str, str], data: bytes = b"", body: bool = True) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body and data:
            hub: FakeHub = self.server.hub  # type: ignore[attr-defined]
            if hub.cut_after is not None:
                data, hub.cut_after = data[: hub.cut_after], None
                self.wfile.write(data)
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)

    def _ranged(self, data: bytes, headers: dict[str, str], body: bool) -> None:
        rng = self.headers.get("Range")
        if not rng:
            self._send(200, headers, data, body)
            return
        start = int(re.match(r"bytes=(\d+)-", rng).group(1))
        if start >= len(data):
            self._send(416, {**headers, "Content-Range": f"bytes */{len(data)}"}, b"", body)
            return
        headers = {**headers, "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        self._send(206, headers, data[start:], body)

    def _serve(self, body: bool) -> None:
        hub: FakeHub = self.server.hub  # type: ignore[attr-defined]
        hub.requests.append(
            (self.command, self.path, self.headers.get("Range"), self.headers.get("Authorization"))
        )
        if self.path.startswith("/files/"):
            data = hub.plain.get(self.path[len("/files/") :])
            if data is None:
                self._send(404, {}, b"not found", body)
                return
            self._ranged(data, {}, body)
            return
        m = re.match(r"^/cdn/([^/]+)/(.+)$", self.path)
        if m:
            repo_key, path = m.group(1).replace("--", "/"), m.group(2)
            data = hub.repos[repo_key].files[path]
            if path in hub.corrupt:
                data = bytes(b ^ 0xFF for b in data)
            self._ranged(data, {}, body)
            return
        m = re.match(r"^/(?:api/)?(?:models/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", self.path)
        if not m or m.group(1) not in hub.repos:
            self._send(401, {"X-Error-Code": "RepoNotFound"}, b"", body)
            return
        repo_id, path = m.group(1), m.group(3)
        repo = hub.repos[repo_id]
        base = {"X-Repo-Commit": COMMIT}
        if repo.gated_token is not None:
            auth = self.headers.get("Authorization")
            if auth != f"Bearer {repo.gated_token}":
                status = 401 if auth is None else 403
                headers = {
                    **base,
                    "X-Error-Code": "GatedRepo",
                    "X-Error-Message": "Access to model is restricted",
                }
                self._send(status, headers, b"gated", body)
                return
        if path not in repo.files:
            self._send(404, {**base, "X-Error-Code": "EntryNotFound"}, b"", body)
            return
        data = repo.files[path]
        if path in repo.lfs:
            sha = hashlib.sha256(data).hexdigest()
            where = f"http://127.0.0.2:{hub.port}/cdn/{repo_id.replace('/', '--')}/{path}"
            headers = {
                **base,
                "Location": where,
                "X-Linked-Etag": f'"{sha}"',
                "X-Linked-Size": str(len(data)),
            }
            headers["ETag"] = f'"{sha}"'
            self._send(302, headers, b"", body)
            return
        if path in hub.corrupt:
            data = bytes(b ^ 0xFF for b in data)
        self._ranged(data, {**base, "ETag": f'"{git_blob_id(repo.files[path])}"'}, body)
