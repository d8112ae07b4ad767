"""Train a student model: run `python -m avs_studio.training` as a subprocess and follow its JSON lines.

Used by `avs-studio train` and by the GUI's training dialog. Cancelling sends SIGTERM: the trainer
finishes its step, saves its checkpoint and exits; `resume=True` continues from that checkpoint.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avs_studio.jobs.engine import Engine, set_proposal_engine
from avs_studio.jobs.engine import student_path as model_path
from avs_studio.jobs.project import Project
from avs_studio.training.paths import model_dir
from avs_studio.training.settings import AUTO_BACKBONE, DEFAULTS

OnEvent = Callable[[dict[str, Any]], None]


class TrainError(Exception):
    """Training failed; the message is the trainer's own (it names the file, setting or data problem)."""


@dataclass
class TrainResult:
    name: str
    status: str  # "done" | "cancelled" | "error"
    checkpoint: str | None  # model.pt when done, checkpoint.pt when cancelled
    metrics: dict[str, Any] = field(default_factory=dict)  # last val_miou, val_f, loss, ...
    events: list[dict[str, Any]] = field(default_factory=list)
    returncode: int = 0
    error: str | None = None


def train_command(
    project_dir: str | os.PathLike[str],
    name: str,
    *,
    epochs: int | None = None,
    device: str = "auto",
    split: str = "train",
    pseudo_labels: bool = False,
    resume: bool = False,
    seed: int = 0,
    database_url: str | None = None,
    options: dict[str, Any] | None = None,
    nproc: int = 1,
) -> list[str]:
    """The trainer's command line. ``options``: training settings (avs_studio.training.settings) as flags,
    e.g. {"image_size": 64, "steps": 500}; None is left out (the default applies), True/False become
    --flag/--no-flag. ``nproc`` > 1 runs it under torchrun (DDP, one process per GPU, or gloo on CPU)."""
    model_dir(Path(project_dir), name)  # validates the name early, with a clear message
    if nproc > 1:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc-per-node={nproc}",
            "-m",
            "avs_studio.training",
        ]
    else:
        cmd = [sys.executable, "-m", "avs_studio.training"]
    cmd += [
        "--project",
        str(project_dir),
        "--name",
        name,
        "--device",
        device,
        "--split",
        split,
        "--seed",
        str(seed),
    ]
    if epochs is not None:
        cmd += ["--epochs", str(epochs)]
    if pseudo_labels:
        cmd.append("--pseudo-labels")
    if resume:
        cmd.append("--resume")
    if database_url:
        cmd += ["--database-url", database_url]
    for key, value in (options or {}).items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            cmd.append(flag)
        elif value is False:
            cmd.append("--no-" + key.replace("_", "-"))
        elif value is not None:
            cmd += [flag, str(value)]
    return cmd


WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


def resolve_backbone_weights(value: str | None) -> str | None:
    """Pretrained backbone weights: a local state-dict file as it is, or the name of a model-registry entry
    (avs_studio/resources/models.toml), fetched into the model cache like every other model (ModelMissingError offline,
    naming the download command)."""
    if not value:
        return None
    path = Path(value).expanduser()
    if path.is_file():
        return str(path)
    from avs_studio.openavs import model_registry, weights

    if value not in model_registry.load_registry():
        raise TrainError(f"backbone weights {value!r}: no such file and no registered model of that name")
    found = weights.ensure(value)
    if found.is_dir():
        files = sorted(p for p in found.rglob("*") if p.suffix in WEIGHT_SUFFIXES)
        if len(files) != 1:
            raise TrainError(
                f"model {value!r} in {found} has {len(files)} weight files; its registry entry "
                "must name one (entry = ...)"
            )
        found = files[0]
    return str(found)


@dataclass(frozen=True)
class Backbone:
    name: str  # "tiny" or a timm model name
    weights: str | None  # local weights file, or None (random initialisation)
    note: str  # why this backbone, for the user


def resolve_backbone(backbone: str | None, backbone_weights: str | None, pretrained: str | None) -> Backbone:
    """The image backbone a new run uses. "auto" (the default) is the registered pretrained backbone
    ``pretrained`` (default DEFAULTS.pretrained, a timm entry of avs_studio/resources/models.toml) when its weights are
    in the model cache, else "tiny"; nothing is downloaded for "auto". Weights given by registry name are
    fetched into the cache like every other model (resolve_backbone_weights)."""
    backbone = backbone or DEFAULTS.backbone
    if backbone != AUTO_BACKBONE:
        return Backbone(backbone, resolve_backbone_weights(backbone_weights), "chosen")
    from avs_studio.openavs import model_registry, weights

    name = pretrained or DEFAULTS.pretrained
    try:
        spec = model_registry.get_spec(name)
        cached = weights.is_cached(spec)
    except model_registry.ModelError as exc:
        return Backbone("tiny", None, f"auto: tiny ({exc})")
    architecture = spec.extra.get("architecture")
    if not architecture:
        raise TrainError(f"registered model {name!r} names no timm architecture (architecture = ...)")
    if not cached:
        return Backbone(
            "tiny",
            None,
            f"auto: tiny (pretrained {name} is not in the model cache; fetch it with "
            f"`avs-studio models download {name}` to train on real data)",
        )
    return Backbone(architecture, resolve_backbone_weights(name), f"auto: {architecture} with {name}")


def prepare_options(options: dict[str, Any] | None, resume: bool = False) -> tuple[dict[str, Any], str]:
    """Training settings ready for train_command (backbone resolved, see resolve_backbone) and a line
    saying which backbone is used; a resumed run keeps its own backbone, so nothing is resolved then."""
    options = dict(options or {})
    if resume:
        return options, "resumed: the checkpoint's backbone"
    chosen = resolve_backbone(
        options.get("backbone"), options.get("backbone_weights"), options.get("pretrained")
    )
    options.update(backbone=chosen.name, backbone_weights=chosen.weights)
    return options, chosen.note


def _watch(proc: subprocess.Popen[str], cancel: Any, done: threading.Event) -> None:
    while not done.wait(0.1):
        if cancel is not None and cancel.is_set():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            return


def train(
    project: Project,
    name: str,
    epochs: int | None = None,
    device: str = "auto",
    split: str = "train",
    pseudo_labels: bool = False,
    on_event: OnEvent | None = None,
    cancel: Any = None,
    *,
    resume: bool = False,
    seed: int = 0,
    options: dict[str, Any] | None = None,
    nproc: int = 1,
) -> TrainResult:
    """Train (or resume) the student ``name`` of ``project`` in a subprocess; ``on_event`` gets every
    event dict as it arrives (first a "backbone" event saying which image backbone is used). ``options``
    are training settings (avs_studio.training.settings; None: the default). Returns when the trainer
    exits; raises TrainError when it failed."""
    options, note = prepare_options(options, resume)  # settings, and "threads" for the trainer
    if on_event is not None:
        on_event({"event": "backbone", "backbone": options.get("backbone"), "note": note})
    cmd = train_command(
        project.dir,
        name,
        epochs=epochs,
        device=device,
        split=split,
        pseudo_labels=pseudo_labels,
        resume=resume,
        seed=seed,
        database_url=project.store.url,
        options=options,
        nproc=nproc,
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    stderr_tail: deque[str] = deque(maxlen=40)
    assert proc.stdout is not None and proc.stderr is not None  # both piped above
    errors = proc.stderr
    drain = threading.Thread(target=lambda: stderr_tail.extend(errors), daemon=True)
    drain.start()
    finished = threading.Event()
    watcher = threading.Thread(target=_watch, args=(proc, cancel, finished), daemon=True)
    watcher.start()
    result = TrainResult(name, "error", None)
    try:
        for line in proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            result.events.append(event)
            kind = event.get("event")
            if kind == "val":
                result.metrics.update(val_miou=event["val_miou"], val_f=event["val_f"])
            elif kind in ("done", "cancelled"):
                result.status, result.checkpoint = kind, event.get("path")
                result.metrics.update({k: v for k, v in event.items() if k not in ("event", "path")})
            elif kind == "error":
                result.error = event.get("message")
            if on_event is not None:
                on_event(event)
    except BaseException:
        if proc.poll() is None:  # e.g. KeyboardInterrupt in the caller: let the trainer save and stop
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        raise
    finally:
        finished.set()
        result.returncode = proc.wait()
        drain.join(timeout=5)
    if result.status not in ("done", "cancelled"):
        result.status = "error"
        detail = result.error or "".join(stderr_tail).strip()[-2000:] or f"exit status {result.returncode}"
        raise TrainError(f"training {name!r} failed: {detail}")
    return result


def use_as_proposal_engine(project: Project, name: str) -> Engine:
    """Make the student ``name`` the project's proposal engine (jobs.engine.set_proposal_engine);
    TrainError when its model is not finished."""
    path = model_path(project, name)
    if not path.is_file():
        raise TrainError(f"{path} does not exist: finish training {name!r} first")
    return set_proposal_engine(project, Engine("student", name))
