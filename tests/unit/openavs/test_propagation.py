"""openavs.propagation without the store: segment plans, fusion, the flow engine against ground truth,
the SAM 2.1 / SAM 3 video trackers (tiny random models) and bounded memory."""

from __future__ import annotations

import threading
import tracemalloc

import numpy as np
import pytest

from avs_studio.media import VideoReader
from avs_studio.openavs.propagation import (
    Cancelled,
    PropagationConfigError,
    Segment,
    VideoFrames,
    create_engine,
    load_propagation_config,
    parse_propagation_config,
    plan_segments,
    run_segment,
)
from avs_studio.openavs.propagation.fuse import blend
from tests.helpers.media_factory import make_video, read_counter
from tests.helpers.moving_objects import iou, make_scene, write_scene_video


@pytest.fixture(scope="module")
def scene_video(tmp_path_factory):
    scene = make_scene(seed=0, size=(320, 240), frames=60, fps=25)
    return scene, write_scene_video(scene, tmp_path_factory.mktemp("scene") / "scene.mp4")


def _propagate(engine, scene, path, reach=250):
    """Anchors = ground truth at the 1 fps keyframes; returns {frame: {object: mask}}."""
    kf = scene.keyframes()
    gt = {f: scene.masks(f) for f in kf}
    labels = scene.labels
    out = {}
    with VideoReader(path, cache_size=2, prefetch=0) as reader:
        frames = VideoFrames(reader)
        for seg in plan_segments(kf, scene.frames, reach):
            left = {k: gt[seg.left][lab] for k, lab in enumerate(labels)} if seg.left is not None else {}
            right = {k: gt[seg.right][lab] for k, lab in enumerate(labels)} if seg.right is not None else {}
            for r in run_segment(engine, frames, seg, left, right, reach):
                out[r.frame] = r.masks()
    return out


def _mean_iou(scene, pred, frames):
    shape = scene.size[::-1]
    return float(np.mean([
        iou(pred.get(f, {}).get(k, np.zeros(shape, bool)), scene.masks(f)[lab])
        for f in frames for k, lab in enumerate(scene.labels)
    ]))  # fmt: skip


def test_plan_segments_between_and_around_anchors():
    assert plan_segments([50, 10, 11, 50], 100, 20) == [
        Segment(None, 10, 0, 9), Segment(11, 50, 12, 49), Segment(50, None, 51, 70),
    ]  # fmt: skip
    assert plan_segments([0, 99], 100, 5) == [Segment(0, 99, 1, 98)]  # reach limits each direction later
    assert plan_segments([], 100, 5) == [] and plan_segments([3], 4, 5) == [Segment(None, 3, 0, 2)]


def test_blend_interpolates_the_shape_between_two_guesses():
    a = np.zeros((40, 80), bool)
    b = np.zeros((40, 80), bool)
    a[10:30, 10:30] = True
    b[10:30, 40:60] = True
    assert np.array_equal(blend(a, b, 1.0), a) and np.array_equal(blend(a, b, 0.0), b)
    mid = blend(a, b, 0.5)
    cols = np.flatnonzero(mid.any(axis=0))
    assert abs(cols[0] - 25) <= 1 and abs(cols[-1] - 44) <= 1 and mid.sum() > 0.8 * a.sum()
    assert np.array_equal(blend(a, np.zeros_like(b), 0.5), a)  # one direction lost the object


def test_flow_engine_tracks_moving_scaling_objects_and_robust_beats_per_pixel(scene_video):
    scene, path = scene_video
    between = [f for f in range(scene.frames) if f not in scene.keyframes()]
    robust = _mean_iou(scene, _propagate(create_engine("flow"), scene, path), between)
    pixel = _mean_iou(scene, _propagate(create_engine("flow", motion="pixel"), scene, path), between)
    assert robust >= 0.85
    assert robust > pixel


def test_absent_and_unknown_objects_and_reach():
    """Object 0 is absent at the right anchor: carried to the middle only. Object 1 is unknown there:
    carried all the way (within reach). An empty result marks frames no object reaches."""
    frames = [np.full((32, 48, 3), 90, np.uint8) for _ in range(21)]
    for i, img in enumerate(frames):
        img[5:20, 5 + i // 4 : 20 + i // 4] = (200, 60, 60)

    class Frames(VideoFrames):
        def _decode(self, i):
            self.decoded += 1
            return frames[i]

    src = Frames(reader=None)
    m = np.zeros((32, 48), bool)
    m[5:20, 5:20] = True
    seg = Segment(0, 20, 1, 19)
    res = {r.frame: r for r in run_segment(create_engine("flow"), src, seg, {0: m, 1: m}, {0: m & False}, 15)}
    assert sorted(res) == list(range(1, 20))
    assert {f for f, r in res.items() if 0 in r.rles} == set(range(1, 11))  # midpoint of 0..20
    assert {f for f, r in res.items() if 1 in r.rles} == set(range(1, 16))  # reach 15, nothing from the right
    assert all(i >= 20 for i in src._kept)  # the segment's frames are let go (its right anchor may stay)

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        run_segment(create_engine("flow"), src, seg, {0: m}, {0: m}, 15, cancel)


def test_backward_reads_beyond_the_budget_decode_in_chunks(tmp_path):
    path = make_video(tmp_path / "c.mp4", frames=40, fps=25, size=(64, 48), gop=10, audio=None)
    with VideoReader(path, cache_size=2, prefetch=0) as reader:
        frames = VideoFrames(reader, budget_mb=64 * 48 * 3 * 6 / 2**20)  # room for 6 frames
        forward = [i for i, _ in frames.read(0, 39)]
        assert forward == list(range(40)) and frames._bytes <= frames.budget
        got = [(i, read_counter(img)) for i, img in frames.read(39, 5)]
    assert got == [(i, i) for i in range(39, 4, -1)]


def test_memory_of_a_segment_does_not_grow_with_its_length(tmp_path):
    scene = make_scene(seed=1, size=(256, 192), frames=150, fps=25, n_objects=1)
    path = write_scene_video(scene, tmp_path / "long.mp4")
    engine = create_engine("flow")
    peaks = []
    for last in (39, 149):
        with VideoReader(path, cache_size=2, prefetch=0) as reader:
            frames = VideoFrames(reader, budget_mb=4)
            tracemalloc.start()
            left, right = {0: scene.masks(0)["object 0"]}, {0: scene.masks(last)["object 0"]}
            run_segment(engine, frames, Segment(0, last, 1, last - 1), left, right, 400)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    assert peaks[1] < 1.5 * peaks[0] + 2**20, peaks


@pytest.mark.parametrize("family", ["sam2", "sam3"])
def test_sam_video_trackers_stream_with_a_trimmed_state(family, tiny_models, scene_video):
    tiny = {"sam2": "tiny:sam2-video", "sam3": "tiny:sam3-tracker-video"}[family]
    engine = create_engine(family, model=None, path=tiny, device="cpu")
    scene, _ = scene_video
    masks = scene.masks(0)
    track = engine.start(scene.render(0), {7: masks["object 0"], 9: masks["object 1"]})
    for i in range(1, 13):
        out = track.step(scene.render(i))
        assert set(out) == {7, 9} and all(m.shape == (240, 320) and m.dtype == bool for m in out.values())
    s = track.session
    assert list(s.processed_frames) == [12]  # only the frame being tracked
    for per_obj in s.output_dict_per_obj.values():
        assert list(per_obj["cond_frame_outputs"]) == [0]
        assert (
            max(per_obj["non_cond_frame_outputs"]) == 12
            and len(per_obj["non_cond_frame_outputs"]) <= engine.window
        )
    track.close()
    assert engine.describe()["engine"] == family


def test_real_size_sam2_builds_from_the_default_config_without_downloads():
    from avs_studio.openavs.propagation.models import real_size_video_model

    model, processor = real_size_video_model("sam2-hiera-tiny")
    n = sum(p.numel() for p in model.parameters())
    assert 30e6 < n < 50e6, n  # SAM 2.1 hiera-tiny: about 39 M parameters
    assert processor.image_processor.size["height"] == 1024
    with pytest.raises(ValueError, match="sam2-hiera-large"):
        real_size_video_model("nope")
    # the big ones as shapes only: SAM 2.1 hiera-large has 224.4 M parameters, the SAM 3 tracker about 466 M
    large, _ = real_size_video_model("sam2-hiera-large", device="meta")
    assert round(sum(p.numel() for p in large.parameters()) / 1e6, 1) == 224.4
    sam3, proc3 = real_size_video_model("sam3", device="meta")
    assert 400e6 < sum(p.numel() for p in sam3.parameters()) < 500e6
    assert proc3.image_processor.size["height"] == 1008


def test_config_file_and_its_errors(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text(
        'engine = "sam2"\nmax_seconds = 4\n[sam2]\npath = "tiny:sam2-video"\n[flow]\nmotion = "pixel"\n'
    )
    cfg = load_propagation_config(f)
    assert (cfg.engine, cfg.max_seconds, cfg.engine_params()) == ("sam2", 4.0, {"path": "tiny:sam2-video"})
    assert load_propagation_config(f, engine="flow").engine_params() == {"motion": "pixel"}
    assert cfg.engine_id == "propagation:sam2"
    for bad, msg in (({"engine": "x"}, "engine 'x' is not known"), ({"speed": 1}, "unknown key"),
                     ({"max_seconds": -1}, "max_seconds"), ({"flow": 3}, r"\[flow\] must be a table")):  # fmt: skip
        with pytest.raises(PropagationConfigError, match=msg):
            parse_propagation_config(bad)
    with pytest.raises(PropagationConfigError, match="does not exist"):
        load_propagation_config(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="motion 'wobble'"):
        create_engine("flow", motion="wobble")
