"""Dense export: PNG and COCO take every frame with a mask (e.g. propagated ones), AVSBench layouts the
first frame of each second; memory stays at one frame of masks whatever the number of frames."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from avs_studio.cli import main
from avs_studio.io import avsbench as layout
from avs_studio.jobs import add_videos, init_project, open_project
from avs_studio.jobs.exporting import export_dataset
from tests.helpers.media_factory import make_video

W, H, FPS = 96, 64, 25


def disc(frame: int, k: int, size: tuple[int, int] = (W, H)) -> np.ndarray:
    yy, xx = np.mgrid[: size[1], : size[0]]
    return (xx - 20 - frame % 50 - 30 * k) ** 2 + (yy - 30) ** 2 < 100


def dense_project(tmp_path, frames=75, keyframe_rate=1.0, size=(W, H)):
    """Accepted keyframes (1 fps) and propagated proposals on every other frame, two objects."""
    src = make_video(tmp_path / "dense.mp4", frames=frames, fps=FPS, size=size)
    project = init_project(tmp_path / "proj")
    ((_, vid),) = add_videos(project, [src], split="train", category="dog").added
    project.store.update_video(vid, keyframe_rate=keyframe_rate)
    objs = [project.store.add_object(vid, name) for name in ("dog", "bird")]
    keys = set(range(0, frames, FPS))
    for status, source, chosen in (("accepted", "manual", sorted(keys)),
                                   ("proposed", "propagation", [f for f in range(frames) if f not in keys])):  # fmt: skip
        items = [{"video_id": vid, "frame": f, "object_id": o, "mask": disc(f, k, size)}
                 for f in chosen for k, o in enumerate(objs)]  # fmt: skip
        project.store.add_annotations(items, source=source, status=status)
    return project, vid, objs


def test_png_and_coco_export_every_frame_that_has_a_mask(tmp_path, capsys):
    project, vid, objs = dense_project(tmp_path)
    video = project.store.video(vid)
    project.close()
    out = tmp_path / "png"
    assert main(["export", str(tmp_path / "proj"), str(out), "--format", "png", "--status", "any"]) == 0
    assert "75 frames" in capsys.readouterr().out
    files = sorted((out / "Annotations" / video.name).iterdir())
    assert [f.name for f in files] == [f"{i:05d}.png" for i in range(75)]
    for f in (0, 1, 37, 74):
        idx = np.asarray(Image.open(out / "Annotations" / video.name / f"{f:05d}.png"))
        assert np.array_equal(idx == 1, disc(f, 0)) and np.array_equal(idx == 2, disc(f, 1))
    assert json.loads((out / "manifest.json").read_text())["counts"]["frames"] == 75

    with open_project(tmp_path / "proj") as project:
        rep = export_dataset(project, tmp_path / "coco", "coco", status="proposed", source="propagation")
        coco = COCO(str(tmp_path / "coco" / "annotations.json"))
        frames = sorted(img["frame_index"] for img in coco.dataset["images"])
        assert frames == [f for f in range(75) if f % FPS] and rep.frames == 72 and rep.annotations == 144
        for ann in coco.loadAnns(coco.getAnnIds()):
            img = coco.loadImgs(ann["image_id"])[0]
            assert np.array_equal(
                coco.annToMask(ann).astype(bool), disc(img["frame_index"], ann["object_index"])
            )


@pytest.mark.parametrize(("fmt", "subset"), [("avsbench-s4", "s4"), ("avss", "avss")])
def test_avsbench_layouts_take_one_frame_per_second_whatever_the_keyframe_rate(tmp_path, fmt, subset):
    project, vid, _ = dense_project(tmp_path, frames=125, keyframe_rate=4.0)  # 5 s, 4 keyframes per second
    rep = export_dataset(project, tmp_path / "out", fmt, status="any")
    assert (
        rep.frames == 5
        and rep.skipped_frames == 120
        and "120 frames not in the layout left out" in rep.summary()
    )
    row = layout.read_csv_rows(tmp_path / "out", subset)[0]
    for k in range(5):
        got = np.asarray(Image.open(tmp_path / "out" / layout.mask_relpath(subset, row, k)).convert("L")) > 0
        assert np.array_equal(got, disc(25 * k, 0) | disc(25 * k, 1))  # frame 25 k, not 6 k
    project.close()


def test_png_export_memory_does_not_grow_with_the_number_of_frames(tmp_path):
    peaks = []
    for frames in (40, 160):
        base = tmp_path / str(frames)
        base.mkdir()
        project, _, _ = dense_project(base, frames=frames, size=(320, 240))
        tracemalloc.start()
        export_dataset(project, base / "png", "png", status="any")
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        project.close()
    # the annotation rows (RLE text) grow with the frames; decoded masks (2 x 77 kB a frame) must not
    assert peaks[1] < peaks[0] + 4 * 2**20, peaks
