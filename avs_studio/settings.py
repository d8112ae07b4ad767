"""Every setting AVS Studio keeps, with its type and default, in one place. Qt-free.

Project settings live in the project's database (``Store.get_setting`` / ``set_setting``: JSON by key;
API keys go to the user's key store, never the database) and are read and written here through
``ProjectSettings``: ``get(store, key)`` gives the typed value, and a stored value that does not fit is
reported (logged, and returned by ``check``) and replaced by its default key by key, so a bad value never
stops the app. ``put(store, key, value)`` refuses a bad value with SettingsError naming the key.
User settings (the GUI's QSettings, per user and machine) are ``UserSettings``; ``user_value`` reads one.

The pipeline settings ("pipeline", the settings dialog's values) start from a built-in profile: a key left
out takes the profile's value, and ``pipeline_config`` builds the profile with the settings applied.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from avs_studio.validation import Device, Problem, problems

if TYPE_CHECKING:
    from avs_studio.openavs.config import PipelineConfig

log = logging.getLogger(__name__)

PIPELINE = "pipeline"
PROPOSAL_ENGINE = "proposal_engine"
PROPAGATION_ENGINE = "propagation_engine"
LABEL2IDX = "avss.label2idx"
LAST_VIDEO = "gui.last_video"
FRAME = "gui.frame.{}"  # + video id: the frame the window last showed in that video
ENGINE_PATTERN = r"^(openavs(:.+)?|student:.+)$"
THRESHOLD_KEYS = ("box_threshold", "text_threshold")  # the text segmenter's, when it takes them
LIMIT_WORDS = {">": "above", ">=": "at least", "<": "below", "<=": "at most"}


class SettingsError(ValueError):
    """A setting cannot be stored or used; the message names the key, what is allowed and what was given."""


class SettingsStore(Protocol):
    def get_setting(self, key: str, default: Any = None) -> Any: ...
    def set_setting(self, key: str, value: Any) -> None: ...


def _registries() -> dict[str, Any]:
    import avs_studio.openavs  # noqa: F401  (fills the registries)
    from avs_studio.openavs.registry import DESCRIBERS, POINT_SEGMENTERS, SEGMENTERS, TRANSLATORS

    return {
        "describer": DESCRIBERS,
        "translator": TRANSLATORS,
        "segmenter": SEGMENTERS,
        "point": POINT_SEGMENTERS,
    }


def _available(what: str, label: str, names: list[str]) -> list[str]:
    reg = _registries()[what]
    bad = [n for n in names if n not in reg]
    if bad:
        raise ValueError(f"{label} {', '.join(map(repr, bad))} is not available ({', '.join(reg.names())}).")
    return names


class LlmEndpoint(BaseModel):
    """An OpenAI-compatible endpoint ("" = unset)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    base_url: str = Field("", title="LLM base URL", description="e.g. http://127.0.0.1:11434/v1")
    model: str = Field("", title="LLM model")
    api_key: str = Field(
        "", title="API key", description="kept in the user's key store, never in the project"
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, url: str) -> str:
        url = url.strip()
        parts = urlparse(url)
        if url and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise ValueError(f"LLM base URL {url!r} must start with http:// or https:// and name a host.")
        return url


class PipelineSettings(BaseModel):
    """The settings dialog's values: a built-in profile, and what is changed on it. A key left out takes
    the profile's value (``for_profile``)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    profile: str = Field(
        "default", title="Profile", description="a built-in profile (openavs.config.profiles)"
    )
    device: Device = Field("auto", title="Device", description="auto | cpu | cuda | cuda:N")
    describers: list[str] = Field(min_length=1, title="Audio describers")
    translator: str = Field(title="Translator")
    segmenter: str = Field(title="Segmenter")
    point_segmenter: str | None = Field(None, title="Point segmenter", description="null: none")
    llm: LlmEndpoint = Field(default_factory=LlmEndpoint, title="LLM endpoint")
    keyframe_rate: float = Field(1.0, gt=0, le=60, title="Keyframe rate", description="keyframes per second")
    box_threshold: float = Field(0.25, ge=0, le=1, title="Box threshold")
    text_threshold: float = Field(0.25, ge=0, le=1, title="Text threshold")

    @model_validator(mode="before")
    @classmethod
    def _from_profile(cls, data: Any) -> Any:
        """Keys left out take the chosen profile's values (the default profile's if it is not known)."""
        if not isinstance(data, Mapping):
            return data
        name = data.get("profile", "default")
        base = profile_values(name if isinstance(name, str) and name in _profiles() else "default")
        llm = data.get("llm", {})
        return {**base, **data, "llm": {**base["llm"], **llm} if isinstance(llm, Mapping) else llm}

    @field_validator("profile")
    @classmethod
    def _profile(cls, name: str) -> str:
        if name not in _profiles():
            raise ValueError(f"Profile {name!r} is not a built-in profile ({', '.join(_profiles())}).")
        return name

    @field_validator("describers")
    @classmethod
    def _describers(cls, names: list[str]) -> list[str]:
        return _available("describer", "Describer", names)

    @field_validator("translator", "segmenter", "point_segmenter")
    @classmethod
    def _stage(cls, name: str | None, info: Any) -> str | None:
        what = {"translator": "translator", "segmenter": "segmenter"}.get(info.field_name, "point")
        label = info.field_name.replace("_", " ").capitalize()
        return name if name is None else _available(what, label, [name])[0]

    @classmethod
    def for_profile(cls, profile: str = "default") -> PipelineSettings:
        return cls.model_validate({"profile": profile})


class ProjectSettings(BaseModel):
    """Every project setting, by key (dotted keys are aliases). ``FRAME`` keys are ``FramePosition``."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)
    pipeline: PipelineSettings = Field(
        default_factory=PipelineSettings.for_profile, description="the settings dialog's values"
    )
    proposal_engine: str = Field(
        "openavs", pattern=ENGINE_PATTERN, description="openavs, openavs:PROFILE or student:NAME"
    )
    propagation_engine: str = Field(
        "flow", description="what the window's Propagate and propagate without --engine run: flow, sam2, sam3"
    )
    avss_label2idx: dict[str, int] = Field(
        default_factory=dict, alias=LABEL2IDX, description="AVSS class name -> palette index"
    )
    gui_last_video: int | None = Field(None, alias=LAST_VIDEO, description="the video the window showed last")

    @field_validator("propagation_engine")
    @classmethod
    def _propagation_engine(cls, name: str) -> str:
        from avs_studio.openavs.propagation import engine_names

        if name not in engine_names():
            raise ValueError(f"Propagation engine {name!r} is not known ({', '.join(engine_names())}).")
        return name


FramePosition = TypeAdapter(int, config=ConfigDict(strict=True))  # gui.frame.<video id>: a frame index
_FRAME_KEY = re.compile(r"^gui\.frame\.\d+$")


class UserSettings(BaseModel):
    """Per user and machine (the GUI's QSettings, whose values may come back as text: read leniently)."""

    model_config = ConfigDict(extra="forbid")
    brush_radius: float = Field(8.0, gt=0, title="Brush radius", description="brush and eraser radius (px)")
    shortcuts: dict[str, str] = Field(
        default_factory=dict,
        description="action id -> key sequences ('; ' between several), group shortcuts/",
    )


# ---------------------------------------------------------------- profiles (openavs, imported lazily)


def _profiles() -> list[str]:
    from avs_studio.openavs.config import profiles

    return profiles()


def profile_values(profile: str = "default") -> dict[str, Any]:
    """The pipeline settings a built-in profile implies (LLM endpoint unset), as a plain dict."""
    import tomllib

    from avs_studio.openavs.config import profiles, profiles_dir

    if profile not in profiles():
        raise SettingsError(
            f"unknown pipeline profile {profile!r}; built-in profiles: {', '.join(profiles())}"
        )
    data = tomllib.loads((profiles_dir() / f"{profile}.toml").read_text(encoding="utf-8"))
    pipe, seg, point = data.get("pipeline", {}), data.get("segmenter", {}), data.get("point_segmenter")
    return {
        "profile": profile,
        "device": str(pipe.get("device", "auto")),
        "describers": [d["name"] for d in data.get("describers", [])],
        "translator": data.get("translator", {}).get("name", ""),
        "segmenter": seg.get("name", ""),
        "point_segmenter": point.get("name") if point else None,
        "llm": LlmEndpoint().model_dump(),
        "keyframe_rate": float(pipe.get("keyframe_rate", 1.0)),
        **{k: float(seg.get(k, PipelineSettings.model_fields[k].default)) for k in THRESHOLD_KEYS},
    }


# ---------------------------------------------------------------- messages


def sentence(p: Problem, where: str = "") -> str:
    """One problem in words for a person (the settings dialog, a log line)."""
    path = ".".join(str(x) for x in (*p.table, p.key) if x != "")
    name = p.title or path or "the setting"
    lead = f"{where}: " if where else ""
    if p.kind == "unknown":
        return f"{lead}unknown setting(s) {', '.join(map(repr, p.keys))}; valid: {', '.join(p.valid)}."
    if p.type == "too_short" and p.key == "describers":
        return f"{lead}Choose at least one audio describer."
    if p.limit is not None:
        op, bound = p.limit
        value = (
            f"{p.value:g}"
            if isinstance(p.value, float | int) and not isinstance(p.value, bool)
            else repr(p.value)
        )
        return f"{lead}{name} {value} must be {LIMIT_WORDS[op]} {bound:g}."
    if p.type in ("value_error", "assertion_error"):
        return f"{lead}{p.text}"
    if p.kind == "value":
        return f"{lead}{name} {p.value!r} is not valid ({p.text})."
    return f"{lead}{name} {p.text}, got {p.value!r}."


def _errors(exc: ValidationError, model: type[BaseModel], data: Any, where: str = "") -> list[str]:
    return [sentence(p, where) for p in problems(exc, model, data)]


def validate_settings(values: Mapping[str, Any]) -> list[str]:
    """The pipeline settings' problems, one clear sentence each; [] when they are valid."""
    try:
        PipelineSettings.model_validate(dict(values))
    except ValidationError as exc:
        return _errors(exc, PipelineSettings, values)
    return []


def redacted(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy safe to log: the API key replaced by "***" when set."""
    out = copy.deepcopy(dict(values))
    llm = out.get("llm")
    if isinstance(llm, dict) and llm.get("api_key"):
        llm["api_key"] = "***"
    return out


# ---------------------------------------------------------------- project settings


def _model_key(key: str) -> str:
    by_alias = {f.alias or k: k for k, f in ProjectSettings.model_fields.items()}
    if key not in by_alias:
        raise SettingsError(
            f"unknown setting {key!r}; valid keys: {', '.join(by_alias)}, {FRAME.format('<video id>')}"
        )
    return by_alias[key]


def _drop(data: Any, path: tuple[Any, ...]) -> bool:
    """Remove the value at ``path`` from nested dicts (its default takes its place); False if not there."""
    for part in path[:-1]:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    if isinstance(data, dict) and path and path[-1] in data:
        del data[path[-1]]
        return True
    return False


_BAD = object()


def _default(name: str) -> Any:
    return ProjectSettings.model_fields[name].get_default(call_default_factory=True)


def _salvage(
    validate: Callable[[Any], Any], model: type[BaseModel], data: dict[str, Any], where: str
) -> tuple[Any, list[str]]:
    """``validate(data)`` after dropping every value it refuses (each reported): what is good is kept.
    (_BAD, notes) when nothing could be kept."""
    notes: list[str] = []
    data = copy.deepcopy(data)
    for _ in range(50):
        try:
            return validate(data), notes
        except ValidationError as exc:
            found = problems(exc, model, data)
            notes += [sentence(p, where) for p in found]
            paths = [(*p.table, k) for p in found for k in (p.keys if p.kind == "unknown" else [p.key])]
            if not any([_drop(data, path) for path in paths]):
                break
    return _BAD, notes


def pipeline_values(values: Mapping[str, Any] | None) -> tuple[PipelineSettings, list[str]]:
    """Pipeline settings from ``values`` (None: the default profile's), each bad value replaced by the
    profile's (or the default) and named in the list."""
    value, notes = _salvage(PipelineSettings.model_validate, PipelineSettings, dict(values or {}), "")
    return (PipelineSettings.for_profile() if value is _BAD else value), notes


def read(store: SettingsStore, key: str) -> tuple[Any, list[str]]:
    """(the typed value of ``key``, what was wrong with the stored value and replaced by its default)."""
    raw = store.get_setting(key)
    where = f"project setting {key!r}"
    if _FRAME_KEY.match(key):
        if raw is None:
            return 0, []
        try:
            return FramePosition.validate_python(raw), []
        except ValidationError:
            return 0, [f"{where}: a frame index must be an integer, got {raw!r}; frame 0 used"]
    name = _model_key(key)
    if raw is None:
        return _default(name), []
    value, notes = _salvage(
        lambda d: getattr(ProjectSettings.model_validate(d), name), ProjectSettings, {key: raw}, where
    )
    return (_default(name) if value is _BAD else value), notes


def get(store: SettingsStore, key: str) -> Any:
    """The typed value of project setting ``key``; a bad stored value is logged and defaults used."""
    value, notes = read(store, key)
    for note in notes:
        log.warning("%s", note)
    return value


def put(store: SettingsStore, key: str, value: Any) -> Any:
    """Check ``value`` and store it (JSON); SettingsError naming each problem. Returns the typed value."""
    where = f"setting {key!r}"
    if _FRAME_KEY.match(key):
        try:
            typed = FramePosition.validate_python(value)
        except ValidationError:
            raise SettingsError(f"{where}: a frame index must be an integer, got {value!r}") from None
        store.set_setting(key, typed)
        return typed
    name = _model_key(key)
    raw = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    try:
        typed = getattr(ProjectSettings.model_validate({key: raw}), name)
    except ValidationError as exc:
        raise SettingsError(" ".join(_errors(exc, ProjectSettings, {key: raw}, where))) from None
    store.set_setting(key, typed.model_dump(mode="json") if isinstance(typed, BaseModel) else typed)
    return typed


def check(store: SettingsStore) -> list[str]:
    """Every problem of the project's stored settings (each would be replaced by its default)."""
    keys = [f.alias or k for k, f in ProjectSettings.model_fields.items()]
    return [note for key in keys for note in read(store, key)[1]]


def user_value(key: str, raw: Any) -> tuple[Any, list[str]]:
    """A user setting read back from QSettings (None = not set): (typed value or default, problems)."""
    if key not in UserSettings.model_fields:
        raise SettingsError(
            f"unknown user setting {key!r}; valid keys: {', '.join(UserSettings.model_fields)}"
        )
    default = getattr(UserSettings(), key)
    if raw is None:
        return default, []
    try:
        return getattr(UserSettings.model_validate({key: raw}), key), []
    except ValidationError as exc:
        return default, _errors(exc, UserSettings, {key: raw}, f"user setting {key!r}")


# ---------------------------------------------------------------- pipeline settings -> PipelineConfig


def pipeline_config(values: Mapping[str, Any] | PipelineSettings) -> PipelineConfig:
    """The profile's pipeline with these settings applied; raises ConfigError naming a bad setting.

    A stage keeps the profile's parameters when its name is unchanged; a newly chosen stage starts from its
    factory's defaults. The LLM endpoint fills the `openai` translator (unset: the profile's fallback).
    """
    import tomllib

    from avs_studio.openavs.config import parse_config, profiles_dir
    from avs_studio.openavs.registry import SEGMENTERS
    from avs_studio.openavs.schema import ConfigError, stage_keys

    raw = values.model_dump() if isinstance(values, BaseModel) else dict(values)
    try:
        s = PipelineSettings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(" ".join(_errors(exc, PipelineSettings, raw, "pipeline settings"))) from None
    data = tomllib.loads((profiles_dir() / f"{s.profile}.toml").read_text(encoding="utf-8"))
    data["pipeline"] = {**data.get("pipeline", {}), "device": s.device, "keyframe_rate": s.keyframe_rate}
    old = {d.get("name"): d for d in data.get("describers", [])}
    data["describers"] = [old.get(n, {"name": n}) for n in s.describers]
    for key in ("translator", "segmenter"):
        if data.get(key, {}).get("name") != getattr(s, key):
            data[key] = {"name": getattr(s, key)}
    seg = dict(data["segmenter"])
    for key in THRESHOLD_KEYS:
        if key in seg or key in stage_keys("segmenter", SEGMENTERS, seg["name"]):
            seg[key] = getattr(s, key)
    data["segmenter"] = seg
    if s.point_segmenter is None:
        data.pop("point_segmenter", None)
    elif (data.get("point_segmenter") or {}).get("name") != s.point_segmenter:
        data["point_segmenter"] = {"name": s.point_segmenter}
    llm = {k: v for k, v in s.llm.model_dump().items() if v}
    cfg = parse_config(data, f"settings (profile {s.profile})", llm=llm)
    cfg.profile = s.profile
    return cfg
