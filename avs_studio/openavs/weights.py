"""Model registry (avs_studio/resources/models.toml) and the one weight cache folder.

``ensure(name)`` returns the local path of a model, downloading missing files first through huggingface_hub
(openavs/downloads.py: resume of `.part` files, the Hub's own hash checks, tokens for gated repos) and checking
each file against its registered sha256. A file with no registered sha256 is refused unless the caller allows
unverified files. Cached files are re-checked cheaply (size + mtime stamp in the manifest); ``verify`` re-hashes
them. The manifest records where each file came from (repo, commit, URL): ``provenance(name)``.

Offline (``AVS_STUDIO_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) or without a network, a missing model raises
ModelMissingError naming the files, sizes, the cache folder, where to get them and ``avs-studio models import``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from avs_studio.atomic import write_text
from avs_studio.openavs.model_registry import (  # noqa: F401  (re-exported: weights is the public face)
    REGISTRY_ENV,
    FileSpec,
    ModelError,
    ModelSpec,
    UnknownModelError,
    config_models,
    get_spec,
    human_size,
    load_registry,
    registry_path,
)
from avs_studio.progress import Progress

CACHE_ENV = "AVS_STUDIO_CACHE"
OFFLINE_ENV = "AVS_STUDIO_OFFLINE"
HUB_OFFLINE_ENV = "HF_HUB_OFFLINE"
MANIFEST = ".avs-manifest.json"
CHUNK = 1 << 20



class ModelMissingError(ModelError):
    """Weights are not in the cache and cannot be fetched now (offline, no network, server error)."""

    def __init__(self, model: str, files: list[str], cache_dir: Path, reason: str = "", spec: Any = None):
        self.model = model
        self.files = list(files)
        self.cache_dir = Path(cache_dir)
        self.reason = reason
        self.command = f"avs-studio models download {model}"
        why = f" ({reason})" if reason else ""
        where = f" Get the files from {spec.page}, then bring them in with: {IMPORT_HINT}." if spec else ""
        super().__init__(
            f"model {model!r} is not downloaded{why}. Missing in {self.cache_dir}: "
            f"{', '.join(self.files)}. Fetch it with: {self.command}.{where}"
        )


class GatedModelError(ModelMissingError):
    """The Hub refused the download (HTTP 401/403): a gated or private repo and no accepted token."""

    def __init__(self, spec: ModelSpec, files: list[str], cache_dir: Path, status: int | None):
        from avs_studio.openavs import downloads

        super().__init__(spec.name, files, cache_dir, f"HTTP {status}: access refused", spec)
        has_token = _hf_token() is not None
        token = (
            "the token in HF_TOKEN (or your `hf auth login`) has no access to it yet"
            if has_token
            else "no Hugging Face token is set"
        )
        self.args = (
            f"model {spec.name!r}: the Hub refused access to {spec.repo} (HTTP {status}); the repo is gated "
            f"or private and {token}. Accept its licence while logged in at {downloads.HUB_PAGE}/{spec.repo}, "
            f"set HF_TOKEN to a token of that account (or run `hf auth login`), then retry: {self.command}",
        )


class UnverifiedModelError(ModelError):
    """Files without a registered sha256 are refused unless unverified downloads are allowed."""

    def __init__(self, model: str, files: list[str], command: str = ""):
        self.model, self.files = model, list(files)
        self.command = command or f"avs-studio models download {model} --allow-unverified"
        super().__init__(
            f"model {model!r}: the registry has no sha256 for {', '.join(self.files)}, so they are refused. "
            f"To take them anyway (their hashes are recorded in the cache manifest): {self.command}"
        )


class ChecksumError(ModelError):
    """A downloaded file does not match its registered sha256; the file was removed."""

    def __init__(self, model: str, file: str, expected: str, actual: str, after: str = ""):
        self.model, self.file, self.expected, self.actual = model, file, expected, actual
        after = after or f"the download was removed. Retry with: avs-studio models download {model}"
        super().__init__(f"model {model!r}: {file} has {actual}, expected {expected}; {after}")


class DownloadCancelled(ModelError):
    """The caller cancelled; partial `.part` files are kept and resumed next time."""


IMPORT_HINT = "avs-studio models import PATH"


# ---------------------------------------------------------------- cache and manifest


def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path(platformdirs.user_cache_dir("avs-studio")) / "models"


def model_dir(model: str | ModelSpec) -> Path:
    return cache_dir() / get_spec(model).name


def _target(spec: ModelSpec, folder: Path) -> Path:
    return folder / spec.entry if spec.entry else folder


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_manifest(folder: Path, data: dict[str, Any]) -> None:
    write_text(folder / MANIFEST, json.dumps(data, indent=1, sort_keys=True))


def _hashes(path: Path, md5: bool = False) -> tuple[str, str]:
    h, m = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
            if md5:
                m.update(block)
    return h.hexdigest(), (m.hexdigest() if md5 else "")


def file_sha256(path: Path) -> str:
    return _hashes(path)[0]


def stamp(path: Path, digest: str, verified: bool, **more: Any) -> dict[str, Any]:
    st = path.stat()
    return {"sha256": digest, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "verified": verified, **more}


def _stamped(path: Path, entry: dict[str, Any], digest: str | None = None) -> bool:
    st = path.stat()
    same = entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns
    return same and (digest is None or entry.get("sha256") == digest)


def _state(f: FileSpec, folder: Path, entry: dict[str, Any], hashing: str) -> tuple[str, str | None]:
    """(state, sha256 if known) of one cached file. hashing: "never" | "unstamped" | "always".

    ok (matches the registry), unverified (no registered hash), missing, absent (optional, not published),
    corrupt (wrong size or hash), changed (stamp differs and hashing is "never": not known yet)."""
    p = folder / f.path
    if not p.is_file():
        return ("absent" if f.optional and entry.get("absent") else "missing"), None
    if f.size is not None and p.stat().st_size != f.size:
        return "corrupt", None
    if _stamped(p, entry) and entry.get("sha256") and hashing != "always":
        digest = str(entry["sha256"])
    elif hashing == "never":
        return "changed", None
    else:
        digest = file_sha256(p)
    if f.sha256:
        return ("ok" if digest == f.sha256 else "corrupt"), digest
    return "unverified", digest


def missing_files(model: str | ModelSpec) -> list[str]:
    """Files of a model not (completely) in the cache. Cheap: hashes nothing (ensure() re-checks)."""
    spec = get_spec(model)
    folder = model_dir(spec)
    done = read_manifest(folder).get("files", {})
    return [
        f.path
        for f in spec.files
        if _state(f, folder, done.get(f.path, {}), "never")[0] in ("missing", "corrupt")
    ]


def is_cached(model: str | ModelSpec) -> bool:
    return not missing_files(model)


def cache_state(model: str | ModelSpec) -> str:
    """ "yes", "unverified" (no registered checksum for some file), "partial" or "no"."""
    spec = get_spec(model)
    missing = missing_files(spec)
    if not missing:
        return "unverified" if spec.unverified_files() else "yes"
    return "partial" if len(missing) < max(1, len(spec.files)) else "no"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


def offline() -> bool:
    """AVS_STUDIO_OFFLINE or HF_HUB_OFFLINE, read now (huggingface_hub reads its own once, at import)."""
    return _flag(OFFLINE_ENV) or _flag(HUB_OFFLINE_ENV)


def offline_reason() -> str:
    return f"{OFFLINE_ENV if _flag(OFFLINE_ENV) else HUB_OFFLINE_ENV} is set"


def _hf_token() -> str | None:
    from huggingface_hub import get_token

    return get_token()


def _cancelled(cancel: Any) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


# ---------------------------------------------------------------- ensure


def _checked(spec: ModelSpec, folder: Path, manifest: dict[str, Any]) -> list[FileSpec]:
    """Re-check cached files (stamps; hash what is unstamped); returns the files to (re)download."""
    files = manifest.setdefault("files", {})
    todo, changed = [], False
    for f in spec.files:
        entry = files.get(f.path, {})
        state, digest = _state(f, folder, entry, "unstamped")
        if state in ("missing", "corrupt"):
            todo.append(f)
        elif digest and not _stamped(folder / f.path, entry, digest):
            files[f.path] = {**entry, **stamp(folder / f.path, digest, state == "ok")}
            changed = True
    if changed:
        write_manifest(folder, manifest)
    return todo


def ensure(
    model: str | ModelSpec,
    progress: Progress | None = None,
    cancel: Any = None,
    allow_unverified: bool = False,
) -> Path:
    """Local path of `model` (its folder, or its entry file), downloading missing files first.

    progress(bytes_done, bytes_total, file) is called while downloading (None: a terminal bar, quiet off a
    TTY);
    cancel is a callable or an Event. Raises ModelMissingError (offline / no network / HTTP error),
    GatedModelError, UnverifiedModelError, ChecksumError, DownloadCancelled.
    """
    spec = get_spec(model)
    folder = model_dir(spec)
    manifest = read_manifest(folder)
    todo = _checked(spec, folder, manifest) if folder.is_dir() else [f for f in spec.files]
    if not todo:
        return _target(spec, folder)
    names = [f.path for f in todo]
    if offline():
        raise ModelMissingError(spec.name, names, folder, offline_reason(), spec)
    unverified = [f.path for f in todo if not f.sha256]
    if unverified and not allow_unverified:
        raise UnverifiedModelError(spec.name, unverified)
    folder.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(str(folder / ".lock")):  # one downloader per model folder (GUI and CLI at once)
        manifest = read_manifest(folder)
        todo = [f for f in _checked(spec, folder, manifest) if f.path in names]
        manifest.update(
            {"model": spec.name, "source": spec.source, "repo": spec.repo, "revision": spec.revision}
        )
        _download(spec, folder, manifest, todo, progress, cancel)
    return _target(spec, folder)


def _download(spec: ModelSpec, folder: Path, manifest: dict[str, Any], todo: list[FileSpec],
              progress: Progress | None, cancel: Any) -> None:  # fmt: skip
    from avs_studio.openavs import downloads

    missing = [f.path for f in todo]
    sizes = {f.path: f.size for f in todo}  # the Hub tells the unknown ones as each file starts

    def total() -> int:
        known = sum(v for v in sizes.values() if v)
        guess = int(spec.size_mb * 1e6) if spec.size_mb and None in sizes.values() else 0
        return max(known, guess)

    done = 0
    for f in todo:
        dest = folder / f.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")

        def report(pos: int, base: int = done, path: str = f.path) -> None:
            if progress:
                progress(base + pos, max(total(), base + pos), path)

        def sized(n: int, path: str = f.path) -> None:
            sizes[path] = n

        url = None if spec.source == "hf" and not f.url else spec.file_url(f)
        try:
            got = downloads.fetch(
                repo=spec.repo, revision=spec.revision, path=f.path, url=url, part=part, size=f.size, sha256=f.sha256,
                progress=report, sized=sized, cancel=lambda: _cancelled(cancel), quiet=progress is not None,
            )  # fmt: skip
        except downloads.Cancelled:
            raise DownloadCancelled(
                f"download of {spec.name} cancelled; {part.name} kept for resuming"
            ) from None
        except downloads.TransferError as exc:
            if exc.kind == "missing" and f.optional:
                manifest["files"][f.path] = {"absent": True}
                write_manifest(folder, manifest)
                continue
            if exc.kind == "gated":
                raise GatedModelError(spec, missing, folder, exc.status) from exc
            if exc.kind == "hash":
                raise ChecksumError(spec.name, f.path, f"sha256 {f.sha256}", str(exc)) from exc
            raise ModelMissingError(spec.name, missing, folder, str(exc), spec) from exc
        digest = _accept(spec, f, part, got)
        os.replace(part, dest)
        entry = stamp(dest, digest, bool(f.sha256), url=got.url)
        if got.commit:
            entry["commit"] = manifest["commit"] = got.commit
        entry["downloaded"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        manifest["files"][f.path] = entry
        write_manifest(folder, manifest)
        missing.remove(f.path)
        done += dest.stat().st_size
        sizes[f.path] = dest.stat().st_size
    if progress and done:
        progress(done, done, "")


def _accept(spec: ModelSpec, f: FileSpec, part: Path, got: Any) -> str:
    """Check a finished .part against the registry and the Hub; a bad one is removed (ChecksumError).
    Returns its sha256."""
    from avs_studio.openavs.downloads import hub_check

    size, digest = part.stat().st_size, ""
    problem = (f"{f.size} bytes", f"{size} bytes") if f.size is not None and size != f.size else None
    if problem is None:
        digest = file_sha256(part)
        if f.sha256 and digest != f.sha256:
            problem = (f"sha256 {f.sha256}", f"sha256 {digest}")
        elif (hub := hub_check(part, got.etag, digest)) is not None:
            problem = ("the Hub's hash", hub)
    if problem:
        part.unlink(missing_ok=True)
        raise ChecksumError(spec.name, f.path, *problem)
    return digest


# ---------------------------------------------------------------- provenance and verify


def provenance(model: str | ModelSpec) -> dict[str, Any]:
    """Where a cached model came from: repo, requested revision, resolved commit, each file's sha256, size,
    URL and whether it matched a registered hash (from the manifest; {} entries for files not cached)."""
    spec = get_spec(model)
    folder = model_dir(spec)
    manifest = read_manifest(folder)
    files = manifest.get("files", {})
    return {
        "model": spec.name,
        "source": manifest.get("source", spec.source),
        "repo": spec.repo,
        "revision": manifest.get("revision", spec.revision),
        "commit": manifest.get("commit"),
        "imported_from": manifest.get("imported_from"),
        "path": str(folder),
        "files": {
            f.path: {k: v for k, v in files.get(f.path, {}).items() if k != "mtime_ns"} for f in spec.files
        },
    }


@dataclass
class FileCheck:
    path: str
    status: str  # "ok" | "mismatch" | "missing" | "unverified" | "absent"
    sha256: str | None = None
    size: int | None = None
    note: str = ""


def verify(model: str | ModelSpec) -> list[FileCheck]:
    """Re-hash a model's cached files against the registry (and refresh their stamps)."""
    spec = get_spec(model)
    folder = model_dir(spec)
    manifest = read_manifest(folder)
    files = manifest.get("files", {})
    out, changed = [], False
    for f in spec.files:
        p = folder / f.path
        if not p.is_file():
            absent = f.optional and files.get(f.path, {}).get("absent")
            out.append(FileCheck(f.path, "absent" if absent else "missing"))
            continue
        (digest, md5), size = _hashes(p, md5=bool(f.name_hash)), p.stat().st_size
        note = ""
        if f.name_hash:
            which = [n for n, h in (("sha256", digest), ("md5", md5)) if h.startswith(f.name_hash.lower())]
            note = f"name hash {f.name_hash} " + (
                f"matches its {which[0]}" if which else "matches neither md5 nor sha256"
            )
        if not f.sha256:
            status = "unverified"
        else:
            status = "ok" if digest == f.sha256 and (f.size is None or size == f.size) else "mismatch"
        if status != "mismatch" and not _stamped(p, files.get(f.path, {}), digest):
            files[f.path] = {**files.get(f.path, {}), **stamp(p, digest, status == "ok")}
            changed = True
        out.append(FileCheck(f.path, status, digest, size, note))
    if changed:
        manifest["files"] = files
        write_manifest(folder, manifest)
    return out


# ---------------------------------------------------------------- loading


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
    import pickle

    from avs_studio.openavs.devices import resolve_device

    path = Path(path)
    try:
        processor = processor_cls.from_pretrained(path)
        model = model_cls.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load {what} from {path}: {exc}") from exc
    except pickle.UnpicklingError as exc:  # a .bin file is read with torch.load(weights_only=True)
        raise ModelError(
            f"cannot load {what} from {path}: its pytorch_model.bin is damaged or holds more than tensors "
            f"(refused: only plain weights are loaded). Delete the folder and download it again."
        ) from exc
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
