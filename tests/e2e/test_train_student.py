"""OpenAVS-ST end to end on synthetic data: demo data -> import -> train (CLI) -> predict -> `avs-studio eval`.

Only the sound tells which of the shapes in each frame is the target, so the trained student must reach
a high test mIoU with the clips' own audio and fall far below it when the test audio is shuffled.

These are bounded CI forms of the goals (docs/self-training.md; the full figures at the defaults come from
`python -m tests.benchmarks.bench_student`): fewer clips, 64-pixel inputs and fewer steps than the
defaults, and lower bars. Hard task: 96 training clips, 800 steps, test mIoU >= 0.55 and a shuffled-audio
drop >= 0.2 (the goal at the defaults: 200 clips, >= 0.70 and >= 0.25). Easy task: 400 steps, >= 0.7.
"""

import json
import subprocess
import sys
import time

import pytest

from avs_studio.jobs.project import open_project
from avs_studio.jobs.propose_student import predict_folder

pytestmark = pytest.mark.slow


def cli(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "avs_studio", *map(str, args)], capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"avs-studio {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def evaluate(pred, gt) -> dict:
    return json.loads(cli("eval", pred, gt, "--json").stdout)


def _learn(tmp_path, hard: bool, train: int, val: int, test: int, steps: int) -> dict:
    t0 = time.monotonic()
    demo, project_dir = tmp_path / "demo", tmp_path / "project"
    task = ["--hard"] if hard else []
    cli("demo-data", demo, *task, "--train", train, "--val", val, "--test", test, "--seed", 1, "--size", 96)
    cli("init", project_dir)
    cli("import-avsbench", project_dir, demo, "--subset", "s4")
    t_data = time.monotonic() - t0
    out = cli("train", project_dir, "--name", "st", "--steps", steps, "--image-size", 64, "--device", "cpu",
              "--threads", 1, "--json")  # fmt: skip
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    done = events[-1]
    assert done["event"] == "done" and done["path"].endswith("models/st/model.pt")
    data = next(e for e in events if e["event"] == "data")
    assert data["train_samples"] == train and data["val_samples"] == val * 5  # S4 train: first frame only
    assert data["sound_classes"] == (6 if hard else 4)  # the clips' categories
    vals = [e for e in events if e["event"] == "val"]
    assert max(e["val_miou"] for e in vals) == pytest.approx(done["val_miou"])  # the best is kept
    t_train = time.monotonic() - t0 - t_data

    with open_project(project_dir) as project:
        runs = {r.name: r for r in project.store.training_runs()}
        assert runs["st"].status == "done" and runs["st"].checkpoint == done["path"]
        assert runs["st"].metrics["val_miou"] == pytest.approx(done["val_miou"])
        shuffled = predict_folder(
            project, "st", tmp_path / "pred-shuffled", split="test", device="cpu", shuffle_audio_seed=0
        )
    out = cli("predict", project_dir, tmp_path / "pred", "--name", "st", "--split", "test", "--device", "cpu")
    assert f"wrote {test * 5} frames of {test} videos" in out.stdout
    assert shuffled.frames == test * 5
    moved = sum(v != d for v, d in shuffled.audio_from.items())
    assert moved >= test // 2
    gt = demo / "gt_masks" / "test"
    score = evaluate(tmp_path / "pred", gt)
    score_shuffled = evaluate(tmp_path / "pred-shuffled", gt)
    assert score["frames"] == test * 5
    print(
        f"\nOpenAVS-ST student, {'hard' if hard else 'easy'} synthetic S4 ({train} train clips, {steps} steps, "
        f"CPU): test mIoU {score['miou']:.3f} F {score['fscore']:.3f}; test audio shuffled between clips "
        f"({moved}/{test} moved): mIoU {score_shuffled['miou']:.3f}; best val mIoU {done['val_miou']:.3f} "
        f"at step {done['best_step']}; data {t_data:.0f} s, training {t_train:.0f} s"
    )
    return {"miou": score["miou"], "shuffled": score_shuffled["miou"]}


def test_student_learns_to_listen_on_the_hard_task(tmp_path):
    r = _learn(tmp_path, hard=True, train=96, val=8, test=16, steps=800)
    assert r["miou"] >= 0.55
    assert r["miou"] - r["shuffled"] >= 0.2


def test_student_learns_the_easy_task(tmp_path):
    r = _learn(tmp_path, hard=False, train=96, val=8, test=16, steps=400)
    assert r["miou"] >= 0.7
    assert r["miou"] - r["shuffled"] >= 0.25
