"""The student's defaults are stated once (avs_studio.training.settings.DEFAULTS) and are what the CLI,
the trainer and the model, loop and data options use; flags travel from `avs-studio train` to the trainer."""

from dataclasses import fields

import pytest

from avs_studio.cli import build_parser
from avs_studio.commands.train import POSITIONAL
from avs_studio.jobs.train import train_command
from avs_studio.training import run, settings
from avs_studio.training.dataset import DataOptions
from avs_studio.training.loop import LoopOptions
from avs_studio.training.model import StudentConfig
from avs_studio.training.settings import DEFAULTS, TrainSettings


def test_option_dataclasses_take_their_defaults_from_the_settings():
    for cls in (StudentConfig, LoopOptions, DataOptions):
        for f in fields(cls):
            if f.name in settings.names() and f.name != "backbone":  # the model's own default is concrete
                assert getattr(cls(), f.name) == getattr(DEFAULTS, f.name), (cls.__name__, f.name)
    assert StudentConfig().width == DEFAULTS.width  # the CLI said 16 and the model 32 before


def _trainer_configs(cli_args: list[str]):
    """`avs-studio train` flags -> the trainer's command line -> the trainer's parsed configs."""
    args = build_parser().parse_args(["train", "proj", "--name", "st", *cli_args])
    chosen = settings.given(args)
    options = {k: v for k, v in chosen.items() if k not in POSITIONAL}
    cmd = train_command(
        "proj",
        "st",
        epochs=args.epochs,
        split=args.split or DEFAULTS.split,
        seed=args.seed or 0,
        pseudo_labels=bool(args.pseudo_labels),
        options=options,
    )
    trainer_args = run.parse_args(cmd[3:])
    return run.configs(DEFAULTS.updated(**settings.given(trainer_args)))


def test_no_flags_mean_the_defaults_everywhere():
    model, loop, data = _trainer_configs([])
    assert (model.backbone, model.width, model.image_size) == ("tiny", DEFAULTS.width, DEFAULTS.image_size)
    for name in ("steps", "epochs", "batch_size", "lr", "val_every", "patience", "ema", "mix"):
        assert getattr(loop, name) == getattr(DEFAULTS, name), name
    assert loop.audio_class_loss == DEFAULTS.audio_class_loss and loop.audio_augment is DEFAULTS.audio_augment
    assert (data.pseudo_labels, data.pseudo_weight, data.include_edited) == (False, DEFAULTS.pseudo_weight, False)


def test_flags_reach_the_trainer():
    model, loop, data = _trainer_configs(
        ["--width", "24", "--steps", "77", "--mix", "0", "--pseudo-labels",
         "--pseudo-weight", "0.2", "--pseudo-min-score", "0.6", "--include-edited", "--ema", "0", "--audio-augment"]
    )  # fmt: skip
    assert model.width == 24 and loop.steps == 77 and loop.mix == 0 and loop.audio_augment is True
    assert loop.ema == 0 and (data.pseudo_labels, data.pseudo_weight, data.pseudo_min_score) == (True, 0.2, 0.6)
    assert data.include_edited is True


def test_every_setting_is_a_flag_with_its_default_in_the_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command" or getattr(a, "choices", None))
    train = sub.choices["train"]
    text = train.format_help()
    for f in fields(TrainSettings):
        assert settings.flag(f.name) in text, f.name
    assert f"(default {DEFAULTS.steps})" in text.replace("\n", " ").replace("  ", " ")
    with pytest.raises(ValueError, match="colour"):
        DEFAULTS.updated(colour=1)
