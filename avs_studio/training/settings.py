"""The student's training settings and their defaults, stated once.

`TrainSettings` is what a user can set: the trainer's arguments, `avs-studio train`'s flags (both made
from its fields by `add_arguments`) and the Train dialog's fields; `DEFAULTS` is the one place their
default values live. The model, loop and data option dataclasses take their defaults from here.
Torch-free: the GUI and the CLI read it without loading torch.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

AUTO_BACKBONE = "auto"


def _s(default: Any, help: str) -> Any:  # noqa: A002 (argparse's word)
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class TrainSettings:
    # model
    backbone: str = _s(
        AUTO_BACKBONE,
        "image encoder: auto (the pretrained backbone when its weights are in the model cache, else tiny), "
        "tiny (a small CNN) or a timm model name such as resnet18",
    )
    backbone_weights: str | None = _s(
        None, "pretrained backbone weights: a state-dict file or a registered model name"
    )
    pretrained: str = _s("timm-resnet18", "registered backbone weights that backbone auto uses when cached")
    image_size: int = _s(96, "square input side in pixels")
    width: int = _s(16, "channels of the tiny backbone's first stage")
    # schedule
    steps: int = _s(2000, "optimiser steps in all (the length of the run)")
    epochs: int | None = _s(None, "instead of --steps: passes over the training frames")
    batch_size: int = _s(16, "frames per step (global, over all processes)")
    lr: float = _s(3e-3, "peak learning rate (AdamW; linear warm-up, then cosine decay)")
    weight_decay: float = _s(1e-4, "AdamW weight decay")
    backbone_lr: float = _s(0.1, "learning-rate factor for a pretrained backbone's weights")
    warmup: float = _s(0.05, "share of the steps with a linear learning-rate warm-up")
    val_every: int = _s(100, "steps between validations and checkpoints")
    val_frames: int = _s(512, "validate on at most this many frames (evenly spread)")
    patience: int = _s(12, "stop after this many validations without a better score (0: never)")
    ema: float = _s(0.995, "decay of the weights' moving average that is validated and kept (0: off)")
    time_budget: float | None = _s(None, "stop after this many seconds of training (default: no limit)")
    seed: int = _s(0, "random seed (the same seed and data give the same run)")
    # what makes the student listen
    audio_class_loss: float = _s(0.5, "weight of the auxiliary loss: which sound class is heard (0: off)")
    mix: float = _s(
        0.5,
        "share of frames with another clip's object pasted in and either clip's audio, whose object is "
        "then the target (0: off)",
    )
    audio_augment: bool = _s(False, "random time shift, time mask and small pitch shift of the sound")
    # data
    split: str = _s("train", "split to train on")
    include_edited: bool = _s(False, "also learn from frames a person corrected but has not accepted yet")
    pseudo_labels: bool = _s(False, "also learn from OpenAVS proposals of unreviewed clips (pseudo labels)")
    pseudo_weight: float = _s(0.5, "loss weight of a pseudo-labelled frame (accepted frames weigh 1)")
    pseudo_min_score: float = _s(
        0.3, "use a proposed frame only when its lowest object score is at least this"
    )
    val_fraction: float = _s(0.1, "share of training videos that validate when no video is in split val")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, **changes: Any) -> TrainSettings:
        """A copy with ``changes`` applied; None values leave this object's value."""
        unknown = sorted(set(changes) - set(names()))
        if unknown:
            raise ValueError(f"unknown training settings: {', '.join(unknown)}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


DEFAULTS = TrainSettings()


def names() -> list[str]:
    return [f.name for f in fields(TrainSettings)]


def help_text(name: str) -> str:
    """The setting's help with its default, e.g. for a tooltip."""
    f = next(f for f in fields(TrainSettings) if f.name == name)
    default = getattr(DEFAULTS, name)
    return f.metadata["help"] if default is None else f"{f.metadata['help']} (default {default})"


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    """One flag per setting (default None: "not given", so DEFAULTS or a resumed run's value applies)."""
    for f in fields(TrainSettings):
        if f.name in skip:
            continue
        kind = str(f.type)
        text = help_text(f.name)
        if kind == "bool":
            parser.add_argument(flag(f.name), action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            cast = int if kind.startswith("int") else float if kind.startswith("float") else str
            parser.add_argument(flag(f.name), type=cast, default=None, help=text)


def given(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on a command line parsed with add_arguments (those not None)."""
    values = vars(args)
    return {k: values[k] for k in names() if values.get(k) is not None}
