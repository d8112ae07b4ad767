"""Reading a translator's answer: the per-frame phrases out of whatever usable JSON it holds.

The answer asked for is ``{"frames": [{"frame": 1, "objects": ["guitar"]}, ...]}``, one entry per frame.
What an LLM sends back is often near that; ``read_answer`` keeps what is usable and says what it fixed:
- the JSON is taken out of prose or a code fence; trailing commas and Python-style quotes are accepted;
  broken JSON gives the frame entries that still parse on their own;
- a list at the top level is the frames list; a frame given as a bare list or string is its objects;
- ``"objects"`` as a string is a list of one phrase (or several, split at "," and ";"); null is [];
- a phrase that is not a string, or longer than a short noun phrase, is dropped;
- frames numbered wrongly are taken in order; extra entries are dropped;
- a frame with no usable entry is padded with "no object" and reported as missing.
Only an answer with no usable JSON at all raises ValueError. What is read is then validated by the answer's
model (translators.schema), whose JSON schema is what the LLM is asked for.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

from avs_studio.openavs.translators.schema import answer_model

MAX_PHRASE_CHARS = 60
_ARTICLE = re.compile(r"^(a|an|the|some)\s+")
_SPACE = re.compile(r"\s+")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_FLAT_OBJECT = re.compile(r"\{[^{}]*\}")
_LIST_SPLIT = re.compile(r"[,;]")


@dataclass
class Answer:
    """Per-frame phrases read from an answer; ``notes`` say what was repaired, ``missing`` which frames
    (1-based) had no usable entry and were padded with no object."""

    phrases: list[list[str]]
    notes: list[str] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing

    def problem(self, n_frames: int) -> str:
        """What a retry should fix ("" when every frame had an entry)."""
        if not self.missing:
            return ""
        frames = ", ".join(map(str, self.missing))
        return f'frame(s) {frames} had no usable entry; "frames" must have exactly {n_frames} entries, one per frame'


def normalise_phrase(phrase: str) -> str:
    p = _SPACE.sub(" ", phrase.strip().lower()).strip(" .,;:!\"'")
    return _ARTICLE.sub("", p).strip()


def _loads(text: str) -> Any:
    """JSON, else JSON without trailing commas, else a Python literal (single quotes); ValueError if none."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        first = exc
    try:
        return json.loads(_TRAILING_COMMA.sub(r"\1", text))
    except json.JSONDecodeError:
        pass
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ValueError(f"the answer is not valid JSON ({first.msg} at character {first.pos})") from None
    if not isinstance(value, dict | list):
        raise ValueError("the answer holds no JSON object")
    return value


def extract_json(raw: str, notes: list[str]) -> Any:
    """The JSON value an answer holds (see the module docstring); ValueError when there is none."""
    text = _FENCE.sub("", raw.strip()).strip()
    spans = [(text.find("{"), text.rfind("}")), (text.find("["), text.rfind("]"))]
    candidates = [text] + [text[s : e + 1] for s, e in sorted(spans) if 0 <= s < e]
    error = ValueError("the answer contains no JSON object")
    for i, candidate in enumerate(candidates):
        try:
            value = _loads(candidate)
        except ValueError as exc:
            error = exc if candidate.lstrip().startswith(("{", "[")) else error
            continue
        if i:
            notes.append("the JSON was taken out of surrounding text")
        return value
    entries = []
    for m in _FLAT_OBJECT.finditer(text):  # broken JSON: the frame entries that parse on their own
        try:
            entry = _loads(m.group(0))
        except ValueError:
            continue
        if isinstance(entry, dict) and ("objects" in entry or "frame" in entry):
            entries.append(entry)
    if entries:
        notes.append(f"the JSON was broken; {len(entries)} frame entries could be read")
        return {"frames": entries}
    raise error


def _frame_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _objects(value: Any, where: str, notes: list[str]) -> list[str] | None:
    """Phrases of one frame's "objects" (None: nothing usable)."""
    if value is None:
        notes.append(f'{where}: "objects" was null (no object)')
        return []
    if isinstance(value, str):
        notes.append(f'{where}: "objects" was a string, not a list')
        value = [v for v in _LIST_SPLIT.split(value)]
    if not isinstance(value, list):
        notes.append(f'{where}: "objects" was {type(value).__name__}, not a list')
        return None
    out: list[str] = []
    for obj in value:
        if not isinstance(obj, str):
            notes.append(f"{where}: dropped {json.dumps(obj)[:40]} (not a string)")
            continue
        p = normalise_phrase(obj)
        if len(p) > MAX_PHRASE_CHARS:
            notes.append(f"{where}: dropped {obj[:40]!r}... (not a short noun phrase)")
            continue
        if p and p not in out:
            out.append(p)
    return out


def _entries(data: Any, notes: list[str]) -> list[tuple[int | None, Any]]:
    """(frame number or None, objects value) of each frame entry."""
    if isinstance(data, list):
        notes.append('the answer was a list, taken as the "frames" list')
        frames = data
    elif isinstance(data, dict) and isinstance(data.get("frames"), list):
        frames = data["frames"]
    elif isinstance(data, dict) and isinstance(data.get("frames"), dict):
        notes.append('"frames" was an object keyed by frame number')
        frames = [{"frame": k, "objects": v} for k, v in data["frames"].items()]
    else:
        raise ValueError('the answer must be a JSON object with a "frames" list')
    out: list[tuple[int | None, Any]] = []
    for k, entry in enumerate(frames):
        if isinstance(entry, dict):
            if "objects" not in entry:
                notes.append(f'frame entry {k + 1} has no "objects"; ignored')
                continue
            out.append((_frame_number(entry.get("frame")), entry["objects"]))
        elif isinstance(entry, list | str):
            notes.append(f"frame entry {k + 1} was a bare {type(entry).__name__}, taken as its objects")
            out.append((None, entry))
        else:
            notes.append(f"frame entry {k + 1} ({json.dumps(entry)[:40]}) is not a frame; ignored")
    return out


def read_answer(raw: str, n_frames: int) -> Answer:
    """Per-frame phrases from an answer, salvaging what is usable (module docstring); ValueError only
    when the answer holds no usable JSON."""
    notes: list[str] = []
    entries = _entries(extract_json(raw, notes), notes)
    given = [num for num, _ in entries]
    numbered = all(num is not None and 1 <= num <= n_frames for num in given) and len(set(given)) == len(given)
    numbers = [num for num in given if num is not None] if numbered else list(range(1, len(entries) + 1))
    if not numbered and any(num is not None for num in given):
        notes.append(f"frames were not numbered 1 to {n_frames}; taken in order")
    if len(entries) > n_frames and not numbered:
        notes.append(f"{len(entries) - n_frames} entries beyond frame {n_frames} dropped")
    slots: list[list[str] | None] = [None] * n_frames
    for num, (_, value) in zip(numbers, entries):
        if num > n_frames:
            continue
        slots[num - 1] = _objects(value, f"frame {num}", notes)
    missing = [i + 1 for i, s in enumerate(slots) if s is None]
    if missing:
        notes.append(f"frame(s) {', '.join(map(str, missing))} missing: no object")
    frames = [{"frame": i + 1, "objects": s if s is not None else []} for i, s in enumerate(slots)]
    valid = answer_model(n_frames).model_validate({"frames": frames})  # salvaged: now in the asked shape
    return Answer([f.objects for f in valid.frames], notes, missing)


def parse_answer(raw: str, n_frames: int) -> list[list[str]]:
    """The per-frame phrases of an answer (salvaged as ``read_answer`` does)."""
    return read_answer(raw, n_frames).phrases
