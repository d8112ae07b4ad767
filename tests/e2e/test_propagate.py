"""`avs-studio propagate` end to end: a synthetic video with known masks, reviewed keyframes at 1 fps ->
proposals on every frame between and around them, in SQLite (and PostgreSQL when configured)."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest

from avs_studio.cli import main
from avs_studio.jobs import add_videos, init_project, open_project
from avs_studio.jobs.propagate import PropagateError, propagate
from tests.helpers.moving_objects import iou, make_scene, write_scene_video
from tests.helpers.scene_project import accept_keyframes

PG_URL = os.environ.get("AVS_TEST_DATABASE_URL")


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory):
    scene = make_scene(seed=3, size=(320, 240), frames=75, fps=25)  # 3 s: keyframes 0, 25, 50
    return scene, write_scene_video(scene, tmp_path_factory.mktemp("media") / "scene.mp4")


def _project(tmp_path, scene, path, database_url=None):
    project = init_project(tmp_path / "proj", database_url)
    ((_, vid),) = add_videos(project, [path]).added
    return project, vid, accept_keyframes(project, vid, scene)


def _ious(project, vid, objs, scene):
    label = {v: k for k, v in objs.items()}
    return {
        (a.frame, a.object_id): iou(a.mask(), scene.masks(a.frame)[label[a.object_id]])
        for a in project.store.annotations(video_id=vid, source="propagation")
        if a.object_id is not None
    }


def test_cli_propagates_reviewed_keyframes_to_every_frame_with_iou_above_085(tmp_path, scene_file, capsys):
    scene, path = scene_file
    project, vid, objs = _project(tmp_path, scene, path)
    project.close()
    assert main(["propagate", str(tmp_path / "proj"), "--engine", "flow", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["engine"] == "propagation:flow" and report["frames"] == 72 and report["errors"] == []
    with open_project(tmp_path / "proj") as project:
        ious = _ious(project, vid, objs, scene)
        between = [v for (f, _), v in ious.items() if f < 50]
        assert len(ious) == 72 * 2 and len(between) == 48 * 2
        assert np.mean(between) >= 0.85, np.mean(between)
        rows = project.store.annotations(video_id=vid, source="propagation")
        assert {(a.status, a.author) for a in rows} == {("proposed", "propagation")}
        (run,) = [r for r in project.store.pipeline_runs() if r.id == report["run_id"]]
        assert run.engine == "propagation:flow" and run.status == "done"
        assert run.models["engine"] == "flow" and run.models["motion"] == "similarity"
        assert all(r.score is None or 0 <= r.score <= 1 for r in rows)


def test_reviewed_frames_and_other_proposals_are_never_overwritten(tmp_path, scene_file):
    scene, path = scene_file
    project, vid, objs = _project(tmp_path, scene, path)
    store = project.store
    a, b = objs["object 0"], objs["object 1"]
    box = np.zeros((240, 320), bool)
    box[:30, :30] = True
    edited = store.put_annotation(vid, 10, a, box, source="manual", status="edited")  # a person's edit
    rejected = store.put_annotation(vid, 12, b, box, source="proposal", status="rejected")
    openavs = store.put_annotation(vid, 14, a, box, source="proposal", status="proposed")
    report = propagate(project)
    assert report.reviewed_skipped == 1 and report.others_skipped == 1  # 12 (rejected) and 14
    for row in (edited, rejected, openavs):
        now = store.annotation(row.id)
        assert (now.version, now.status, now.source) == (row.version, row.status, row.source)
        assert np.array_equal(now.mask(), box)
    assert {x.frame for x in store.annotations(video_id=vid, frame=14)} == {14}
    assert len(store.annotations(video_id=vid, frame=14)) == 1  # object 1 not added beside OpenAVS's
    # frame 10 is an anchor: object 1 has no annotation there, so it counts as absent from 10 on ...
    near = [x.frame for x in store.annotations(video_id=vid, source="propagation") if x.object_id == b]
    assert 5 in near and 6 not in near and 11 not in near and 18 in near  # midpoints of 0-10 and 10-25
    # ... and object 0 is carried from its edited mask (a box in the corner) to the frames next to it
    after = store.annotations(video_id=vid, frame=11, source="propagation")
    assert [x.object_id for x in after] == [a] and after[0].mask()[:30, :30].mean() > 0.5
    project.close()


def test_rerun_replaces_only_its_own_changed_segments_and_resumes_after_cancel(tmp_path, scene_file):
    scene, path = scene_file
    project, vid, objs = _project(tmp_path, scene, path)
    store = project.store
    cancel = threading.Event()
    first = propagate(project, on_segment=lambda v, frames: cancel.set(), cancel=cancel)
    assert first.cancelled and first.segments == 1
    assert {r.status for r in store.pipeline_runs()} == {"cancelled"}
    resumed = propagate(project)
    assert (resumed.unchanged, resumed.segments, resumed.frames) == (1, 2, 48)

    def by_run():
        return {(a.frame, a.object_id): a for a in store.annotations(video_id=vid, source="propagation")}

    before = by_run()
    assert len(before) == 144 and {a.run_id for a in before.values()} == {first.run_id, resumed.run_id}

    # a person edits keyframe 25: only the two segments touching it are recomputed
    a = objs["object 0"]
    kf25 = next(x for x in store.annotations(video_id=vid, frame=25) if x.object_id == a)
    shifted = np.roll(kf25.mask(), 6, axis=1)
    store.put_annotation(vid, 25, a, shifted, source="manual", status="edited", expected_version=kf25.version)
    again = propagate(project)
    assert (again.segments, again.unchanged) == (2, 1)
    after = by_run()
    assert len(after) == 144  # replaced, never duplicated
    changed = {k for k in after if after[k].run_id == again.run_id}
    assert {f for f, _ in changed} == set(range(1, 25)) | set(range(26, 50))
    assert all(after[k].id == before[k].id for k in after if k[0] > 50)  # the tail segment kept its rows

    # force recomputes everything; shorter reach removes the proposals no segment reaches any more
    forced = propagate(project, force=True)
    assert forced.segments == 3 and forced.unchanged == 0
    short = propagate(project, config=_config(tmp_path, "max_seconds = 0.2\n"))
    frames = {x.frame for x in store.annotations(video_id=vid, source="propagation")}
    assert frames == set(range(1, 6)) | set(range(20, 31)) - {25} | set(range(45, 56)) - {50}
    assert short.removed > 0
    project.close()


def _config(tmp_path, text):
    f = tmp_path / "prop.toml"
    f.write_text(text)
    return f


def test_one_object_only_keeps_the_others_proposals(tmp_path, scene_file):
    scene, path = scene_file
    project, vid, objs = _project(tmp_path, scene, path)
    store = project.store
    a, b = objs["object 0"], objs["object 1"]
    propagate(project, config=_config(tmp_path, '[flow]\nmotion = "pixel"\n'))
    old_b = {x.frame: x for x in store.annotations(video_id=vid, source="propagation") if x.object_id == b}
    report = propagate(project, objects=[a])
    assert report.frames == 72
    now = store.annotations(video_id=vid, source="propagation")
    assert {x.run_id for x in now if x.object_id == a} == {report.run_id}
    for x in now:
        if x.object_id == b:
            assert np.array_equal(x.mask(), old_b[x.frame].mask()) and x.score == old_b[x.frame].score
    with pytest.raises(PropagateError, match="no object with id 999"):
        propagate(project, objects=[999])
    with pytest.raises(PropagateError, match="no video with id 77"):
        propagate(project, [77])
    project.close()


def test_objects_absent_everywhere_give_explicit_empty_frames_and_a_video_without_anchors_warns(
    tmp_path, scene_file
):
    scene, path = scene_file
    project = init_project(tmp_path / "proj")
    ((_, vid),) = add_videos(project, [path]).added
    project.store.put_annotation(
        vid, 25, None, np.zeros((240, 320), bool), source="manual", status="accepted"
    )
    report = propagate(project, config=_config(tmp_path, "max_seconds = 0.4\n"))
    rows = project.store.annotations(video_id=vid, source="propagation")
    assert {x.frame for x in rows} == set(range(15, 36)) - {25} and {x.object_id for x in rows} == {None}
    assert report.empty == 20
    bare = init_project(tmp_path / "bare")
    add_videos(bare, [path])
    assert "no reviewed frame" in propagate(bare).warnings[0]
    bare.close()
    project.close()


@pytest.mark.postgres
def test_propagation_on_postgresql(tmp_path, scene_file):
    if not PG_URL:
        pytest.skip("AVS_TEST_DATABASE_URL is not set")
    from sqlalchemy import MetaData, create_engine

    engine = create_engine(PG_URL)
    md = MetaData()
    md.reflect(engine)
    md.drop_all(engine)
    engine.dispose()
    scene, path = scene_file
    project, vid, objs = _project(tmp_path, scene, path, PG_URL)
    report = propagate(project, config=_config(tmp_path, "max_seconds = 0.3\n"))
    assert report.frames > 0 and not report.errors
    assert np.mean(list(_ious(project, vid, objs, scene).values())) >= 0.85
    assert propagate(project).unchanged == 0  # a different reach: every segment again
    assert propagate(project).unchanged == 3
    # through the executor (the driver writes): the same segments are current, forced ones rewritten
    assert propagate(project, executor="local").unchanged == 3
    forced = propagate(project, executor="local", force=True)
    assert forced.segments == 3 and not forced.errors
    assert np.mean(list(_ious(project, vid, objs, scene).values())) >= 0.85
    project.close()


def test_sam2_engine_through_the_job_and_cli_errors(tmp_path, scene_file, capsys, monkeypatch):
    """The sam2 engine (tiny random SAM 2.1 video model, loaded like a download) behind the same job."""
    import torch

    torch.set_num_threads(1)
    scene, path = scene_file
    project, vid, _ = _project(tmp_path, scene, path)
    cfg = _config(
        tmp_path,
        'engine = "sam2"\nmax_seconds = 0.12\ndevice = "cpu"\n[sam2]\nmodel = ""\npath = "tiny:sam2-video"\n',
    )
    report = propagate(project, config=cfg)
    assert report.engine == "propagation:sam2" and report.frames == 15 and not report.errors
    (run,) = [r for r in project.store.pipeline_runs() if r.id == report.run_id]
    assert (
        run.models["engine"] == "sam2" and run.models["device"] == "cpu" and run.config["max_seconds"] == 0.12
    )
    rows = project.store.annotations(video_id=vid, source="propagation")
    assert {r.frame for r in rows} == {1, 2, 3, 22, 23, 24, 26, 27, 28, 47, 48, 49, 51, 52, 53}
    project.close()
    proj = str(tmp_path / "proj")
    assert main(["propagate", proj, "--max-seconds", "0"]) == 1
    assert "--max-seconds must be in (0, 3600]" in capsys.readouterr().err
    assert main(["propagate", proj, "--engine", "sam9"]) == 1
    assert "engine 'sam9' is not known; valid: flow, sam2, sam3" in capsys.readouterr().err
    assert main(["propagate", proj, "--config", str(tmp_path / "none.toml")]) == 1
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    assert main(["propagate", proj, "--engine", "sam3", "--device", "cpu"]) == 1
    err = capsys.readouterr().err  # no SAM 3 weights here: one clear line naming the model, no traceback
    assert "sam3" in err and "Traceback" not in err
