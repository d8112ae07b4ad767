"""The training loop on in-memory samples: one CPU, one GPU, or several processes under torchrun (DDP).

Events go to ``emit(dict)`` (the subprocess prints them as JSON lines). Only rank 0 emits and writes.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from avs_studio.training import metrics
from avs_studio.training.checkpoint import save_checkpoint
from avs_studio.training.model import StudentConfig, StudentNet, build_model, segmentation_loss
from avs_studio.training.paths import CHECKPOINT_FILE, MODEL_FILE
from avs_studio.training.samples import SampleSet, global_batches, make_batch, shard

Emit = Callable[[dict[str, Any]], None]


@dataclass
class LoopOptions:
    epochs: int = 20
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup: float = 0.1  # fraction of all steps with a linear warm-up, then cosine decay
    seed: int = 0
    log_every: int = 1  # steps between "step" events
    val_batch: int = 32

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FitResult:
    status: str  # "done" | "cancelled"
    path: Path  # model.pt when done, checkpoint.pt when cancelled
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """'auto' -> cuda when available, else cpu; 'cuda' fails clearly without a GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                "device 'cuda' was asked for but torch sees no CUDA GPU; use --device cpu or auto"
            )
        return torch.device("cuda", local_rank) if name == "cuda" else torch.device(name)
    if name != "cpu":
        raise ValueError(f"unknown device {name!r}; use auto, cpu or cuda")
    return torch.device("cpu")


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group that torchrun describes in the environment (no-op for a single process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def _schedule(total: int, warmup: float) -> Callable[[int], float]:
    warm = max(1, int(total * warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


@torch.no_grad()
def predict_probs(
    model: StudentNet, images: torch.Tensor, mels: torch.Tensor, batch: int = 32
) -> torch.Tensor:
    """Foreground probabilities (N, S, S) for float images (N, 3, S, S) and mels (N, M, T), in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [
        torch.sigmoid(model(images[i : i + batch].to(device), mels[i : i + batch].to(device)).float())[
            :, 0
        ].cpu()
        for i in range(0, len(images), batch)
    ]
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros((0, *images.shape[-2:]))


def evaluate(model: StudentNet, samples: SampleSet, batch: int = 32) -> dict[str, float]:
    if len(samples) == 0:
        return {}
    index = np.arange(len(samples))
    x, a, y, _ = make_batch(samples, index, seed=0, epoch=0, train=False)
    probs = predict_probs(model, x, a, batch)
    return metrics.scores(probs, y[:, 0])


def _allreduce_mean(values: list[float], info: DistInfo, device: torch.device) -> list[float]:
    if info.world == 1:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return (t / info.world).tolist()


def _any(flag: bool, info: DistInfo, device: torch.device) -> bool:
    if info.world == 1:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def fit(
    model_config: StudentConfig,
    train: SampleSet,
    val: SampleSet | None,
    options: LoopOptions,
    out_dir: str | os.PathLike,
    emit: Emit,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    resume_state: dict[str, Any] | None = None,
    device: torch.device | str = "cpu",
    info: DistInfo | None = None,
    extra: dict[str, Any] | None = None,
) -> FitResult:
    """Train ``model_config`` on ``train``; validate on ``val`` after every epoch; checkpoint every epoch
    and on cancel (``should_stop()`` is checked after each step). ``extra`` is stored in the files."""
    info = info or DistInfo()
    device = torch.device(device)
    out_dir = Path(out_dir)
    emit = emit if info.main else (lambda _e: None)
    if len(train) == 0:
        raise ValueError("no training samples: accept some annotations (or enable pseudo labels) first")

    torch.manual_seed(options.seed)
    model = build_model(model_config).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    per_epoch = len(global_batches(len(train), options.batch_size, options.seed, 0))
    total = per_epoch * options.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(total, options.warmup))
    start_epoch, start_batch, step, history = 0, 0, 0, []
    if resume_state is not None:
        model.load_state_dict(resume_state["model"])
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        torch.set_rng_state(resume_state["torch_rng"])
        start_epoch, start_batch = int(resume_state["epoch"]), int(resume_state["batch"])
        step, history = int(resume_state["step"]), list(resume_state.get("history", []))
    net: torch.nn.Module = model
    if info.world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda"
        else torch.autocast("cpu", enabled=False)
    )

    def state(epoch: int, batch: int) -> dict[str, Any]:
        return {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "epoch": epoch,
            "batch": batch,
            "step": step,
            "history": history,
            "model_config": model_config.to_dict(),
            "options": options.to_dict(),
            "extra": extra or {},
        }

    emit(
        {
            "event": "start",
            "epoch": start_epoch,
            "step": step,
            "total_steps": total,
            "train_samples": len(train),
            "val_samples": len(val) if val is not None else 0,
            "device": str(device),
            "world_size": info.world,
        }
    )
    t_start, steps_done = time.monotonic(), 0
    last: dict[str, Any] = history[-1] if history else {}
    for epoch in range(start_epoch, options.epochs):
        net.train()
        batches = global_batches(len(train), options.batch_size, options.seed, epoch)
        sums, count = np.zeros(3), 0
        first = start_batch if epoch == start_epoch else 0
        for b in range(first, len(batches)):
            batch = batches[b]
            part = shard(batch, info.rank, info.world)
            if len(part) == 0:
                raise ValueError(
                    f"a batch of {len(batch)} samples cannot be shared by {info.world} processes"
                )
            x, a, y, w = make_batch(train, part, seed=options.seed, epoch=epoch, train=True, device=device)
            with autocast:
                logits = net(x, a)
            loss, bce, dice = segmentation_loss(logits.float(), y, w, denominator=len(batch) / info.world)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            steps_done += 1
            values = _allreduce_mean([loss.item(), bce.item(), dice.item()], info, device)
            sums += values
            count += 1
            if step % options.log_every == 0:
                eta = (time.monotonic() - t_start) / steps_done * (total - step)
                emit(
                    {
                        "event": "step",
                        "step": step,
                        "epoch": epoch + 1,
                        "loss": values[0],
                        "bce": values[1],
                        "dice": values[2],
                        "lr": scheduler.get_last_lr()[0],
                        "eta_s": round(eta, 1),
                    }
                )
            if _any(should_stop(), info, device):
                path = out_dir / CHECKPOINT_FILE
                if info.main:
                    save_checkpoint(path, state(epoch, b + 1))
                emit({"event": "checkpoint", "step": step, "epoch": epoch + 1, "path": str(path)})
                emit({"event": "cancelled", "step": step, "epoch": epoch + 1, "path": str(path)})
                return FitResult("cancelled", path, dict(last), history)
        mean = (sums / max(1, count)).tolist()
        record = {"epoch": epoch + 1, "step": step, "loss": mean[0], "bce": mean[1], "dice": mean[2]}
        emit({"event": "epoch", **record})
        if info.main and val is not None and len(val):
            scores = evaluate(model, val, options.val_batch)
            record.update(val_miou=scores["miou"], val_f=scores["f"])
            emit(
                {
                    "event": "val",
                    "epoch": epoch + 1,
                    "step": step,
                    "val_miou": scores["miou"],
                    "val_f": scores["f"],
                }
            )
        history.append(record)
        last = record
        path = out_dir / CHECKPOINT_FILE
        if info.main:
            save_checkpoint(path, state(epoch + 1, 0))
        emit({"event": "checkpoint", "epoch": epoch + 1, "step": step, "path": str(path)})
        if info.world > 1:
            dist.barrier()
    final = {k: v for k, v in last.items() if k not in ("epoch", "step")}
    final.update(epochs=options.epochs, steps=step)
    path = out_dir / MODEL_FILE
    if info.main:
        save_checkpoint(
            path,
            {
                "model": model.state_dict(),
                "model_config": model_config.to_dict(),
                "metrics": final,
                "history": history,
                "options": options.to_dict(),
                "extra": extra or {},
            },
        )
    emit({"event": "done", "epoch": options.epochs, "step": step, "path": str(path), **final})
    return FitResult("done", path, final, history)
