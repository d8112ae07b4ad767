"""Model registry (resources/models.toml) and the one weight cache folder.

`ensure(name)` returns the local path of a model, downloading missing files first (progress, HTTP range
resume of `.part` files, sha256 check, atomic rename). Offline (`AVS_STUDIO_OFFLINE=1`) or without a
network it raises `ModelMissingError`, naming the files, the cache folder and the command that fetches them.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import threading
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from avs_studio.atomic import write_text

CACHE_ENV = "AVS_STUDIO_CACHE"
OFFLINE_ENV = "AVS_STUDIO_OFFLINE"
REGISTRY_ENV = "AVS_STUDIO_MODELS"  # optional path to another models.toml
MANIFEST = ".avs-manifest.json"
CHUNK = 1 << 20
TIMEOUT_S = 30.0

Progress = Callable[[int, int], None]


class ModelError(Exception):
    """Base of the weight-cache errors."""


class UnknownModelError(ModelError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class ModelMissingError(ModelError):
    """Weights are not in the cache and cannot be fetched now (offline, no network, server error)."""

    def __init__(self, model: str, files: list[str], cache_dir: Path, reason: str = ""):
        self.model = model
        self.files = list(files)
        self.cache_dir = Path(cache_dir)
        self.reason = reason
        self.command = f"avs-studio models download {model}"
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"model {model!r} is not downloaded{why}. Missing in {self.cache_dir}: "
            f"{', '.join(self.files)}. Fetch it with: {self.command}"
        )


class ChecksumError(ModelError):
    """A downloaded file does not match its registered sha256; the file was removed."""

    def __init__(self, model: str, file: str, expected: str, actual: str):
        self.model, self.file, self.expected, self.actual = model, file, expected, actual
        super().__init__(
            f"model {model!r}: {file} has sha256 {actual}, expected {expected}; the download was removed. "
            f"Retry with: avs-studio models download {model}"
        )


class DownloadCancelled(ModelError):
    """The caller cancelled; partial `.part` files are kept and resumed next time."""


@dataclass(frozen=True)
class FileSpec:
    path: str
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    optional: bool = False
    name_hash: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str
    family: str
    source: str  # "hf" | "url"
    files: tuple[FileSpec, ...] = ()
    repo: str | None = None
    revision: str = "main"
    entry: str | None = None
    size_mb: float | None = None
    vram_mb: float | None = None
    license: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def file_url(self, f: FileSpec) -> str:
        if f.url:
            return f.url
        if self.source == "hf" and self.repo:
            from huggingface_hub import hf_hub_url

            return hf_hub_url(self.repo, f.path, revision=self.revision)
        raise ModelError(f"model {self.name!r}: file {f.path} has no url and the source is {self.source!r}")


# ---------------------------------------------------------------- registry


def registry_path() -> Path:
    """models.toml: $AVS_STUDIO_MODELS, else the bundled resources folder (avs_studio.resources, which honours
    $AVS_STUDIO_RESOURCES), else avs_studio/resources/ inside an installed package."""
    env = os.environ.get(REGISTRY_ENV)
    if env:
        return Path(env)
    from avs_studio.resources import resources_dir

    candidates = [
        resources_dir() / "models.toml",
        Path(__file__).resolve().parents[1] / "resources" / "models.toml",
    ]
    for c in candidates:
        if c.is_file():
            return c
    raise ModelError(f"model registry models.toml not found (looked in {', '.join(map(str, candidates))})")


def _spec(name: str, d: dict[str, Any]) -> ModelSpec:
    known = {"kind", "family", "source", "files", "repo", "revision", "entry", "size_mb", "vram_mb"}
    known |= {"license", "description"}
    files = tuple(
        FileSpec(
            path=f["path"],
            url=f.get("url"),
            sha256=(f.get("sha256") or None),
            size=(f.get("size") or None),
            optional=bool(f.get("optional", False)),
            name_hash=f.get("name_hash"),
        )
        for f in d.get("files", [])
    )
    return ModelSpec(
        name=name,
        kind=d["kind"],
        family=d["family"],
        source=d["source"],
        files=files,
        repo=d.get("repo"),
        revision=d.get("revision", "main"),
        entry=d.get("entry"),
        size_mb=d.get("size_mb"),
        vram_mb=d.get("vram_mb"),
        license=d.get("license", ""),
        description=d.get("description", ""),
        extra={k: v for k, v in d.items() if k not in known},
    )


def load_registry(path: str | Path | None = None) -> dict[str, ModelSpec]:
    p = Path(path) if path else registry_path()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"cannot read the model registry {p}: {exc}") from exc
    return {name: _spec(name, d) for name, d in data.get("models", {}).items()}


def get_spec(model: str | ModelSpec) -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model
    reg = load_registry()
    if model not in reg:
        raise UnknownModelError(f"unknown model {model!r}; known: {', '.join(sorted(reg))}")
    return reg[model]


# ---------------------------------------------------------------- cache


def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    root = Path(env) if env else Path(platformdirs.user_cache_dir("avs-studio")) / "models"
    return root


def model_dir(model: str | ModelSpec) -> Path:
    return cache_dir() / get_spec(model).name


def _target(spec: ModelSpec, folder: Path) -> Path:
    return folder / spec.entry if spec.entry else folder


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_manifest(folder: Path, data: dict[str, Any]) -> None:
    write_text(folder / MANIFEST, json.dumps(data, indent=1, sort_keys=True))


def missing_files(model: str | ModelSpec) -> list[str]:
    """Files of a model not (completely) in the cache."""
    spec = get_spec(model)
    folder = model_dir(spec)
    done = read_manifest(folder).get("files", {})
    out = []
    for f in spec.files:
        p = folder / f.path
        if f.optional and done.get(f.path, {}).get("absent"):
            continue
        if not p.is_file() or (f.size is not None and p.stat().st_size != f.size):
            out.append(f.path)
    return out


def is_cached(model: str | ModelSpec) -> bool:
    return not missing_files(model)


def cache_state(model: str | ModelSpec) -> str:
    """ "yes", "unverified" (no registered checksum for some file), "partial" or "no"."""
    spec = get_spec(model)
    missing = missing_files(spec)
    if not missing:
        if any(not f.sha256 for f in spec.files):
            return "unverified"
        return "yes"
    return "partial" if len(missing) < max(1, len(spec.files)) else "no"


def offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def file_sha256(path: Path) -> str:
    return _hashes(path)[0]


def _hashes(path: Path, md5: bool = False) -> tuple[str, str]:
    h, m = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
            if md5:
                m.update(block)
    return h.hexdigest(), (m.hexdigest() if md5 else "")


def _cancelled(cancel: Any) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


class _Counter:
    def __init__(self, total: int, progress: Progress | None):
        self.done, self.total, self.progress = 0, total, progress

    def add(self, n: int) -> None:
        self.done += n
        if self.progress:
            self.progress(self.done, max(self.total, self.done))


def _fetch(url: str, part: Path, counter: _Counter, known_size: int | None, cancel: Any) -> str | None:
    """Download url into part, resuming from its current length with an HTTP Range request.
    Returns the HuggingFace commit the file came from (X-Repo-Commit header), if the server says."""
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "avs-studio"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
        status = getattr(resp, "status", 200)
        length = resp.headers.get("Content-Length")
        if have and status == 206:
            mode = "ab"
            counter.add(have)
        else:  # server ignored the range: start over
            have, mode = 0, "wb"
        if known_size is None and length is not None:
            counter.total += have + int(length)
        got = 0
        with open(part, mode) as out:
            while True:
                if _cancelled(cancel):
                    raise DownloadCancelled(f"download cancelled; {part.name} kept for resuming")
                block = resp.read(CHUNK)
                if not block:
                    break
                out.write(block)
                got += len(block)
                counter.add(len(block))
        if length is not None and got < int(length):  # urllib returns short reads silently
            raise http.client.IncompleteRead(b"", int(length) - got)
        return resp.headers.get("X-Repo-Commit")


def ensure(
    model: str | ModelSpec,
    progress: Progress | None = None,
    cancel: Any = None,
) -> Path:
    """Local path of `model` (its folder, or its entry file), downloading missing files first.

    progress(bytes_done, bytes_total) is called while downloading; cancel is a callable or an Event.
    Raises ModelMissingError (offline / no network / HTTP error), ChecksumError, DownloadCancelled.
    """
    spec = get_spec(model)
    folder = model_dir(spec)
    missing = missing_files(spec)
    if not missing:
        return _target(spec, folder)
    if offline():
        raise ModelMissingError(spec.name, missing, folder, f"{OFFLINE_ENV} is set")
    folder.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(folder)
    manifest.setdefault("files", {})
    manifest["source"] = spec.repo or spec.source
    manifest["revision"] = spec.revision
    todo = [f for f in spec.files if f.path in missing]
    counter = _Counter(sum(f.size or 0 for f in todo), progress)
    for f in todo:
        dest = folder / f.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        try:
            commit = _fetch(spec.file_url(f), part, counter, f.size, cancel)
            if commit:
                manifest["commit"] = commit
        except urllib.error.HTTPError as exc:
            if f.optional and exc.code == 404:
                manifest["files"][f.path] = {"absent": True}
                continue
            raise ModelMissingError(spec.name, missing, folder, f"HTTP {exc.code} for {f.path}") from exc
        except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ModelMissingError(spec.name, missing, folder, f"no network: {reason}") from exc
        except http.client.HTTPException as exc:  # connection cut mid-file: the .part is resumed next time
            raise ModelMissingError(
                spec.name, missing, folder, f"download of {f.path} interrupted ({exc!r})"
            ) from exc
        digest = file_sha256(part)
        if f.sha256 and digest != f.sha256.lower():
            part.unlink(missing_ok=True)
            raise ChecksumError(spec.name, f.path, f.sha256, digest)
        if f.size is not None and part.stat().st_size != f.size:
            size = part.stat().st_size
            part.unlink(missing_ok=True)
            raise ChecksumError(spec.name, f.path, f"{f.size} bytes", f"{size} bytes")
        os.replace(part, dest)
        manifest["files"][f.path] = {
            "sha256": digest,
            "size": dest.stat().st_size,
            "verified": bool(f.sha256),
        }
        _write_manifest(folder, manifest)
    _write_manifest(folder, manifest)
    return _target(spec, folder)


def local_path(model: str | ModelSpec | None = None, path: str | Path | None = None) -> Path:
    """What a factory loads: an explicit local `path` (a folder or file a user has), else `ensure(model)`."""
    if path:
        p = Path(path).expanduser()
        if not p.exists():
            raise ModelError(f"model path {p} does not exist")
        return p
    if model is None:
        raise ModelError("give either a registered model name (model=...) or a local path (path=...)")
    return ensure(model)


def load_pretrained(what: str, path: str | Path, device: Any, model_cls: Any, processor_cls: Any) -> tuple:
    """(model, processor) of a local HF-format folder: processor_cls and model_cls `.from_pretrained(path)`,
    the model moved to device in eval mode. A missing or foreign folder raises ModelError naming `what` and
    the path."""
    from avs_studio.openavs.devices import resolve_device

    path = Path(path)
    try:
        processor = processor_cls.from_pretrained(path)
        model = model_cls.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load {what} from {path}: {exc}") from exc
    return model.to(resolve_device(device)).eval(), processor


_LOADED: dict[tuple[str, str], Any] = {}
_LOADED_LOCK = threading.Lock()


def shared_model(kind: str, path: Path, device: Any, make: Callable[[], Any]) -> Any:
    """One loaded model (or engine) per (family, weights path, device) per process, so stages that use the
    same weights share them (e.g. the SAM text and point segmenters share one embedding cache)."""
    key = (f"{kind}:{Path(path).resolve()}", str(device))
    with _LOADED_LOCK:
        if key not in _LOADED:
            _LOADED[key] = make()
        return _LOADED[key]


def forget_loaded() -> None:
    """Drop the loaded models (tests; freeing memory)."""
    with _LOADED_LOCK:
        _LOADED.clear()


@dataclass
class FileCheck:
    path: str
    status: str  # "ok" | "mismatch" | "missing" | "unverified" | "absent"
    sha256: str | None = None
    size: int | None = None
    note: str = ""


def verify(model: str | ModelSpec) -> list[FileCheck]:
    """Re-hash a model's cached files against the registry."""
    spec = get_spec(model)
    folder = model_dir(spec)
    manifest = read_manifest(folder).get("files", {})
    out = []
    for f in spec.files:
        p = folder / f.path
        if not p.is_file():
            status = "absent" if f.optional and manifest.get(f.path, {}).get("absent") else "missing"
            out.append(FileCheck(f.path, status))
            continue
        (digest, md5), size = _hashes(p, md5=bool(f.name_hash)), p.stat().st_size
        note = ""
        if f.name_hash:
            which = [n for n, h in (("sha256", digest), ("md5", md5)) if h.startswith(f.name_hash.lower())]
            note = f"name hash {f.name_hash} " + (
                f"matches its {which[0]}" if which else "matches neither md5 nor sha256"
            )
        if f.sha256:
            status = "ok" if digest == f.sha256.lower() and (f.size is None or size == f.size) else "mismatch"
        else:
            status = "unverified"
        out.append(FileCheck(f.path, status, digest, size, note))
    return out
