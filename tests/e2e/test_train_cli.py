"""`avs-studio train` from the command line: JSON events, Ctrl-C cancel + resume, clear checkpoint errors,
torchrun DDP with two CPU processes matching one process, and the student as proposal engine."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

from avs_studio.jobs.project import open_project
from avs_studio.jobs.propose import propose
from avs_studio.jobs.train import use_as_proposal_engine
from avs_studio.settings import PROPOSAL_ENGINE

SMALL = ["--image-size", "32", "--batch-size", "4", "--device", "cpu"]


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "avs_studio", *map(str, args)], capture_output=True, text=True
    )


def events_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("train-cli")
    demo, project = base / "demo", base / "project"
    for args in (
        ("demo-data", demo, "--train", 8, "--val", 2, "--test", 2, "--seed", 4, "--size", 64),
        ("init", project),
        ("import-avsbench", project, demo, "--subset", "s4"),
    ):
        proc = cli(*args)
        assert proc.returncode == 0, proc.stderr
    return project


def test_cancel_with_ctrl_c_then_resume(project_dir):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "avs_studio",
            "train",
            project_dir,
            "--name",
            "cut",
            "--epochs",
            "40",
            "--json",
            *SMALL,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    for line in proc.stdout:
        seen.append(json.loads(line))
        if seen[-1]["event"] == "step":
            proc.send_signal(signal.SIGINT)  # what Ctrl-C in a terminal does
            break
    rest, err = proc.communicate(timeout=120)
    seen += events_of(rest)
    assert proc.returncode == 130, err
    cancelled = seen[-1]
    assert cancelled["event"] == "cancelled" and cancelled["path"].endswith("models/cut/checkpoint.pt")
    assert not any(e["event"] == "done" for e in seen)
    with open_project(project_dir) as project:
        assert {r.name: r.status for r in project.store.training_runs()}["cut"] == "cancelled"

    again = cli("train", project_dir, "--name", "cut", "--epochs", "2", *SMALL)
    assert again.returncode == 1 and "--resume" in again.stderr and "cut/checkpoint.pt" in again.stderr

    # under load the signal may land a few steps after the first one: train two epochs past the cut
    epochs = cancelled["step"] // 2 + 2  # 8 clips / batch 4 = 2 steps an epoch
    resumed = cli("train", project_dir, "--name", "cut", "--resume", "--epochs", str(epochs), "--json")
    assert resumed.returncode == 0, resumed.stderr
    events = events_of(resumed.stdout)
    steps = [e["step"] for e in events if e["event"] == "step"]
    assert steps[0] == cancelled["step"] + 1  # continues where it stopped
    assert events[-1]["event"] == "done" and events[-1]["steps"] == 2 * epochs
    with open_project(project_dir) as project:
        run = {r.name: r for r in project.store.training_runs()}["cut"]
        assert run.status == "done" and run.checkpoint.endswith("models/cut/model.pt")
        assert run.config["loop"]["batch_size"] == 4 and 0 <= run.metrics["val_miou"] <= 1


def test_missing_or_corrupt_checkpoint_is_named(project_dir):
    missing = cli("train", project_dir, "--name", "never", "--resume")
    assert missing.returncode == 1
    assert "models/never/checkpoint.pt" in missing.stderr and "not found" in missing.stderr
    ckpt = project_dir / "models" / "broken" / "checkpoint.pt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"PK\x03\x04 truncated zip")
    corrupt = cli("train", project_dir, "--name", "broken", "--resume", "--json")
    assert corrupt.returncode == 1
    error = events_of(corrupt.stdout)[-1]
    assert error["event"] == "error" and "models/broken/checkpoint.pt" in error["message"]
    assert "corrupt" in error["message"]


@pytest.mark.slow
def test_torchrun_two_cpu_processes_match_one(project_dir):
    one = cli("train", project_dir, "--name", "one", "--epochs", "2", "--json", *SMALL)
    two = cli("train", project_dir, "--name", "two", "--epochs", "2", "--json", "--nproc", "2", *SMALL)
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-3000:]
    e1, e2 = events_of(one.stdout), events_of(two.stdout)
    assert next(e for e in e2 if e["event"] == "start")["world_size"] == 2
    assert sum(e["event"] == "done" for e in e2) == 1  # only rank 0 reports
    l1 = [e["loss"] for e in e1 if e["event"] == "step"]
    l2 = [e["loss"] for e in e2 if e["event"] == "step"]
    assert len(l1) == len(l2) == 4
    assert l2 == pytest.approx(l1, rel=1e-4, abs=1e-5)


def test_student_proposes_and_becomes_the_engine(project_dir):
    assert cli("train", project_dir, "--name", "prop", "--epochs", "1", *SMALL).returncode == 0
    with open_project(project_dir) as project:
        test_videos = [v for v in project.store.videos() if v.split == "test"]
        target = test_videos[0]
        accepted_before = project.store.annotations(video_id=target.id, status="accepted")
        for a in accepted_before[1:]:  # leave one reviewed keyframe; the others become unreviewed
            project.store.delete_annotation(a.id)
        report = propose(project, video_ids=[target.id], engine="student:prop", device="cpu")
        assert report.engine == "student:prop" and report.clips == 1
        assert report.skipped == 1 and report.keyframes == 4
        rows = project.store.annotations(video_id=target.id, source="student")
        assert {a.frame for a in rows} == {1, 2, 3, 4} and all(a.status == "proposed" for a in rows)
        assert len(rows) == report.annotations + report.empty  # an empty prediction is an explicit empty row
        kept = project.store.annotations(video_id=target.id, status="accepted")
        assert [a.id for a in kept] == [accepted_before[0].id]
        use_as_proposal_engine(project, "prop")
        assert project.store.get_setting(PROPOSAL_ENGINE) == "student:prop"


def test_pseudo_labels_from_unreviewed_openavs_proposals(project_dir):
    with open_project(project_dir) as project:
        video = next(v for v in project.store.videos() if v.split == "train")
        for a in project.store.annotations(video_id=video.id):
            project.store.delete_annotation(a.id)  # the clip is now unreviewed
        obj = project.store.objects(video.id)[0].id
        mask = np.zeros((video.height, video.width), bool)
        mask[8:30, 8:30] = True
        for frame, score in ((0, 0.9), (1, 0.9), (2, 0.05)):
            project.store.put_annotation(
                video.id, frame, obj, mask, source="proposal", status="proposed", score=score
            )
    plain = events_of(
        cli("train", project_dir, "--name", "nopseudo", "--epochs", "1", "--json", *SMALL).stdout
    )
    pseudo = events_of(
        cli(
            "train", project_dir, "--name", "pseudo", "--epochs", "1", "--pseudo-labels", "--json", *SMALL
        ).stdout
    )
    d0 = next(e for e in plain if e["event"] == "data")
    d1 = next(e for e in pseudo if e["event"] == "data")
    assert (d0["train_samples"], d0["pseudo_samples"]) == (7, 0)  # 8 train clips, one no longer accepted
    assert (d1["train_samples"], d1["pseudo_samples"]) == (9, 2)  # two proposals pass the score threshold
    assert pseudo[-1]["event"] == "done"


def test_include_edited_trains_on_corrected_frames_not_yet_accepted(project_dir):
    with open_project(project_dir) as project:
        video = [v for v in project.store.videos() if v.split == "train"][-1]
        rows = project.store.annotations(video_id=video.id, status="accepted")
        assert rows
        for r in rows:
            if r.frame == rows[0].frame:
                project.store.set_status(r.id, "edited")
    runs = {}
    for name, extra in (("accepted-only", []), ("with-edited", ["--include-edited"])):
        events = events_of(
            cli("train", project_dir, "--name", name, "--epochs", "1", "--json", *extra, *SMALL).stdout
        )
        assert events[-1]["event"] == "done"
        runs[name] = next(e for e in events if e["event"] == "data")["train_samples"]
    assert runs["with-edited"] == runs["accepted-only"] + 1
