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
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from avs_studio.training import settings
from avs_studio.training.checkpoint import CheckpointError, load_checkpoint
from avs_studio.training.dataset import DataOptions, build_samples, collect_labels, split_videos
from avs_studio.training.loop import DistInfo, LoopOptions, fit, init_distributed, resolve_device
from avs_studio.training.model import StudentConfig
from avs_studio.training.paths import CHECKPOINT_FILE, MODEL_FILE, model_dir
from avs_studio.training.settings import DEFAULTS, TrainSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m avs_studio.training", description=__doc__.splitlines()[0])
    p.add_argument("--project", required=True, help="project folder")
    p.add_argument("--name", required=True, help="model name (folder under PROJECT/models)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--resume", action="store_true", help="continue from PROJECT/models/NAME/checkpoint.pt")
    p.add_argument("--database-url", default=None)
    p.add_argument("--log-every", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="CPU threads per process (0: torch's default)")
    settings.add_arguments(p)
    return p.parse_args(argv)


RESUME_OVERRIDES = ("steps", "epochs", "time_budget", "patience", "val_every")  # may change on resume


def configs(chosen: TrainSettings) -> tuple[StudentConfig, LoopOptions, DataOptions]:
    """The model, loop and data options of a new run with these settings. Backbone "auto" is resolved by
    the caller (jobs.train looks in the model cache); here it means the tiny backbone."""
    backbone = "tiny" if chosen.backbone == settings.AUTO_BACKBONE else chosen.backbone
    model = StudentConfig(
        backbone=backbone,
        image_size=chosen.image_size,
        width=chosen.width,
        backbone_weights=chosen.backbone_weights,
    )
    loop_fields = {f.name for f in dataclass_fields(LoopOptions)}
    loop = LoopOptions(**{k: v for k, v in chosen.to_dict().items() if k in loop_fields})
    data_fields = {f.name for f in dataclass_fields(DataOptions)}
    data = DataOptions(
        **{k: v for k, v in chosen.to_dict().items() if k in data_fields},
        n_mels=model.n_mels,
        audio_frames=model.audio_frames,
    )
    return model, loop, data


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
            for key, value in settings.given(args).items():
                if key in RESUME_OVERRIDES:
                    setattr(options, key, value)
            if args.steps is not None and args.epochs is None:
                options.epochs = None  # the new length is in steps
        else:
            if (out_dir / CHECKPOINT_FILE).exists():
                raise CheckpointError(
                    out_dir / CHECKPOINT_FILE,
                    "a model with this name exists; pass --resume or choose a new name",
                )
            model_config, options, data_options = configs(DEFAULTS.updated(**settings.given(args)))
            options.log_every = args.log_every
        from avs_studio.store import Store  # imported late: `--help` stays fast

        store = Store.for_project(args.project, args.database_url)
        videos = store.videos()
        train_ids, val_ids = split_videos(videos, data_options.split, data_options.val_fraction)
        cache = Path(args.project) / "cache" / "training"
        t0 = time.monotonic()

        def load():
            items = collect_labels(store, train_ids, data_options)
            train = build_samples(store, items, data_options, cache)
            val_opts = DataOptions(**{**data_options.__dict__, "pseudo_labels": False})
            val = build_samples(
                store,
                collect_labels(store, val_ids, val_opts),
                val_opts,
                cache,
                class_names=train.class_names,
            )
            return train, val, items

        if info.world > 1:  # rank 0 fills the cache first, the others then read it
            if info.main:
                train, val, items = load()
            torch.distributed.barrier()
            if not info.main:
                train, val, items = load()
        else:
            train, val, items = load()
        emit(
            {
                "event": "data",
                "train_samples": len(train),
                "val_samples": len(val),
                "pseudo_samples": sum(i.pseudo for i in items),
                "sound_classes": len(train.class_names),
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
