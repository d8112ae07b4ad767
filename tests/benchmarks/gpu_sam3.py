"""GPU timings of the `sam3` text segmenter at the REAL model size with RANDOM weights (tiny_sam3.random_sam3:
Sam3Config defaults, about 0.85 B parameters, built on the GPU, nothing downloaded). Speed does not depend
on the weight values. The app's own Sam3Segmenter (pre/post-processing included) on one 5-frame clip with
1-3 phrases per frame, batched (all frames' image features in one call, all (frame, phrase) pairs in
detector batches) versus one frame at a time; bf16 autocast, CUDA events, warm-up then median. The
threshold is 0, so every query is post-processed (the worst case). Prints one JSON object per line.

    python tests/benchmarks/gpu_sam3.py            # on the GPU machine
    python tests/benchmarks/gpu_sam3.py --smoke    # tiny model on CPU: proves the script runs
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks._common import median_ms  # noqa: E402

PHRASES = ["guitar", "man", "dog"]


def emit(**row) -> None:
    print(json.dumps(row), flush=True)


def main(argv: list[str] | None = None) -> int:
    from avs_studio.openavs.devices import autocast
    from avs_studio.openavs.segmenters.sam3 import Sam3Segmenter
    from avs_studio.openavs.tiny_sam3 import random_sam3

    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="tiny model on the CPU")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    device = torch.device("cpu" if args.smoke or not torch.cuda.is_available() else "cuda:0")
    repeat = 2 if args.smoke else args.repeat
    t = time.perf_counter()
    model, processor = random_sam3(full_size=not args.smoke, device=device)
    emit(
        kind="setup",
        device=torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        torch=torch.__version__,
        params_m=round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        build_s=round(time.perf_counter() - t, 1),
    )
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8) for _ in range(5)]

    # the model's parts on 5 frames: image features (batched / one by one), text, detector + masks
    seg = Sam3Segmenter(model, processor, device, threshold=0.0)
    pixels = processor(images=frames, return_tensors="pt")["pixel_values"].to(device)

    def vision(batch: torch.Tensor):
        with autocast(device):
            return model.get_vision_features(pixel_values=batch)

    emit(
        kind="part",
        name="vision encoder, 5 frames batched",
        ms=median_ms(lambda: vision(pixels), repeat, 2, device),
    )
    emit(
        kind="part",
        name="vision encoder, 5 frames one at a time",
        ms=median_ms(lambda: [vision(pixels[i : i + 1]) for i in range(5)], repeat, 2, device),
    )
    for n in (1, 2, 3):
        phrases = [PHRASES[:n]] * 5
        for batched in (True, False):
            seg = Sam3Segmenter(model, processor, device, threshold=0.0, batched=batched, batch_size=16)
            ms = median_ms(lambda s=seg, p=phrases: s.segment(frames, p), repeat, 2, device)
            emit(
                kind="clip",
                name=f"sam3 segment, 5 frames x {n} phrase(s), {'batched' if batched else 'frame at a time'}",
                ms=round(ms, 2),
                calls=dict(seg.calls),
            )
    if device.type == "cuda":
        emit(kind="memory", peak_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
