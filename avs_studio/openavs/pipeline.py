"""The orchestrator: a clip's keyframes and audio -> describers -> one translation -> masks."""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

import avs_studio
from avs_studio.openavs.config import (
    ConfigError,
    PipelineConfig,
    StageSpec,
    default_fallback,
    load_config,
    resolve_tiny,
)
from avs_studio.openavs.registry import DESCRIBERS, POINT_SEGMENTERS, SEGMENTERS, TRANSLATORS, Registry
from avs_studio.openavs.translators.answer import normalise_phrase
from avs_studio.openavs.translators.base import TranslationError, TranslatorConnectionError
from avs_studio.openavs.types import (
    AudioDescriber,
    Clip,
    ClipProposal,
    FrameProposal,
    ObjectProposal,
    PointSegmenter,
    PromptTranslator,
    TextSegmenter,
    Translation,
)

Progress = Callable[[int, int, str], None]
AUDIO_RATE = 16000  # audio decoding rate when no describer asks for more
LIBRARIES = ("torch", "transformers", "segment_anything", "whisper", "sentence_transformers", "openai")


class PipelineError(RuntimeError):
    """A stage broke its contract (wrong number of outputs, ...); names the stage."""


class Cancelled(Exception):
    """The run was cancelled between two stages; nothing of the clip is returned."""


def _check_clip(clip: Clip) -> None:
    n = len(clip.frames)
    if not (n == len(clip.frame_indices) == len(clip.spans)):
        raise PipelineError(
            f"clip {clip.key!r}: {n} frames, {len(clip.frame_indices)} indices, {len(clip.spans)} spans"
        )


def _cancelled(cancel: Any) -> bool:
    return cancel is not None and cancel.is_set()


def _build(registry: Registry, spec: StageSpec, device: str, where: str) -> Any:
    params = resolve_tiny(spec.params)
    try:
        return registry.create(spec.name, **params, device=device)
    except TypeError as exc:
        if "argument" in str(exc):  # an unknown or missing parameter in the config
            raise ConfigError(
                f"{where} {spec.name!r}: {exc}; check its parameters in the pipeline config"
            ) from exc
        raise


MODEL_KEYS = ("model", "path", "detector", "detector_path", "sam", "sam_path")


def _stage_id(spec: StageSpec, stage: Any) -> str:
    """ "name: model ids" of a stage, for provenance."""
    model = getattr(stage, "model_id", None) or " + ".join(
        str(spec.params[k]) for k in MODEL_KEYS if spec.params.get(k)
    )
    return f"{spec.name}: {model}" if model else spec.name


def library_versions() -> dict[str, str]:
    """Versions of avs_studio and of the model libraries loaded in this process."""
    out = {"avs_studio": avs_studio.__version__}
    for name in LIBRARIES:
        mod = sys.modules.get(name)
        if mod is not None and getattr(mod, "__version__", None):
            out[name] = str(mod.__version__)
    return out


class Pipeline:
    def __init__(
        self,
        describers: list[AudioDescriber],
        translator: PromptTranslator,
        segmenter: TextSegmenter,
        point_segmenter: PointSegmenter | None = None,
        *,
        config: PipelineConfig | None = None,
        device: str = "auto",
    ):
        if not describers:
            raise ConfigError("a pipeline needs at least one describer")
        names = [d.name for d in describers]
        if len(set(names)) != len(names):
            raise ConfigError(f"describer names must be distinct, got {names}")
        self.describers = describers
        self.translator = translator
        self.segmenter = segmenter
        self._point_segmenter = point_segmenter
        self.config = config
        self.device = device
        self._fallback: PromptTranslator | None = None
        self._fallback_lock = threading.Lock()

    @classmethod
    def from_config(
        cls,
        cfg: PipelineConfig | str | Path | None = None,
        device: str | None = None,
        point_segmenter: PointSegmenter | None = None,
    ) -> Pipeline:
        """Build every stage by name through the registries (the point segmenter on first use, unless
        one built already is given).

        ``device`` None or "auto" keeps the config's device unless that is "auto" too."""
        if not isinstance(cfg, PipelineConfig):
            cfg = load_config(cfg)
        dev = cfg.device if device in (None, "auto") else device
        describers = [_build(DESCRIBERS, d, dev, "describer") for d in cfg.describers]
        translator = _build(TRANSLATORS, cfg.translator, dev, "translator")
        segmenter = _build(SEGMENTERS, cfg.segmenter, dev, "segmenter")
        return cls(describers, translator, segmenter, point_segmenter, config=cfg, device=dev)

    @property
    def point_segmenter(self) -> PointSegmenter | None:
        """The interactive (click) segmenter; built when first asked for."""
        if self._point_segmenter is None and self.config is not None and self.config.point_segmenter:
            self._point_segmenter = _build(
                POINT_SEGMENTERS, self.config.point_segmenter, self.device, "point segmenter"
            )
        return self._point_segmenter

    @property
    def models(self) -> dict[str, str]:
        out: dict[str, str] = {}
        specs = self.config.describers if self.config else [StageSpec(d.name) for d in self.describers]
        for spec, d in zip(specs, self.describers):
            out[f"describer:{d.name}"] = _stage_id(spec, d)
        tr_spec = self.config.translator if self.config else StageSpec(self.translator.name)
        seg_spec = self.config.segmenter if self.config else StageSpec(self.segmenter.name)
        out["translator"] = _stage_id(tr_spec, self.translator)
        out["segmenter"] = _stage_id(seg_spec, self.segmenter)
        if self.config and self.config.point_segmenter:
            out["point_segmenter"] = _stage_id(self.config.point_segmenter, self._point_segmenter)
        out.update({f"version:{k}": v for k, v in library_versions().items()})
        return out

    def describe(self, clip: Clip, timings: dict[str, float] | None = None) -> list[dict[str, str]]:
        """Every describer on every keyframe's audio segment (one batched call per describer), padded by
        the describer's context seconds on each side, within the audio track."""
        windows: dict[float, list[np.ndarray]] = {}
        per_frame: list[dict[str, str]] = [{} for _ in clip.spans]
        for d in self.describers:
            pad = self.config.context_for(d.name) if self.config else 0.0
            if pad not in windows:
                end = max(clip.audio.duration, max((t1 for _, t1 in clip.spans), default=0.0))
                windows[pad] = [
                    clip.audio.span(max(0.0, t0 - pad), min(end, t1 + pad)) for t0, t1 in clip.spans
                ]
            segments = windows[pad]
            t = time.perf_counter()
            texts = d.describe(segments, clip.audio.rate)
            if timings is not None:
                timings[f"describe:{d.name}"] = time.perf_counter() - t
            if len(texts) != len(segments) or not all(isinstance(x, str) for x in texts):
                raise PipelineError(
                    f"describer {d.name!r} returned {len(texts)} texts for {len(segments)} segments; it must "
                    f"return one string per segment"
                )
            for frame, text in zip(per_frame, texts):
                frame[d.name] = text
        return per_frame

    def run(self, clip: Clip, progress: Progress | None = None, cancel: Any = None) -> ClipProposal:
        _check_clip(clip)
        steps = len(self.describers) + 2

        def step(done: int, message: str) -> None:
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"cancelled before {message}")
            if progress is not None:
                progress(done, steps, message)

        timings: dict[str, float] = {}
        start = time.perf_counter()
        step(0, "describing the audio")
        descriptions = self.describe(clip, timings)
        step(len(self.describers), "translating descriptions into object names")
        translation = self._translate(descriptions, timings)
        step(len(self.describers) + 1, "segmenting the frames")
        out = self._segment(clip, descriptions, translation, timings, start)
        if progress is not None:
            progress(steps, steps, "done")
        return out

    @property
    def audio_rate(self) -> int:
        """The rate to decode a clip's audio at, once: the highest any describer listens at (its `rate`;
        AUDIO_RATE where it has none). Each describer resamples to its own."""
        return max([AUDIO_RATE] + [int(getattr(d, "rate", 0) or 0) for d in self.describers])

    @property
    def parallel(self) -> int:
        """Clip prompts the translator takes at once (its ``parallel``, e.g. an LLM server's; else 1)."""
        return max(1, int(getattr(self.translator, "parallel", 1) or 1))

    def run_many(self, clips: Iterable[Clip], cancel: Any = None) -> Generator[ClipProposal, None, None]:
        """The proposals of ``clips``, in order. When the translator takes several prompts at once
        (``parallel`` > 1, an LLM server), the next clips are described and their prompts sent while the
        earlier ones wait for their answers and are segmented: up to ``parallel`` prompts in flight.
        Raises what the clip in turn raised (Cancelled between clips, TranslatorConnectionError, ...); the
        clips after it are dropped, their requests abandoned. A clip whose translation failed is answered
        by the fallback translator (see ``_translate``), so a bad LLM answer never ends the run."""
        if self.parallel == 1:
            for clip in clips:
                yield self.run(clip, cancel=cancel)
            return
        source = iter(clips)
        pending: deque[tuple[Clip, list[dict[str, str]], Future, dict[str, float], float]] = deque()
        pool = ThreadPoolExecutor(self.parallel, thread_name_prefix="avs-translate")
        try:
            while True:
                while len(pending) < self.parallel and not _cancelled(cancel):
                    following = next(source, None)
                    if following is None:
                        break
                    clip = following
                    _check_clip(clip)
                    timings: dict[str, float] = {}
                    start = time.perf_counter()
                    descriptions = self.describe(clip, timings)
                    job = pool.submit(self._translate, descriptions, timings)
                    pending.append((clip, descriptions, job, timings, start))
                if _cancelled(cancel):
                    raise Cancelled("cancelled between clips")
                if not pending:
                    return
                clip, descriptions, job, timings, start = pending.popleft()
                translation = job.result()
                if _cancelled(cancel):
                    raise Cancelled("cancelled before segmenting the frames")
                yield self._segment(clip, descriptions, translation, timings, start)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    @property
    def fallback_translator(self) -> PromptTranslator:
        """The translator that answers a clip the configured one gave no usable answer for (the config's
        ``[translator] fallback``, by default `offline`); built when first needed."""
        with self._fallback_lock:
            if self._fallback is None:
                spec = self.config.translator_fallback if self.config else default_fallback()
                self._fallback = _build(TRANSLATORS, spec, self.device, "fallback translator")
            return self._fallback

    def _translate(self, descriptions: list[dict[str, str]], timings: dict[str, float]) -> Translation:
        """The translator's answer; when it has none usable (TranslationError, not a connection problem),
        the fallback translator's, with what failed in ``translation.fallback``."""
        t = time.perf_counter()
        try:
            translation = self.translator.translate(descriptions)
        except TranslatorConnectionError:
            raise
        except TranslationError as exc:
            fallback = self.fallback_translator
            if fallback is self.translator or fallback.name == self.translator.name:
                raise
            translation = fallback.translate(descriptions)
            translation.fallback = {
                "from": self.translator.name,
                "error": str(exc),
                "raw": exc.raw,
                "attempts": exc.attempts,
            }
        timings["translate"] = time.perf_counter() - t
        if len(translation.phrases) != len(descriptions):
            raise PipelineError(
                f"translator {self.translator.name!r} answered {len(translation.phrases)} frames for "
                f"{len(descriptions)}"
            )
        return translation

    def _segment(
        self,
        clip: Clip,
        descriptions: list[dict[str, str]],
        translation: Translation,
        timings: dict[str, float],
        start: float,
    ) -> ClipProposal:
        n = len(clip.frames)
        t = time.perf_counter()
        keys = [clip.frame_key(i) for i in range(n)] if clip.key else None
        objects = self.segmenter.segment(list(clip.frames), [list(p) for p in translation.phrases], keys)
        timings["segment"] = time.perf_counter() - t
        if len(objects) != n:
            raise PipelineError(f"segmenter {self.segmenter.name!r} returned {len(objects)} frames for {n}")
        frames = [
            FrameProposal(clip.frame_indices[i], list(translation.phrases[i]), list(objects[i]))
            for i in range(n)
        ]
        timings["total"] = time.perf_counter() - start
        return ClipProposal(
            frames=frames,
            descriptions=descriptions,
            translation=translation.as_dict(),
            models=self.models,
            timings=timings,
        )

    def segment_frame(
        self, image: np.ndarray, phrases: list[str], key: str | None = None
    ) -> list[ObjectProposal]:
        """Re-run the text segmenter on one frame with (edited) phrases (the editor's "T" key)."""
        clean = list(dict.fromkeys(p for p in (normalise_phrase(x) for x in phrases) if p))
        if not clean:
            return []
        return self.segmenter.segment([image], [clean], [key] if key else None)[0]


def build_point_segmenter(
    cfg: PipelineConfig | str | Path | None = None, device: str | None = None
) -> PointSegmenter | None:
    """The config's point segmenter alone (SAM clicks need no describer, translator or text segmenter);
    None when the config has none."""
    if not isinstance(cfg, PipelineConfig):
        cfg = load_config(cfg)
    if not cfg.point_segmenter:
        return None
    dev = cfg.device if device in (None, "auto") else device
    return _build(POINT_SEGMENTERS, cfg.point_segmenter, dev, "point segmenter")
