"""`python -m avs_studio.training`: train a student on a project's store, printing JSON-line events.

Run by `avs-studio train`, the GUI (QProcess), or `torchrun --nproc-per-node N -m avs_studio.training`.
SIGTERM / SIGINT finish the current step, save the checkpoint, print a "cancelled" event and exit 0.
Exit status: 0 done or cancelled, 1 error (an "error" event says why), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from avs_studio.training.checkpoint import CheckpointError, load_checkpoint
from avs_studio.training.dataset import DataOptions, build_samples, collect_labels, split_videos
from avs_studio.training.loop import DistInfo, LoopOptions, fit, init_distributed, resolve_device
from avs_studio.training.model import StudentConfig
from avs_studio.training.paths import CHECKPOINT_FILE, MODEL_FILE, model_dir


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m avs_studio.training", description=__doc__.splitlines()[0])
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--name", required=True, help="model name (folder under PROJECT/models)")
    p.add_argument(
        "--epochs", type=int, default=None, help="epochs in all (default 20, or the resumed run's)"
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--split", default="train", help="split to train on (default train)")
    p.add_argument("--pseudo-labels", action="store_true", help="also train on proposals of unreviewed clips")
    p.add_argument(
        "--include-edited", action="store_true", help="also train on corrected frames not yet accepted"
    )
    p.add_argument("--pseudo-weight", type=float, default=0.5)
    p.add_argument("--pseudo-min-score", type=float, default=0.3)
    p.add_argument("--resume", action="store_true", help="continue from PROJECT/models/NAME/checkpoint.pt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--database-url", default=None)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--image-size", type=int, default=96)
    p.add_argument("--backbone", default="tiny", help="tiny, or a timm model name such as resnet18")
    p.add_argument("--backbone-weights", default=None, help="local state-dict file of the backbone")
    p.add_argument("--width", type=int, default=16, help="channels of the tiny backbone's first stage")
    p.add_argument("--log-every", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="CPU threads per process (0: torch's default)")
    return p.parse_args(argv)


class _Printer:
    """Prints events as JSON lines on stdout (thread-safe, flushed)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, default=str)
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def _install_signals(flag: threading.Event) -> None:
    def handler(signum, _frame):
        flag.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _record(store, run_id: int | None, **fields: Any) -> None:
    if store is not None and run_id is not None:
        store.update_training_run(run_id, **fields)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    emit = _Printer()
    stop = threading.Event()
    _install_signals(stop)
    store, run_id, info = None, None, DistInfo()
    try:
        out_dir = model_dir(args.project, args.name)
        device = resolve_device(args.device)
        info = init_distributed(device)
        if device.type == "cuda" and args.device in ("auto", "cuda"):
            device = torch.device("cuda", info.local_rank)
            torch.cuda.set_device(device)
        if args.threads:
            torch.set_num_threads(args.threads)
        resume_state = None
        if args.resume:
            resume_state = load_checkpoint(out_dir / CHECKPOINT_FILE)
            model_config = StudentConfig.from_dict(resume_state["model_config"])
            options = LoopOptions(**resume_state["options"])
            data_options = DataOptions(**resume_state["extra"]["data"])
            if args.epochs is not None:
                options.epochs = args.epochs
        else:
            if (out_dir / CHECKPOINT_FILE).exists():
                raise CheckpointError(
                    out_dir / CHECKPOINT_FILE,
                    "a model with this name exists; pass --resume or choose a new name",
                )
            model_config = StudentConfig(
                backbone=args.backbone,
                image_size=args.image_size,
                width=args.width,
                backbone_weights=args.backbone_weights,
            )
            options = LoopOptions(
                epochs=args.epochs or 20,
                batch_size=args.batch_size,
                lr=args.lr,
                seed=args.seed,
                log_every=args.log_every,
            )
            data_options = DataOptions(
                split=args.split,
                pseudo_labels=args.pseudo_labels,
                include_edited=args.include_edited,
                pseudo_weight=args.pseudo_weight,
                pseudo_min_score=args.pseudo_min_score,
                image_size=model_config.image_size,
                n_mels=model_config.n_mels,
                audio_frames=model_config.audio_frames,
            )
        from avs_studio.store import Store  # imported late: `--help` stays fast

        store = Store.for_project(args.project, args.database_url)
        videos = store.videos()
        train_ids, val_ids = split_videos(videos, data_options.split, data_options.val_fraction)
        cache = Path(args.project) / "cache" / "training"
        t0 = time.monotonic()

        def load():
            train = build_samples(store, collect_labels(store, train_ids, data_options), data_options, cache)
            val_opts = DataOptions(**{**data_options.__dict__, "pseudo_labels": False})
            val = build_samples(store, collect_labels(store, val_ids, val_opts), val_opts, cache)
            return train, val

        if info.world > 1:  # rank 0 fills the cache first, the others then read it
            if info.main:
                train, val = load()
            torch.distributed.barrier()
            if not info.main:
                train, val = load()
        else:
            train, val = load()
        emit(
            {
                "event": "data",
                "train_samples": len(train),
                "val_samples": len(val),
                "pseudo_samples": int((train.weights < 1).sum()),
                "train_videos": len(train_ids),
                "val_videos": len(val_ids),
                "seconds": round(time.monotonic() - t0, 2),
            }
        )
        config = {
            "model": model_config.to_dict(),
            "loop": options.to_dict(),
            "data": asdict(data_options),
            "device": str(device),
            "world_size": info.world,
        }
        if info.main:
            existing = {r.name: r for r in store.training_runs()}
            run_id = (
                existing[args.name].id if args.name in existing else store.add_training_run(args.name, config)
            )
            _record(store, run_id, status="running", config=config, started_at=datetime.now(UTC))
        result = fit(
            model_config,
            train,
            val,
            options,
            out_dir,
            emit,
            should_stop=stop.is_set,
            resume_state=resume_state,
            device=device,
            info=info,
            extra={"data": asdict(data_options)},
        )
        if info.main:
            fields: dict[str, Any] = {"status": result.status, "metrics": result.metrics}
            if result.status == "done":
                fields.update(checkpoint=str(out_dir / MODEL_FILE), finished_at=datetime.now(UTC))
            _record(store, run_id, **fields)
        return 0
    except Exception as exc:  # reported as an event: the caller shows the message
        emit({"event": "error", "type": type(exc).__name__, "message": str(exc)})
        try:
            _record(store, run_id, status="failed", metrics={"error": str(exc)})
        except Exception as record_exc:  # the store itself may be what failed
            print(f"could not record the failure: {record_exc}", file=sys.stderr)
        return 1
    finally:
        if store is not None:
            store.close()
        if info.world > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
