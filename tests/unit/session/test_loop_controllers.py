"""The self-training loop's controllers without Qt: the project's proposal engine is what the propose
actions run (a student's rows are the student's), switching refuses a missing model, the quality report
is the jobs figure, U walks the review queue of a real tiny student, and the assignment guard asks once
per video before a person edits a video someone else has."""

from __future__ import annotations

import os

import numpy as np
import pytest

from avs_studio.jobs import init_project
from avs_studio.jobs.assign import assign
from avs_studio.jobs.engine import Engine
from avs_studio.jobs.review_queue import review_queue
from avs_studio.session.queue_controller import NO_STUDENT
from tests.helpers.session import Headless
from tests.helpers.student import make_student
from tests.unit.jobs.test_quality import EXPECTED, close, reviewed_history
from tests.unit.jobs.test_review_queue import queued, review, still_video  # noqa: F401 (fixtures)
from tests.unit.session.conftest import FPS, box


def test_the_project_engine_proposes_and_switching_is_announced(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    assert headless.engines.refresh().id == "openavs"
    make_student(s.project, "s1")
    assert "student:s1" in headless.engines.available()
    headless.engines.set_engine("student:s1")
    assert store.get_setting("proposal_engine") == "student:s1"
    assert headless.engine_changes[-1].label == "student s1"
    assert headless.messages[-1] == "Proposals now come from student s1"
    job = headless.proposals.run_current_clip()
    title, state, report = headless.worker.jobs[job - 1]
    assert (state, title, report.engine) == ("done", "student s1 on counter 0–5 s", "student:s1")
    rows = store.annotations(video_id=vid)
    assert {r.frame for r in rows} == {0, FPS, 2 * FPS, 3 * FPS, 4 * FPS}  # the clip, not 5 s
    assert {(r.source, r.author) for r in rows} == {("student", "student:s1")}
    assert store.pipeline_runs()[-1].engine == "student:s1"
    job = headless.proposals.run_videos([vid])  # Ctrl+Shift+R: the whole video, the same engine
    assert headless.worker.jobs[job - 1][:2] == ("student s1 on 1 video(s)", "done")
    assert {r.frame for r in store.annotations(video_id=vid)} == set(range(0, 6 * FPS, FPS))
    assert {r.source for r in store.annotations(video_id=vid)} == {"student"}
    # back to the pipeline settings: the window's own pipeline replaces the (unreviewed) proposals
    headless.engines.set_engine("openavs")
    job = headless.proposals.run_current_clip()
    assert headless.worker.jobs[job - 1][2].engine == "openavs:session-test"
    pipeline = headless.worker.pipeline()
    assert headless.proposals.shares_pipeline(headless.engines.engine)
    # a built-in profile other than the settings' runs its own pipeline; the settings' own profile does not
    assert not headless.proposals.shares_pipeline(Engine("openavs", "default"))
    assert headless.proposals.shares_pipeline(Engine("openavs", str(headless.worker.profile)))
    assert headless.worker.pipeline() is pipeline
    sources = {r.frame: r.source for r in store.annotations(video_id=vid)}
    assert {sources[f] for f in range(0, 5 * FPS, FPS)} == {"proposal"} and sources[5 * FPS] == "student"


def test_a_missing_student_is_refused_and_nothing_changes(headless):
    headless.engines.set_engine("student:nope")
    ((title, message),) = headless.errors
    assert title == "The proposal engine was not stored" and "train it first" in message
    assert headless.store.get_setting("proposal_engine") is None
    assert headless.engines.engine.id == "openavs"


def test_quality_report_is_the_jobs_figure(tmp_path):
    with init_project(tmp_path / "p") as project:
        reviewed_history(project)
        h = Headless()  # the fixture's videos have no files: the window only reads the store here
        h.session.set_project(project)
        got: list = []
        assert h.engines.quality(got.append) is not None
        assert close(got[0].as_dict(), EXPECTED) and h.errors == []
        h.close()


def test_no_student_says_how_to_get_one(headless):
    assert headless.review_queue.next_uncertain() is None
    headless.review_queue.next_uncertain()
    assert headless.errors == [("No review queue yet", NO_STUDENT)] * 2  # one message a press
    assert headless.worker.jobs == []


@pytest.fixture
def walker(queued):  # noqa: F811
    project, vid, _known = queued
    h = Headless(project)
    yield h, project, vid
    h.close()


def test_u_walks_the_ranking_once_computed_and_skips_what_was_reviewed(walker):
    h, project, vid = walker
    order = [i.frame for i in review_queue(project, "s1", device="cpu").items]
    assert len(order) == 6
    visited = []
    for _ in range(3):
        h.review_queue.next_uncertain()
        h.deliver()
        visited.append((h.session.video.id, h.session.shown))
    assert visited == [(vid, f) for f in order[:3]]
    assert len(h.worker.jobs) == 1 and h.worker.jobs[0][1] == "done"  # ranked once, reused
    review(project, vid, order[3])  # reviewed meanwhile: skipped
    h.review_queue.next_uncertain()
    h.deliver()
    assert h.session.shown == order[4]
    for f in order:
        review(project, vid, f)
    h.review_queue.next_uncertain()
    assert h.messages[-1].startswith("Every keyframe in the review queue (6) is reviewed")
    # a retrain rewrites the model file: the next press ranks again
    model = project.dir / "models" / "s1" / "model.pt"
    os.utime(model, (model.stat().st_atime, model.stat().st_mtime + 10))
    h.review_queue.next_uncertain()
    assert len(h.worker.jobs) == 2


def test_assignment_guard_asks_once_per_video(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    assign(s.project, "bob", video_ids=[vid])
    headless.answer = False
    headless.edit.commit_mask(box(10, 20, 10, 20), store.add_object(vid, "drum"))
    assert store.annotations(video_id=vid) == []  # refused: nothing stored
    assert headless.questions == [("bob", "This video is assigned to bob — edit anyway?")]
    assert headless.messages[-1] == "Not changed: this video is assigned to bob"
    headless.answer = True
    mask = headless.edit.editable_mask()  # the brush asks before the stroke starts
    assert mask is not None and len(headless.questions) == 2
    mask[30:40, 30:40] = True
    headless.edit.commit_mask(mask)
    headless.review.accept()
    (row,) = store.annotations(video_id=vid)
    assert row.status == "accepted" and np.array_equal(row.mask(), mask)
    assert len(headless.questions) == 2  # confirmed for this video: no more questions
    # my own video, or an unassigned one: never asked
    assign(s.project, s.store.author, video_ids=[vid], replace=True)
    s.set_project(s.project)
    headless.nav.open_video(vid)
    headless.deliver()
    headless.edit.commit_mask(box(50, 60, 50, 60))
    assert len(headless.questions) == 2
