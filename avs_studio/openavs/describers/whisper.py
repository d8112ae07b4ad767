"""`whisper`: speech transcription (openai-whisper) of the segments where silero-vad hears speech."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.describers.common import prepare
from avs_studio.openavs.devices import resolve_device
from avs_studio.openavs.factories import WHISPER_LANGUAGE as DEFAULT_LANGUAGE

RATE = 16000
SPECIAL = re.compile(r"<\|[^|>]*\|>")  # <|notimestamps|> and the like, never part of the speech


def load_whisper(path: str | Path, device: str | torch.device = "cpu"):
    """openai-whisper model from a checkpoint file ({"dims", "model_state_dict"}, as published)."""
    import whisper

    path = Path(path)
    if not path.is_file():
        raise weights.ModelError(f"Whisper checkpoint {path} is not a file")
    try:
        return whisper.load_model(str(path), device=str(resolve_device(device))).eval()
    except Exception as exc:  # whisper/torch raise several types for a bad file
        raise weights.ModelError(f"cannot load Whisper checkpoint {path}: {exc}") from exc


def whisper_language(language: str | None) -> str | None:
    """A Whisper language code from a code or an English name ("en", "English"); None for "auto"."""
    from whisper.tokenizer import LANGUAGES, TO_LANGUAGE_CODE

    if language is None or str(language).strip().lower() == "auto":
        return None
    key = str(language).strip().lower()
    if key in LANGUAGES:
        return key
    if key in TO_LANGUAGE_CODE:
        return TO_LANGUAGE_CODE[key]
    raise ValueError(
        f'whisper: unknown language {language!r}; use "auto" or a code such as en, de, fr, es, zh, ja '
        f"({len(LANGUAGES)} codes: whisper.tokenizer.LANGUAGES)"
    )


_VAD: list = []
_VAD_LOCK = threading.Lock()


def silero_speech(min_speech_ms: int = 250, threshold: float = 0.5) -> Callable[[np.ndarray], bool]:
    """A 16 kHz mono segment -> True when silero-vad (weights ship with the package) finds speech."""
    from silero_vad import get_speech_timestamps, load_silero_vad

    with _VAD_LOCK:
        if not _VAD:
            _VAD.append(load_silero_vad())
    vad = _VAD[0]

    def has_speech(audio: np.ndarray) -> bool:
        if len(audio) < RATE // 10:
            return False
        with _VAD_LOCK:  # the silero model keeps state between calls
            stamps = get_speech_timestamps(
                torch.from_numpy(np.ascontiguousarray(audio)),
                vad,
                sampling_rate=RATE,
                threshold=threshold,
                min_speech_duration_ms=min_speech_ms,
            )
        return bool(stamps)

    return has_speech


class WhisperDescriber:
    def __init__(
        self,
        model,
        device: torch.device,
        vad: Callable[[np.ndarray], bool],
        language: str | None = DEFAULT_LANGUAGE,
        max_tokens: int = 48,
        name: str = "whisper",
    ):
        self.model, self.device, self.vad = model, device, vad
        self.language, self.max_tokens, self.name = whisper_language(language), max_tokens, name
        self.rate = RATE
        self.decoded_segments = 0  # segments that went through Whisper (tests and stats)
        self.lock = threading.Lock()

    def transcribe(self, audio: list[np.ndarray]) -> list[str]:
        """Batched greedy decoding of 16 kHz mono segments (each padded to Whisper's 30 s window)."""
        import whisper

        if not audio:
            return []
        n_mels = self.model.dims.n_mels
        mel = torch.stack(
            [
                whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(a)), n_mels=n_mels)
                for a in audio
            ]
        ).to(self.device)
        sample_len = min(self.max_tokens, self.model.dims.n_text_ctx // 2)
        opts = whisper.DecodingOptions(
            task="transcribe",
            language=self.language,
            without_timestamps=True,
            fp16=self.device.type == "cuda",
            sample_len=sample_len,
        )
        with self.lock:
            results = whisper.decode(self.model, mel, opts)
            self.decoded_segments += len(audio)
        return [" ".join(SPECIAL.sub(" ", r.text).split()) for r in results]

    def describe(self, segments: list[np.ndarray], rate: int) -> list[str]:
        audio = prepare(segments, rate, RATE)
        speech = [i for i, a in enumerate(audio) if self.vad(a)]
        out = [""] * len(audio)
        for i, text in zip(speech, self.transcribe([audio[i] for i in speech])):
            text = text.replace('"', "'")
            out[i] = f'speech: "{text}"' if text else ""
        return out
