"""GPU training throughput of the student (the real model, loss and AdamW step) at batch sizes 8 and 32,
bf16 autocast, CUDA events, warm-up then median; random inputs (speed does not depend on values).
Prints one JSON object per line.

    python tests/benchmarks/gpu_training.py            # on a GPU machine
    python tests/benchmarks/gpu_training.py --smoke    # tiny sizes on the CPU: proves the script runs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from avs_studio.training.model import StudentConfig, build_model, segmentation_loss  # noqa: E402
from tests.benchmarks._common import median_ms  # noqa: E402


def emit(**row) -> None:
    print(json.dumps(row), flush=True)


def bench(cfg: StudentConfig, batch: int, device: torch.device, warmup: int, repeat: int) -> dict:
    torch.manual_seed(0)
    model = build_model(cfg).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.rand(batch, 3, cfg.image_size, cfg.image_size, device=device)
    a = torch.randn(batch, cfg.n_mels, cfg.audio_frames, device=device)
    y = (torch.rand(batch, 1, cfg.image_size, cfg.image_size, device=device) > 0.5).float()
    w = torch.ones(batch, device=device)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")

    def step() -> None:
        with amp:
            logits = model(x, a)
        loss, _, _ = segmentation_loss(logits.float(), y, w)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    ms = median_ms(step, repeat, warmup, device)
    model.eval()

    def infer() -> None:
        with torch.no_grad(), amp:
            model(x, a)

    ms_inf = median_ms(infer, repeat, warmup, device)
    mem = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {
        "backbone": cfg.backbone,
        "image_size": cfg.image_size,
        "batch": batch,
        "dtype": "bf16" if device.type == "cuda" else "fp32",
        "train_step_ms": round(ms, 3),
        "train_samples_per_s": round(batch / ms * 1000, 1),
        "infer_frames_per_s": round(batch / ms_inf * 1000, 1),
        "peak_mem_mib": mem,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU")
    args = p.parse_args(argv)
    if args.smoke:
        device = torch.device("cpu")
        configs = [
            StudentConfig(backbone="tiny", image_size=64, width=8),
            StudentConfig(backbone="resnet18", image_size=64),
        ]
        batches, warmup, repeat = (8, 32), 1, 2
    else:
        if not torch.cuda.is_available():
            print("no CUDA GPU: run with --smoke on a CPU", file=sys.stderr)
            return 2
        device = torch.device("cuda")
        torch.backends.cudnn.benchmark = True
        configs = [
            StudentConfig(backbone="tiny", image_size=224, width=32),
            StudentConfig(backbone="resnet18", image_size=224),
            StudentConfig(backbone="mobilenet_v3_small", image_size=224),
        ]
        batches, warmup, repeat = (8, 32), 10, 50
    for cfg in configs:
        for batch in batches:
            emit(**bench(cfg, batch, device, warmup, repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
