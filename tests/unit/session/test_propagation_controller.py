"""PropagationController without Qt: propagating from accepted keyframes stores proposals on the frames
between them, each stored segment updates the frame states at once, one object can be propagated alone,
a video without reviewed frames says so; an edit on a non-keyframe is a reviewed frame of its own."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avs_studio import settings
from avs_studio.cli import main
from avs_studio.openavs.propagation import PROPAGATORS
from avs_studio.session import SegmentStored
from avs_studio.settings import PROPAGATION_ENGINE
from tests.helpers.moving_objects import iou
from tests.helpers.scene_project import FRAMES, scene_project
from tests.helpers.session import Headless


@pytest.fixture
def scene(tmp_path):
    project, vid, objs, scene = scene_project(tmp_path)
    h = Headless(project)
    yield h, vid, objs, scene
    h.close()
    project.close()


def test_propagate_all_proposes_every_other_frame_and_updates_states_per_segment(scene):
    h, vid, objs, truth = scene
    s = h.session
    keys = set(truth.keyframes())
    assert s.frame_states == dict.fromkeys(sorted(keys), "accepted")
    seen: list[dict[int, str]] = []
    s.events.states_changed.connect(lambda: seen.append(dict(s.frame_states)))
    h.propagation.propagate_all()
    assert h.worker.jobs[-1][:2] == ("Propagate all objects in scene", "done")
    rows = h.store.annotations(video_id=vid, source="propagation")
    assert {r.frame for r in rows} == set(range(FRAMES)) - keys
    assert {(r.status, r.object_id) for r in rows} == {("proposed", o) for o in objs.values()}
    label = {v: k for k, v in objs.items()}
    assert np.mean([iou(r.mask(), truth.masks(r.frame)[label[r.object_id]]) for r in rows]) > 0.8
    # each stored segment reached the session as it came (before the job ended), not only at the end
    segments = [c for c in h.worker.clips if isinstance(c, SegmentStored)]
    assert len(segments) == 3 and sorted(f for c in segments for f in c.frames) == sorted(
        set(range(FRAMES)) - keys
    )
    first = set(segments[0].frames)
    assert any(all(st.get(f) == "proposed" for f in first) and len(st) < FRAMES for st in seen)
    assert s.frame_states == {f: "accepted" if f in keys else "proposed" for f in range(FRAMES)}
    assert s.states == ["accepted"] * 3  # keyframes untouched
    assert "27 frames proposed by propagation (propagation:flow)" in h.messages[-1]
    # stepping to a non-keyframe shows the propagated masks like any proposal
    h.show(7)
    layers = s.layers()
    assert len(layers) == 2
    for layer, obj in zip(layers, s.objects, strict=True):
        (row,) = [r for r in rows if r.frame == 7 and r.object_id == obj.id]
        assert np.array_equal(layer.mask, row.mask()) and layer.mask.any()


def test_propagate_selected_object_only(scene):
    h, vid, objs, _ = scene
    h.objects.select(objs["object 1"])
    h.propagation.propagate_selected()
    assert h.worker.jobs[-1][:2] == ("Propagate 'object 1' in scene", "done")
    rows = h.store.annotations(video_id=vid, source="propagation")
    assert rows and {r.object_id for r in rows} == {objs["object 1"]}


def test_nothing_reviewed_says_what_to_do(tmp_path):
    project, vid, objs, _ = scene_project(tmp_path)
    with project.store.group():
        for r in project.store.annotations(video_id=vid):
            project.store.set_status(r.id, "proposed")
    h = Headless(project)
    assert set(h.session.frame_states.values()) == {"proposed"}
    h.propagation.propagate_all()
    assert h.store.annotations(video_id=vid, source="propagation") == []
    assert h.messages[-1].startswith("Nothing propagated:") and "no reviewed frame" in h.messages[-1]
    h.session.select(None)
    h.propagation.propagate_selected()
    assert "Select an object first" in h.messages[-1]
    h.close()
    project.close()


def test_an_edit_on_a_non_keyframe_is_stored_and_counts_as_reviewed(scene):
    h, vid, objs, _ = scene
    s = h.session
    h.show(13)
    assert not s.is_keyframe(13) and 13 not in s.frame_states
    mask = np.zeros((120, 160), bool)
    mask[30:60, 40:90] = True
    h.objects.select(objs["object 0"])
    h.edit.commit_mask(mask)
    (row,) = h.store.annotations(video_id=vid, frame=13)
    assert (row.object_id, row.source, row.status) == (objs["object 0"], "manual", "edited")
    assert np.array_equal(row.mask(), mask)
    assert s.frame_states[13] == "edited" and s.states == ["accepted"] * 3
    h.review.accept()
    assert s.frame_states[13] == "accepted"
    h.history.undo()
    h.history.undo()  # the accept, then the stroke: frame 13 has no mask again, the strip forgets it
    assert 13 not in s.frame_states and h.store.annotations(video_id=vid, frame=13) == []
    h.history.redo()
    h.history.redo()
    assert s.frame_states[13] == "accepted"
    # the edited frame is an anchor: propagation never writes it and carries its mask to its neighbours
    h.propagation.propagate_all()
    assert h.store.annotations(video_id=vid, frame=13)[0].id == row.id
    near = [r for r in h.store.annotations(video_id=vid, frame=14) if r.object_id == objs["object 0"]]
    assert iou(near[0].mask(), mask) > 0.5


class _Still:
    """A propagation engine that keeps each anchor's masks where they are (a test engine)."""

    name = "still"

    def start(self, frame, masks):
        class Track:
            def step(self, _frame):
                return dict(masks)

            def close(self):
                pass

        return Track()

    def describe(self):
        return {"engine": "still"}


@pytest.fixture
def still_engine():
    PROPAGATORS.add("still", lambda device="auto": _Still())
    yield
    PROPAGATORS.remove("still")


def test_the_project_propagation_engine_is_what_propagate_runs(scene, still_engine, capsys):
    h, vid, _, truth = scene
    assert h.propagation.engine_name() == "flow" and settings.get(h.store, PROPAGATION_ENGINE) == "flow"
    h.propagation.set_engine("sam9")  # not an engine: refused, in words, and nothing changes
    assert "Propagation engine 'sam9' is not known" in h.errors[-1][1]
    assert h.store.get_setting(PROPAGATION_ENGINE) is None
    h.propagation.set_engine("still")
    assert h.store.get_setting(PROPAGATION_ENGINE) == "still" and h.propagation.engine_name() == "still"
    assert "Propagate now runs still" in h.messages[-1]
    h.propagation.propagate_all()
    (run,) = [r for r in h.store.pipeline_runs() if r.engine.startswith("propagation")]
    assert run.engine == "propagation:still" and run.models == {"engine": "still"}
    # "still" carries the last keyframe's masks unchanged to the frames after it (no anchor to fuse with)
    last = truth.keyframes()[-1]
    anchors = {a.object_id: a.mask() for a in h.store.annotations(video_id=vid, frame=last)}
    carried = {r.object_id: r.mask() for r in h.store.annotations(video_id=vid, frame=FRAMES - 1)}
    assert len(carried) == 2 and all(np.array_equal(m, anchors[k]) for k, m in carried.items())
    # the CLI without --engine runs the project's engine too; --engine overrides it
    assert main(["propagate", str(h.session.project.dir), "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["engine"] == "propagation:still"
    assert main(["propagate", str(h.session.project.dir), "--engine", "flow", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["engine"] == "propagation:flow"
    # a stored value that is not an engine (an older version, a hand edit) falls back to flow
    h.store.set_setting(PROPAGATION_ENGINE, "warp-drive")
    assert h.propagation.engine_name() == "flow"
