"""The training loop on in-memory samples: one CPU, one GPU, or several processes under torchrun (DDP).

Events go to ``emit(dict)`` (the subprocess prints them as JSON lines). Only rank 0 emits and writes.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel

from avs_studio.training import metrics
from avs_studio.training.checkpoint import save_checkpoint
from avs_studio.training.model import StudentConfig, StudentNet, build_model, segmentation_loss
from avs_studio.training.paths import CHECKPOINT_FILE, MODEL_FILE
from avs_studio.training.samples import SampleSet, global_batches, make_batch, shard
from avs_studio.training.settings import DEFAULTS

Emit = Callable[[dict[str, Any]], None]


@dataclass
class LoopOptions:
    steps: int = DEFAULTS.steps
    epochs: int | None = DEFAULTS.epochs  # when set, the length is this many epochs instead of steps
    batch_size: int = DEFAULTS.batch_size
    lr: float = DEFAULTS.lr
    weight_decay: float = DEFAULTS.weight_decay
    backbone_lr: float = DEFAULTS.backbone_lr  # factor for a pretrained backbone (backbone_weights set)
    warmup: float = DEFAULTS.warmup  # fraction of all steps with a linear warm-up, then cosine decay
    seed: int = DEFAULTS.seed
    log_every: int = 1  # steps between "step" events
    val_batch: int = 32
    val_every: int = DEFAULTS.val_every
    val_frames: int = DEFAULTS.val_frames
    patience: int = DEFAULTS.patience
    ema: float = DEFAULTS.ema
    time_budget: float | None = DEFAULTS.time_budget
    audio_class_loss: float = DEFAULTS.audio_class_loss
    mix: float = DEFAULTS.mix
    audio_augment: bool = DEFAULTS.audio_augment

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def total_steps(self, per_epoch: int) -> int:
        return max(1, self.epochs * per_epoch if self.epochs else self.steps)


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


def evaluate(model: StudentNet, samples: SampleSet, batch: int = 32, max_frames: int = 0) -> dict[str, float]:
    """Validation mIoU and F of ``model`` on ``samples`` (at most ``max_frames`` of them, evenly spread)."""
    if len(samples) == 0:
        return {}
    index = np.arange(len(samples))
    if 0 < max_frames < len(samples):
        index = np.unique(np.linspace(0, len(samples) - 1, max_frames).round().astype(np.int64))
    b = make_batch(samples, index, seed=0, epoch=0, train=False)
    probs = predict_probs(model, b.images, b.mels, batch)
    return metrics.scores(probs, b.masks[:, 0])


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


def _ema_model(model: StudentNet, decay: float) -> AveragedModel | None:
    """An exponential moving average of the weights (torch's AveragedModel); the decay ramps up over the
    first steps ((1 + n) / (10 + n)), so short runs are not dominated by the initial weights."""
    if not decay:
        return None

    def average(avg: torch.Tensor, new: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        d = min(decay, (1 + float(n)) / (10 + float(n)))
        return avg * d + new * (1 - d)

    return AveragedModel(model, avg_fn=average, use_buffers=True)


def _copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in state.items()}


def _param_groups(model: StudentNet, options: LoopOptions) -> list[dict[str, Any]]:
    """A pretrained backbone learns at ``backbone_lr`` times the rate of the rest (its features are kept
    rather than overwritten early); a randomly initialised one at the full rate."""
    if not model.config.backbone_weights or options.backbone_lr == 1:
        return [{"params": list(model.parameters())}]
    encoder = {id(p) for p in model.encoder.parameters()}
    rest = [p for p in model.parameters() if id(p) not in encoder]
    return [
        {"params": list(model.encoder.parameters()), "lr": options.lr * options.backbone_lr},
        {"params": rest},
    ]


def with_audio_classes(config: StudentConfig, train: SampleSet, options: LoopOptions) -> StudentConfig:
    """The model config with a sound-class head when the data names at least two classes and the
    audio-class loss is on (a resumed config already has its head)."""
    if config.audio_classes or not options.audio_class_loss or len(train.class_names) < 2:
        return config
    return replace(config, audio_classes=len(train.class_names))


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
    """Train ``model_config`` on ``train`` for ``options.total_steps`` steps; validate the (averaged)
    weights on ``val`` every ``val_every`` steps, checkpoint there and on cancel (``should_stop()`` is
    checked after each step), stop early after ``patience`` validations without a better score or past
    ``time_budget`` seconds. The kept model is the best validated one. ``extra`` is stored in the files."""
    info = info or DistInfo()
    device = torch.device(device)
    out_dir = Path(out_dir)
    emit = emit if info.main else (lambda _e: None)
    if len(train) == 0:
        raise ValueError("no training samples: accept some annotations (or enable pseudo labels) first")

    torch.manual_seed(options.seed)
    model_config = with_audio_classes(model_config, train, options)
    model = build_model(model_config).to(device)
    ema = _ema_model(model, options.ema)
    optimizer = torch.optim.AdamW(
        _param_groups(model, options), lr=options.lr, weight_decay=options.weight_decay
    )
    per_epoch = len(global_batches(len(train), options.batch_size, options.seed, 0))
    total = options.total_steps(per_epoch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(total, options.warmup))
    start_epoch, start_batch, step, history, elapsed = 0, 0, 0, [], 0.0
    best: dict[str, Any] = {}
    if resume_state is not None:
        model.load_state_dict(resume_state["model"])
        optimizer.load_state_dict(resume_state["optimizer"])
        scheduler.load_state_dict(resume_state["scheduler"])
        if ema is not None and resume_state.get("ema") is not None:
            ema.load_state_dict(resume_state["ema"])
        torch.set_rng_state(resume_state["torch_rng"])
        start_epoch, start_batch = int(resume_state["epoch"]), int(resume_state["batch"])
        step, history = int(resume_state["step"]), list(resume_state.get("history", []))
        best, elapsed = dict(resume_state.get("best") or {}), float(resume_state.get("elapsed_s", 0.0))
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
    scored: StudentNet = ema.module if ema is not None else model  # the weights that are validated and kept

    def state(epoch: int, batch: int) -> dict[str, Any]:
        return {
            "model": model.state_dict(),
            "ema": ema.state_dict() if ema is not None else None,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "epoch": epoch,
            "batch": batch,
            "step": step,
            "history": history,
            "best": best,
            "elapsed_s": elapsed + time.monotonic() - t_start,
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
            "steps_per_epoch": per_epoch,
            "train_samples": len(train),
            "val_samples": len(val) if val is not None else 0,
            "sound_classes": model_config.audio_classes,
            "device": str(device),
            "world_size": info.world,
        }
    )
    t_start, steps_done = time.monotonic(), 0
    sums, count = np.zeros(4), 0  # loss, bce, dice, audio-class loss since the last validation
    epoch_sums, epoch_count = np.zeros(4), 0
    stop_reason = "steps" if step < total else "done"
    epoch, first = start_epoch, start_batch
    while step < total and stop_reason == "steps":
        net.train()
        batches = global_batches(len(train), options.batch_size, options.seed, epoch)
        for b in range(first, len(batches)):
            batch = batches[b]
            part = shard(batch, info.rank, info.world)
            if len(part) == 0:
                raise ValueError(
                    f"a batch of {len(batch)} samples cannot be shared by {info.world} processes"
                )
            data = make_batch(
                train, part, seed=options.seed, epoch=epoch, train=True, device=device,
                mix=options.mix, audio_augment=options.audio_augment,
            )  # fmt: skip
            denominator = len(batch) / info.world
            with autocast:
                logits, heard = net(data.images, data.mels, with_audio_logits=True)
            loss, bce, dice = segmentation_loss(logits.float(), data.masks, data.weights, denominator)
            heard_loss = torch.zeros((), device=device)
            if heard is not None:
                ce = F.cross_entropy(heard.float(), data.classes.clamp(min=0), reduction="none")
                known = (data.classes >= 0).float()
                heard_loss = (ce * known * data.weights).sum() / denominator
                loss = loss + options.audio_class_loss * heard_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            step += 1
            steps_done += 1
            values = _allreduce_mean([loss.item(), bce.item(), dice.item(), heard_loss.item()], info, device)
            sums += values
            epoch_sums += values
            count += 1
            epoch_count += 1
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
                        "audio_class_loss": values[3],
                        "lr": scheduler.get_last_lr()[0],
                        "eta_s": round(eta, 1),
                    }
                )
            end_of_epoch = b == len(batches) - 1
            position = (epoch + 1, 0) if end_of_epoch else (epoch, b + 1)
            if _any(should_stop(), info, device):
                path = out_dir / CHECKPOINT_FILE
                if info.main:
                    save_checkpoint(path, state(*position))
                emit({"event": "checkpoint", "step": step, "epoch": epoch + 1, "path": str(path)})
                emit({"event": "cancelled", "step": step, "epoch": epoch + 1, "path": str(path)})
                if info.world > 1:  # as at the end: the checkpoint is written when any rank returns
                    dist.barrier()
                return FitResult("cancelled", path, dict(history[-1] if history else {}), history)
            if end_of_epoch:
                mean = (epoch_sums / max(1, epoch_count)).tolist()
                emit({"event": "epoch", "epoch": epoch + 1, "step": step, "loss": mean[0], "bce": mean[1],
                      "dice": mean[2], "audio_class_loss": mean[3]})  # fmt: skip
                epoch_sums, epoch_count = np.zeros(4), 0
            over_time = options.time_budget is not None and (
                elapsed + time.monotonic() - t_start >= options.time_budget
            )
            over_time = _any(over_time, info, device)
            if step % max(1, options.val_every) and step < total and not over_time:
                continue
            mean = (sums / max(1, count)).tolist()
            sums, count = np.zeros(4), 0
            record: dict[str, Any] = {"epoch": epoch + 1, "step": step, "loss": mean[0], "bce": mean[1],
                                      "dice": mean[2], "audio_class_loss": mean[3]}  # fmt: skip
            patience_out = False
            if info.main and val is not None and len(val):
                scores = evaluate(scored, val, options.val_batch, options.val_frames)
                improved = not best or scores["miou"] > best["val_miou"] + 1e-4
                if improved:
                    best = {"step": step, "val_miou": scores["miou"], "val_f": scores["f"],
                            "model": _copy(scored.state_dict())}  # fmt: skip
                record.update(val_miou=scores["miou"], val_f=scores["f"])
                emit({"event": "val", "epoch": epoch + 1, "step": step, "val_miou": scores["miou"],
                      "val_f": scores["f"], "best_val_miou": best["val_miou"], "best_step": best["step"]})  # fmt: skip
                waited = sum(1 for h in history if h["step"] > best["step"] and "val_miou" in h)
                patience_out = options.patience > 0 and waited + (not improved) >= options.patience
            history.append(record)
            path = out_dir / CHECKPOINT_FILE
            if info.main:
                save_checkpoint(path, state(*position))
            emit({"event": "checkpoint", "epoch": epoch + 1, "step": step, "path": str(path)})
            if _any(patience_out, info, device):
                stop_reason = "patience"
            elif over_time:
                stop_reason = "time_budget"
            if stop_reason != "steps":
                emit({"event": "early_stop", "reason": stop_reason, "step": step, "total_steps": total})
            if info.world > 1:
                dist.barrier()
            if stop_reason != "steps" or step >= total:
                break
        else:
            epoch, first = epoch + 1, 0
            continue
        break
    last = history[-1] if history else {}
    final = {k: v for k, v in last.items() if k not in ("epoch", "step")}
    if best:
        final.update(val_miou=best["val_miou"], val_f=best["val_f"], best_step=best["step"])
        final.update(last_val_miou=last.get("val_miou"))
    final.update(steps=step, epochs=round(step / per_epoch, 2), stopped=stop_reason)
    final.update(train_seconds=round(elapsed + time.monotonic() - t_start, 1))
    path = out_dir / MODEL_FILE
    if info.main:
        save_checkpoint(
            path,
            {
                "model": best["model"] if best else scored.state_dict(),
                "model_config": model_config.to_dict(),
                "metrics": final,
                "history": history,
                "options": options.to_dict(),
                "extra": extra or {},
            },
        )
    if info.world > 1:  # every rank returns once the model file is written, and they tear down together
        dist.barrier()
    emit({"event": "done", "epoch": epoch + 1, "step": step, "path": str(path), **final})
    return FitResult("done", path, final, history)
