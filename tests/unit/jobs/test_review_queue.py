"""jobs.review_queue: unreviewed keyframes ranked by how much a real (tiny, random-initialised) student
disagrees with stored OpenAVS proposals and by its uncertainty.

The video shows the same picture on every frame and has no sound, so the student gives every keyframe the
same probabilities (the same uncertainty) and the order is set by the disagreement alone, which the
teacher proposals fix by construction: the student's own mask (0), its complement (1), its mask plus a
known number of other pixels, nothing at all."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from avs_studio.cli import main
from avs_studio.jobs import add_videos, init_project
from avs_studio.jobs.propose_student import StudentPredictor
from avs_studio.jobs.review_queue import (
    QueueError,
    frame_scores,
    next_in_queue,
    queue_student,
    review_queue,
    score,
)
from avs_studio.store import FrameMasks
from tests.helpers.media_factory import make_video
from tests.helpers.student import make_student

SIZE, FPS, SECONDS = 64, 4, 8  # keyframes 0, 4, ..., 28; the student sees 32 x 32


def still(_index: int, rgb: np.ndarray) -> None:
    """The same picture on every frame: a gradient and a square."""
    h, w, _ = rgb.shape
    rgb[:] = np.linspace(0, 200, w, dtype=np.uint8)[None, :, None]
    rgb[16:40, 20:44] = (220, 40, 40)


@pytest.fixture(scope="module")
def still_video(tmp_path_factory):
    d = tmp_path_factory.mktemp("still")
    return make_video(d / "still.mkv", frames=SECONDS * FPS, fps=FPS, size=(SIZE, SIZE), codec="ffv1",
                      audio=None, counter=False, painter=still)  # fmt: skip


def up(small: np.ndarray) -> np.ndarray:
    """A 64 x 64 teacher mask that the queue's nearest resize brings back to ``small`` exactly."""
    return np.kron(small, np.ones((2, 2), bool)).astype(bool)


@pytest.fixture
def queued(tmp_path, still_video):
    project = init_project(tmp_path / "proj")
    (vid,) = [v for _, v in add_videos(project, [still_video]).added]
    make_student(project, "s1")
    predictor = StudentPredictor(project, "s1", "cpu")
    probs = predictor.probabilities(project.store.video(vid), [0, 4], full_size=False)
    assert np.array_equal(probs[0], probs[1])  # the same input, the same answer
    mine = probs[0] > 0.5
    assert 0 < mine.sum() < mine.size, "the fixture needs a student mask that is neither empty nor full"
    others = np.argwhere(~mine)[: max(1, int((~mine).sum()) // 3)]
    extra = np.zeros_like(mine)
    extra[tuple(others.T)] = True
    known = {
        0: 0.0,  # the student's own mask
        4: 1.0,  # its complement
        8: extra.sum() / (mine.sum() + extra.sum()),  # its mask and some more: 1 - |S| / |S + X|
        28: 1.0,  # an explicit "nothing sounds" proposal
    }
    s = project.store
    run = s.start_pipeline_run("openavs:default", {}, {})
    teacher = {0: mine, 4: ~mine, 8: mine | extra}
    frames = [FrameMasks(f, [("dog", up(m), 0.9)]) for f, m in teacher.items()]
    frames += [FrameMasks(16, [("dog", up(mine), 0.9)]), FrameMasks(20, [("dog", up(mine), 0.9)])]
    frames += [FrameMasks(28, [])]
    s.replace_proposals(vid, frames, (SIZE, SIZE), run_id=run)
    dog = s.objects(vid)[0].id
    s.set_status(s.annotations(video_id=vid, frame=16)[0].id, "accepted")  # reviewed: not queued
    s.put_annotation(vid, 20, dog, up(~mine), source="proposal", status="edited")  # edited: not queued
    student_run = s.start_pipeline_run("student:s1", {}, {})  # the student's own proposal: no teacher
    s.replace_proposals(vid, [FrameMasks(24, [("sounding object", up(mine), 0.7)])], (SIZE, SIZE),
                        run_id=student_run, author="student:s1", source="student")  # fmt: skip
    yield project, vid, known
    project.close()


def test_frame_scores_by_hand():
    half = np.full((4, 4), 0.5)
    assert frame_scores(half, None) == (None, pytest.approx(1.0))  # one bit per candidate pixel
    sure = np.where(np.arange(16).reshape(4, 4) < 8, 0.99, 0.001)
    d, u = frame_scores(sure, np.arange(16).reshape(4, 4) < 4)  # teacher: half of the student's mask
    assert d == pytest.approx(0.5)
    assert u == pytest.approx(-(0.99 * np.log2(0.99) + 0.01 * np.log2(0.01)))  # 0.001 is no candidate
    assert frame_scores(np.zeros((4, 4)), np.zeros((4, 4), bool)) == (0.0, 0.0)  # both sure: nothing
    assert score(None, 0.3) == 0.3 and score(1.0, 0.2) == pytest.approx(0.6)


def test_order_follows_the_known_disagreement(queued):
    project, vid, known = queued
    queue = review_queue(project, device="cpu")
    assert queue.student == "student:s1" and not queue.errors
    got = {i.frame: i for i in queue.items}
    assert sorted(got) == [0, 4, 8, 12, 24, 28]  # 16 accepted and 20 edited are reviewed
    (u,) = {round(i.uncertainty, 9) for i in queue.items}  # the same picture: the same uncertainty
    for f, d in known.items():
        assert got[f].disagreement == pytest.approx(d) and got[f].teacher == "openavs:default"
    assert got[12].disagreement is None and got[24].disagreement is None  # no OpenAVS proposal there
    expected = {f: (d + u) / 2 for f, d in known.items()} | {12: u, 24: u}
    want = sorted(expected, key=lambda f: (-round(expected[f], 9), f))
    assert [i.frame for i in queue.items] == want
    assert [i.score for i in queue.items] == pytest.approx([expected[f] for f in want])
    assert want.index(4) < want.index(8) < want.index(0)  # the known part of the order


def review(project, vid: int, frame: int) -> None:
    """What a person does: accept the frame's proposals, or mark "nothing sounds" where there are none."""
    rows = project.store.annotations(video_id=vid, frame=frame)
    for r in rows:
        project.store.set_status(r.id, "accepted")
    if not rows:
        project.store.put_annotation(vid, frame, None, np.zeros((SIZE, SIZE), bool), source="manual",
                                     status="accepted")  # fmt: skip


def test_next_walks_the_order_and_skips_what_was_reviewed(queued):
    project, vid, _known = queued
    queue = review_queue(project, "s1", device="cpu")
    order = [(i.video_id, i.frame) for i in queue.items]
    first = next_in_queue(project, queue)
    assert (first.video_id, first.frame) == order[0]
    review(project, vid, order[1][1])  # reviewed before the walk gets there: skipped
    nxt = next_in_queue(project, queue, order[0])
    assert (nxt.video_id, nxt.frame) == order[2]
    assert next_in_queue(project, queue, order[-1]) == first  # wraps around to what is left
    walked, at = [], None
    while (item := next_in_queue(project, queue, at)) is not None and len(walked) < 10:
        at = (item.video_id, item.frame)
        walked.append(at)
        review(project, vid, item.frame)
    assert walked == order[:1] + order[2:]
    assert next_in_queue(project, queue) is None


def test_limit_cli_and_no_student(queued, tmp_path, capsys):
    project, _vid, _known = queued
    full = [i.frame for i in review_queue(project, device="cpu").items]
    d = str(project.dir)
    assert main(["queue", d, "--limit", "3", "--json", "--device", "cpu"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [i["frame"] for i in data["items"]] == full[:3] and data["unreviewed"] == 6
    assert set(data["items"][0]) == {
        "video_id", "video", "frame", "time", "score", "disagreement", "uncertainty", "teacher"
    }  # fmt: skip
    assert main(["queue", d, "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "6 of 6 unreviewed keyframes, ranked with student:s1"
    assert [int(line.split()[2]) for line in lines[2:]] == full

    with init_project(tmp_path / "empty") as empty:
        with pytest.raises(QueueError, match="no student model"):
            queue_student(empty)
    assert main(["queue", str(tmp_path / "empty")]) == 1
    assert "train it with" in capsys.readouterr().err


def test_which_student(queued):
    project, _vid, _known = queued
    assert queue_student(project) == "s1"  # the newest finished training run
    make_student(project, "s2", record=False)
    assert queue_student(project) == "s1"  # a model without a finished run is not picked by default
    project.store.set_setting("proposal_engine", "student:s2")
    assert queue_student(project) == "s2"  # the proposal engine wins
    assert queue_student(project, "s1") == "s1"  # and an explicit name over everything


def test_an_unreadable_video_is_named_and_the_others_still_ranked(queued, tmp_path):
    project, vid, _known = queued
    gone = make_video(tmp_path / "gone.mp4", frames=2 * FPS, fps=FPS, size=(SIZE, SIZE), audio=None)
    (other,) = [v for _, v in add_videos(project, [gone]).added]
    gone.unlink()  # moved away after it was added
    queue = review_queue(project, device="cpu")
    assert len(queue.errors) == 1 and f"video {other} (gone)" in queue.errors[0]
    assert {i.video_id for i in queue.items} == {vid} and len(queue.items) == 6


def test_a_student_is_loaded_once_until_its_file_changes(tmp_path):
    project = init_project(tmp_path / "proj")
    path = make_student(project, "s1")
    first = StudentPredictor(project, "s1", "cpu").model
    assert StudentPredictor(project, "s1", "cpu").model is first  # Ctrl+R again: no reload from disk
    make_student(project, "s1", seed=1, record=False)  # retrained: the file is rewritten
    again = StudentPredictor(project, "s1", "cpu").model
    assert again is not first and path.stat().st_size > 0
    assert any(not torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values()))
    project.close()
