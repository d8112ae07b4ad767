"""Export speed and memory: a project with 10,000 annotated frames exported as avsbench-s4 and coco.

Setup: one real lossless 224x224 5-frame clip (+ wav) linked under 2,000 names, registered as 2,000
videos; 10,000 accepted annotations bulk-inserted (store.add_annotations). Each export runs in a fresh
subprocess that reports its wall time and peak RSS; the same at a fifth of the size shows whether memory
grows with the dataset (it must not: exports stream one video at a time).

    python -m tests.benchmarks --only export [--quick]
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.benchmarks._common import Figures

ROOT = Path(__file__).resolve().parents[2]
FRAMES_PER_VIDEO = 5

_CHILD = r"""
import json, resource, sys, time
from avs_studio.jobs.project import open_project
from avs_studio.jobs.exporting import export_dataset
t = time.perf_counter()
with open_project(sys.argv[1]) as project:
    report = export_dataset(project, sys.argv[2], sys.argv[3])
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": dt, "peak_rss_mb": rss, "frames": report.frames}))
"""


def _picture(k: int) -> np.ndarray:
    """A 224x224 frame like AVSBench's: smooth gradients, a few shapes, mild noise."""
    rng = np.random.default_rng(k)
    yy, xx = np.mgrid[:224, :224]
    img = np.stack([(xx + 7 * k) % 256, (yy * 0.8 + 40) % 256, (xx + yy) // 2], -1).astype(np.int16)
    img[(yy - 112) ** 2 + (xx - 60 - 20 * k) ** 2 < (30 + 5 * k) ** 2] = (200, 60, 40)
    img[40:90, 150:200] = (30, 160, 220)
    img += rng.integers(-6, 7, img.shape)
    return img.clip(0, 255).astype(np.uint8)


def build_project(base: Path, frames: int) -> Path:
    """A project with ``frames`` annotated frames (frames / 5 videos sharing one real clip)."""
    from avs_studio.io.assemble import assemble_clip
    from avs_studio.io.writers import write_wav
    from avs_studio.jobs.project import init_project
    from avs_studio.masks import encode
    from avs_studio.media import probe

    proj = base / f"proj{frames}"
    project = init_project(proj)
    media = project.media_dir / "bench"
    media.mkdir(parents=True)
    pics = [_picture(k) for k in range(FRAMES_PER_VIDEO)]
    write_wav(media / "src.wav", (np.sin(np.arange(16000 * 5) / 9.0)[None] * 0.3).astype(np.float32), 16000)
    src = assemble_clip(pics, media / "src.wav", media / "src.mkv")
    info = dataclasses.asdict(probe(src))
    yy, xx = np.mgrid[:224, :224]
    rles = [
        encode((yy - 112) ** 2 + (xx - 60 - 20 * k) ** 2 < (30 + 5 * k) ** 2) for k in range(FRAMES_PER_VIDEO)
    ]
    items = []
    store = project.store
    for v in range(frames // FRAMES_PER_VIDEO):
        name = f"clip{v:05d}"
        (media / f"{name}.mkv").symlink_to(src)
        (media / f"{name}.wav").symlink_to(media / "src.wav")
        vid = store.add_video({**info, "path": str(media / f"{name}.mkv")}, name=name, split="test",
                              category=("dog", "guitar", "piano")[v % 3])  # fmt: skip
        obj = store.add_object(vid, ("dog", "guitar", "piano")[v % 3])
        items.extend(
            {"video_id": vid, "frame": k, "object_id": obj, "rle": rles[k]} for k in range(FRAMES_PER_VIDEO)
        )
    t = time.perf_counter()
    store.add_annotations(items, source="imported", status="accepted")
    insert_s = time.perf_counter() - t
    project.close()
    (base / f"insert{frames}.json").write_text(json.dumps({"seconds": insert_s}))
    return proj


def run_export(proj: Path, out: Path, fmt: str) -> dict:
    res = subprocess.run(
        [sys.executable, "-c", _CHILD, str(proj), str(out), fmt], capture_output=True, text=True, cwd=ROOT
    )
    if res.returncode:
        raise RuntimeError(f"export {fmt} failed: {res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(quick: bool = False) -> list[dict]:
    sizes = (200, 1000) if quick else (2000, 10000)
    emit = Figures("export")

    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        base = Path(tmp)
        peaks: dict[str, list[float]] = {}
        for frames in sizes:
            t = time.perf_counter()
            proj = build_project(base, frames)
            setup = time.perf_counter() - t
            insert = json.loads((base / f"insert{frames}.json").read_text())["seconds"]
            emit(f"bulk insert {frames} annotations", insert, "s", "< 10 s for 10k")
            emit(f"project setup {frames} frames (incl. insert)", setup, "s", "-")
            for fmt in ("avsbench-s4", "coco"):
                r = run_export(proj, base / f"out-{fmt}-{frames}", fmt)
                assert r["frames"] == frames
                emit(f"export {fmt} {frames} frames", r["seconds"], "s", "< 120 s for 10k")
                emit(f"export {fmt} {frames} frames peak RSS", r["peak_rss_mb"], "MB", "flat in dataset size")
                peaks.setdefault(fmt, []).append(r["peak_rss_mb"])
        for fmt, (small, big) in peaks.items():
            emit(f"export {fmt} RSS growth {sizes[0]}->{sizes[1]} frames", big - small, "MB", "< 50 MB")
    return emit.rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
