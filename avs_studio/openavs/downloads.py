"""One file of a model into a `.part` file, through huggingface_hub.

Hub files: ``get_hf_file_metadata`` (redirects, the commit, the LFS sha256 / git blob id, the size, tokens
and the gated / not-found errors) and ``http_get`` (retries, HTTP Range resume, the size consistency check).
Other files (Whisper, SAM, torchvision checkpoints) take the same ``http_get`` on their published URL.

The `.part` file is ours and outlives a cancel, a crash or a restart: the next call resumes from its length
(huggingface_hub >= 1.0 resumes only within one call). A `.part` that is already complete is not asked for
again (the server would answer HTTP 416). Errors come back as the exceptions of ``weights``.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tqdm import tqdm

CHUNK = 1 << 20
TIMEOUT_S = 30.0
HUB_PAGE = "https://huggingface.co"
SHA256_RE = re.compile(r"[0-9a-f]{64}")
GIT_SHA1_RE = re.compile(r"[0-9a-f]{40}")


class TransferError(Exception):
    """A file could not be fetched; ``kind`` says why (network, http, gated, interrupted, hash)."""

    def __init__(self, kind: str, message: str, status: int | None = None):
        super().__init__(message)
        self.kind, self.status = kind, status


class Cancelled(Exception):
    pass


@dataclass
class Fetched:
    commit: str | None = None  # the Hub commit the file came from
    etag: str | None = None  # the Hub's LFS sha256 or git blob id
    url: str = ""


def endpoint() -> str:
    """HF_ENDPOINT as it is now (huggingface_hub reads it once, at import)."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def hub_url(repo: str, path: str, revision: str) -> str:
    from huggingface_hub import hf_hub_url

    return hf_hub_url(repo, path, revision=revision, endpoint=endpoint())


def git_blob_sha1(path: Path) -> str:
    """The git blob id of a file: what the Hub reports as the ETag of a file not stored in LFS."""
    h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def hub_check(path: Path, etag: str | None, sha256: str) -> str | None:
    """None when ``path`` matches the Hub's own hash of it (LFS sha256 or git blob id), else the problem."""
    tag = (etag or "").lower()
    if SHA256_RE.fullmatch(tag) and tag != sha256:
        return f"sha256 {sha256}, but the Hub's LFS hash is {tag}"
    if GIT_SHA1_RE.fullmatch(tag) and git_blob_sha1(path) != tag:
        return f"its git blob id is not the Hub's {tag}"
    return None


class _Sink:
    """The file http_get writes into: reports its length for progress and stops on cancel."""

    def __init__(self, fh: Any, progress: Callable[[int], None], cancel: Callable[[], bool]):
        self.fh, self.progress, self.cancel = fh, progress, cancel

    def write(self, data: bytes) -> int:
        if self.cancel():
            raise Cancelled()
        n = self.fh.write(data)
        self.progress(self.fh.tell())
        return n

    def __getattr__(self, name: str) -> Any:  # tell, seek, truncate, flush
        return getattr(self.fh, name)


class _Silent(tqdm):
    """No terminal bar when the caller shows progress itself (the GUI)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("name", None)
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)


def _transport_errors() -> tuple[type[BaseException], ...]:
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    found: list[type[BaseException]] = [ConnectionError, TimeoutError, OfflineModeIsEnabled]
    found.append(LocalEntryNotFoundError)
    for name in ("httpx2", "httpx"):  # huggingface_hub 2.x / 1.x
        try:
            found.append(importlib.import_module(name).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _header(exc: BaseException, name: str) -> str:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    return str(headers.get(name, "") or "")


PROGRESS_CHUNK = 1 << 20  # huggingface_hub reads 10 MB chunks: progress and cancel would be that coarse


def _http_get(url: str, part: Path, headers: dict[str, str], size: int | None, have: int, *, progress,
              cancel, quiet) -> None:  # fmt: skip
    from huggingface_hub import constants
    from huggingface_hub.file_download import http_get

    constants.DOWNLOAD_CHUNK_SIZE = min(constants.DOWNLOAD_CHUNK_SIZE, PROGRESS_CHUNK)
    extra = (
        {"tqdm_class": _Silent} if quiet and "tqdm_class" in inspect.signature(http_get).parameters else {}
    )
    progress(have)
    with open(part, "ab") as fh:
        fh.seek(0, os.SEEK_END)
        http_get(url, _Sink(fh, progress, cancel), resume_size=have, headers=headers, expected_size=size,
                 displayed_filename=part.name.removesuffix(".part"), **extra)  # fmt: skip


def _get(url: str, part: Path, headers: dict[str, str], size: int | None, **kw: Any) -> None:
    """http_get into part, resuming from its length; a part the server calls complete (HTTP 416) is kept."""
    from huggingface_hub.errors import HfHubHTTPError

    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:  # not a prefix of this file
        part.unlink()
        have = 0
    try:
        _http_get(url, part, headers, size, have, **kw)
    except HfHubHTTPError as exc:
        if _status(exc) != 416 or not have:
            raise
        total = _header(exc, "Content-Range").rpartition("/")[2]
        if total.isdigit() and int(total) == have:
            return  # the .part already holds the whole file
        part.unlink()  # a part the server does not recognise: fetch the file whole
        _http_get(url, part, headers, size, 0, **kw)


def fetch(
    *,
    repo: str | None,
    revision: str,
    path: str,
    url: str | None,
    part: Path,
    size: int | None,
    sha256: str | None,
    progress: Callable[[int], None],
    sized: Callable[[int], None],
    cancel: Callable[[], bool],
    quiet: bool,
) -> Fetched:
    """Download one file (a Hub repo file when ``url`` is None) into ``part``. Raises TransferError, Cancelled.
    A Hub file whose LFS hash is not the registered ``sha256`` is refused before any byte is fetched."""
    from huggingface_hub import get_hf_file_metadata
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
    )
    from huggingface_hub.utils import build_hf_headers

    where = f"{repo}/{path}" if repo and not url else path
    try:
        if url:
            _get(url, part, {"User-Agent": "avs-studio"}, size, progress=progress, cancel=cancel, quiet=quiet)
            return Fetched(url=url)
        assert repo, "a Hub file needs a repo"
        resolve = hub_url(repo, path, revision)
        meta = get_hf_file_metadata(resolve, timeout=TIMEOUT_S, endpoint=endpoint())
        etag = (meta.etag or "").strip('"').lower() or None
        if sha256 and etag and SHA256_RE.fullmatch(etag) and etag != sha256:
            raise TransferError(
                "hash", f"the Hub's {path} at {revision} has sha256 {etag}, not the registered {sha256}"
            )
        if meta.size is not None:
            sized(meta.size)
        headers = build_hf_headers()  # HF_TOKEN / the stored login, if any
        target = resolve if getattr(meta, "xet_file_data", None) else (meta.location or resolve)
        if urlsplit(target).netloc != urlsplit(resolve).netloc:
            headers.pop("authorization", None)  # a CDN's signed URL: never send the token elsewhere
        _get(target, part, headers, meta.size if meta.size is not None else size,
             progress=progress, cancel=cancel, quiet=quiet)  # fmt: skip
        return Fetched(commit=meta.commit_hash, etag=etag, url=resolve)
    except (Cancelled, TransferError):
        raise
    except GatedRepoError as exc:
        raise TransferError("gated", str(exc), _status(exc)) from exc
    except (EntryNotFoundError, RepositoryNotFoundError, HfHubHTTPError) as exc:
        status = _status(exc)
        if status in (401, 403):
            raise TransferError("gated", str(exc), status) from exc
        kind = "missing" if status == 404 or isinstance(exc, EntryNotFoundError) else "http"
        raise TransferError(kind, f"HTTP {status} for {where}", status) from exc
    except _transport_errors() as exc:
        if part.exists() and part.stat().st_size:
            raise TransferError("interrupted", f"download of {path} interrupted ({exc})") from exc
        raise TransferError("network", f"no network: {exc}") from exc
    except OSError as exc:  # http_get's size consistency check (a cut connection), disk errors
        if "Consistency check failed" in str(exc):
            raise TransferError("interrupted", f"download of {path} interrupted (short read)") from exc
        raise


PROBE_TIMEOUT_S = 1.5


def hosts_of(specs: Any) -> list[tuple[str, int]]:
    """(host, port) each spec downloads from: its files' URLs, or the Hub endpoint."""
    from urllib.parse import urlsplit

    out: dict[tuple[str, int], None] = {}
    for spec in specs:
        urls = [f.url for f in spec.files if f.url] if spec.source == "url" else [endpoint()]
        for url in urls:
            parts = urlsplit(url)
            if parts.hostname:
                out[(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))] = None
    return list(out)


def unreachable(specs: Any, timeout: float = PROBE_TIMEOUT_S) -> str:
    """Why a download of ``specs`` cannot work now ("" when every host they come from answers): a
    TCP connection to each host, so a dialog never offers a download without a network."""
    import socket

    for host, port in hosts_of(specs):
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as exc:
            return f"{host} cannot be reached: {exc.strerror or exc}"
    return ""
