"""Pipeline configuration: which stage implementation runs, with which parameters (TOML profiles)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avs_studio.atomic import atomic_dir
from avs_studio.openavs.registry import DESCRIBERS, POINT_SEGMENTERS, SEGMENTERS, TRANSLATORS, Registry
from avs_studio.resources import resources_dir

DEFAULT_PROFILE = "default"
TOP_KEYS = ("profile", "description", "pipeline", "describers", "translator", "segmenter", "point_segmenter")
PIPELINE_KEYS = ("keyframe_rate", "clip_seconds", "device", "context_seconds")
CONTEXT_KEY = "context"  # a describer's own audio context (seconds each side), overriding the pipeline's
UNCONFIGURED_KEY = "when_unconfigured"  # translator: the stage used when no LLM endpoint is set
FALLBACK_KEY = "fallback"  # translator: the stage that answers a clip whose answer was unusable
DEFAULT_FALLBACK = {"name": "offline", "embeddings": "auto"}  # keywords alone if MiniLM is not downloaded
PREFER_KEY = "prefer"  # segmenter: a stage used instead when its registered `model` is in the cache
TINY_PREFIX = "tiny:"  # a parameter "tiny:FAMILY" is the path of a tiny random model (tiny-random profile)


class ConfigError(ValueError):
    """A pipeline config is malformed; the message names the file, the key and the valid choices."""


@dataclass
class StageSpec:
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.params}


def default_fallback() -> StageSpec:
    """The translator that answers a clip when the configured one gave no usable answer."""
    params = dict(DEFAULT_FALLBACK)
    return StageSpec(params.pop("name"), params)


@dataclass
class PipelineConfig:
    describers: list[StageSpec]
    translator: StageSpec
    segmenter: StageSpec
    point_segmenter: StageSpec | None = None
    translator_fallback: StageSpec = field(default_factory=lambda: default_fallback())
    keyframe_rate: float = 1.0
    clip_seconds: int = 5
    device: str = "auto"
    context_seconds: float = 0.0  # audio added on each side of a keyframe's segment for the describers
    describer_context: dict[str, float] = field(default_factory=dict)  # per describer, overrides it
    profile: str = ""  # the profile name or file it came from
    description: str = ""

    def context_for(self, describer: str) -> float:
        """Seconds of audio padded on each side of a keyframe's segment for this describer."""
        return self.describer_context.get(describer, self.context_seconds)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (provenance of a pipeline run; API keys left out)."""

        def clean(spec: StageSpec) -> dict[str, Any]:
            return {k: v for k, v in spec.to_dict().items() if k != "api_key"}

        return {
            "profile": self.profile,
            "pipeline": {
                "keyframe_rate": self.keyframe_rate,
                "clip_seconds": self.clip_seconds,
                "device": self.device,
                "context_seconds": self.context_seconds,
            },
            "describers": [
                {
                    **clean(d),
                    **(
                        {CONTEXT_KEY: self.describer_context[d.name]}
                        if d.name in self.describer_context
                        else {}
                    ),
                }
                for d in self.describers
            ],
            "translator": {**clean(self.translator), FALLBACK_KEY: clean(self.translator_fallback)},
            "segmenter": clean(self.segmenter),
            "point_segmenter": clean(self.point_segmenter) if self.point_segmenter else None,
        }


def profiles_dir() -> Path:
    return resources_dir() / "profiles"


def profiles() -> list[str]:
    """Names of the built-in profiles (resources/profiles/*.toml)."""
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def _stage(where: str, key: str, value: Any, registry: Registry) -> StageSpec:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: [{key}] must be a table with a `name` ({', '.join(registry.names())})")
    params = dict(value)
    name = params.pop("name", None)
    if not isinstance(name, str) or not name:
        raise ConfigError(
            f"{where}: [{key}] has no `name`; valid {registry.kind}s: {', '.join(registry.names())}"
        )
    if name not in registry:
        raise ConfigError(
            f"{where}: [{key}] name {name!r} is not a known {registry.kind}; valid: {', '.join(registry.names())}"
        )
    return StageSpec(name, params)


def _stage_or_name(where: str, key: str, value: Any, registry: Registry) -> StageSpec:
    """A stage given as a table with a `name`, or as just its name."""
    return _stage(where, key, {"name": value} if isinstance(value, str) else value, registry)


def _preferred(where: str, table: Mapping[str, Any], registry: Registry) -> StageSpec:
    """[segmenter] with an optional `prefer` table: that stage when its registered `model` is in the
    weight cache (e.g. SAM 3 once downloaded), else the table's own stage."""
    from avs_studio.openavs import weights

    own = dict(table)
    prefer = own.pop(PREFER_KEY, None)
    spec = _stage(where, "segmenter", own, registry)
    if prefer is None:
        return spec
    alt = _stage(where, f"segmenter.{PREFER_KEY}", prefer, registry)
    model = alt.params.get("model")
    try:
        known = isinstance(model, str) and bool(weights.get_spec(model))
    except weights.ModelError:
        known = False
    if not known:
        raise ConfigError(
            f"{where}: [segmenter.{PREFER_KEY}] needs `model`, a name from the model registry "
            f"(avs-studio models list), got {model!r}"
        )
    return alt if weights.is_cached(model) else spec


def _context(where: str, table: str, value: Any, key: str = CONTEXT_KEY) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 30:
        raise ConfigError(f"{where}: [{table}] {key} must be a number of seconds from 0 to 30, got {value!r}")
    return float(value)


def parse_config(
    data: Mapping[str, Any],
    where: str = "config",
    *,
    llm: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> PipelineConfig:
    """PipelineConfig from parsed TOML; ``llm`` (base_url/model/api_key, e.g. project settings) counts
    as a configured LLM endpoint and fills the `openai` translator's missing parameters."""
    from avs_studio.openavs.translators.openai_chat import llm_configured

    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys: {', '.join(TOP_KEYS)}"
        )
    pipe = data.get("pipeline", {})
    if not isinstance(pipe, Mapping):
        raise ConfigError(f"{where}: [pipeline] must be a table with {', '.join(PIPELINE_KEYS)}")
    bad = [k for k in pipe if k not in PIPELINE_KEYS]
    if bad:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, bad))} in [pipeline]; valid: {', '.join(PIPELINE_KEYS)}"
        )
    describers = data.get("describers")
    if not isinstance(describers, list) or not describers:
        raise ConfigError(
            f"{where}: needs at least one [[describers]] table; valid describers: {', '.join(DESCRIBERS.names())}"
        )
    for key in ("translator", "segmenter"):
        if key not in data:
            raise ConfigError(f"{where}: the [{key}] table is missing")
    descs = [_stage(where, f"describers #{i + 1}", d, DESCRIBERS) for i, d in enumerate(describers)]
    contexts = {
        d.name: _context(where, f"describers #{i + 1}", d.params.pop(CONTEXT_KEY))
        for i, d in enumerate(descs)
        if CONTEXT_KEY in d.params
    }
    names = [d.name for d in descs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: a describer is listed twice ({', '.join(names)}); each describer once")
    tr_table = dict(data["translator"]) if isinstance(data["translator"], Mapping) else data["translator"]
    unconfigured = tr_table.pop(UNCONFIGURED_KEY, None) if isinstance(tr_table, dict) else None
    fallback = tr_table.pop(FALLBACK_KEY, DEFAULT_FALLBACK) if isinstance(tr_table, dict) else None
    translator = _stage(where, "translator", tr_table, TRANSLATORS)
    fallback_spec = _stage_or_name(where, f"translator.{FALLBACK_KEY}", fallback, TRANSLATORS)
    if translator.name == "openai":
        settings = {k: v for k, v in dict(llm or {}).items() if k in ("base_url", "model", "api_key") and v}
        if unconfigured is not None and not llm_configured({**settings, **translator.params}, env):
            translator = _stage(where, f"translator.{UNCONFIGURED_KEY}", {"name": unconfigured}, TRANSLATORS)
        else:
            translator.params = {**settings, **translator.params}
    seg_table = data["segmenter"]
    if not isinstance(seg_table, Mapping):
        raise ConfigError(
            f"{where}: [segmenter] must be a table with a `name` ({', '.join(SEGMENTERS.names())})"
        )
    segmenter = _preferred(where, seg_table, SEGMENTERS)
    point = data.get("point_segmenter")
    point_spec = _stage(where, "point_segmenter", point, POINT_SEGMENTERS) if point is not None else None
    try:
        keyframe_rate = float(pipe.get("keyframe_rate", 1.0))
        clip_seconds = int(pipe.get("clip_seconds", 5))
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{where}: [pipeline] keyframe_rate must be a number and clip_seconds an integer"
        ) from exc
    if keyframe_rate <= 0 or clip_seconds < 1:
        raise ConfigError(f"{where}: [pipeline] needs keyframe_rate > 0 and clip_seconds >= 1")
    context = _context(where, "pipeline", pipe.get("context_seconds", 0.0), "context_seconds")
    return PipelineConfig(
        describers=descs,
        translator=translator,
        segmenter=segmenter,
        point_segmenter=point_spec,
        translator_fallback=fallback_spec,
        keyframe_rate=keyframe_rate,
        clip_seconds=clip_seconds,
        device=str(pipe.get("device", "auto")),
        context_seconds=context,
        describer_context=contexts,
        profile=str(data.get("profile", "")),
        description=str(data.get("description", "")),
    )


def load_config(
    profile_or_path: str | Path | None = None,
    *,
    llm: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> PipelineConfig:
    """A built-in profile by name ("default", "offline", "tiny-random"; None = "default") or a TOML file."""
    import avs_studio.openavs  # noqa: F401  (fills the registries)

    if isinstance(profile_or_path, PipelineConfig):
        return profile_or_path
    name = DEFAULT_PROFILE if profile_or_path is None else str(profile_or_path)
    path = Path(name).expanduser()
    is_file = isinstance(profile_or_path, Path) or name.endswith(".toml") or os.sep in name or path.is_file()
    if not is_file:
        if name not in profiles():
            raise ConfigError(
                f"unknown pipeline profile {name!r}; built-in profiles: {', '.join(profiles())}, or give a TOML file path"
            )
        path = profiles_dir() / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(
            f"pipeline config file {path} does not exist; built-in profiles: {', '.join(profiles())}"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"pipeline config file {path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the pipeline config file {path}: {exc.strerror or exc}") from exc
    cfg = parse_config(data, str(path), llm=llm, env=env)
    cfg.profile = cfg.profile or (name if not is_file else str(path))
    return cfg


# ---------------------------------------------------------------- tiny random models (tests only)


def tiny_model_path(family: str, root: str | Path | None = None) -> Path:
    """Path of the tiny random `family` model (avs_studio.openavs.tiny), written once into the cache."""
    from avs_studio.openavs import tiny, weights

    if family not in tiny.BUILDERS:
        raise ConfigError(f"unknown tiny model family {family!r}; known: {', '.join(sorted(tiny.BUILDERS))}")
    base = Path(root) if root is not None else weights.cache_dir() / "tiny-random"
    folder = base / family
    marker = folder / ".path"
    if marker.is_file():
        return folder / marker.read_text(encoding="utf-8").strip()
    try:
        with atomic_dir(folder) as tmp:
            built = tiny.build(family, tmp)
            rel = built.relative_to(tmp).as_posix() if built != tmp else "."
            (tmp / ".path").write_text(rel, encoding="utf-8")
    except OSError:  # another process finished first
        if not marker.is_file():
            raise
    return folder / (folder / ".path").read_text(encoding="utf-8").strip()


def resolve_tiny(params: Mapping[str, Any], root: str | Path | None = None) -> dict[str, Any]:
    """Replace every "tiny:FAMILY" parameter value by the tiny model's path."""
    return {
        k: str(tiny_model_path(v[len(TINY_PREFIX) :], root))
        if isinstance(v, str) and v.startswith(TINY_PREFIX)
        else v
        for k, v in params.items()
    }
