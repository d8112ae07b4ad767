"""COCO / PNG exports, status and source filters, re-split and manifest."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from avs_studio.io import avsbench as layout
from avs_studio.io.errors import DatasetError
from avs_studio.io.writers import resplit
from avs_studio.jobs.exporting import export_dataset
from avs_studio.masks import davis_palette


@pytest.mark.parametrize("imported", ["ms3", "avss"], indirect=True)
def test_coco_loads_with_pycocotools_and_masks_match_the_store(imported, tmp_path):
    lay, project, _ = imported
    store = project.store
    out = tmp_path / "coco"
    report = export_dataset(project, out, "coco", write_frames=True)
    coco = COCO(str(out / "annotations.json"))
    stored = {(a.video_id, a.frame, a.object_id): a for a in store.annotations(status="accepted")}
    assert len(coco.getImgIds()) == len({(v, f) for v, f, _ in stored}) == report.frames
    n_objects = 0
    for ann in coco.loadAnns(coco.getAnnIds()):
        img = coco.loadImgs(ann["image_id"])[0]
        objects = sorted(store.objects(img["video_id"]), key=lambda o: o.index)
        obj = objects[ann["object_index"]]
        row = stored[(img["video_id"], img["frame_index"], obj.id)]
        assert np.array_equal(coco.annToMask(ann).astype(bool), row.mask())
        assert ann["area"] == row.area and ann["iscrowd"] == 0
        ys, xs = np.nonzero(row.mask())
        assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert coco.loadCats(ann["category_id"])[0]["name"] == obj.label
        frame = np.asarray(Image.open(out / "images" / img["file_name"]).convert("RGB"))
        assert np.array_equal(frame, lay.frames[(img["video_name"], img["frame_index"])])
        n_objects += 1
    assert n_objects == sum(1 for k in stored if k[2] is not None)
    # explicit empty frames are images without annotations
    empties = [k for k in stored if k[2] is None]
    assert empties
    for vid, frame, _ in empties:
        img = next(i for i in coco.dataset["images"] if i["video_id"] == vid and i["frame_index"] == frame)
        objs = {(vid, frame, o) for (v, f, o) in stored if v == vid and f == frame and o is not None}
        assert len(coco.getAnnIds(imgIds=[img["id"]])) == len(objs)


@pytest.mark.parametrize("imported", ["avss"], indirect=True)
def test_png_export_uses_the_davis_palette_and_object_order(imported, tmp_path):
    _, project, _ = imported
    store = project.store
    out = tmp_path / "png"
    export_dataset(project, out, "png")
    names = json.loads((out / "objects.json").read_text())
    pal = davis_palette()
    checked = 0
    for video in store.videos():
        objects = sorted(store.objects(video.id), key=lambda o: o.index)
        assert names[video.name] == {
            str(i + 1): o.label
            for i, o in enumerate(objects)
            if any(a.object_id == o.id for a in store.annotations(video_id=video.id))
        }
        for a in store.annotations(video_id=video.id):
            img = Image.open(out / "Annotations" / video.name / f"{a.frame:05d}.png")
            assert img.mode == "P"
            assert np.array_equal(np.asarray(img.getpalette(), np.uint8).reshape(-1, 3)[:256], pal)
            idx = np.asarray(img)
            if a.object_id is None:
                assert not idx.any()
            else:
                k = 1 + [o.id for o in objects].index(a.object_id)
                assert np.array_equal(idx == k, a.mask())
            checked += 1
    assert checked


@pytest.mark.parametrize("imported", ["ms3"], indirect=True)
def test_status_and_source_filters(imported, tmp_path):
    lay, project, _ = imported
    store = project.store
    video = store.videos()[0]
    anns = store.annotations(video_id=video.id)
    store.set_status(anns[0].id, "proposed")
    obj = store.objects(video.id)[0].id
    store.put_annotation(video.id, 3, obj, np.ones((video.height, video.width), bool),
                         source="proposal", status="rejected")  # fmt: skip

    acc = export_dataset(project, tmp_path / "acc", "avsbench-ms3")
    total = len(store.annotations(status="accepted"))
    assert acc.frames == total
    row = next(r for r in lay.rows if r["name"] == video.name)
    assert not (tmp_path / "acc" / layout.mask_relpath("ms3", row, anns[0].frame)).exists()

    prop = export_dataset(project, tmp_path / "prop", "avsbench-ms3", status="proposed")
    assert prop.frames == 1 and prop.videos == 1
    assert layout.read_csv_rows(tmp_path / "prop", "ms3") == [row]
    assert (tmp_path / "prop" / layout.mask_relpath("ms3", row, anns[0].frame)).is_file()

    anyx = export_dataset(project, tmp_path / "any", "coco", status="any")
    assert anyx.annotations == total + 1  # the rejected proposal is never exported
    with pytest.raises(DatasetError, match="nothing to export"):
        export_dataset(project, tmp_path / "none", "coco", status="accepted", source="student")
    assert not (tmp_path / "none").exists()
    assert export_dataset(project, tmp_path / "src", "coco", source="imported", split="train").videos == 2


@pytest.mark.parametrize("imported", ["s4"], indirect=True)
def test_resplit_is_deterministic_and_manifest_hashes_every_file(imported, tmp_path):
    lay, project, _ = imported
    a = export_dataset(project, tmp_path / "a", "avsbench-s4", resplit_ratios=(0.5, 0.25, 0.25), seed=7)
    b = export_dataset(project, tmp_path / "b", "avsbench-s4", resplit_ratios=(0.5, 0.25, 0.25), seed=7)
    rows_a = layout.read_csv_rows(tmp_path / "a", "s4")
    assert rows_a == layout.read_csv_rows(tmp_path / "b", "s4")
    assert [r["split"] for r in rows_a] == [resplit(r["name"], (0.5, 0.25, 0.25), 7) for r in rows_a]
    for r in rows_a:  # files follow the new split
        assert (tmp_path / "a" / layout.audio_relpath("s4", r)).is_file()
    assert a.manifest["counts"] == b.manifest["counts"]
    m = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert (
        m["app_version"]
        and m["format"] == "avsbench-s4"
        and m["resplit"] == {"ratios": [0.5, 0.25, 0.25], "seed": 7}
    )
    assert m["sources"] == {"imported": a.annotations} and m["statuses"] == {"accepted": a.annotations}
    files = {p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    assert set(m["files"]) == files - {"manifest.json"}
    for rel, digest in m["files"].items():
        assert hashlib.sha256((tmp_path / "a" / rel).read_bytes()).hexdigest() == digest
    # a different seed moves some videos (deterministic per name)
    splits = {resplit(f"clip{i}", (0.8, 0.1, 0.1), 1) for i in range(200)}
    assert splits == {"train", "val", "test"}
    assert sum(resplit(f"clip{i}", (0.8, 0.1, 0.1), 1) == "train" for i in range(1000)) in range(740, 860)


def test_export_of_ordinary_videos(tmp_path):
    """Videos added from files (25 fps mp4): AVSBench layouts take the keyframes, PNG/COCO any frame."""
    from avs_studio.jobs.project import add_videos, init_project
    from avs_studio.media import VideoReader
    from tests.helpers.media_factory import make_video, read_counter

    src = make_video(tmp_path / "street.mp4", frames=150, fps=25, size=(96, 64), gop=12)
    with init_project(tmp_path / "p") as project:
        store = project.store
        ((path, vid),) = add_videos(project, [src], split="val", category="car").added
        obj = store.add_object(vid, "car")
        mask = np.zeros((64, 96), bool)
        mask[30:50, 10:40] = True
        for frame in (0, 25, 50, 75, 100, 37):  # 37 is not a keyframe (1 per second)
            store.put_annotation(vid, frame, obj, mask, source="manual", status="accepted")

        rep = export_dataset(project, tmp_path / "s4", "avsbench-s4")
        assert rep.frames == 5 and rep.skipped_frames == 1
        row = layout.read_csv_rows(tmp_path / "s4", "s4")[0]
        assert row == {"name": "street", "start_time": "0", "category": "car", "split": "val"}
        with VideoReader(src) as reader:
            for k, fi in enumerate((0, 25, 50, 75, 100)):
                got = np.asarray(Image.open(tmp_path / "s4" / layout.frame_relpath("s4", row, k)))
                assert np.array_equal(got, reader.frame(fi)) and read_counter(got) == fi
                m = np.asarray(Image.open(tmp_path / "s4" / layout.mask_relpath("s4", row, k)))
                assert np.array_equal(m, np.where(mask, 255, 0))
        with wave_open(tmp_path / "s4" / layout.audio_relpath("s4", row)) as wf:
            assert wf.getframerate() == 16000 and wf.getnframes() == 5 * 16000

        rep = export_dataset(project, tmp_path / "png", "png", write_frames=True)
        assert rep.frames == 6
        for fi in (37, 100):
            frame = np.asarray(Image.open(tmp_path / "png" / "Frames" / "street" / f"{fi:05d}.png"))
            assert read_counter(frame) == fi


def wave_open(path):
    import wave

    return wave.open(str(path), "rb")
