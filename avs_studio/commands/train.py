"""`train` (a student model from the accepted labels) and `demo-data` (a synthetic AVSBench folder)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

from avs_studio.commands.common import PROJECT_HELP, add_device, add_json, print_json
from avs_studio.progress import Bar
from avs_studio.training import settings
from avs_studio.training.settings import DEFAULTS


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a student segmentation model on the project's accepted labels (OpenAVS-ST)",
        description="Runs `python -m avs_studio.training` and follows it. Ctrl-C stops after the current step "
        "and keeps the checkpoint; run again with --resume to continue (exit status 130 when cancelled). "
        "Every setting has a default that trains a listening student on the demo data "
        "(docs/self-training.md).",
    )
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("--name", required=True, help="model name (PROJECT/models/NAME)")
    add_device(p, "training runs")
    p.add_argument("--resume", action="store_true", help="continue from the model's last checkpoint")
    p.add_argument("--nproc", type=int, default=1, help="processes (torchrun DDP; one per GPU)")
    p.add_argument("--json", action="store_true", help="print the trainer's events as JSON lines")
    p.add_argument("--threads", type=int, default=None, help="CPU threads per process (default: torch's)")
    settings.add_arguments(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "demo-data",
        help="write a synthetic AVSBench-layout dataset where only the sound tells which shape is the target",
    )
    p.add_argument("out", help="output folder (must be missing or empty)")
    p.add_argument("--subset", default="s4", choices=["s4"], help="the AVSBench layout to write (s4)")
    p.add_argument(
        "--hard",
        action="store_true",
        help="the harder task: 6 classes, 2-3 shapes per frame, random colours, varied class sounds",
    )
    p.add_argument("--train", type=int, default=None, help="training clips (default 120, hard 200)")
    p.add_argument("--val", type=int, default=None, help="validation clips (default 12, hard 40)")
    p.add_argument("--test", type=int, default=None, help="test clips (default 24, hard 60)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--size", type=int, default=224, help="frame side in pixels (default 224, as S4)")
    add_json(p)
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser(
        "predict",
        help="write a student model's foreground probabilities as PNGs (AVSBench S4 mask layout) for `eval`",
    )
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("out", help="output folder: OUT/{category}/{name}/{name}_{k}.png")
    p.add_argument("--name", required=True, help="the trained model (PROJECT/models/NAME)")
    p.add_argument("--split", default=None, help="only the videos of this split")
    add_device(p, "the model runs")
    p.add_argument(
        "--shuffle-audio",
        type=int,
        metavar="SEED",
        default=None,
        help="give each video another video's audio (ablation: how much the model listens)",
    )
    add_json(p)
    p.set_defaults(func=cmd_predict)


def _describe(event: dict[str, Any]) -> str | None:
    kind = event.get("event")
    if kind == "backbone":
        return f"backbone: {event['note']}"
    if kind == "data":
        return (
            f"data: {event['train_samples']} training frames ({event['pseudo_samples']} pseudo-labelled) "
            f"from {event['train_videos']} videos, {event['val_samples']} validation frames, "
            f"{event.get('sound_classes', 0)} sound classes"
        )
    if kind == "start":
        return f"training {event['total_steps']} steps ({event['steps_per_epoch']} per epoch) on {event['device']}"
    if kind == "val":
        return (
            f"step {event['step']}  validation mIoU {event['val_miou']:.4f}  F {event['val_f']:.4f}  "
            f"(best {event['best_val_miou']:.4f} at step {event['best_step']})"
        )
    if kind == "early_stop":
        why = "no better validation score for a while" if event["reason"] == "patience" else "time budget"
        return f"stopping at step {event['step']} of {event['total_steps']}: {why}"
    if kind == "done":
        return f"done: {event['path']}"
    if kind == "cancelled":
        return f"cancelled after step {event['step']}; checkpoint {event['path']} (continue with --resume)"
    if kind == "error":
        return f"error: {event['message']}"
    return None


POSITIONAL = ("epochs", "split", "seed", "pseudo_labels")  # train()'s own parameters


def cmd_train(args) -> int:
    from avs_studio.jobs.project import open_project
    from avs_studio.jobs.train import train

    cancel = threading.Event()
    previous = {s: signal.signal(s, lambda *_: cancel.set()) for s in (signal.SIGINT, signal.SIGTERM)}

    bar = Bar("training", unit="step")
    total_steps = 0

    def on_event(event: dict[str, Any]) -> None:
        nonlocal total_steps
        if args.json:
            print(json.dumps(event), flush=True)
            return
        kind = event.get("event")
        if kind == "start":
            total_steps = int(event["total_steps"])
        if kind == "step":
            bar(int(event["step"]), total_steps, f"loss {event['loss']:.4f}")
        line = _describe(event)
        if line:
            bar.echo(line)

    chosen = settings.given(args)
    options = {k: v for k, v in chosen.items() if k not in POSITIONAL}
    options["threads"] = args.threads
    try:
        with open_project(args.project_dir, args.database_url) as project:
            result = train(
                project,
                args.name,
                args.epochs,
                args.device,
                args.split or DEFAULTS.split,
                bool(args.pseudo_labels),
                on_event,
                cancel,
                resume=args.resume,
                seed=DEFAULTS.seed if args.seed is None else args.seed,
                options=options,
                nproc=args.nproc,
            )
    finally:
        bar.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if not args.json and result.status == "done":
        m = result.metrics
        if "val_miou" in m:
            print(
                f"kept the best validated weights (step {m.get('best_step')} of {m.get('steps')}): "
                f"validation mIoU {m['val_miou']:.4f}  F {m['val_f']:.4f}; {m.get('train_seconds')} s"
            )
    return 130 if result.status == "cancelled" else 0


def cmd_demo_data(args) -> int:
    from avs_studio.io.demo import make_demo_s4

    with Bar("writing", unit="clip") as bar:
        report = make_demo_s4(
            args.out, hard=args.hard, train=args.train, val=args.val, test=args.test, seed=args.seed,
            size=args.size, progress=bar,
        )  # fmt: skip
    if args.json:
        print_json(report)
        return 0
    clips = ", ".join(f"{n} {s}" for s, n in report.clips.items())
    print(f"wrote {report.root} (AVSBench S4 layout): {clips} clips of {', '.join(report.categories)}")
    return 0


def cmd_predict(args) -> int:
    from avs_studio.jobs.project import open_project
    from avs_studio.jobs.propose_student import predict_folder

    with open_project(args.project_dir, args.database_url) as project, Bar("predicting", unit="video") as bar:
        report = predict_folder(
            project, args.name, args.out, split=args.split, device=args.device,
            shuffle_audio_seed=args.shuffle_audio, progress=bar,
        )  # fmt: skip
    if args.json:
        print_json(report)
        return 1 if report.errors and not report.frames else 0
    print(f"wrote {report.frames} frames of {report.videos} videos to {report.out_dir}")
    for message in report.errors:
        print(f"skipped: {message}", file=sys.stderr)
    return 1 if report.errors and not report.frames else 0
