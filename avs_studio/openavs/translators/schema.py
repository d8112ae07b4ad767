"""The translators' data as pydantic models, the one statement of each shape: what an LLM is asked to answer
(its JSON schema is the ``response_format`` sent; translators.answer salvages an answer, then validates it
here) and what `avs-studio translate` reads.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

ANSWER_NAME = "frames"  # the response_format's schema name


class FrameEntry(BaseModel):
    """One frame of an answer."""

    model_config = ConfigDict(extra="forbid", strict=True)
    frame: int = Field(description="the frame number, 1 to the number of frames, in order")
    objects: list[str] = Field(
        description="the visible objects making the sound, short lower-case noun phrases; [] when none"
    )


class ClipAnswer(BaseModel):
    """The answer for one clip: one entry per frame."""

    model_config = ConfigDict(extra="forbid", strict=True)
    frames: list[FrameEntry]

    @model_validator(mode="after")
    def _numbered_in_order(self) -> ClipAnswer:
        numbers = [f.frame for f in self.frames]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"frames must be numbered 1 to {len(numbers)} in order, got {numbers}")
        return self


@lru_cache(maxsize=64)
def answer_model(n_frames: int) -> type[ClipAnswer]:
    """ClipAnswer with exactly ``n_frames`` entries."""
    frames = (list[FrameEntry], Field(min_length=n_frames, max_length=n_frames))
    return create_model("ClipAnswer", __base__=ClipAnswer, frames=frames)


def answer_schema(n_frames: int) -> dict[str, Any]:
    """The ``response_format`` asking for ``answer_model(n_frames)`` (OpenAI-style structured output)."""
    schema = answer_model(n_frames).model_json_schema()
    return {"type": "json_schema", "json_schema": {"name": ANSWER_NAME, "strict": True, "schema": schema}}


class FrameDescriptions(BaseModel):
    """One frame of `translate`'s input: what each describer heard."""

    model_config = ConfigDict(extra="forbid", strict=True)
    describers: dict[str, str] = Field(description='describer name -> its text, e.g. {"ast": "Dog; Bark"}')


class TranslateInput(BaseModel):
    """INPUT.json of `avs-studio translate`."""

    model_config = ConfigDict(extra="forbid", strict=True, title="AVS Studio translate input")
    frames: list[FrameDescriptions]
