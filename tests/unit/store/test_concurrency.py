"""Two writers on one database, a writer killed mid-way, a locked or foreign database file."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from avs_studio.store import ConflictError, Store, StoreError
from tests.unit.store.helpers import VIDEO, box_mask

ROOT = Path(__file__).resolve().parents[3]


def test_second_writer_gets_conflict_and_can_reapply(open_store, video_obj):
    first, second = open_store(author="ann"), open_store(author="ben")
    v, o = video_obj
    base = first.put_annotation(v, 0, o, box_mask(0, 4, 0, 4), source="proposal", status="proposed")
    seen_by_ann = first.annotations(v, frame=0)[0]
    seen_by_ben = second.annotations(v, frame=0)[0]
    assert seen_by_ann.version == seen_by_ben.version == base.version

    ann_mask, ben_mask = box_mask(0, 10, 0, 10), box_mask(20, 30, 20, 40)
    first.put_annotation(
        v, 0, o, ann_mask, source="manual", status="edited", expected_version=seen_by_ann.version
    )
    with pytest.raises(ConflictError) as info:
        second.put_annotation(v, 0, o, ben_mask, source="manual", status="edited",
                              expected_version=seen_by_ben.version)  # fmt: skip
    err = info.value
    assert (err.annotation_id, err.expected_version, err.actual_version) == (base.id, 1, 2)
    assert f"Annotation {base.id}" in str(err) and "version 1" in str(err) and "version 2" in str(err)
    stored = second.annotation(base.id)
    assert np.array_equal(stored.mask(), ann_mask) and stored.author == "ann"  # first edit stays
    # the refused edit is carried whole and can be re-applied on top
    att = err.attempted
    assert np.array_equal(_decode(att["rle"]), ben_mask)
    again = second.put_annotation(att["video_id"], att["frame"], att["object_id"], att["rle"], source=att["source"],
                                  status=att["status"], expected_version=err.actual_version)  # fmt: skip
    assert again.version == 3 and np.array_equal(first.annotation(base.id).mask(), ben_mask)
    assert [r.author for r in first.revisions()] == ["ben", "ann", "ann"]


def _decode(rle):
    from avs_studio.store import _rle

    return _rle.to_mask(rle)


def test_status_and_delete_conflicts(open_store, video_obj):
    first, second = open_store(author="ann"), open_store(author="ben")
    v, o = video_obj
    a = first.put_annotation(v, 0, o, box_mask(0, 4, 0, 4), source="proposal", status="proposed")
    first.set_status(a.id, "accepted", expected_version=1)
    with pytest.raises(ConflictError) as info:
        second.set_status(a.id, "rejected", expected_version=1)
    assert info.value.attempted["status"] == "rejected"
    with pytest.raises(ConflictError):
        second.delete_annotation(a.id, expected_version=1)
    second.delete_annotation(a.id, expected_version=2)
    with pytest.raises(ConflictError, match="was deleted"):
        first.put_annotation(
            v, 0, o, box_mask(0, 1, 0, 1), source="manual", status="edited", expected_version=2
        )
    assert first.annotations(v) == []


def test_stale_data_error_becomes_conflict(open_store, video_obj, store_url):
    """A row changed between a session's read and its UPDATE (possible on PostgreSQL, where readers do not
    take the write lock) surfaces as ConflictError, not as SQLAlchemy's StaleDataError."""
    if not store_url.startswith("postgresql"):
        pytest.skip(
            "SQLite writers take the write lock before reading (BEGIN IMMEDIATE): no window for this race"
        )
    from sqlalchemy import select

    from avs_studio.store.models import Annotation

    first, second = open_store(author="ann"), open_store(author="ben")
    v, o = video_obj
    a = first.put_annotation(v, 0, o, box_mask(0, 4, 0, 4), source="manual", status="edited")

    def racy(s):
        row = s.scalars(select(Annotation).where(Annotation.id == a.id)).one()
        second.put_annotation(v, 0, o, box_mask(0, 8, 0, 8), source="manual", status="edited")
        row.status, row.version = "accepted", row.version + 1
        s.flush()

    with pytest.raises(ConflictError):
        first.write(racy)
    assert first.annotation(a.id).area == 64


CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from avs_studio.store import Store
    store = Store(sys.argv[1], author="child")
    v = store.add_video({"path": "/kill.mp4", "fps": 25.0, "frame_count": 100000, "width": 96,
                         "height": 54, "duration": 4000.0, "has_audio": True})
    o = store.add_object(v, "thing")
    print("ready", v, o, flush=True)
    for i in range(100000):
        m = np.zeros((54, 96), bool)
        m[i % 50 : i % 50 + 4, : (i % 90) + 1] = True
        row = store.put_annotation(v, i % 40, o, m, source="manual", status="edited")
        print("ok", row.id, row.frame, row.version, int(m.sum()), flush=True)
    """
)


def test_writer_killed_midway_loses_no_committed_edit(store_url, tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, store_url], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    reported: dict[int, tuple[int, int, int]] = {}
    n = 0
    try:
        assert proc.stdout.readline().startswith("ready")
        for line in proc.stdout:
            _, ident, frame, version, area = line.split()
            reported[int(ident)] = (int(frame), int(version), int(area))
            n += 1
            if n >= 300:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL and n == 300

    if store_url.startswith("sqlite"):
        db_file = store_url.removeprefix("sqlite:///")
        con = sqlite3.connect(db_file)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
    with Store(store_url) as again:
        rows = {r.id: r for r in again.annotations()}
        for ident, (frame, version, area) in reported.items():
            row = rows[ident]
            assert row.frame == frame
            # the child may have committed one more edit of this row after its last report
            assert row.version in (version, version + 1)
            if row.version == version:
                assert row.area == area
        revisions = again.revisions(limit=100000)
        assert len(revisions) >= n and {r.state for r in revisions} == {"done"}
        last = again.undo(author="child")  # the undo log is intact after the kill
        assert last is not None and last.author == "child"


def test_locked_database_names_the_file(tmp_path):
    db_file = tmp_path / "project.db"
    store = Store(f"sqlite:///{db_file}", busy_timeout=0.2)
    v = store.add_video(VIDEO)
    o = store.add_object(v, "dog")
    other = sqlite3.connect(db_file, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    try:
        with pytest.raises(StoreError, match="locked") as info:
            store.put_annotation(v, 0, o, box_mask(0, 2, 0, 2), source="manual", status="edited")
        assert str(db_file) in str(info.value) and "Close that program" in str(info.value)
        assert store.get_setting("x", 7) == 7  # readers still work in WAL mode
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.put_annotation(v, 0, o, box_mask(0, 2, 0, 2), source="manual", status="edited").version == 1
    store.close()


def test_foreign_file_gives_clear_error(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(StoreError, match="not a readable AVS Studio database") as info:
        Store(f"sqlite:///{bad}")
    assert str(bad) in str(info.value)
    with pytest.raises(StoreError, match="does not exist"):
        Store(f"sqlite:///{tmp_path / 'missing' / 'project.db'}")
