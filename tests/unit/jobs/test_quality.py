"""jobs.quality: each engine's proposals scored against what people accepted, on real store rows whose
masks and review history are known; the expected figures are worked out by hand below."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avs_studio.cli import main
from avs_studio.jobs.editing import save_mask
from avs_studio.jobs.quality import proposal_quality
from avs_studio.store import FrameMasks

SHAPE = (10, 10)  # 100 pixels a frame


def rows(r0: int, r1: int, c0: int = 0, c1: int = 10) -> np.ndarray:
    m = np.zeros(SHAPE, bool)
    m[r0:r1, c0:c1] = True
    return m


def video(store, name: str) -> int:
    info = {"path": f"/media/{name}.mp4", "fps": 10.0, "frame_count": 120, "width": 10, "height": 10,
            "duration": 12.0, "has_audio": True}  # fmt: skip
    return store.add_video(info, split="train")


def at(store, vid: int, frame: int, label: str | None = "dog"):
    """The current row of ``label`` (None: the explicit empty row) on a frame."""
    objects = {o.label: o.id for o in store.objects(vid)}
    oid = None if label is None else objects[label]
    return next(a for a in store.annotations(video_id=vid, frame=frame) if a.object_id == oid)


def edit(store, vid: int, frame: int, label: str, mask: np.ndarray) -> None:
    """A person's brush edit of the object's mask, as the GUI stores it."""
    row = at(store, vid, frame, label)
    save_mask(store, vid, frame, row.object_id, mask, seen=row)


def accept(store, vid: int, frame: int) -> None:
    for a in store.annotations(video_id=vid, frame=frame, status=("proposed", "edited")):
        store.set_status(a.id, "accepted")


def reviewed_history(project) -> None:
    """Video 1: one OpenAVS run, reviewed every way a person can; video 2: OpenAVS then a student."""
    s = project.store
    v1 = video(s, "one")
    run = s.start_pipeline_run("openavs:default", {}, {})
    dog, car = rows(0, 5), rows(5, 10, 0, 5)  # 50 and 25 pixels
    proposals = [
        FrameMasks(0, [("dog", dog, 0.9)]),  # accepted as is
        FrameMasks(10, [("dog", dog, 0.9)]),  # edited to 40 px, then accepted
        FrameMasks(20, [("dog", dog, 0.9), ("car", car, 0.5)]),  # the car deleted, the dog accepted
        FrameMasks(30, []),  # "nothing sounds", but a person paints 20 px
        FrameMasks(40, []),  # "nothing sounds", accepted as is
        FrameMasks(50, [("dog", dog, 0.9)]),  # rejected: not an accepted frame
        FrameMasks(60, [("dog", dog, 0.9)]),  # edited, not accepted yet: left out
        FrameMasks(70, [("dog", dog, 0.9)]),  # never reviewed: left out
        FrameMasks(80, [("dog", dog, 0.9), ("car", car, 0.5)]),  # the car rejected, the dog accepted
        FrameMasks(90, [("dog", dog, 0.9)]),  # edited, the edit undone, accepted
    ]
    s.replace_proposals(v1, proposals[:5], SHAPE, run_id=run, author="openavs:default")
    s.replace_proposals(v1, proposals[5:], SHAPE, run_id=run, author="openavs:default")
    accept(s, v1, 0)
    edit(s, v1, 10, "dog", rows(0, 4))
    accept(s, v1, 10)
    s.delete_annotation(at(s, v1, 20, "car").id)
    accept(s, v1, 20)
    dog_id = at(s, v1, 0).object_id
    save_mask(s, v1, 30, dog_id, rows(0, 2), seen=None, empty=at(s, v1, 30, None))  # paints on "nothing"
    accept(s, v1, 30)
    accept(s, v1, 40)
    s.set_status(at(s, v1, 50).id, "rejected")
    edit(s, v1, 60, "dog", rows(0, 3))
    s.set_status(at(s, v1, 80, "car").id, "rejected")
    accept(s, v1, 80)
    edit(s, v1, 90, "dog", rows(0, 4))
    s.undo()
    accept(s, v1, 90)
    # a frame a person drew without any proposal: no engine to score
    s.put_annotation(v1, 100, at(s, v1, 0).object_id, rows(0, 5), source="manual", status="accepted")

    v2 = video(s, "two")
    teacher = s.start_pipeline_run("openavs:default", {}, {})
    whole = [("dog", rows(0, 10), 0.9)]
    s.replace_proposals(v2, [FrameMasks(0, whole), FrameMasks(10, []), FrameMasks(20, whole)], SHAPE,
                        run_id=teacher)  # fmt: skip
    # frame 20: a person edits the teacher's proposal and undoes it, so the log keeps the teacher's mask
    edit(s, v2, 20, "dog", rows(0, 3))
    s.undo()
    student = s.start_pipeline_run("student:s1", {}, {})
    corner = [("sounding object", rows(0, 5, 0, 5), 0.8)]  # 25 pixels
    s.replace_proposals(
        v2, [FrameMasks(0, corner), FrameMasks(10, corner), FrameMasks(20, corner)],
        SHAPE, run_id=student, author="student:s1", source="student",
    )  # fmt: skip
    accept(s, v2, 0)  # the student's proposal replaced the teacher's, and was accepted as is
    edit(s, v2, 10, "sounding object", rows(0, 5))
    accept(s, v2, 10)
    accept(s, v2, 20)  # the student's proposal, the newest, as is


# Per frame (IoU; F = max over thresholds of 1.3 P R / (0.3 P + R), AVSBench per-frame rule):
#   v1 f0  pred 50 = gt 50                    IoU 1      F 1
#   v1 f10 pred 50, gt 40 inside              IoU 0.8    F(P .8, R 1) = 1.04 / 1.24
#   v1 f20 pred 75 (dog + deleted car), gt 50 IoU 2/3    F(P 2/3, R 1) = (1.3 * 2/3) / 1.2
#   v1 f30 pred empty, gt 20                  IoU 0      F only at threshold 0 (all pixels): P .2, R 1
#                                                        = 0.26 / 1.06
#   v1 f40 pred empty, gt empty               IoU 1 (share predicted background); F skipped
#   v1 f80 pred 75 (dog + rejected car), gt 50 as f20
#   v1 f90 edit undone: as f0
#   v2 f0  student 25 = gt 25                 IoU 1      F 1
#   v2 f10 student 25, gt 50 around it        IoU 0.5    F(P 1, R .5) = 0.65 / 0.8
#   v2 f20 student 25 = gt 25 (the teacher's older 100 px in the log is not the proposal)  IoU 1, F 1
F10, F20, F30 = 1.04 / 1.24, (1.3 * 2 / 3) / 1.2, 0.26 / 1.06
EXPECTED = {
    "engines": [
        {
            "engine": "openavs:default",
            "frames": 7,
            "miou": (1 + 0.8 + 2 / 3 + 0 + 1 + 2 / 3 + 1) / 7,
            "fscore": (1 + F10 + F20 + F30 + F20 + 1) / 6,
            "accepted_unchanged": 3 / 7,  # f0, f40, f90
        },
        {
            "engine": "student:s1",
            "frames": 3,
            "miou": (1 + 0.5 + 1) / 3,
            "fscore": (1 + 0.65 / 0.8 + 1) / 3,
            "accepted_unchanged": 2 / 3,
        },
    ]
}


def close(got: dict, want: dict) -> bool:
    if [e["engine"] for e in got["engines"]] != [e["engine"] for e in want["engines"]]:
        return False
    return all(
        g.keys() == w.keys()
        and all(g[k] == (w[k] if k == "engine" else pytest.approx(w[k], rel=1e-5)) for k in w)
        for g, w in zip(got["engines"], want["engines"])
    )


def test_each_engine_scored_against_the_accepted_masks(any_project):
    reviewed_history(any_project)
    got = proposal_quality(any_project).as_dict()
    assert close(got, EXPECTED), got


def test_split_and_video_filters(any_project):
    reviewed_history(any_project)
    only_two = proposal_quality(any_project, video_ids=[2]).as_dict()
    assert [e["engine"] for e in only_two["engines"]] == ["student:s1"]
    assert proposal_quality(any_project, split="test").as_dict() == {"engines": []}


def test_nothing_reviewed_yet(any_project):
    s = any_project.store
    v = video(s, "fresh")
    run = s.start_pipeline_run("openavs:default", {}, {})
    s.replace_proposals(v, [FrameMasks(0, [("dog", rows(0, 5), 0.9)])], SHAPE, run_id=run)
    assert proposal_quality(any_project).as_dict() == {"engines": []}


def test_cli_json_and_table(tmp_path, capsys):
    from avs_studio.jobs import init_project

    with init_project(tmp_path / "p") as project:
        reviewed_history(project)
    assert main(["quality", str(tmp_path / "p"), "--json"]) == 0
    assert close(json.loads(capsys.readouterr().out), EXPECTED)
    assert main(["quality", str(tmp_path / "p")]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["engine", "frames", "mIoU", "F", "accepted", "unchanged"]
    for line, want in zip(table[1:], EXPECTED["engines"]):
        engine, frames, miou, fscore, unchanged = line.split()
        assert (engine, int(frames)) == (want["engine"], want["frames"])
        assert float(miou) == pytest.approx(want["miou"], abs=6e-5)
        assert float(fscore) == pytest.approx(want["fscore"], abs=6e-5)
        assert unchanged == f"{want['accepted_unchanged']:.0%}"
    assert len(table) == 3
