"""Which engine proposes: the project's proposal engine (a setting), parsed, validated and resolved.

An engine is written ``KIND[:NAME]``: ``openavs`` (OpenAVS with the caller's pipeline: the GUI's settings,
the CLI's ``--config``, else the default profile), ``openavs:PROFILE`` (a built-in profile or a TOML
file) or ``student:NAME`` (the trained student PROJECT/models/NAME). The GUI's propose action, the CLI's
``propose`` and the Train dialog all go through :func:`resolve_engine` and :func:`set_proposal_engine`.

Runs record the engine that really ran (``ProposeReport.engine``, ``PipelineRunRow.engine``):
``openavs:PROFILE`` (the profile of the pipeline used) or ``student:NAME``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avs_studio.jobs.project import Project
from avs_studio.openavs.config import PipelineConfig, load_config, user_profiles
from avs_studio.openavs.schema import ConfigError
from avs_studio.settings import PROPOSAL_ENGINE
from avs_studio.training.paths import MODEL_FILE, model_dir

DEFAULT_ENGINE = "openavs"
KINDS = ("openavs", "student")


class EngineError(ValueError):
    """An engine text that cannot be used (unknown kind, missing model or profile); names the fix."""


@dataclass(frozen=True)
class Engine:
    kind: str  # "openavs" | "student"
    name: str = ""  # the profile (openavs; "" = the caller's pipeline) or the model name (student)
    source: str = "default"  # where the choice came from: "argument", "config", "setting", "default"

    @property
    def id(self) -> str:
        """The engine text: ``openavs``, ``openavs:PROFILE`` or ``student:NAME``."""
        return f"{self.kind}:{self.name}" if self.name else self.kind

    @property
    def label(self) -> str:
        """For a status bar: "OpenAVS (offline)", "OpenAVS", "student s1"."""
        if self.kind == "student":
            return f"student {self.name}"
        return f"OpenAVS ({self.name})" if self.name else "OpenAVS"


def parse_engine(text: str, source: str = "argument") -> Engine:
    """``openavs``, ``openavs:PROFILE`` or ``student:NAME`` -> Engine (syntax only; EngineError otherwise)."""
    kind, sep, name = str(text).strip().partition(":")
    if kind not in KINDS or (kind == "student" and not name) or (sep and not name):
        raise EngineError(f"unknown engine {text!r}; use 'openavs', 'openavs:PROFILE' or 'student:NAME'")
    if kind == "student":
        try:
            model_dir(".", name)
        except ValueError as exc:
            raise EngineError(f"engine {text!r}: {exc}") from exc
    return Engine(kind, name, source)


def student_path(project: Project, name: str) -> Path:
    """The finished model file of the student ``name`` (may not exist)."""
    return model_dir(project.dir, name) / MODEL_FILE


def check_engine(project: Project, engine: Engine) -> Engine:
    """``engine`` if it can run in this project: its student model or OpenAVS profile exists."""
    if engine.kind == "student":
        path = student_path(project, engine.name)
        if not path.is_file():
            raise EngineError(
                f"student model {path} not found; train it first with "
                f"`avs-studio train {project.dir} --name {engine.name}`"
            )
    elif engine.name:
        try:
            load_config(engine.name)
        except ConfigError as exc:
            raise EngineError(f"engine {engine.id!r}: {exc}") from exc
    return engine


def proposal_engine(project: Project) -> Engine:
    """The project's proposal engine (setting ``proposal_engine``; ``openavs`` when unset).
    A malformed setting raises EngineError naming the command that fixes it."""
    value = project.store.get_setting(PROPOSAL_ENGINE)
    if value in (None, ""):
        return Engine(DEFAULT_ENGINE, "", "default")
    try:
        return parse_engine(str(value), "setting")
    except EngineError as exc:
        raise EngineError(
            f"the project's proposal engine setting is not usable ({exc}); set it with "
            f"`avs-studio engine {project.dir} openavs` (or student:NAME)"
        ) from exc


def set_proposal_engine(project: Project, engine: str | Engine) -> Engine:
    """Check ``engine`` (its model or profile must exist) and make it the project's proposal engine."""
    parsed = engine if isinstance(engine, Engine) else parse_engine(engine)
    check_engine(project, parsed)
    project.store.set_setting(PROPOSAL_ENGINE, parsed.id)
    return Engine(parsed.kind, parsed.name, "setting")


def resolve_engine(project: Project, engine: str | Engine | None = None, config: Any = None) -> Engine:
    """Which engine proposes: ``engine`` if given; else OpenAVS when a pipeline ``config`` is given
    (a profile, TOML file, PipelineConfig or built Pipeline); else the project's proposal engine."""
    if isinstance(engine, Engine):
        return engine
    if engine is not None:
        return parse_engine(engine)
    if config is not None:
        return Engine("openavs", "", "config")
    return proposal_engine(project)


def openavs_engine_id(cfg: PipelineConfig | None) -> str:
    """The engine id a run of this OpenAVS configuration records: ``openavs:PROFILE``."""
    profile = (cfg.profile if cfg is not None else "") or "default"
    return f"openavs:{profile}"


def available_engines(project: Project) -> list[str]:
    """Engines offered to switch to: ``openavs``, each built-in profile people use (not the test-only
    ones; ``set_proposal_engine`` still takes any), each finished student."""
    out = ["openavs"] + [f"openavs:{p}" for p in user_profiles()]
    models = project.models_dir
    if models.is_dir():
        out += [f"student:{d.name}" for d in sorted(models.iterdir()) if (d / MODEL_FILE).is_file()]
    return out
