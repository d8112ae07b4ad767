"""OpenAVS-ST end to end on synthetic data: demo data -> import -> train (CLI) -> predict -> `avs-studio eval`.

Only the sound tells which of the shapes in each frame is the target, so the trained student must reach
a high test mIoU with the clips' own audio and fall far below it when the test audio is shuffled.
"""

import json
import subprocess
import sys
import time

import pytest

from avs_studio.jobs.project import open_project
from avs_studio.jobs.propose_student import predict_folder

pytestmark = pytest.mark.slow

TRAIN, VAL, TEST, EPOCHS = 160, 8, 24, 30


def cli(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "avs_studio", *map(str, args)], capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"avs-studio {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def evaluate(pred, gt) -> dict:
    return json.loads(cli("eval", pred, gt, "--json").stdout)


def test_student_learns_the_audio_visual_link(tmp_path):
    t0 = time.monotonic()
    demo, project_dir = tmp_path / "demo", tmp_path / "project"
    cli(
        "demo-data",
        demo,
        "--subset",
        "s4",
        "--train",
        TRAIN,
        "--val",
        VAL,
        "--test",
        TEST,
        "--seed",
        1,
        "--size",
        96,
    )
    cli("init", project_dir)
    cli("import-avsbench", project_dir, demo, "--subset", "s4")
    t_data = time.monotonic() - t0
    out = cli(
        "train",
        project_dir,
        "--name",
        "st",
        "--epochs",
        EPOCHS,
        "--image-size",
        64,
        "--device",
        "cpu",
        "--json",
    )
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    done = events[-1]
    assert done["event"] == "done" and done["path"].endswith("models/st/model.pt")
    data = next(e for e in events if e["event"] == "data")
    assert data["train_samples"] == TRAIN and data["val_samples"] == VAL * 5  # S4 train: first frame only
    t_train = time.monotonic() - t0 - t_data

    with open_project(project_dir) as project:
        runs = {r.name: r for r in project.store.training_runs()}
        assert runs["st"].status == "done" and runs["st"].checkpoint == done["path"]
        assert runs["st"].metrics["val_miou"] == pytest.approx(done["val_miou"])
        shuffled = predict_folder(
            project, "st", tmp_path / "pred-shuffled", split="test", device="cpu", shuffle_audio_seed=0
        )
    out = cli("predict", project_dir, tmp_path / "pred", "--name", "st", "--split", "test", "--device", "cpu")
    assert f"wrote {TEST * 5} frames of {TEST} videos" in out.stdout
    assert shuffled.frames == TEST * 5
    moved = sum(v != d for v, d in shuffled.audio_from.items())
    assert moved >= TEST // 2
    gt = demo / "gt_masks" / "test"
    score = evaluate(tmp_path / "pred", gt)
    score_shuffled = evaluate(tmp_path / "pred-shuffled", gt)
    print(
        f"\nOpenAVS-ST student on synthetic S4 ({TRAIN} train clips, {EPOCHS} epochs, CPU): "
        f"test mIoU {score['miou']:.3f} F {score['fscore']:.3f}; with test audio shuffled between clips "
        f"({moved}/{TEST} moved): mIoU {score_shuffled['miou']:.3f} F {score_shuffled['fscore']:.3f}; "
        f"val mIoU {done['val_miou']:.3f}; data {t_data:.0f} s, training {t_train:.0f} s, "
        f"total {time.monotonic() - t0:.0f} s"
    )
    assert score["frames"] == TEST * 5
    assert score["miou"] >= 0.7
    assert score["miou"] - score_shuffled["miou"] >= 0.25
