"""Model registry and weight cache: downloads served by a local HTTP server (Range support, a cut
connection, 404), checksums, cancel, offline errors and the `models` command."""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
from pathlib import Path

import pytest

from avs_studio.openavs import weights
from avs_studio.openavs.weights import ChecksumError, DownloadCancelled, ModelMissingError


class FileServer(http.server.ThreadingHTTPServer):
    """Serves self.files (path -> bytes) with HTTP Range; can cut the next response after N bytes."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.cut_after: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        srv: FileServer = self.server  # type: ignore[assignment]
        rng = self.headers.get("Range")
        srv.requests.append((self.path, rng))
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = int(re.match(r"bytes=(\d+)-", rng).group(1)) if rng else 0
        body = data[start:]
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.cut_after is not None:
            body, srv.cut_after = body[: srv.cut_after], None
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = FileServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AVS_STUDIO_OFFLINE", raising=False)
    return tmp_path / "cache"


def payload(n: int, seed: int = 0) -> bytes:
    return bytes((i * 7 + seed) % 251 for i in range(n))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_registry(tmp_path, monkeypatch, body: str) -> Path:
    p = tmp_path / "models.toml"
    p.write_text(body, encoding="utf-8")
    monkeypatch.setenv("AVS_STUDIO_MODELS", str(p))
    return p


def toy_registry(tmp_path, monkeypatch, server, a: bytes, b: bytes, sha_a=None, sha_b=None, extra="") -> None:
    sa = f'"{sha_a if sha_a is not None else sha(a)}"'
    sb = f'"{sha_b if sha_b is not None else sha(b)}"'
    server.files = {"/m/a.bin": a, "/m/sub/b.bin": b}
    write_registry(
        tmp_path,
        monkeypatch,
        f"""
[models.toy]
kind = "describer"
family = "ast"
source = "url"
entry = "a.bin"
size_mb = 1
vram_mb = 10
license = "MIT"
description = "toy"
files = [
  {{ path = "a.bin", url = "{server.url}/m/a.bin", sha256 = {sa}, size = {len(a)} }},
  {{ path = "sub/b.bin", url = "{server.url}/m/sub/b.bin", sha256 = {sb} }},
  {extra}
]
""",
    )


def test_download_progress_checksums_and_cache_hit(tmp_path, monkeypatch, server, cache):
    a, b = payload(300_000), payload(5_000, 3)
    toy_registry(tmp_path, monkeypatch, server, a, b)
    calls = []
    path = weights.ensure("toy", progress=lambda done, total: calls.append((done, total)))
    assert path == cache / "toy" / "a.bin"
    assert path.read_bytes() == a and (cache / "toy" / "sub" / "b.bin").read_bytes() == b
    assert calls and calls[-1] == (len(a) + len(b), len(a) + len(b))
    assert all(d1 <= d2 for (d1, _), (d2, _) in zip(calls, calls[1:]))
    manifest = weights.read_manifest(cache / "toy")
    assert manifest["files"]["a.bin"] == {"sha256": sha(a), "size": len(a), "verified": True}
    assert weights.cache_state("toy") == "yes"
    assert not list((cache / "toy").rglob("*.part"))
    n = len(server.requests)
    assert weights.ensure("toy") == path
    assert len(server.requests) == n  # cached: no request


def test_resume_after_interrupted_download(tmp_path, monkeypatch, server, cache):
    a, b = payload(200_000), payload(1_000, 5)
    toy_registry(tmp_path, monkeypatch, server, a, b)
    server.cut_after = 70_000
    with pytest.raises(ModelMissingError, match="interrupted"):
        weights.ensure("toy")
    part = cache / "toy" / "a.bin.part"
    assert part.stat().st_size == 70_000
    calls = []
    weights.ensure("toy", progress=lambda d, t: calls.append(d))
    assert (cache / "toy" / "a.bin").read_bytes() == a
    assert ("/m/a.bin", "bytes=70000-") in server.requests
    assert calls[0] >= 70_000  # the kept bytes count as done


def test_checksum_mismatch_removes_file(tmp_path, monkeypatch, server, cache):
    a, b = payload(10_000), payload(100)
    toy_registry(tmp_path, monkeypatch, server, a, b, sha_b="0" * 64)
    with pytest.raises(ChecksumError) as err:
        weights.ensure("toy")
    msg = str(err.value)
    assert (
        "sub/b.bin" in msg and "0" * 64 in msg and sha(b) in msg and "avs-studio models download toy" in msg
    )
    assert not (cache / "toy" / "sub" / "b.bin").exists()
    assert not (cache / "toy" / "sub" / "b.bin.part").exists()
    assert (cache / "toy" / "a.bin").read_bytes() == a  # the good file is kept
    assert weights.missing_files("toy") == ["sub/b.bin"]


def test_cancel_keeps_part_and_resumes(tmp_path, monkeypatch, server, cache):
    monkeypatch.setattr(weights, "CHUNK", 4096)
    a, b = payload(100_000), payload(10)
    toy_registry(tmp_path, monkeypatch, server, a, b)
    event = threading.Event()
    with pytest.raises(DownloadCancelled):
        weights.ensure("toy", progress=lambda d, t: event.set() if d >= 20_000 else None, cancel=event)
    kept = (cache / "toy" / "a.bin.part").stat().st_size
    assert 20_000 <= kept < len(a)
    assert weights.ensure("toy", cancel=lambda: False).read_bytes() == a
    assert any(r == f"bytes={kept}-" for _, r in server.requests)


def test_offline_error_names_files_cache_and_command(tmp_path, monkeypatch, server, cache):
    toy_registry(tmp_path, monkeypatch, server, payload(10), payload(10))
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    with pytest.raises(ModelMissingError) as err:
        weights.ensure("toy")
    e = err.value
    assert e.model == "toy" and e.files == ["a.bin", "sub/b.bin"]
    assert e.command == "avs-studio models download toy"
    msg = str(e)
    assert "a.bin" in msg and "sub/b.bin" in msg and str(cache / "toy") in msg
    assert "avs-studio models download toy" in msg and "AVS_STUDIO_OFFLINE" in msg
    assert server.requests == []


def test_no_network_is_model_missing(tmp_path, monkeypatch, cache):
    srv = FileServer()  # bound, then closed: nothing listens on its port
    url = srv.url
    srv.server_close()
    write_registry(
        tmp_path,
        monkeypatch,
        f'[models.toy]\nkind = "describer"\nfamily = "ast"\nsource = "url"\n'
        f'files = [{{ path = "x.bin", url = "{url}/x.bin" }}]\n',
    )
    with pytest.raises(ModelMissingError, match="no network") as err:
        weights.ensure("toy")
    assert err.value.files == ["x.bin"]


def test_optional_404_and_unverified_file(tmp_path, monkeypatch, server, cache):
    a, b = payload(1000), payload(50)
    toy_registry(
        tmp_path,
        monkeypatch,
        server,
        a,
        b,
        sha_b="",
        extra=f'{{ path = "extra.json", url = "{server.url}/m/extra.json", optional = true }},',
    )
    weights.ensure("toy")
    manifest = weights.read_manifest(cache / "toy")["files"]
    assert manifest["extra.json"] == {"absent": True}
    assert manifest["sub/b.bin"]["verified"] is False and manifest["sub/b.bin"]["sha256"] == sha(b)
    assert weights.missing_files("toy") == []
    assert weights.cache_state("toy") == "unverified"
    checks = {c.path: c.status for c in weights.verify("toy")}
    assert checks == {"a.bin": "ok", "sub/b.bin": "unverified", "extra.json": "absent"}


def test_http_404_of_required_file(tmp_path, monkeypatch, server, cache):
    toy_registry(tmp_path, monkeypatch, server, payload(10), payload(10))
    server.files.pop("/m/sub/b.bin")
    with pytest.raises(ModelMissingError, match="HTTP 404 for sub/b.bin"):
        weights.ensure("toy")


def test_local_path_prefers_explicit_path(tmp_path, monkeypatch, cache):
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    f = tmp_path / "w.pt"
    f.write_bytes(b"x")
    assert weights.local_path("whisper-tiny", str(f)) == f
    with pytest.raises(weights.ModelError, match="does not exist"):
        weights.local_path(None, str(tmp_path / "nope"))
    with pytest.raises(ModelMissingError, match="avs-studio models download whisper-tiny"):
        weights.local_path("whisper-tiny", None)


def test_shipped_registry_is_consistent(monkeypatch):
    monkeypatch.delenv("AVS_STUDIO_MODELS", raising=False)
    reg = weights.load_registry()
    expected = {
        "grounding-dino-tiny",
        "grounding-dino-base",
        "sam-vit-b",
        "sam-vit-l",
        "sam-vit-h",
        "sam2.1-hiera-tiny",
        "sam2.1-hiera-large",
        "ast-audioset",
        "clap-htsat",
        "whisper-tiny",
        "whisper-base",
        "whisper-small",
        "all-minilm-l6-v2",
    }
    assert expected <= set(reg)
    for spec in reg.values():
        assert spec.kind and spec.family and spec.license and spec.files and spec.size_mb and spec.vram_mb
        assert spec.source in ("hf", "url")
        for f in spec.files:
            assert f.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", f.sha256), (spec.name, f.path)
            assert spec.file_url(f).startswith("https://")
        if spec.entry:
            assert spec.entry in [f.path for f in spec.files]
    for size in ("tiny", "base", "small"):  # openai-whisper URLs carry the file's sha256
        f = reg[f"whisper-{size}"].files[0]
        assert f.url.split("/")[-2] == f.sha256
    for name in ("sam-vit-b", "sam-vit-l", "sam-vit-h"):
        f = reg[name].files[0]
        assert f.sha256 is None and f.name_hash and f.name_hash in f.path
    hf = reg["grounding-dino-tiny"]
    assert hf.file_url(hf.files[0]) == (
        "https://huggingface.co/IDEA-Research/grounding-dino-tiny/resolve/main/config.json"
    )


def test_models_command(tmp_path, monkeypatch, server, cache, capsys):
    from avs_studio.cli import main

    a, b = payload(3000), payload(30)
    toy_registry(tmp_path, monkeypatch, server, a, b)
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^toy\s+describer\s+1 MB\s+10 MB\s+MIT\s+no$", out, re.M)
    assert main(["models", "download", "toy"]) == 0
    assert "downloaded toy" in capsys.readouterr().out
    assert main(["models", "list"]) == 0
    assert re.search(r"^toy .* yes$", capsys.readouterr().out, re.M)
    assert main(["models", "verify", "toy", "--record"]) == 0
    out = capsys.readouterr().out
    assert f'{{ path = "a.bin", sha256 = "{sha(a)}", size = 3000 }},' in out
    (cache / "toy" / "a.bin").write_bytes(b"corrupt" + a[7:])  # same size, other bytes
    assert main(["models", "verify"]) == 1
    assert re.search(r"mismatch\s+a.bin", capsys.readouterr().out)
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    (cache / "toy" / "a.bin").unlink()
    assert main(["models", "download", "toy"]) == 1
    err = capsys.readouterr().err
    assert "a.bin" in err and "avs-studio models download toy" in err
