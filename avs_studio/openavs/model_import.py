"""Models without a network: every missing model of a task named at once (sizes, cache folder, where to
get the files), and ``import_model`` (``avs-studio models import PATH``): a downloaded folder or file copied
into the cache after each file's sha256 is checked against the registry.

A folder can be a model folder of another machine's cache (its manifest names the model), a folder named
after the model, a Hugging Face cache folder (``models--ORG--NAME`` or one of its ``snapshots/COMMIT``), a
``hf download --local-dir`` folder, or any folder holding the registered files (matched by their hashes).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avs_studio.openavs import weights
from avs_studio.openavs.weights import ModelError, ModelSpec

COMMIT_RE = re.compile(r"[0-9a-f]{40}")
NOTHING = "nothing was imported (the cache is unchanged)"


@dataclass(frozen=True)
class MissingModel:
    name: str
    files: tuple[str, ...]
    bytes: int | None
    page: str
    unverified: tuple[str, ...]  # missing files with no registered sha256


def missing_models(names: Iterable[str]) -> list[MissingModel]:
    """The models among ``names`` that lack files in the cache (cheap: no hashing)."""
    out = []
    for name in dict.fromkeys(names):
        spec = weights.get_spec(name)
        files = weights.missing_files(spec)
        if files:
            unv = tuple(f.path for f in spec.files if f.path in files and not f.sha256)
            sizes = [f.size for f in spec.files if f.path in files]
            size = sum(s for s in sizes if s) if all(s is not None for s in sizes) else spec.bytes
            out.append(MissingModel(name, tuple(files), size, spec.page, unv))
    return out


class ModelsMissingError(weights.ModelMissingError):
    """Several models are missing and cannot be downloaded now: all named at once, with sizes and help."""

    def __init__(self, missing: list[MissingModel], reason: str, what: str = ""):
        first = missing[0]
        super().__init__(first.name, list(first.files), weights.cache_dir(), reason)
        self.missing = missing
        self.args = (missing_text(missing, reason, what),)


def missing_text(missing: list[MissingModel], reason: str = "", what: str = "") -> str:
    """The message for models that are not in the cache: each with its size, then how to bring them in."""
    n = len(missing)
    head = (
        f"{what or 'this task'} needs {n} model{'s' if n > 1 else ''} that {'are' if n > 1 else 'is'} not in "
    )
    lines = [head + f"the model cache {weights.cache_dir()}" + (f" ({reason})" if reason else "") + ":"]
    for m in missing:
        lines.append(f"  {m.name}  {weights.human_size(m.bytes)}  {len(m.files)} file(s) from {m.page}")
    total = sum(m.bytes or 0 for m in missing)
    if n > 1 and total:
        lines.append(f"  total about {weights.human_size(total)}")
    names = " ".join(m.name for m in missing)
    if not weights.offline():
        unv = " --allow-unverified" if any(m.unverified for m in missing) else ""
        lines.append(f"Download them with: avs-studio models download {names}{unv}")
    lines.append(
        "Without a network here: on another machine run `avs-studio models download NAME` (or download the "
        "files from the addresses above), copy the model folder or file over, then run "
        f"`{weights.IMPORT_HINT}` (add --name NAME for a plain folder); it checks every file's sha256."
    )
    return "\n".join(lines)


def require_models(names: Iterable[str], what: str = "", allow_unverified: bool = False) -> None:
    """Raise ModelsMissingError naming every missing model when they cannot be downloaded now
    (offline, or files without a registered sha256 and unverified downloads not allowed)."""
    missing = missing_models(names)
    if not missing:
        return
    if weights.offline():
        raise ModelsMissingError(missing, weights.offline_reason(), what)
    blocked = [m for m in missing if m.unverified] if not allow_unverified else []
    if blocked:
        raise ModelsMissingError(blocked, "some files have no registered sha256", what)


# ---------------------------------------------------------------- models import


class ImportModelError(ModelError):
    """PATH cannot be imported: which model is unclear, a file is missing, or a hash does not match."""


@dataclass
class ImportReport:
    model: str
    path: Path  # what ensure() now returns
    files: list[str] = field(default_factory=list)  # copied
    kept: list[str] = field(default_factory=list)  # already in the cache, unchanged
    unverified: list[str] = field(default_factory=list)  # copied without a registered sha256
    commit: str | None = None

    def summary(self) -> str:
        parts = [f"imported {self.model}: {len(self.files)} file(s) copied"]
        if self.kept:
            parts.append(f"{len(self.kept)} already there")
        if self.unverified:
            parts.append(f"not verified (no registered sha256): {', '.join(self.unverified)}")
        return "; ".join(parts) + f" -> {self.path}"


def _hf_snapshot(folder: Path) -> tuple[Path, str | None]:
    """(the folder holding the files, its commit) for Hugging Face cache layouts; else (folder, None)."""
    if folder.parent.name == "snapshots" and COMMIT_RE.fullmatch(folder.name):
        return folder, folder.name
    snaps = folder / "snapshots"
    if folder.name.startswith("models--") and snaps.is_dir():
        ref = folder / "refs" / "main"
        commit = ref.read_text().strip() if ref.is_file() else None
        if commit and (snaps / commit).is_dir():
            return snaps / commit, commit
        found = sorted(p for p in snaps.iterdir() if p.is_dir())
        if len(found) == 1:
            return found[0], found[0].name
        raise ImportModelError(f"{folder} holds {len(found)} snapshots; import one of them: {snaps}/COMMIT")
    meta = folder / ".cache" / "huggingface" / "download"  # `hf download --local-dir`
    for m in sorted(meta.glob("**/*.metadata")) if meta.is_dir() else []:
        first = m.read_text(errors="replace").split("\n", 1)[0].strip()
        if COMMIT_RE.fullmatch(first):
            return folder, first
    return folder, None


def _repo_of(folder: Path) -> str | None:
    for p in (folder, *folder.parents):
        if p.name.startswith("models--"):
            return p.name[len("models--") :].replace("--", "/")
    return None


def _sha256(path: Path) -> str:
    return weights.file_sha256(path)


def _matches(spec: ModelSpec, root: Path) -> bool:
    """Every required file of spec is in root, and every registered hash of those files matches."""
    for f in spec.files:
        p = root / f.path
        if not p.is_file():
            if f.optional:
                continue
            return False
        if f.size is not None and p.stat().st_size != f.size:
            return False
    return all(
        _sha256(root / f.path) == f.sha256 for f in spec.files if f.sha256 and (root / f.path).is_file()
    )


def _which(path: Path, name: str | None) -> tuple[ModelSpec, Path, str | None]:
    """(spec, folder holding its files, commit) for PATH."""
    reg = weights.load_registry()
    if name:
        spec = weights.get_spec(name)
    if path.is_file():
        cands = [s for s in reg.values() if any(Path(f.path).name == path.name for f in s.files)]
        if name:
            cands = [spec] if spec in cands or len(spec.files) == 1 else []
        if not cands:
            raise ImportModelError(f"no registered model has a file named {path.name}; pass --name NAME")
        if len(cands) > 1:
            digest = _sha256(path)
            cands = [s for s in cands if any(f.sha256 == digest for f in s.files)] or cands
        if len(cands) > 1:
            raise ImportModelError(
                f"{path.name} belongs to {', '.join(s.name for s in cands)}; pass --name NAME"
            )
        spec = cands[0]
        if len(spec.files) > 1 and sum(1 for f in spec.files if not f.optional) > 1:
            raise ImportModelError(f"model {spec.name!r} has {len(spec.files)} files: import its folder")
        return spec, path.parent, None
    if not path.is_dir():
        raise ImportModelError(f"{path} is neither a file nor a folder")
    root, commit = _hf_snapshot(path)
    if name:
        return spec, root, commit
    manifest = weights.read_manifest(path)
    for guess in (manifest.get("model"), path.name):
        if isinstance(guess, str) and guess in reg:
            return reg[guess], root, commit or manifest.get("commit")
    repo = _repo_of(path)
    cands = [s for s in reg.values() if s.repo and s.repo == repo] if repo else []
    if not cands:  # by content: the models whose files are all there, preferring those proven by hashes
        fits = [s for s in reg.values() if _matches(s, root)]
        proven = [s for s in fits if any(f.sha256 and (root / f.path).is_file() for f in s.files)]
        cands = proven or fits
    if len(cands) == 1:
        return cands[0], root, commit
    if not cands:
        raise ImportModelError(f"{path} holds no registered model's files; pass --name NAME to name it")
    raise ImportModelError(f"{path} could be {', '.join(s.name for s in cands)}; pass --name NAME")


def _copy_hashed(src: Path, dst: Path) -> str:
    h = hashlib.sha256()
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        for block in iter(lambda: fin.read(weights.CHUNK), b""):
            h.update(block)
            fout.write(block)
        fout.flush()
        os.fsync(fout.fileno())
    return h.hexdigest()


def import_model(
    path: str | os.PathLike[str], name: str | None = None, allow_unverified: bool = False
) -> ImportReport:
    """Copy a model's files from ``path`` into the cache; every file is checked against its registered sha256
    (and size) before anything in the cache is replaced. Raises ImportModelError, weights.ChecksumError,
    weights.UnverifiedModelError."""
    from filelock import FileLock

    src = Path(path).expanduser()
    spec, root, commit = _which(src, name)
    single = src if src.is_file() else None
    sources = {f.path: (single if single else root / f.path) for f in spec.files}
    lacking = [f.path for f in spec.files if not f.optional and not sources[f.path].is_file()]
    if lacking:
        raise ImportModelError(f"{src} lacks {', '.join(lacking)} of model {spec.name!r}")
    unverified = [f.path for f in spec.files if not f.sha256 and sources[f.path].is_file()]
    if unverified and not allow_unverified:
        raise weights.UnverifiedModelError(
            spec.name, unverified, f"avs-studio models import {src} --allow-unverified"
        )
    folder = weights.model_dir(spec)
    folder.mkdir(parents=True, exist_ok=True)
    report = ImportReport(spec.name, folder / spec.entry if spec.entry else folder, commit=commit)
    with FileLock(str(folder / ".lock")):
        staged: list[tuple[Path, Path, str, bool]] = []
        try:
            for f in spec.files:
                s = sources[f.path]
                if not s.is_file():
                    continue
                dest = folder / f.path
                if dest.exists() and dest.resolve() == s.resolve():
                    report.kept.append(f.path)
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(dest.name + ".import")
                digest = _copy_hashed(s, tmp)
                staged.append((tmp, dest, digest, bool(f.sha256)))
                size = tmp.stat().st_size
                if f.size is not None and size != f.size:
                    raise weights.ChecksumError(
                        spec.name, f.path, f"{f.size} bytes", f"{size} bytes", NOTHING
                    )
                if f.sha256 and digest != f.sha256:
                    raise weights.ChecksumError(
                        spec.name, f.path, f"sha256 {f.sha256}", f"sha256 {digest}", NOTHING
                    )
        except BaseException:
            for tmp, *_ in staged:
                tmp.unlink(missing_ok=True)
            raise
        manifest = weights.read_manifest(folder)
        files: dict[str, Any] = manifest.setdefault("files", {})
        for tmp, dest, digest, verified in staged:
            os.replace(tmp, dest)
            files[dest.relative_to(folder).as_posix()] = weights.stamp(
                dest, digest, verified, source=f"import:{src}"
            )
            report.files.append(dest.relative_to(folder).as_posix())
        for f in spec.files:
            if f.optional and not sources[f.path].is_file():
                files[f.path] = {"absent": True}
        report.unverified = [p for p in unverified if p in report.files]
        manifest.update(
            {"model": spec.name, "source": spec.source, "repo": spec.repo, "revision": spec.revision}
        )
        manifest["imported_from"] = str(src)
        if commit:
            manifest["commit"] = commit
        weights.write_manifest(folder, manifest)
    return report
