"""ProposalController without Qt, on the deterministic test stages: a clip job stores proposals and the
prompt of the clip; re-segmenting a frame goes through the same rule as a proposal run."""

from __future__ import annotations

import numpy as np

from avs_studio.store import Store
from tests.helpers.media_factory import red
from tests.unit.session.conftest import FPS


def test_run_clip_stores_proposals_and_the_clip_prompt(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    headless.prompts.clear()
    job = headless.proposals.run_current_clip()
    (title, state, report) = headless.worker.jobs[job - 1]
    assert state == "done" and report.keyframes == 5 and title == "OpenAVS (session-test) on counter 0–5 s"
    assert report.engine == "openavs:session-test"  # the window's pipeline settings ran
    assert headless.worker.clips == [(vid, headless.worker.clips[0][1])]  # one clip, reported when stored
    frames = {r.frame for r in store.annotations(video_id=vid)}
    assert frames == {0, FPS, 2 * FPS, 3 * FPS, 4 * FPS}  # the clip holding frame 0, not 5 s
    square = next(o for o in s.objects if o.label == "red square")
    assert np.array_equal(s.annotations[square.id].mask(), red(s.image))
    assert s.states[:5] == ["proposed"] * 5 and s.states[5] == "unprocessed"
    clip = headless.prompts[-1]
    assert [f.frame for f in clip.frames] == [0, FPS, 2 * FPS, 3 * FPS, 4 * FPS]
    assert clip.frames[0].descriptions == {"tone": "a red square hums"} and clip.frames[1].answer == ["bird"]
    # another keyframe of the same clip: only the highlight moves
    highlighted: list[int] = []
    s.events.prompt_frame.connect(highlighted.append)
    headless.show(FPS)
    assert highlighted == [FPS] and headless.prompts[-1] is clip


def test_resegment_replaces_proposals_but_keeps_reviewed_frames(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    headless.proposals.run_current_clip()
    assert [r.object_id for r in store.annotations(video_id=vid, frame=FPS)] == [None]  # "bird": nothing
    headless.proposals.resegment_frame(FPS, ["red square"])
    (row,) = store.annotations(video_id=vid, frame=FPS)
    frame = headless.frames.reader(s.video.path).frame(FPS)
    assert row.object_id is not None and row.status == "proposed" and np.array_equal(row.mask(), red(frame))
    assert headless.messages[-1] == f"frame {FPS + 1}: 1 proposal(s) stored"  # 1-based
    # phrases that find nothing: an explicit "nothing sounds here" replaces the old proposal
    headless.proposals.resegment_frame(FPS, ["blue whale"])
    assert [(r.object_id, r.mask().any()) for r in store.annotations(video_id=vid, frame=FPS)] == [
        (None, False)
    ]
    # T on the shown frame after a person accepted it changes nothing
    headless.review.accept()
    before = [(r.id, r.status, r.version) for r in store.annotations(video_id=vid, frame=0)]
    headless.proposals.rerun_prompt(["bird"])
    assert [(r.id, r.status, r.version) for r in store.annotations(video_id=vid, frame=0)] == before
    assert headless.messages[-1] == "frame 1 was reviewed or edited: its masks were kept"
    headless.proposals.rerun_prompt(None)
    assert "no text prompt yet" in headless.messages[-1]


def test_a_failing_job_stores_nothing_and_is_reported(headless, tmp_path):
    headless.worker.profile = tmp_path / "missing.toml"
    headless.worker._pipeline = None
    job = headless.proposals.run_videos([headless.session.video.id])
    (_title, state, message) = headless.worker.jobs[job - 1]
    assert state == "failed" and "missing.toml" in message
    assert headless.store.annotations() == []


def test_resegment_keeps_what_another_author_reviewed_meanwhile(headless):
    """T in one window never overwrites a frame another annotator edited after this window loaded it."""
    s, store, vid = headless.session, headless.store, headless.session.video.id
    headless.proposals.run_current_clip()
    headless.show(FPS)
    assert [r.status for r in store.annotations(video_id=vid, frame=FPS)] == ["proposed"]
    oid = store.add_object(vid, "drum")
    other = Store(store.url, author="someone-else")  # the second annotator, on the same project
    theirs = np.zeros((s.image.shape[0], s.image.shape[1]), bool)
    theirs[10:30, 10:30] = True
    other.put_annotation(vid, FPS, oid, theirs, source="manual", status="edited")
    other.close()
    before = [(r.id, r.object_id, r.status, r.version) for r in store.annotations(video_id=vid, frame=FPS)]
    # this window has not reloaded; its T on that frame finds it reviewed at write time
    headless.proposals.resegment_frame(FPS, ["red square"])
    rows = store.annotations(video_id=vid, frame=FPS)
    assert [(r.id, r.object_id, r.status, r.version) for r in rows] == before  # nothing written
    (mine,) = [r for r in rows if r.object_id == oid]
    assert mine.author == "someone-else" and np.array_equal(mine.mask(), theirs)
    assert "reviewed or edited" in headless.messages[-1] and "kept" in headless.messages[-1]
