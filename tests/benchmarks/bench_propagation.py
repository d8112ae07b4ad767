"""Mask propagation (`jobs.propagate`): accuracy by distance from the nearest reviewed keyframe, speed,
and peak memory on a 10-minute 720p video.

Scenes come from tests/helpers/moving_objects: two textured blobs move, scale and turn over a textured
background beside a static look-alike (same texture as object 0); H.264, 25 fps. The keyframes (1 fps)
get the ground truth as accepted masks; propagation fills every other frame, which is compared with its
ground truth (IoU per object and frame, grouped by the distance to the nearest keyframe; "tail" = the
frames after the last keyframe, reached from one side only). Each run is a fresh project and a fresh
subprocess (its own peak RSS).

Engines: `flow` robust (similarity + ECC correction, the default), `flow` similarity without the
correction, `flow` per-pixel warping; `sam2` / `sam3` with tiny RANDOM models (their masks mean nothing:
time and memory only; real-size timing is for a GPU, see openavs.propagation.models.real_size_video_model).

    python -m tests.benchmarks --only propagation [--quick]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from tests.benchmarks._common import Figures
from tests.helpers.moving_objects import iou, make_scene, write_scene_video

ROOT = Path(__file__).resolve().parents[2]
MEDIA = Path(tempfile.gettempdir()) / "avs-bench-propagation"  # generated videos, reused between runs

_CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(1)
from avs_studio.jobs.project import open_project
from avs_studio.jobs.propagate import propagate
t = time.perf_counter()
with open_project(sys.argv[1]) as project:
    report = propagate(project, config=sys.argv[2])
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": dt, "peak_rss_mb": rss, "frames": report.frames, "errors": report.errors,
                  "segments": report.segments}))
"""
_CHILD_FLOW = _CHILD.replace("import torch\ntorch.set_num_threads(1)\n", "")  # flow never loads torch

ENGINES = {
    "flow robust (similarity + ECC)": "engine = 'flow'\n",
    "flow similarity, no ECC": "engine = 'flow'\n[flow]\nrefine = false\n",
    "flow per-pixel warp": "engine = 'flow'\n[flow]\nmotion = 'pixel'\n",
}
TINY = {"sam2 tiny random": ("sam2", "sam2-video"), "sam3 tiny random": ("sam3", "sam3-tracker-video")}


def scene_video(name: str, seed: int, size: tuple[int, int], seconds: float, speed: float = 1.0):
    scene = make_scene(seed=seed, size=size, frames=int(seconds * 25), fps=25, speed=speed)
    path = MEDIA / f"{name}-{seed}-{size[0]}x{size[1]}-{seconds:g}s-{speed:g}.mp4"
    if not path.exists():
        MEDIA.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        write_scene_video(scene, path)
        print(f"  (wrote {path.name} in {time.perf_counter() - t:.0f} s)", flush=True)
    return scene, path


def build_project(base: Path, scene, path: Path) -> tuple[Path, int, dict[int, str]]:
    from avs_studio.jobs.project import add_videos, init_project
    from avs_studio.masks import encode

    proj = base / "proj"
    with init_project(proj) as project:
        ((_, vid),) = add_videos(project, [path]).added
        objs = {project.store.add_object(vid, label): label for label in scene.labels}
        ids = {label: oid for oid, label in objs.items()}
        items = [{"video_id": vid, "frame": f, "object_id": ids[lab], "rle": encode(m)}
                 for f in scene.keyframes() for lab, m in scene.masks(f).items()]  # fmt: skip
        project.store.add_annotations(items, source="imported", status="accepted")
    return proj, vid, objs


def run_propagate(proj: Path, config: Path, flow: bool) -> dict:
    res = subprocess.run(
        [sys.executable, "-c", _CHILD_FLOW if flow else _CHILD, str(proj), str(config)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if res.returncode:
        raise RuntimeError(f"propagate failed: {res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def ious_by_distance(proj: Path, vid: int, objs: dict[int, str], scene, every: int = 1) -> dict:
    """{distance or "tail": [IoU, ...]} over the propagated frames (every ``every``-th frame)."""
    from avs_studio.jobs.project import open_project

    kf = scene.keyframes()
    shape = scene.size[::-1]
    got: dict[int, dict[int, np.ndarray]] = defaultdict(dict)
    out: dict = defaultdict(list)
    with open_project(proj) as project:
        for a in project.store.iter_annotations(video_id=vid, source="propagation"):
            if a.object_id is not None and a.frame % every == 0:
                got[a.frame][a.object_id] = a.rle
    from avs_studio.masks import decode

    for f in range(0, scene.frames, every):
        if f in kf:
            continue
        truth = scene.masks(f)
        key = "tail" if f > kf[-1] else min(abs(f - k) for k in kf)
        for oid, label in objs.items():
            rle = got.get(f, {}).get(oid)
            out[key].append(iou(decode(rle) if rle else np.zeros(shape, bool), truth[label]))
    return out


def _row(by_d: dict) -> str:
    cells = [f"{d}:{np.mean(by_d[d]):.3f}" for d in sorted(k for k in by_d if k != "tail")]
    if "tail" in by_d:
        cells.append(f"tail:{np.mean(by_d['tail']):.3f}")
    return " ".join(cells)


def accuracy(emit: Figures, quick: bool) -> None:
    seconds = 4 if quick else 10
    scenes = {"moderate": (0, 1.0)} if quick else {"moderate": (0, 1.0), "fast": (1, 2.0)}
    size = (640, 360)
    for scene_name, (seed, speed) in scenes.items():
        scene, path = scene_video(scene_name, seed, size, seconds, speed)
        print(f"  scene {scene_name}: {size[0]}x{size[1]}, {scene.frames} frames, speed x{speed}", flush=True)
        for name, text in ENGINES.items():
            with tempfile.TemporaryDirectory(prefix="bench-prop-") as tmp:
                base = Path(tmp)
                proj, vid, objs = build_project(base, scene, path)
                (base / "p.toml").write_text(text)
                r = run_propagate(proj, base / "p.toml", flow=True)
                by_d = ious_by_distance(proj, vid, objs, scene)
            between = [v for k, vals in by_d.items() if k != "tail" for v in vals]
            print(f"  {name:32} IoU by distance: {_row(by_d)}", flush=True)
            emit(f"{scene_name}: {name} IoU between keyframes", float(np.mean(between)), "IoU",
                 ">= 0.85" if name.startswith("flow robust") else "-")  # fmt: skip
            emit(f"{scene_name}: {name} time per frame", 1000 * r["seconds"] / max(1, r["frames"]), "ms")


def tiny_models(emit: Figures, quick: bool) -> None:
    """Time per frame and peak RSS on a short and a 4x longer video: the RSS must not grow."""
    from avs_studio.openavs.propagation import models

    lengths = (2, 4) if quick else (2, 8)
    with tempfile.TemporaryDirectory(prefix="bench-prop-tiny-") as tmp:
        base = Path(tmp)
        for name, (engine, family) in TINY.items():
            folder = models.VIDEO_BUILDERS[family](base / family)
            peaks = []
            for seconds in lengths:
                scene, path = scene_video("moderate", 0, (640, 360), seconds)
                work = base / f"{engine}-{seconds}"
                work.mkdir()
                proj, _, _ = build_project(work, scene, path)
                cfg = work / "p.toml"
                cfg.write_text(
                    f'engine = "{engine}"\ndevice = "cpu"\n[{engine}]\nmodel = ""\npath = "{folder}"\n'
                )
                r = run_propagate(proj, cfg, flow=False)
                peaks.append(r["peak_rss_mb"])
            emit(f"{name} time per frame (1 thread)", 1000 * r["seconds"] / max(1, r["frames"]), "ms")
            emit(f"{name} peak RSS, {lengths[1]} s video", peaks[1], "MB", "torch + transformers included")
            emit(f"{name} RSS growth {lengths[0]} s -> {lengths[1]} s", peaks[1] - peaks[0], "MB", "~0")


def long_video(emit: Figures, quick: bool) -> None:
    minutes = 1 if quick else 10
    scene, path = scene_video("long", 2, (1280, 720), 60 * minutes)
    with tempfile.TemporaryDirectory(prefix="bench-prop-long-") as tmp:
        base = Path(tmp)
        proj, vid, objs = build_project(base, scene, path)
        (base / "p.toml").write_text("engine = 'flow'\n")
        r = run_propagate(proj, base / "p.toml", flow=True)
        assert not r["errors"], r["errors"]
        by_d = ious_by_distance(proj, vid, objs, scene, every=5)
    between = [v for k, vals in by_d.items() if k != "tail" for v in vals]
    label = f"{minutes}-min 720p video, flow"
    emit(f"{label}: frames written", r["frames"], "frames")
    emit(f"{label}: peak RSS", r["peak_rss_mb"], "MB", "< 1500 MB")
    emit(f"{label}: speed", r["frames"] / r["seconds"], "fps")
    emit(f"{label}: IoU between keyframes (every 5th frame)", float(np.mean(between)), "IoU", ">= 0.85")


def main(quick: bool = False) -> list[dict]:
    emit = Figures("propagation")
    accuracy(emit, quick)
    tiny_models(emit, quick)
    long_video(emit, quick)
    return emit.rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
