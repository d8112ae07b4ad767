"""Pipeline configuration: which stage implementation runs, with which parameters (TOML profiles)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from avs_studio.atomic import atomic_dir
from avs_studio.openavs.registry import DESCRIBERS, POINT_SEGMENTERS, SEGMENTERS, TRANSLATORS, Registry
from avs_studio.openavs.schema import (  # noqa: F401  (ConfigError and the keys re-exported)
    CONTEXT_KEY,
    FALLBACK_KEY,
    PIPELINE_KEYS,
    PREFER_KEY,
    TOP_KEYS,
    UNCONFIGURED_KEY,
    ConfigError,
    PipelineTable,
    ProfileFile,
    stage_model,
)
from avs_studio.resources import resources_dir
from avs_studio.validation import Problem, problems

DEFAULT_PROFILE = "default"
DEFAULT_FALLBACK = {"name": "offline", "embeddings": "auto"}  # keywords alone if MiniLM is not downloaded
TINY_PREFIX = "tiny:"  # a parameter "tiny:FAMILY" is the path of a tiny random model (tiny-random profile)


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
    """Names of the built-in profiles (avs_studio/resources/profiles/*.toml)."""
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


TEST_ONLY = "tests only"  # how a test-only profile's description starts (tiny random weights)


def user_profiles() -> list[str]:
    """The built-in profiles offered to people: without the test-only ones (description "tests only: …")."""
    import tomllib

    def test_only(name: str) -> bool:
        with open(profiles_dir() / f"{name}.toml", "rb") as f:
            return str(tomllib.load(f).get("description", "")).startswith(TEST_ONLY)

    return [p for p in profiles() if not test_only(p)]


# Keys of a stage table that belong to its place in the profile, not to the stage's factory.
SLOT_KEYS = {
    "describers": (CONTEXT_KEY,),
    "translator": (UNCONFIGURED_KEY, FALLBACK_KEY),
    "segmenter": (PREFER_KEY,),
}


def _sentence(p: Problem, table: str = "", stage: str = "") -> str:
    """One problem: the table, the key, what is expected and what was found."""
    label = ".".join(str(x) for x in (table, *p.table) if x)
    where = f"[{label}] " if label else ""
    if p.kind == "unknown":
        keys = ", ".join(map(repr, p.keys))
        if not label:
            return f"unknown key(s) {keys}; valid keys: {', '.join(p.valid)}"
        return (
            f"unknown key(s) {keys} in [{label}]{f' ({stage})' if stage else ''}; valid: {', '.join(p.valid)}"
        )
    if p.kind == "missing":
        return f"{where}needs `{p.key}` {p.text.removeprefix('is missing ')}".rstrip()
    if p.limit is not None:
        op, bound = p.limit
        return f"{where}needs {p.key} {op} {bound}, got {p.value!r}"
    return f"{where}`{p.key}` {p.text}, got {p.value!r}"


def _check(
    model: type[BaseModel], data: Mapping[str, Any], where: str, table: str = "", stage: str = ""
) -> Any:
    """``data`` validated by ``model``; ConfigError naming every problem (never a pydantic error)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        found = problems(exc, model, data)
        raise ConfigError(f"{where}: " + "; ".join(_sentence(p, table, stage) for p in found)) from None


def _stage(
    where: str, key: str, value: Any, registry: Registry, slot: str = "plain"
) -> tuple[StageSpec, dict]:
    """A stage table checked against its factory's parameters: (the stage, its slot keys' values)."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: [{key}] must be a table with a `name` ({', '.join(registry.names())})")
    params = dict(value)
    name = params.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(
            f"{where}: [{key}] has no `name`; valid {registry.kind}s: {', '.join(registry.names())}"
        )
    if name not in registry:
        raise ConfigError(
            f"{where}: [{key}] name {name!r} is not a known {registry.kind}; valid: {', '.join(registry.names())}"
        )
    slot_values = {k: params.pop(k) for k in SLOT_KEYS.get(slot, ()) if k in params}
    checked = {k: v for k, v in slot_values.items() if k not in (FALLBACK_KEY, PREFER_KEY)}  # stages: below
    _check(stage_model(slot, registry, name), {**params, **checked}, where, key, f"{registry.kind} {name!r}")
    del params["name"]
    return StageSpec(name, params), slot_values


def _stage_or_name(where: str, key: str, value: Any, registry: Registry) -> StageSpec:
    """A stage given as a table with a `name`, or as just its name."""
    return _stage(where, key, {"name": value} if isinstance(value, str) else value, registry)[0]


def _preferred(where: str, spec: StageSpec, prefer: Any) -> StageSpec:
    """[segmenter] with an optional `prefer` table: that stage when its registered `model` is in the
    weight cache (e.g. SAM 3 once downloaded), else the table's own stage."""
    from avs_studio.openavs import weights

    if prefer is None:
        return spec
    alt = _stage(where, f"segmenter.{PREFER_KEY}", prefer, SEGMENTERS)[0]
    model = alt.params.get("model")
    try:
        known = isinstance(model, str) and bool(weights.get_spec(model))
    except weights.ModelError:
        known = False
    if not known or not isinstance(model, str):
        raise ConfigError(
            f"{where}: [segmenter.{PREFER_KEY}] needs `model`, a name from the model registry "
            f"(avs-studio models list), got {model!r}"
        )
    return alt if weights.is_cached(model) else spec


class _Problems:
    """Runs the checks of each table and keeps every ConfigError, so one message names all of them."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.found: list[str] = []

    def __call__(self, check: Any, *args: Any, default: Any = None) -> Any:
        try:
            return check(*args)
        except ConfigError as exc:
            self.found.append(str(exc).removeprefix(f"{self.where}: "))
            return default

    def add(self, message: str) -> None:
        self.found.append(message)

    def raise_any(self) -> None:
        if self.found:
            raise ConfigError(f"{self.where}: " + "; ".join(self.found))


def _top(data: Mapping[str, Any], where: str, problems: _Problems) -> ProfileFile | None:
    """The profile's own keys and [pipeline] (stage tables are checked one by one after)."""
    if not isinstance(data.get("describers"), list) or not data.get("describers"):
        problems.add(
            f"needs at least one [[describers]] table; valid describers: {', '.join(DESCRIBERS.names())}"
        )
    problems.found += [
        f"the [{key}] table is missing" for key in ("translator", "segmenter") if key not in data
    ]
    if problems.found:
        rest = {k: v for k, v in data.items() if k not in ("describers", "translator", "segmenter")}
        problems(_check, ProfileFile, {"describers": [{}], "translator": {}, "segmenter": {}, **rest}, where)
        return None
    return problems(_check, ProfileFile, data, where)


def parse_config(
    data: Mapping[str, Any],
    where: str = "config",
    *,
    llm: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> PipelineConfig:
    """PipelineConfig from parsed TOML, every table checked (openavs.schema: unknown keys, types, limits,
    stage names and each stage's parameters; ConfigError names every problem found); ``llm`` (base_url/
    model/api_key, e.g. project settings) counts as a configured LLM endpoint and fills the `openai`
    translator's missing parameters."""
    from avs_studio.openavs.translators.openai_chat import llm_configured

    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: a pipeline profile is a TOML table, got {type(data).__name__}")
    problems = _Problems(where)
    top = _top(data, where, problems)
    descs, contexts = [], {}
    raw_describers = data.get("describers")
    for i, table in enumerate(raw_describers if isinstance(raw_describers, list) else []):
        spec, extra = problems(
            _stage, where, f"describers #{i + 1}", table, DESCRIBERS, "describers", default=(None, {})
        )
        if spec is not None:
            descs.append(spec)
            if extra.get(CONTEXT_KEY) is not None:
                contexts[spec.name] = float(extra[CONTEXT_KEY])
    names = [d.name for d in descs]
    if len(set(names)) != len(names):
        problems.add(f"a describer is listed twice ({', '.join(names)}); each describer once")
    translator, fallback = None, None
    if "translator" in data:
        translator, extra = problems(
            _stage, where, "translator", data["translator"], TRANSLATORS, "translator", default=(None, {})
        )
        fallback_table = extra.get(FALLBACK_KEY, DEFAULT_FALLBACK)
        fallback = problems(_stage_or_name, where, f"translator.{FALLBACK_KEY}", fallback_table, TRANSLATORS)
        unconfigured = extra.get(UNCONFIGURED_KEY)
        if unconfigured is not None:
            alt = problems(_stage_or_name, where, f"translator.{UNCONFIGURED_KEY}", unconfigured, TRANSLATORS)
        if translator is not None and translator.name == "openai":
            settings = {
                k: v for k, v in dict(llm or {}).items() if k in ("base_url", "model", "api_key") and v
            }
            if unconfigured is not None and not llm_configured({**settings, **translator.params}, env):
                translator = alt
            else:
                translator.params = {**settings, **translator.params}
    segmenter = None
    if "segmenter" in data:
        segmenter, extra = problems(
            _stage, where, "segmenter", data["segmenter"], SEGMENTERS, "segmenter", default=(None, {})
        )
        if segmenter is not None:
            segmenter = problems(_preferred, where, segmenter, extra.get(PREFER_KEY))
    point = data.get("point_segmenter")
    point_spec = (
        problems(_stage, where, "point_segmenter", point, POINT_SEGMENTERS, default=(None,))[0]
        if point is not None
        else None
    )
    problems.raise_any()
    assert top is not None and translator is not None and segmenter is not None and fallback is not None
    pipe: PipelineTable = top.pipeline
    return PipelineConfig(
        describers=descs,
        translator=translator,
        segmenter=segmenter,
        point_segmenter=point_spec,
        translator_fallback=fallback,
        keyframe_rate=pipe.keyframe_rate,
        clip_seconds=pipe.clip_seconds,
        device=pipe.device,
        context_seconds=pipe.context_seconds,
        describer_context=contexts,
        profile=top.profile,
        description=top.description,
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
