"""The clip-level prompt shared by every translator, validation of the answer, and the retry loop.

One prompt per clip carries every keyframe's descriptions, tagged by frame and by describer (frame
consistency: neighbouring seconds inform each other), and asks for a strict per-frame JSON answer:
``{"frames": [{"frame": 1, "objects": ["guitar"]}, ...]}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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

MAX_PHRASE_CHARS = 60
_ARTICLE = re.compile(r"^(a|an|the|some)\s+")
_SPACE = re.compile(r"\s+")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


@dataclass
class TranslationRecord(Translation):
    """A Translation that also keeps every raw answer of the exchange (``raw`` is the one used)."""

    history: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**super().as_dict(), "history": list(self.history)}


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


def normalise_phrase(phrase: str) -> str:
    p = _SPACE.sub(" ", phrase.strip().lower()).strip(" .,;:!\"'")
    return _ARTICLE.sub("", p).strip()


def _extract_json(raw: str) -> object:
    text = _FENCE.sub("", raw.strip()).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise ValueError("the answer contains no JSON object") from None
        try:
            return json.loads(text[start : end + 1])
        except json.JSONDecodeError as exc:
            raise ValueError(f"the answer is not valid JSON ({exc.msg} at character {exc.pos})") from None


def parse_answer(raw: str, n_frames: int) -> list[list[str]]:
    """Validated per-frame phrases from an answer, or ValueError saying exactly what is wrong."""
    data = _extract_json(raw)
    if not isinstance(data, dict) or not isinstance(data.get("frames"), list):
        raise ValueError('the answer must be a JSON object with a "frames" list')
    frames = data["frames"]
    if len(frames) != n_frames:
        raise ValueError(
            f'"frames" has {len(frames)} entries; it must have exactly {n_frames}, one per frame'
        )
    out: list[list[str]] = []
    for i, entry in enumerate(frames):
        if not isinstance(entry, dict):
            raise ValueError(f'frame entry {i + 1} must be an object with "frame" and "objects"')
        number = entry.get("frame", i + 1)
        if isinstance(number, bool) or not isinstance(number, int) or number != i + 1:
            raise ValueError(
                f'entry {i + 1} has "frame": {json.dumps(number)}; frames must be numbered 1 to {n_frames} in order'
            )
        objects = entry.get("objects")
        if not isinstance(objects, list):
            raise ValueError(f'frame {i + 1}: "objects" must be a list of strings ([] when nothing sounds)')
        phrases: list[str] = []
        for obj in objects:
            if not isinstance(obj, str):
                raise ValueError(f"frame {i + 1}: every object must be a string, got {json.dumps(obj)}")
            p = normalise_phrase(obj)
            if len(p) > MAX_PHRASE_CHARS:
                raise ValueError(
                    f"frame {i + 1}: {obj!r} is not a short noun phrase (at most {MAX_PHRASE_CHARS} characters)"
                )
            if p and p not in phrases:
                phrases.append(p)
        out.append(phrases)
    return out


def retry_message(error: str, n_frames: int) -> str:
    return f"Your answer could not be used: {error}. {answer_format(n_frames)} JSON only."


Chat = Callable[[list[dict[str, str]]], str]


def translate_with_retries(
    chat: Chat, descriptions: Sequence[dict[str, str]], *, translator: str, retries: int
) -> Translation:
    """Ask ``chat`` (messages -> answer text), validate, retry a malformed answer with the error fed back.

    Raises TranslationError with the last raw answer after ``retries`` retries.
    """
    n = len(descriptions)
    prompt = build_prompt(descriptions)
    if n == 0:
        return TranslationRecord(
            phrases=[], prompt=prompt, raw='{"frames": []}', attempts=0, translator=translator
        )
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}]
    raws: list[str] = []
    error = ""
    for attempt in range(1, retries + 2):
        raw = chat(messages)
        raws.append(raw)
        try:
            phrases = parse_answer(raw, n)
        except ValueError as exc:
            error = str(exc)
            messages = messages + [
                {"role": "assistant", "content": raw},
                {"role": "user", "content": retry_message(error, n)},
            ]
            continue
        return TranslationRecord(
            phrases=phrases, prompt=prompt, raw=raw, attempts=attempt, translator=translator, history=raws
        )
    raise TranslationError(
        f"the {translator} translator gave no valid answer after {retries + 1} attempts; last problem: {error}. "
        f"Last answer: {raws[-1][:300]!r}",
        raw=raws[-1],
        prompt=prompt,
        attempts=retries + 1,
        translator=translator,
    )
