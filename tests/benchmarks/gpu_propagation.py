"""GPU timing of SAM 2.1 / SAM 3 mask propagation at REAL model sizes with RANDOM weights (speed and memory
do not depend on weight values), through the app's own engine (openavs.propagation.sam_video: streamed
frames, trimmed state): time per frame with 2 objects on 720p frames, and peak GPU memory after a short and
a long stretch (it must not grow with the number of frames). One JSON object per line.

    python tests/benchmarks/gpu_propagation.py                 # on the GPU machine (bf16)
    python tests/benchmarks/gpu_propagation.py --smoke         # tiny models on CPU: proves the script runs
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.helpers.moving_objects import make_scene  # noqa: E402


def emit(**row) -> None:
    print(json.dumps(row), flush=True)


def engines(smoke: bool, device: torch.device, tmp: Path):
    from avs_studio.openavs.propagation import models
    from avs_studio.openavs.propagation.sam_video import SamVideoPropagator

    if smoke:
        for family, builder in (("sam2", "sam2-video"), ("sam3", "sam3-tracker-video")):
            path = models.VIDEO_BUILDERS[builder](tmp / builder)
            yield f"{family} tiny", SamVideoPropagator(family, *models.load_video_model(family, path, device),
                                                       device, {})  # fmt: skip
        return
    for name in models.REAL_SIZES:
        model, processor = models.real_size_video_model(name, device)
        yield name, SamVideoPropagator(name.split("-")[0], model, processor, device, {})
        del model
        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny models on CPU, few frames (checks the script)")
    ap.add_argument("--frames", type=int, default=120, help="frames propagated (the long stretch)")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    args = ap.parse_args(argv)
    device = torch.device("cpu" if args.smoke or not torch.cuda.is_available() else "cuda")
    if args.smoke:
        torch.set_num_threads(1)
    n = 12 if args.smoke else args.frames
    scene = make_scene(seed=0, size=(args.width, args.height), frames=n + 1, fps=25)
    frames = [scene.render(i) for i in range(n + 1)]
    masks = {k: m for k, m in enumerate(scene.masks(0).values())}
    cuda = device.type == "cuda"
    with tempfile.TemporaryDirectory() as tmp:
        for name, engine in engines(args.smoke, device, Path(tmp)):
            track = engine.start(frames[0], masks)
            times, peaks = [], {}
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            for i in range(1, n + 1):
                if cuda:
                    torch.cuda.synchronize()
                t = time.perf_counter()
                track.step(frames[i])
                if cuda:
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t)
                if i in (10, n) and cuda:
                    peaks[i] = torch.cuda.max_memory_allocated() / 2**20
            track.close()
            steady = sorted(times[5:] or times)
            emit(model=name, device=str(device), dtype=str(engine.dtype).removeprefix("torch."), objects=len(masks),
                 size=f"{args.width}x{args.height}", ms_per_frame_median=round(1000 * steady[len(steady) // 2], 2),
                 peak_mb_after_10=round(peaks.get(10, 0.0), 1), peak_mb_after_all=round(peaks.get(n, 0.0), 1),
                 frames=n)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
