"""The shape of a pipeline profile as pydantic models: the file's own tables are written here, each stage's
table is derived from its registered factory's signature (its parameters, types and defaults), plus the
keys its place in the profile adds (a describer's `context`, the translator's `fallback`, ...).

`openavs.config` validates a profile with these models; ``profile_schema()`` is the JSON schema of the same
models (``avs-studio config schema``), for an editor to check a profile as it is typed.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from avs_studio.openavs.registry import (
    DESCRIBERS,
    PIPELINE_PARAMS,
    POINT_SEGMENTERS,
    SEGMENTERS,
    TRANSLATORS,
    Registry,
)
from avs_studio.validation import Device

CONTEXT_KEY = "context"  # a describer's own audio context (seconds each side), overriding the pipeline's
UNCONFIGURED_KEY = "when_unconfigured"  # translator: the stage used when no LLM endpoint is set
FALLBACK_KEY = "fallback"  # translator: the stage that answers a clip whose answer was unusable
PREFER_KEY = "prefer"  # segmenter: a stage used instead when its registered `model` is in the cache
CONTEXT_LIMIT = 30.0  # seconds


class ConfigError(ValueError):
    """A pipeline config is malformed; the message names the file, the key and the valid choices."""


class PipelineTable(BaseModel):
    """[pipeline]: how a video is cut into clips and where the models run."""

    model_config = ConfigDict(extra="forbid", strict=True)
    keyframe_rate: float = Field(1.0, gt=0, description="keyframes per second (AVSBench: 1)")
    clip_seconds: int = Field(5, ge=1, description="keyframes per clip (one LLM call per clip)")
    device: Device = Field("auto", description="auto | cpu | cuda | cuda:N")
    context_seconds: float = Field(
        0.0, ge=0, le=CONTEXT_LIMIT, description="audio added each side of a keyframe's second"
    )


Table = dict[str, Any]


class ProfileFile(BaseModel):
    """The top level of a profile. Stage tables are checked one by one against ``stage_model``;
    ``profile_schema`` puts the stage models in their places."""

    model_config = ConfigDict(extra="forbid", strict=True)
    profile: str = Field("", description="the profile's name")
    description: str = ""
    pipeline: PipelineTable = Field(default_factory=PipelineTable)
    describers: list[Table] = Field(min_length=1, description="[[describers]]: one table per audio describer")
    translator: Table = Field(description="[translator]: descriptions -> object names")
    segmenter: Table = Field(description="[segmenter]: object names -> masks")
    point_segmenter: Table | None = Field(None, description="[point_segmenter]: clicks -> masks")


TOP_KEYS = tuple(ProfileFile.model_fields)
PIPELINE_KEYS = tuple(PipelineTable.model_fields)

# Keys a stage's place in the profile adds to its parameters: (annotation, field). Values that are stage
# tables themselves (fallback, prefer) are typed loosely here and checked as stages by openavs.config.
SLOT_FIELDS: dict[str, dict[str, tuple[Any, Any]]] = {
    "describers": {
        CONTEXT_KEY: (
            float | None,
            Field(None, ge=0, le=CONTEXT_LIMIT, description="this describer's own audio context (s)"),
        ),
    },
    "translator": {
        UNCONFIGURED_KEY: (str | None, Field(None, description="the translator used when no LLM is set")),
        FALLBACK_KEY: (
            str | Table | None,
            Field(None, description="the translator answering a clip whose answer was unusable"),
        ),
    },
    "segmenter": {
        PREFER_KEY: (Table | None, Field(None, description="used instead once its `model` is downloaded")),
    },
    "point_segmenter": {},
    "plain": {},  # a stage table inside another (fallback, prefer)
}
REGISTRY = {
    "describers": DESCRIBERS,
    "translator": TRANSLATORS,
    "segmenter": SEGMENTERS,
    "point_segmenter": POINT_SEGMENTERS,
}


def stage_model(slot: str, registry: Registry, name: str) -> type[BaseModel]:
    """The table of stage ``name`` in ``slot``: `name`, the slot's keys, the factory's parameters (less the
    pipeline's own `device`). A factory that takes ``**params`` accepts any other key too."""
    return _stage_model(slot, registry, name, registry.factory(name))


@lru_cache(maxsize=512)
def _stage_model(slot: str, registry: Registry, name: str, factory: Any) -> type[BaseModel]:
    fields: dict[str, Any] = {"name": (Literal[name], Field(description=f"the {registry.kind}"))}
    fields.update(SLOT_FIELDS[slot])
    extra = "forbid"
    for p in registry.signature(name).parameters.values():
        if p.kind is p.VAR_KEYWORD:
            extra = "allow"
        elif p.kind is not p.VAR_POSITIONAL and p.name not in PIPELINE_PARAMS and p.name not in fields:
            annotation = (
                Any if p.annotation in (p.empty, Any) or isinstance(p.annotation, str) else p.annotation
            )
            fields[p.name] = (annotation, ... if p.default is inspect.Parameter.empty else p.default)
    config = ConfigDict(
        extra=extra, strict=True, arbitrary_types_allowed=True, title=f"{registry.kind} {name}"
    )  # type: ignore[typeddict-item]
    ident = "".join(c if c.isalnum() else "_" for c in f"{slot}_{name}")
    return create_model(ident, __config__=config, **fields)


def stage_keys(slot: str, registry: Registry, name: str) -> list[str]:
    """The keys the table of stage ``name`` accepts in ``slot``."""
    return list(stage_model(slot, registry, name).model_fields)


def _union(slot: str, registry: Registry, **types: Any) -> Any:
    models = []
    for name in registry.names():
        base = stage_model(slot, registry, name)
        models.append(create_model(base.__name__, __base__=base, **types) if types else base)
    return Annotated[Union[tuple(models)], Field(discriminator="name")]  # noqa: UP007


class _Lenient(GenerateJsonSchema):
    """A parameter whose type has no JSON form (a callable, an array) is shown as any value."""

    def handle_invalid_for_json_schema(
        self, schema: core_schema.CoreSchema, error_info: str
    ) -> JsonSchemaValue:
        return {}


def profile_model() -> type[BaseModel]:
    """ProfileFile with every registered stage's table in its place (tagged by `name`)."""
    plain_translator = _union("plain", TRANSLATORS)
    translator_names = Literal[tuple(TRANSLATORS.names())]  # type: ignore[valid-type]
    return create_model(
        "PipelineProfile",
        __base__=ProfileFile,
        describers=(list[_union("describers", DESCRIBERS)], Field(min_length=1)),  # type: ignore[misc]
        translator=(
            _union(
                "translator",
                TRANSLATORS,
                when_unconfigured=(translator_names | None, SLOT_FIELDS["translator"][UNCONFIGURED_KEY][1]),
                fallback=(
                    translator_names | plain_translator | None,
                    SLOT_FIELDS["translator"][FALLBACK_KEY][1],
                ),
            ),
            ...,
        ),
        segmenter=(
            _union("segmenter", SEGMENTERS, prefer=(_union("plain", SEGMENTERS) | None, None)),
            ...,
        ),
        point_segmenter=(_union("point_segmenter", POINT_SEGMENTERS) | None, None),
    )


def profile_schema() -> dict[str, Any]:
    """JSON schema of a pipeline profile (TOML read as JSON), with every registered stage."""
    import avs_studio.openavs  # noqa: F401  (fills the registries)

    schema = profile_model().model_json_schema(schema_generator=_Lenient)
    schema["title"] = "AVS Studio pipeline profile"
    return schema
