"""Assignments (store table + jobs API): assign by id / split / count, refusals that name the holder,
"my queue" order, who else holds a clip, progress per annotator, concurrent leads; SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from avs_studio.jobs.assign import (
    UNASSIGNED,
    AssignError,
    assign,
    assigned_elsewhere,
    by_annotator,
    my_queue,
    queue,
    unassign,
)
from avs_studio.jobs.project import Project
from avs_studio.store import AssignedElsewhere, ReadOnlyError, Store, db

SPLITS = ["train", "train", "train", "val", "val", "test"]


@pytest.fixture
def project(open_store, tmp_path):
    store = open_store("lead")
    for i, split in enumerate(SPLITS):  # 2 s at 25 fps: keyframes 0 and 25
        info = {"path": f"/media/v{i}.mp4", "fps": 25.0, "frame_count": 50, "width": 16, "height": 12,
                "duration": 2.0, "has_audio": True, "sha256": f"{i:064x}"}  # fmt: skip
        store.add_video(info, name=f"v{i}", split=split)
    return Project(tmp_path, store)


def owners(project) -> dict[int, str]:
    return {a.video_id: a.annotator for a in project.store.assignments.rows()}


def test_assign_by_video_split_and_count(project):
    assert assign(project, "alice", count=2) == [1, 2]
    assert assign(project, "bob", split="val") == [4, 5]
    assert assign(project, "carol", split="train", count=5) == [3]  # what is left of train
    assert assign(project, "alice", video_ids=[1, 6]) == [6]  # 1 is hers already
    assert owners(project) == {1: "alice", 2: "alice", 3: "carol", 4: "bob", 5: "bob", 6: "alice"}
    row = project.store.assignments.of_video(4)
    assert row.annotator == "bob" and row.assigned_by == "lead" and row.assigned_at.tzinfo is not None
    assert assign(project, "dave", count=3) == []  # nothing unassigned left


def test_a_video_someone_else_has_is_refused_by_name_unless_replaced(project):
    assign(project, "alice", video_ids=[1, 2])
    with pytest.raises(AssignedElsewhere, match=r"video 2 \(alice\).*--replace") as info:
        assign(project, "bob", video_ids=[3, 2])
    assert info.value.taken == {2: "alice"} and owners(project) == {1: "alice", 2: "alice"}  # 3 not given
    assert assign(project, "bob", video_ids=[3, 2], replace=True) == [3, 2]
    assert owners(project) == {1: "alice", 2: "bob", 3: "bob"}
    assert unassign(project, annotator="bob") == 2 and owners(project) == {1: "alice"}
    assert unassign(project, video_ids=[1, 5]) == 1 and owners(project) == {}


def test_bad_requests_are_named(project):
    with pytest.raises(AssignError, match="say which videos"):
        assign(project, "alice")
    with pytest.raises(AssignError, match="either --video"):
        assign(project, "alice", video_ids=[1], count=2)
    with pytest.raises(AssignError, match="--from NAME"):
        unassign(project)
    with pytest.raises(ValueError, match="annotator"):
        assign(project, "../x", count=1)
    with pytest.raises(KeyError, match="video 99"):
        assign(project, "alice", video_ids=[99])
    assert owners(project) == {}


def review(project, video_id: int, frame: int, status: str) -> None:
    project.store.put_annotation(
        video_id, frame, None, np.zeros((12, 16), bool), source="proposal", status=status
    )


def test_my_queue_first_then_unassigned_then_done_then_others(project, open_store):
    assign(project, "alice", video_ids=[5, 2, 3])
    assign(project, "bob", video_ids=[1])
    review(project, 2, 0, "accepted")
    review(project, 2, 25, "rejected")  # video 2: every keyframe reviewed -> done
    review(project, 3, 0, "proposed")
    review(project, 3, 25, "edited")
    alice = Project(project.dir, open_store("alice"))
    assert [i.video.id for i in queue(alice)] == [3, 5, 4, 6, 2, 1]
    assert [i.video.id for i in my_queue(alice)] == [3, 5]
    assert [(i.video.id, i.done) for i in my_queue(alice, include_done=True)] == [
        (3, False),
        (5, False),
        (2, True),
    ]
    item = my_queue(alice)[0]
    assert (item.keyframes, item.reviewed, item.pending, item.annotator) == (2, 1, 1, "alice")
    assert assigned_elsewhere(alice, 1) == "bob"
    assert assigned_elsewhere(alice, 3) is None and assigned_elsewhere(alice, 4) is None
    assert assigned_elsewhere(project, 3) == "alice"  # the lead is not alice


def test_status_by_annotator(project):
    assign(project, "bob", video_ids=[4])
    assign(project, "alice", video_ids=[1, 2])
    review(project, 1, 0, "accepted")
    review(project, 1, 25, "accepted")
    review(project, 2, 0, "proposed")
    rows = {r.annotator: r for r in by_annotator(project)}
    assert [r.annotator for r in by_annotator(project)] == ["alice", "bob", UNASSIGNED]
    a = rows["alice"]
    assert (a.videos, a.done_videos, a.keyframes, a.reviewed, a.pending, a.video_ids) == (
        2,
        1,
        4,
        2,
        1,
        (1, 2),
    )
    assert a.percent == 50.0
    assert (rows["bob"].videos, rows["bob"].reviewed) == (1, 0)
    assert rows[UNASSIGNED].video_ids == (3, 5, 6)


def test_two_leads_assigning_at_once_never_give_a_video_twice(project, open_store):
    stores = [open_store(f"lead{i}") for i in range(3)]
    barrier = threading.Barrier(len(stores))
    got: dict[str, list[int]] = {}

    def lead(i: int) -> None:
        barrier.wait()
        got[f"a{i}"] = Project(project.dir, stores[i]).store.assignments.assign_next(f"a{i}", 2)

    threads = [threading.Thread(target=lead, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    given = [v for ids in got.values() for v in ids]
    assert sorted(given) == [1, 2, 3, 4, 5, 6] and all(len(ids) == 2 for ids in got.values())
    assert owners(project) == {v: name for name, ids in got.items() for v in ids}


def test_read_only_store_refuses_to_assign(project, store_url):
    with Store(store_url, read_only=True) as ro:
        with pytest.raises(ReadOnlyError):
            ro.assignments.assign_next("alice", 1)
        assert ro.assignments.rows() == []


def test_migration_0005_adds_the_table_and_keeps_the_id_sequences(tmp_path):
    """An 0004 SQLite project upgrades: the table appears, no table is rebuilt (0003's sequences stay)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(db.alembic_config(conn), "0004")
        conn.execute(text("UPDATE sqlite_sequence SET seq = 500 WHERE name = 'annotations'"))
    engine.dispose()
    with Store(url) as s:
        s.add_video({"path": "/v.mp4", "fps": 25.0, "frame_count": 50, "width": 16, "height": 12,
                     "duration": 2.0, "has_audio": True, "sha256": "cd" * 32})  # fmt: skip
        s.assignments.assign("alice", [1])
        a = s.put_annotation(1, 0, None, np.zeros((12, 16), bool), source="manual", status="edited")
        assert a.id == 501 and s.assignments.of_video(1).annotator == "alice"
    engine = create_engine(url)
    assert "assignments" in inspect(engine).get_table_names()
    engine.dispose()
