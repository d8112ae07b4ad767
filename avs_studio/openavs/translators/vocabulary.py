"""The sound-source vocabulary (avs_studio/resources/sound_sources.txt) and whole-word keyword matching over it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from avs_studio.resources import resources_dir

VOCABULARY_FILE = "sound_sources.txt"  # in the resources folder


class VocabularyError(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    phrase: str  # what the translator answers
    aliases: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    parent: str | None = None
    visible: bool = True  # False: a sound with no visible source ("- music")

    def texts(self) -> list[str]:
        """Strings that stand for this entry when comparing embeddings."""
        return [self.phrase, *self.aliases, *self.cues]


@dataclass
class Match:
    entry: Entry
    start: int
    end: int
    kind: str  # phrase | alias | cue


@dataclass
class Vocabulary:
    entries: list[Entry]
    path: str = ""
    _terms: list[tuple[str, Entry, str]] = field(default_factory=list, repr=False)
    _pattern: re.Pattern[str] = field(default=re.compile("(?!)"), repr=False)  # set in __post_init__

    def __post_init__(self) -> None:
        by_term: dict[str, tuple[Entry, str]] = {}
        for kind in ("phrase", "alias", "cue"):  # a term names the first entry that has it, phrases first
            for e in self.entries:
                terms = {"phrase": (e.phrase,), "alias": e.aliases, "cue": e.cues}[kind]
                names = re.compile(rf"\b(?:{'|'.join(re.escape(n) for n in (e.phrase, *e.aliases))})\b")
                for t in terms:
                    # a cue holding the thing's own name ("car horn", "door slam") names it
                    by_term.setdefault(t, (e, "alias" if kind == "cue" and names.search(t) else kind))
        self._lookup = by_term
        # Longest terms first, so "bass drum" wins over "bass" and "male speech" over "speech".
        longest_first = sorted(by_term, key=len, reverse=True)
        alternation = "|".join(re.escape(t) for t in longest_first)
        self._pattern = re.compile(rf"(?<![\w-])(?:{alternation})(?:s|es)?(?![\w-])", re.IGNORECASE)
        self._by_phrase = {e.phrase: e for e in self.entries}

    def get(self, phrase: str) -> Entry | None:
        return self._by_phrase.get(phrase)

    @property
    def visible_entries(self) -> list[Entry]:
        return [e for e in self.entries if e.visible]

    def find(self, text: str) -> list[Match]:
        """Non-overlapping whole-word matches of names, aliases and cues in ``text`` (longest first)."""
        out: list[Match] = []
        for m in self._pattern.finditer(text):
            word = m.group(0).lower()
            hit = self._lookup.get(word)
            if hit is None:  # plural ending matched: strip it
                for suffix in ("es", "s"):
                    if word.endswith(suffix) and word[: -len(suffix)] in self._lookup:
                        hit = self._lookup[word[: -len(suffix)]]
                        break
            if hit is not None:
                out.append(Match(hit[0], m.start(), m.end(), hit[1]))
        return out

    def most_specific(self, phrases: list[str]) -> list[str]:
        """Drop a phrase when a more specific one (its child, grandchild...) is also there."""
        keep = []
        present = set(phrases)
        for p in phrases:
            if not any(q != p and p in self.ancestors(q) for q in present):
                keep.append(p)
        return keep

    def ancestors(self, phrase: str) -> list[str]:
        out, seen = [], {phrase}
        e = self.get(phrase)
        while e is not None and e.parent and e.parent not in seen:
            out.append(e.parent)
            seen.add(e.parent)
            e = self.get(e.parent)
        return out


def _split(field_text: str) -> tuple[str, ...]:
    return tuple(t for t in (s.strip().lower() for s in field_text.split(",")) if t)


def load_vocabulary(path: str | Path | None = None) -> Vocabulary:
    """Read a vocabulary file (format in avs_studio/resources/sound_sources.txt); errors name the file and line."""
    p = Path(path) if path is not None else resources_dir() / VOCABULARY_FILE
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise VocabularyError(f"cannot read the sound-source vocabulary {p}: {exc.strerror or exc}") from exc
    entries: list[Entry] = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("|")]
        if len(fields) > 4:
            raise VocabularyError(
                f"{p}, line {n}: at most 4 fields (phrase | aliases | cues | parent): {line!r}"
            )
        fields += [""] * (4 - len(fields))
        phrase = fields[0].lower()
        visible = not phrase.startswith("-")
        phrase = phrase.lstrip("-").strip()
        if not phrase:
            raise VocabularyError(f"{p}, line {n}: the phrase (first field) is empty")
        if phrase in seen:
            raise VocabularyError(f"{p}, line {n}: {phrase!r} is listed twice")
        seen.add(phrase)
        entries.append(
            Entry(phrase, _split(fields[1]), _split(fields[2]), fields[3].lower() or None, visible)
        )
    if not entries:
        raise VocabularyError(f"the sound-source vocabulary {p} has no entries")
    for e in entries:
        if e.parent and e.parent not in seen:
            raise VocabularyError(f"{p}: the parent {e.parent!r} of {e.phrase!r} is not an entry of the file")
    return Vocabulary(entries, str(p))
