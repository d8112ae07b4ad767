"""Create / read / update / delete through the Store, on real database files."""

from __future__ import annotations

import threading
from datetime import UTC
from pathlib import Path

import numpy as np
import pytest

from avs_studio.masks import empty_rle
from avs_studio.store import PALETTE, AnnotationRow, NotFoundError, Store, StoreError
from tests.unit.store.helpers import VIDEO, box_mask


def test_settings_roundtrip_json(store: Store):
    assert store.get_setting("ui", {"x": 0}) == {"x": 0}
    store.set_setting("ui", {"theme": "dark", "sizes": [1, 2]})
    store.set_setting("ui", {"theme": "light", "sizes": [3]})
    assert store.get_setting("ui") == {"theme": "light", "sizes": [3]}


def test_add_video_is_idempotent_and_keeps_extra_info(store: Store):
    info = {**VIDEO, "audio_rate": 16000, "variable_frame_rate": False}
    v = store.add_video(info, split="train", category="dog", keyframe_rate=2.0, meta={"origin": "test"})
    assert store.add_video(VIDEO) == v
    row = store.video(v)
    assert (row.path, row.name, row.frame_count, row.width, row.height) == (
        "/media/dog.mp4",
        "dog",
        250,
        64,
        48,
    )
    assert row.has_audio is True and row.keyframe_rate == 2.0 and row.split == "train"
    assert row.meta == {"audio_rate": 16000, "variable_frame_rate": False, "origin": "test"}
    assert row.created_at.tzinfo is not None
    w = store.add_video({**VIDEO, "path": "/media/cat.mp4"}, split="test", category="cat")
    assert [r.id for r in store.videos()] == [v, w]
    assert [r.id for r in store.videos(split="test")] == [w]
    assert store.categories() == ["cat", "dog"]
    assert store.update_video(w, split="train", category="bird").category == "bird"
    assert store.categories() == ["bird", "cat", "dog"]
    with pytest.raises(TypeError, match="unknown fields"):
        store.update_video(w, colour="red")
    with pytest.raises(NotFoundError, match="video 999"):
        store.video(999)


def test_objects_get_stable_palette_colours(store: Store, video_obj):
    v, first = video_obj
    ids = [store.add_object(v, f"thing {i}") for i in range(3)]
    rows = store.objects(v)
    assert [r.id for r in rows] == [first, *ids]
    assert [r.colour for r in rows] == list(PALETTE[:4])
    assert [r.index for r in rows] == [0, 1, 2, 3]
    store.delete_object(ids[0])
    new = store.add_object(v, "late")  # never reuses a freed index, so colours never shift
    assert store.objects(v)[-1].colour == PALETTE[4] and store.objects(v)[-1].id == new
    row = store.update_object(first, label="barking dog", visible=False, locked=True)
    assert (row.label, row.visible, row.locked, row.colour) == ("barking dog", False, True, PALETTE[0])


def test_put_annotation_mask_and_rle_roundtrip(store: Store, video_obj):
    v, o = video_obj
    m = box_mask(5, 10, 5, 20)
    a = store.put_annotation(v, 25, o, m, source="proposal", status="proposed", score=0.75)
    assert isinstance(a, AnnotationRow)
    assert (a.video_id, a.frame, a.object_id, a.version, a.area, a.height, a.width) == (
        v,
        25,
        o,
        1,
        75,
        48,
        64,
    )
    assert np.array_equal(store.annotation(a.id).mask(), m)
    assert a.author == "alice" and a.score == 0.75 and a.reviewed_by is None
    assert a.created_at.tzinfo == UTC
    # replacing with an RLE dict (as another layer would pass it) updates the same row
    b = store.put_annotation(v, 25, o, dict(a.rle), source="manual", status="accepted", author="bob")
    assert (b.id, b.version, b.source, b.status, b.reviewed_by) == (a.id, 2, "manual", "accepted", "bob")
    assert b.reviewed_at is not None
    assert np.array_equal(b.mask(), m)
    with pytest.raises(ValueError, match="status"):
        store.put_annotation(v, 25, o, m, source="manual", status="done")
    with pytest.raises(ValueError, match="malformed RLE"):  # checked before anything is stored
        store.put_annotation(v, 26, o, {"size": [48, 64], "counts": "PPT1"}, source="manual", status="edited")
    assert store.annotations(v, frame=26) == []
    with pytest.raises(ValueError, match="2-D"):
        store.put_annotation(v, 25, o, np.zeros((2, 2, 2)), source="manual", status="edited")


def test_one_explicit_empty_row_per_frame(store: Store, video_obj):
    v, o = video_obj
    empty = np.zeros((48, 64), bool)
    a = store.put_annotation(v, 50, None, empty, source="manual", status="accepted")
    b = store.put_annotation(v, 50, None, empty, source="manual", status="accepted")
    assert a.id == b.id and b.version == 2 and b.object_id is None and b.area == 0
    # the partial unique index refuses a second NULL-object row even from a raw bulk insert
    with pytest.raises(StoreError, match="already exists"):
        store.add_annotations([{"video_id": v, "frame": 50, "object_id": None, "mask": empty}],
                              source="imported", status="accepted")  # fmt: skip
    assert len(store.annotations(v, frame=50)) == 1


def test_queries_filters_counts_and_streaming(store: Store, video_obj):
    v, o = video_obj
    w = store.add_video({**VIDEO, "path": "/media/val.mp4"}, split="val")
    o2 = store.add_object(v, "cat")
    n = store.add_annotations(
        [{"video_id": v, "frame": f, "object_id": o, "mask": box_mask(0, f % 40 + 1, 0, 8)} for f in range(30)]
        + [{"video_id": w, "frame": f, "object_id": None, "rle": empty_rle(48, 64)}
           for f in range(5)],
        source="proposal", status="proposed", chunk=7,
    )  # fmt: skip
    assert n == 35
    store.put_annotation(v, 3, o2, box_mask(1, 2, 1, 2), source="manual", status="edited")
    store.put_annotation(v, 3, None, np.zeros((48, 64), bool), source="manual", status="accepted")
    rows = store.annotations(v, frame=3)
    assert [r.object_id for r in rows] == [None, o, o2]  # empty row first, then by object
    assert rows[1].area == 4 * 8
    assert len(store.annotations(status="proposed")) == 35
    assert len(store.annotations(status=["edited", "accepted"])) == 2
    assert len(store.annotations(source="manual", video_id=v)) == 2
    assert {r.video_id for r in store.annotations(split="val")} == {w}
    streamed = list(store.iter_annotations(batch=4))
    assert [r.id for r in streamed] == sorted(r.id for r in store.annotations()) and len(streamed) == 37
    assert len(list(store.iter_annotations(split="val", batch=2))) == 5
    c = store.counts(v)
    assert c["status"] == {"proposed": 30, "accepted": 1, "rejected": 0, "edited": 1}
    assert c["source"] == {"proposal": 30, "manual": 2, "imported": 0, "student": 0, "propagation": 0}


def test_set_status_and_delete(store: Store, video_obj):
    v, o = video_obj
    a = store.put_annotation(v, 0, o, box_mask(0, 4, 0, 4), source="proposal", status="proposed")
    r = store.set_status(a.id, "rejected", author="carol")
    assert (r.status, r.version, r.reviewed_by) == ("rejected", 2, "carol")
    store.delete_annotation(a.id)
    assert store.annotations(v) == []
    with pytest.raises(NotFoundError, match=f"annotation {a.id}"):
        store.delete_annotation(a.id)
    with pytest.raises(NotFoundError):
        store.put_annotation(v, 0, 12345, box_mask(0, 1, 0, 1), source="manual", status="edited")


def test_merge_objects_unions_masks(store: Store, video_obj):
    v, keep = video_obj
    drop = store.add_object(v, "dog too")
    store.put_annotation(v, 0, keep, box_mask(0, 4, 0, 4), source="manual", status="edited")
    store.put_annotation(v, 0, drop, box_mask(0, 4, 4, 8), source="manual", status="edited")
    store.put_annotation(v, 1, drop, box_mask(10, 12, 0, 4), source="manual", status="edited")
    store.merge_objects(keep, drop)
    assert [o.id for o in store.objects(v)] == [keep]
    rows = store.annotations(v)
    assert [(r.frame, r.object_id, r.area) for r in rows] == [(0, keep, 32), (1, keep, 8)]
    assert np.array_equal(rows[0].mask(), box_mask(0, 4, 0, 8))
    assert not store.can_undo()  # merging is not undoable: earlier steps of these rows are dropped


def test_delete_object_removes_its_masks(store: Store, video_obj):
    v, o = video_obj
    store.put_annotation(v, 0, o, box_mask(0, 4, 0, 4), source="manual", status="edited")
    store.put_annotation(v, 0, None, np.zeros((48, 64), bool), source="manual", status="edited")
    store.delete_object(o)
    assert [r.object_id for r in store.annotations(v)] == [None]
    assert store.undo().action == "create" and store.annotations(v) == []  # the empty row's step remains


def test_provenance_and_training_runs(store: Store, video_obj):
    v, o = video_obj
    run = store.start_pipeline_run("openavs", {"describer": "ast"}, {"sam": "vit_b@abc"})
    result = {"descriptions": [{"ast": "dog barking"}], "prompt": "p", "answer": "dog", "phrases": [["dog"]],
              "boxes": [[[1.0, 2.0, 3.0, 4.0]]], "scores": [[0.9]], "timings": {"llm": 0.5}}  # fmt: skip
    c = store.add_clip_result(run, v, [0, 25, 50], result)
    store.put_annotation(v, 0, o, box_mask(0, 2, 0, 2), source="proposal", status="proposed", run_id=run)
    store.finish_pipeline_run(run, "done", {"total": 1.5})
    [cr] = store.clip_results(v)
    assert (cr.id, cr.run_id, cr.frames, cr.result) == (c, run, [0, 25, 50], result)
    [pr] = store.pipeline_runs()
    assert (pr.status, pr.timings, pr.models) == ("done", {"total": 1.5}, {"sam": "vit_b@abc"})
    assert pr.finished_at is not None and store.annotations(v)[0].run_id == run
    t = store.add_training_run("st-1", {"epochs": 2})
    with pytest.raises(StoreError, match="st-1"):
        store.add_training_run("st-1", {})
    row = store.update_training_run(t, status="finished", checkpoint="/ck/st-1.pt", metrics={"miou": 0.5})
    assert (row.name, row.status, row.checkpoint, row.metrics, row.config) == (
        "st-1", "finished", "/ck/st-1.pt", {"miou": 0.5}, {"epochs": 2})  # fmt: skip
    assert [r.id for r in store.training_runs()] == [t]


def test_write_runs_one_transaction(store: Store, video_obj):
    from sqlalchemy import func, select

    from avs_studio.store.models import Annotation

    v, o = video_obj
    store.put_annotation(v, 0, o, box_mask(0, 2, 0, 2), source="manual", status="edited")
    assert store.write(lambda s: s.scalar(select(func.count()).select_from(Annotation))) == 1

    def fail(s):
        s.add(Annotation(video_id=v, frame=9, object_id=o, counts=empty_rle(48, 64)["counts"], height=48, width=64, area=0,
                         source="manual", status="edited", version=1))  # fmt: skip
        s.flush()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.write(fail)
    assert [r.frame for r in store.annotations(v)] == [0]  # rolled back


def test_one_store_shared_by_threads(store: Store, video_obj):
    v, o = video_obj
    errors: list[Exception] = []

    def work(k: int) -> None:
        try:
            for i in range(10):
                store.put_annotation(
                    v, k * 100 + i, o, box_mask(0, i + 1, 0, k + 1), source="manual", status="edited"
                )
                store.annotations(v, frame=k * 100)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = store.annotations(v)
    assert len(rows) == 40 and {r.area for r in rows if r.frame == 205} == {6 * 3}
    assert len(store.revisions(limit=100)) == 40


def test_for_project_uses_project_db(tmp_path: Path):
    with Store.for_project(tmp_path / "proj", author="dora") as s:
        s.set_setting("k", 1)
        assert s.author == "dora"
    assert (tmp_path / "proj" / "project.db").is_file()
    with Store.for_project(tmp_path / "proj") as s:
        assert s.get_setting("k") == 1
