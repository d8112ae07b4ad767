"""The clip-level prompt shared by every translator, validation of the answer, and the retry loop.

One prompt per clip carries every keyframe's descriptions, tagged by frame and by describer (frame
consistency: neighbouring seconds inform each other), and asks for a strict per-frame JSON answer:
``{"frames": [{"frame": 1, "objects": ["guitar"]}, ...]}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from avs_studio.openavs.translators.answer import Answer, read_answer
from avs_studio.openavs.types import Translation

SYSTEM_PROMPT = (
    "You help annotate audio-visual segmentation data. For each one-second frame of a video clip you "
    "get descriptions of what is heard, written by several audio models. Name the VISIBLE objects that "
    "make the sound in each frame, as short noun phrases an object detector can find in the image "
    '("a person is playing a guitar" -> "guitar"; "a man speaks into a microphone" -> "man"; '
    '"dog barking" -> "dog"). Sounds change slowly, so use neighbouring frames when one frame is '
    "unclear. Give an empty list for a frame where nothing visible makes a sound (silence, background "
    "music, wind, noise). Answer with JSON only, no other text."
)

# What each known describer's text is, so the LLM can weigh them (unknown names are shown as is).
DESCRIBER_HINTS = {
    "ast": "audio event tags",
    "clap": "zero-shot audio labels",
    "whisper": "speech transcript",
    "audio-lm": "audio caption",
    "fixed": "audio description",
    "tone": "audio description",
}


@dataclass
class TranslationRecord(Translation):
    """A Translation that also keeps every raw answer of the exchange (``raw`` is the one used), what was
    repaired in it, and whether frames had to be padded (``salvaged``: no complete answer came)."""

    history: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    salvaged: bool = False

    def as_dict(self) -> dict:
        out = {**super().as_dict(), "history": list(self.history)}
        if self.repairs:
            out["repairs"] = list(self.repairs)
        if self.salvaged:
            out["salvaged"] = True
        return out


class TranslationError(Exception):
    """The translator gave no usable answer; ``raw`` is its last answer, ``prompt`` what it was asked."""

    def __init__(
        self, message: str, *, raw: str = "", prompt: str = "", attempts: int = 0, translator: str = ""
    ):
        super().__init__(message)
        self.raw = raw
        self.prompt = prompt
        self.attempts = attempts
        self.translator = translator


class TranslatorConnectionError(TranslationError):
    """The LLM endpoint could not be reached or did not answer in time; names the URL and the setting."""


def answer_format(n_frames: int) -> str:
    example = ", ".join(f'{{"frame": {i + 1}, "objects": [...]}}' for i in range(min(n_frames, 2)))
    more = ", ..." if n_frames > 2 else ""
    return (
        f'Answer with exactly this JSON shape: {{"frames": [{example}{more}]}} with exactly {n_frames} '
        f'entries, frame numbers 1 to {n_frames} in order, each "objects" a list of short lower-case '
        f"noun phrases (the visible sound-making objects), [] when nothing visible makes a sound."
    )


def build_prompt(descriptions: Sequence[dict[str, str]]) -> str:
    """The user message for one clip: every frame's descriptions, tagged by frame and describer."""
    n = len(descriptions)
    lines = [f"The clip has {n} frame{'s' if n != 1 else ''}, one per second. What each frame sounds like:"]
    for i, per_describer in enumerate(descriptions):
        lines.append(f"Frame {i + 1}:")
        if not any(text.strip() for text in per_describer.values()):
            lines.append("  (silence: no describer heard anything)")
        for name, text in per_describer.items():
            hint = DESCRIBER_HINTS.get(name)
            tag = f"{name} ({hint})" if hint else name
            lines.append(f"  - {tag}: {text.strip() or '(nothing)'}")
    lines.append("")
    lines.append(answer_format(n))
    return "\n".join(lines)


def retry_message(error: str, n_frames: int) -> str:
    return f"Your answer could not be used: {error}. {answer_format(n_frames)} JSON only."


Chat = Callable[[list[dict[str, str]]], str]


def translate_with_retries(
    chat: Chat, descriptions: Sequence[dict[str, str]], *, translator: str, retries: int
) -> Translation:
    """Ask ``chat`` (messages -> answer text) and read the answer, salvaging what is usable
    (translators.answer). An answer with no usable JSON, or with frames missing, is asked again with the
    problem fed back, up to ``retries`` times; then the most complete salvaged answer is used (missing
    frames: no object). Raises TranslationError, with the last raw answer, only when no answer was usable.
    """
    n = len(descriptions)
    prompt = build_prompt(descriptions)
    if n == 0:
        return TranslationRecord(
            phrases=[], prompt=prompt, raw='{"frames": []}', attempts=0, translator=translator
        )
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}]
    raws: list[str] = []
    best: tuple[Answer, str] | None = None
    error = ""
    for attempt in range(1, retries + 2):
        raw = chat(messages)
        raws.append(raw)
        try:
            answer = read_answer(raw, n)
        except ValueError as exc:
            error = str(exc)
        else:
            if answer.complete:
                return TranslationRecord(
                    phrases=answer.phrases, prompt=prompt, raw=raw, attempts=attempt, translator=translator,
                    history=raws, repairs=answer.notes,
                )  # fmt: skip
            if best is None or len(answer.missing) < len(best[0].missing):
                best = (answer, raw)
            error = answer.problem(n)
        messages = messages + [
            {"role": "assistant", "content": raw},
            {"role": "user", "content": retry_message(error, n)},
        ]
    if best is not None:
        answer, raw = best
        return TranslationRecord(
            phrases=answer.phrases, prompt=prompt, raw=raw, attempts=retries + 1, translator=translator,
            history=raws, repairs=answer.notes, salvaged=True,
        )  # fmt: skip
    raise TranslationError(
        f"the {translator} translator gave no usable answer after {retries + 1} attempts; last problem: {error}. "
        f"Last answer: {raws[-1][:300]!r}",
        raw=raws[-1],
        prompt=prompt,
        attempts=retries + 1,
        translator=translator,
    )
