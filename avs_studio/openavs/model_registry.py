"""The model registry (avs_studio/resources/models.toml, or $AVS_STUDIO_MODELS): one entry per model.

An entry (``[models.NAME]``) has kind, family, source ("hf": repo + revision; "url": a url per file), files
(path, sha256, size, url, optional, name_hash), and optionally entry, size_mb, vram_mb, license, description,
gated. Unknown keys are kept in ``ModelSpec.extra``, so newer registries load in older code.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGISTRY_ENV = "AVS_STUDIO_MODELS"  # optional path to another models.toml


class ModelError(Exception):
    """Base of the weight-cache errors."""


class UnknownModelError(ModelError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def human_size(n: float | None) -> str:
    if not n:
        return "size unknown"
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:.1f} MB" if n < 1e8 else f"{n / 1e6:.0f} MB"


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
    gated: bool = False  # a Hub repo whose licence must be accepted (HF_TOKEN needed)
    extra: dict[str, Any] = field(default_factory=dict)

    def file_url(self, f: FileSpec) -> str:
        if f.url:
            return f.url
        if self.source == "hf" and self.repo:
            from avs_studio.openavs.downloads import hub_url

            return hub_url(self.repo, f.path, self.revision)
        raise ModelError(f"model {self.name!r}: file {f.path} has no url and the source is {self.source!r}")

    @property
    def page(self) -> str:
        """Where a person downloads the files by hand."""
        from avs_studio.openavs.downloads import HUB_PAGE

        if self.source == "hf" and self.repo:
            return f"{HUB_PAGE}/{self.repo}/tree/{self.revision}"
        return " and ".join(f.url for f in self.files if f.url) or "(no address registered)"

    @property
    def bytes(self) -> int | None:
        """Download size: the registered file sizes when all are known, else size_mb."""
        sizes = [f.size for f in self.files]
        if sizes and all(s is not None for s in sizes):
            return int(sum(s for s in sizes if s is not None))
        return int(self.size_mb * 1e6) if self.size_mb else None

    def unverified_files(self) -> list[str]:
        return [f.path for f in self.files if not f.sha256]


def registry_path() -> Path:
    """models.toml: $AVS_STUDIO_MODELS, else the bundled resources (avs_studio.resources)."""
    env = os.environ.get(REGISTRY_ENV)
    if env:
        return Path(env)
    from avs_studio.resources import resource

    return resource("models.toml")


KNOWN_KEYS = {"kind", "family", "source", "files", "repo", "revision", "entry", "size_mb", "vram_mb"}
KNOWN_KEYS |= {"license", "description", "gated"}


def _spec(name: str, d: dict[str, Any]) -> ModelSpec:
    files = tuple(
        FileSpec(
            path=f["path"],
            url=f.get("url"),
            sha256=(str(f.get("sha256") or "").lower() or None),
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
        gated=bool(d.get("gated", False)),
        extra={k: v for k, v in d.items() if k not in KNOWN_KEYS},
    )


def load_registry(path: str | Path | None = None) -> dict[str, ModelSpec]:
    p = Path(path) if path else registry_path()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
        return {name: _spec(name, d) for name, d in data.get("models", {}).items()}
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read the model registry {p}: {exc!r}") from exc


def get_spec(model: str | ModelSpec) -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model
    reg = load_registry()
    if model not in reg:
        raise UnknownModelError(f"unknown model {model!r}; known: {', '.join(sorted(reg))}")
    return reg[model]


MODEL_KEYS = ("model", "detector", "sam")  # stage parameters that name a registry model


def config_models(cfg: Any) -> list[str]:
    """Registry names of the models a PipelineConfig's stages use, in stage order, once each."""
    known = load_registry()
    stages = [*cfg.describers, cfg.translator, cfg.segmenter] + (
        [cfg.point_segmenter] if getattr(cfg, "point_segmenter", None) else []
    )
    names = [str(s.params.get(k)) for s in stages for k in MODEL_KEYS if s.params.get(k)]
    return [n for n in dict.fromkeys(names) if n in known]
