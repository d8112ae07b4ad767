"""Import each AVSBench layout and export it again: identical CSV rows, masks, frames and audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from avs_studio.io import avsbench as layout
from avs_studio.jobs.exporting import export_dataset
from avs_studio.jobs.importing import import_avsbench, media_path
from avs_studio.masks import avss_palette
from avs_studio.media import VideoReader, load_audio
from tests.unit.io.conftest import EXPORT_FORMAT

SUBSETS = ["s4", "ms3", "avss"]


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("imported", SUBSETS, indirect=True)
def test_round_trip_is_exact(imported, tmp_path):
    lay, project, report = imported
    sub = lay.subset
    assert not report.problems
    assert sorted(report.videos_added) == sorted(lay.names())
    out = tmp_path / "out"
    export_dataset(project, out, EXPORT_FORMAT[sub])

    assert layout.read_csv_rows(out, sub) == layout.read_csv_rows(lay.root, sub)
    src_files = _files(lay.root)
    extra = {"manifest.json"}
    assert _files(out) == src_files | extra
    for rel in sorted(src_files):
        a, b = lay.root / rel, out / rel
        if rel.endswith(".wav") or rel.endswith(".jpg"):
            assert a.read_bytes() == b.read_bytes(), rel  # originals kept at import
        elif rel.endswith(".png"):
            pa, pb = np.asarray(Image.open(a).convert("RGB")), np.asarray(Image.open(b).convert("RGB"))
            assert np.array_equal(pa, pb), rel  # frames and masks pixel-identical
    # the masks are those drawn by the factory, explicit empty ones all black
    for (name, i), drawn in lay.masks.items():
        row = next(r for r in lay.rows if layout.clip_name(sub, r) == name)
        got = np.asarray(Image.open(out / layout.mask_relpath(sub, row, i)).convert("RGB"))
        want = avss_palette()[drawn] if sub == "avss" else np.repeat(np.where(drawn, 255, 0)[..., None], 3, 2)
        assert np.array_equal(got, want)
    assert any(not m.any() for m in lay.masks.values())


@pytest.mark.parametrize("imported", SUBSETS, indirect=True)
def test_imported_videos_decode_to_the_original_pixels_with_audio(imported):
    lay, project, _ = imported
    store = project.store
    for video in store.videos():
        assert video.fps == 1.0 and video.has_audio
        n = layout.AVSS_FRAMES[video.meta["label"]] if lay.subset == "avss" else 5
        assert video.frame_count == n
        with VideoReader(video.path) as reader:
            for i in range(n):
                assert np.array_equal(reader.frame(i), lay.frames[(video.name, i)]), (video.name, i)
        audio = load_audio(video.path, rate=None)
        assert audio.rate == 8000 and abs(audio.duration - n) < 0.01
        assert Path(video.path) == media_path(project, lay.subset, video.name)
        assert Path(video.path).with_suffix(".wav").is_file()


@pytest.mark.parametrize("imported", SUBSETS, indirect=True)
def test_annotations_objects_and_meta(imported):
    lay, project, report = imported
    store = project.store
    sub = lay.subset
    for video in store.videos():
        row = next(r for r in lay.rows if layout.clip_name(sub, r) == video.name)
        assert video.split == row["split"]
        assert video.meta["avsbench"]["row"] == row
        assert video.category == (row["category"] if sub == "s4" else None)
        anns = store.annotations(video_id=video.id)
        assert {a.source for a in anns} == {"imported"} and {a.status for a in anns} == {"accepted"}
        objects = {o.id: o.label for o in store.objects(video.id)}
        for a in anns:
            drawn = lay.masks[(video.name, a.frame)]
            if a.object_id is None:
                assert not drawn.any() and a.area == 0
            elif sub == "avss":
                idx = {"dog": 1, "guitar": 2, "piano": 3, "man": 4, "car": 5}[objects[a.object_id]]
                assert np.array_equal(a.mask(), drawn == idx)
            else:
                assert objects[a.object_id] == (row["category"] if sub == "s4" else "sounding object")
                assert np.array_equal(a.mask(), drawn)
        assert {a.frame for a in anns} == {i for (n, i) in lay.masks if n == video.name}
    total = sum(len(store.annotations(video_id=v.id)) for v in store.videos())
    assert report.annotations_added == total


@pytest.mark.parametrize("imported", SUBSETS, indirect=True)
def test_reimport_is_idempotent(imported):
    lay, project, first = imported
    store = project.store
    before = (
        len(store.videos()),
        len(store.annotations()),
        sum(len(store.objects(v.id)) for v in store.videos()),
    )
    again = import_avsbench(project, lay.root, lay.subset)
    after = (
        len(store.videos()),
        len(store.annotations()),
        sum(len(store.objects(v.id)) for v in store.videos()),
    )
    assert after == before
    assert again.videos_added == [] and sorted(again.videos_existing) == sorted(first.videos_added)
    assert again.annotations_added == 0 and again.annotations_existing == first.annotations_added


def test_split_filter_imports_only_those_splits(tmp_path):
    from avs_studio.jobs.project import init_project
    from tests.helpers.avsbench_factory import make_s4

    lay = make_s4(tmp_path / "s4", per_split={"train": 2, "val": 2, "test": 1})
    with init_project(tmp_path / "p") as project:
        report = import_avsbench(project, lay.root, "s4", splits=["val", "test"])
        assert sorted(report.videos_added) == sorted(lay.names("val") + lay.names("test"))
        assert {v.split for v in project.store.videos()} == {"val", "test"}
