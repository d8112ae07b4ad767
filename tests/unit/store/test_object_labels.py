"""(video, label) is unique: a second "dog" is refused or found, never duplicated; projects made before
get their duplicates merged (masks agree) or renamed (masks differ) by migration 0004 (issue 10 item 5)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from alembic import command
from sqlalchemy import create_engine, text

from avs_studio.store import Store, StoreError, db
from tests.unit.store.helpers import VIDEO, box_mask

A = box_mask(0, 4, 0, 4)
B = box_mask(10, 20, 10, 30)


def test_labels_are_unique_per_video(store: Store):
    v = store.add_video(VIDEO)
    w = store.add_video({**VIDEO, "path": "/media/other.mp4"})
    dog = store.add_object(v, "dog")
    with pytest.raises(StoreError, match="already has an object labelled 'dog'"):
        store.add_object(v, " dog ")
    assert store.add_object(w, "dog") != dog  # another video may have its own
    assert store.ensure_object(v, "dog") == dog
    cat = store.ensure_object(v, "cat")
    assert [o.label for o in store.objects(v)] == ["dog", "cat"]
    with pytest.raises(StoreError, match="merge the two objects"):
        store.update_object(cat, label="dog")
    assert store.update_object(cat, label="cat", visible=False).visible is False  # its own label is fine


def test_ensure_object_from_many_threads_makes_one(open_store):
    stores = [open_store(f"user{i}") for i in range(4)]
    v = stores[0].add_video(VIDEO)
    ids: list[int] = []
    barrier = threading.Barrier(len(stores))

    def work(s: Store) -> None:
        barrier.wait()
        ids.extend(s.ensure_object(v, label) for label in ("dog", "guitar", "piano"))

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 3 and len(ids) == 12
    assert sorted(o.label for o in stores[0].objects(v)) == ["dog", "guitar", "piano"]


def test_migration_merges_or_renames_existing_duplicates(store_url, store: Store):
    """Made at head with distinct labels and real undo history, then taken back to 0003 and given the
    duplicate labels two concurrent imports used to create; opening the store upgrades it."""
    v = store.add_video(VIDEO)
    objs = [store.add_object(v, label) for label in ("dog", "dog#1", "dog#2", "dog#3", "cat")]

    def put(o, frame, mask):
        return store.put_annotation(v, frame, objs[o], mask, source="manual", status="edited").id

    put(0, 0, A)
    moved = put(1, 1, B)  # dup 1: no shared frame -> merged
    twin = put(2, 0, A)  # dup 2: the same mask on the shared frame -> merged, its twin row dropped
    put(2, 2, B)
    differs = put(3, 0, B)  # dup 3: another mask on frame 0 -> kept, renamed
    store.close()
    engine = create_engine(store_url)
    with engine.begin() as conn:
        command.downgrade(db.alembic_config(conn), "0003")
        conn.execute(text("UPDATE objects SET label = 'dog' WHERE label LIKE 'dog#%'"))
    engine.dispose()
    with Store(store_url, author="alice") as s:
        assert [(o.id, o.label) for o in s.objects(v)] == [
            (objs[0], "dog"),
            (objs[3], "dog (2)"),
            (objs[4], "cat"),
        ]
        dog = [(r.frame, r.area) for r in s.annotations(v) if r.object_id == objs[0]]
        assert dog == [(0, 16), (1, 200), (2, 200)]
        assert s.annotation(differs).object_id == objs[3] and np.array_equal(s.annotation(differs).mask(), B)
        with pytest.raises(StoreError):
            s.add_object(v, "dog")
        states = {r.annotation_id: r.state for r in s.revisions()}
        assert states[moved] == "discarded" and states[twin] == "discarded"  # as merge_objects does
        assert s.undo().annotation_id == differs  # the renamed object's own history is intact
        assert s.annotations(v, frame=0)[-1].object_id == objs[0]
