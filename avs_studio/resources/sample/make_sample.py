"""Generate the bundled sample clip: a drum that plays for 4 s, then a bird that sings for 4 s.

Run once from the repo root (`python avs_studio/resources/sample/make_sample.py`); the output is committed.
The audio is synthesised (a struck membrane, then frequency-swept chirps), so the clip is free of
rights and small, and the sounding object changes halfway: a fair first test of the pipeline.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

W, H, FPS, SECONDS, RATE = 320, 180, 25, 8, 48000
DRUM_HITS = np.arange(0.25, 4.0, 0.5)
CHIRPS = np.arange(4.2, 8.0, 0.6)


def drum(t: np.ndarray) -> np.ndarray:
    out = np.zeros_like(t)
    rng = np.random.default_rng(1)
    for hit in DRUM_HITS:
        d = t - hit
        on = d >= 0
        env = np.exp(-d[on] * 9.0)
        pitch = 110 * (1 + 0.6 * np.exp(-d[on] * 30))
        out[on] += env * (
            0.8 * np.sin(2 * np.pi * np.cumsum(pitch) / RATE) + 0.15 * rng.standard_normal(on.sum())
        )
    return out


def birdsong(t: np.ndarray) -> np.ndarray:
    out = np.zeros_like(t)
    for start in CHIRPS:
        d = t - start
        on = (d >= 0) & (d < 0.25)
        f = 2800 + 1600 * d[on] / 0.25
        env = np.sin(np.pi * d[on] / 0.25) ** 2
        out[on] += 0.5 * env * np.sin(2 * np.pi * np.cumsum(f) / RATE)
    return out


def frame_image(i: int) -> np.ndarray:
    t = i / FPS
    img = np.zeros((H, W, 3), np.uint8)
    img[:] = np.linspace(235, 190, H, dtype=np.uint8)[:, None, None] * np.array([1.0, 0.97, 0.9])
    cv2.rectangle(img, (0, 140), (W, H), (120, 95, 70), -1)  # floor
    # drum: body and skin; the skin brightens just after each hit
    since = t - DRUM_HITS[DRUM_HITS <= t].max() if (DRUM_HITS <= t).any() and t < 4.2 else 9
    glow = int(80 * np.exp(-since * 8))
    cv2.rectangle(img, (40, 95), (130, 145), (170, 40, 40), -1)
    cv2.ellipse(img, (85, 95), (45, 12), 0, 0, 360, (min(255, 200 + glow), 200 + glow // 2, 180), -1)
    cv2.ellipse(img, (85, 145), (45, 12), 0, 0, 180, (150, 30, 30), -1)
    # bird on a branch; the beak opens while it sings
    cv2.line(img, (190, 88), (300, 92), (90, 60, 30), 4)
    cv2.ellipse(img, (245, 70), (22, 16), 0, 0, 360, (240, 200, 40), -1)
    cv2.circle(img, (265, 60), 10, (240, 200, 40), -1)
    cv2.circle(img, (268, 57), 2, (20, 20, 20), -1)
    singing = any(0 <= t - c < 0.25 for c in CHIRPS)
    gape = 5 if singing else 1
    cv2.fillPoly(img, [np.array([[274, 58], [286, 60 - gape], [286, 60 + gape]], np.int32)], (230, 120, 20))
    cv2.putText(img, f"{t:4.1f}s", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (60, 60, 60), 1, cv2.LINE_AA)
    return img


def main(out: Path) -> None:
    t = np.arange(SECONDS * RATE) / RATE
    audio = (drum(t) + birdsong(t)).astype(np.float32)
    audio /= max(1.0, float(np.abs(audio).max()) / 0.9)
    with av.open(str(out), "w") as container:
        vs = container.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
        vs.options = {"crf": "28", "g": str(FPS * 2)}
        aus = container.add_stream("aac", rate=RATE)
        aus.layout = "mono"
        aus.bit_rate = 64000
        for i in range(SECONDS * FPS):
            frame = av.VideoFrame.from_ndarray(frame_image(i), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            container.mux(vs.encode(frame))
        container.mux(vs.encode())
        step = 1024
        for start in range(0, len(audio), step):
            chunk = audio[None, start : start + step]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
            frame.sample_rate = RATE
            frame.pts = start
            frame.time_base = Fraction(1, RATE)
            container.mux(aus.encode(frame))
        container.mux(aus.encode())


if __name__ == "__main__":
    main(Path(__file__).with_name("drum_and_bird.mp4"))
