"""Store benchmark: single-edit commit latency on a SQLite project with 100k annotations.

Each edit is what the canvas does after a stroke: put_annotation replacing the mask of one
(video, frame, object) in its own transaction, with its revision (undo log), synchronous=FULL.
Targets: p95 commit <= 15 ms.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from avs_studio.store import Store, _rle
from tests.benchmarks._common import Figures, peak_rss_mb

H, W = 270, 480


def _blob(rng: np.random.Generator) -> np.ndarray:
    """A sounding-object-like mask: a couple of ellipses with a ragged edge."""
    yy, xx = np.mgrid[0:H, 0:W]
    mask = np.zeros((H, W), bool)
    for _ in range(rng.integers(1, 3)):
        cy, cx = rng.uniform(40, H - 40), rng.uniform(60, W - 60)
        ry, rx = rng.uniform(15, 80), rng.uniform(20, 120)
        ragged = 1 + 0.15 * np.sin(xx / rng.uniform(3, 9)) * np.cos(yy / rng.uniform(3, 9))
        mask |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= ragged
    return mask


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _fsync_ms(folder: Path, n: int = 100) -> list[float]:
    """Raw fsync latency of this disk: the floor under every synchronous=FULL commit."""
    probe = folder / "fsync.probe"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT)
    times = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 4096)
            t = time.perf_counter()
            os.fsync(fd)
            times.append((time.perf_counter() - t) * 1000)
    finally:
        os.close(fd)
        probe.unlink()
    return times


def main(quick: bool = False) -> list[dict]:
    emit = Figures("store")

    n_videos, n_frames, n_objects, n_edits = (10, 250, 4, 100) if quick else (100, 250, 4, 300)
    rng = np.random.default_rng(0)
    masks = [_blob(rng) for _ in range(64)]
    rles = [_rle.to_rle(m)[0] for m in masks]
    with tempfile.TemporaryDirectory() as tmp:
        emit("disk fsync p95 (context)", _pct(_fsync_ms(Path(tmp)), 95), "ms", "-")
        db_file = Path(tmp) / "project.db"
        store = Store(f"sqlite:///{db_file}", author="bench")
        t0 = time.perf_counter()
        keys: list[tuple[int, int, int]] = []
        for vi in range(n_videos):
            v = store.add_video({"path": f"/media/v{vi}.mp4", "fps": 25.0, "frame_count": n_frames, "width": W,
                                 "height": H, "duration": n_frames / 25, "has_audio": True})  # fmt: skip
            objs = [store.add_object(v, f"obj{k}") for k in range(n_objects)]
            items = [
                {
                    "video_id": v,
                    "frame": f,
                    "object_id": o,
                    "rle": rles[(f * 7 + k) % len(rles)],
                    "score": 0.5,
                }
                for f in range(n_frames)
                for k, o in enumerate(objs)
            ]
            store.add_annotations(items, source="proposal", status="proposed")
            keys.extend((v, f, o) for f in range(0, n_frames, 5) for o in objs)
        fill_s = time.perf_counter() - t0
        total = n_videos * n_frames * n_objects
        emit(f"bulk insert {total} annotations", fill_s, "s", "-")

        pick = random.Random(1)
        times: list[float] = []
        for i in range(n_edits):
            v, f, o = pick.choice(keys)
            rle = rles[(i * 13 + 5) % len(rles)]
            t = time.perf_counter()
            store.put_annotation(v, f, o, rle, source="manual", status="edited")
            times.append((time.perf_counter() - t) * 1000)
        emit("edit commit p50 (RLE in)", _pct(times, 50), "ms", "-")
        emit("edit commit p95 (RLE in)", _pct(times, 95), "ms", "<= 15")

        mask_times: list[float] = []
        for i in range(n_edits // 3):
            v, f, o = pick.choice(keys)
            t = time.perf_counter()
            store.put_annotation(v, f, o, masks[i % len(masks)], source="manual", status="edited")
            mask_times.append((time.perf_counter() - t) * 1000)
        emit("edit commit p95 (bool mask in)", _pct(mask_times, 95), "ms", "<= 15")

        undo_times: list[float] = []
        for _ in range(50):
            t = time.perf_counter()
            store.undo()
            undo_times.append((time.perf_counter() - t) * 1000)
        emit("undo p95", _pct(undo_times, 95), "ms", "<= 15")

        t = time.perf_counter()
        frame_rows = store.annotations(keys[len(keys) // 2][0], frame=keys[len(keys) // 2][1])
        emit("load one frame's masks", (time.perf_counter() - t) * 1000, "ms", "-")
        assert len(frame_rows) == n_objects
        store.close()
        emit("database size", sum(p.stat().st_size for p in Path(tmp).iterdir()) / 2**20, "MiB", "-")
    emit("peak RSS", peak_rss_mb(), "MiB", "-")
    return emit.rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
