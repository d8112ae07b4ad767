"""Crash test: an editor process is SIGKILLed at random moments while it edits through the Store; after
every kill a new one carries on. At the end the database must hold exactly what the committed edits
say (nothing acknowledged lost, nothing half-written), and undo must still work.

    report = run(url, kills=50, workdir=tmp_path)   # CrashReport: kills, committed, acknowledged, ...
    assert report.ok, report.problems

The editor does a fixed sequence of operations (op n: put a mask, delete one, undo or redo), each
in ONE transaction (a Store.group) that also records n in the setting "crash.op"; after a commit
returns it appends n to a journal file (the acknowledgement a user sees). A model replays ops
0..crash.op and must equal the database: every slot's mask pixel for pixel and its existence.
Editor processes fork from a forkserver that has the store imported, so a restart costs milliseconds.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avs_studio.store import ConflictError, Store, db

SHAPE = (24, 32)
FRAMES, LABELS = 6, ("drum", "bird", "dog")
OP_SETTING = "crash.op"
AUTHOR = "editor"


def mask_of(op: int) -> np.ndarray:
    """The mask op ``op`` writes (deterministic, different for every op)."""
    return np.random.default_rng(op).random(SHAPE) < 0.3


def plan(op: int) -> tuple[str, int]:
    """(kind, slot) of op ``op``: mostly puts, some deletes, undos and redos."""
    r = random.Random(op)
    kind = r.choices(["put", "delete", "undo", "redo"], weights=[6, 1, 2, 1])[0]
    return kind, r.randrange(FRAMES * len(LABELS))


@dataclass
class Model:
    """What the database must hold after ops 0..n: slot -> the op whose mask is there (None: no row)."""

    state: dict[int, int | None] = field(default_factory=dict)
    done: list[tuple[int, int | None, int | None]] = field(default_factory=list)
    undone: list[tuple[int, int | None, int | None]] = field(default_factory=list)

    def apply(self, op: int) -> None:
        kind, slot = plan(op)
        if kind in ("put", "delete"):
            before = self.state.get(slot)
            after = op if kind == "put" else None
            if kind == "delete" and before is None:
                return  # nothing to delete: the editor skips it too
            self.state[slot] = after
            self.done.append((slot, before, after))
            self.undone.clear()
        elif kind == "undo" and self.done:
            slot, before, after = self.done.pop()
            self.state[slot] = before
            self.undone.append((slot, before, after))
        elif kind == "redo" and self.undone:
            slot, before, after = self.undone.pop()
            self.state[slot] = after
            self.done.append((slot, before, after))


def setup(url: str) -> None:
    with Store(url, author="setup") as store:
        v = store.add_video({"path": "/crash/clip.mp4", "fps": 1.0, "frame_count": FRAMES, "width": SHAPE[1],
                             "height": SHAPE[0], "duration": float(FRAMES)})  # fmt: skip
        for label in LABELS:
            store.add_object(v, label)


def _slots(store: Store) -> tuple[int, list[tuple[int, int]]]:
    video = store.videos()[0]
    objects = [o.id for o in store.objects(video.id)]
    return video.id, [(f, o) for o in objects for f in range(FRAMES)]


def editor(url: str, journal: str) -> None:
    """The child: carry on from the last committed op, acknowledging each op after its commit."""
    store = Store(url, author=AUTHOR)
    video, slots = _slots(store)
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    last = store.get_setting(OP_SETTING, -1)
    os.write(fd, f"{last}\n".encode())  # committed before the last kill, maybe never acknowledged
    op = last + 1
    while True:
        kind, slot = plan(op)
        frame, obj = slots[slot]
        with store.group():
            rows = store.annotations(video, frame=frame)
            row = next((r for r in rows if r.object_id == obj), None)
            if kind == "put":
                store.put_annotation(video, frame, obj, mask_of(op), source="manual", status="edited",
                                     expected_version=row.version if row else None, create_only=row is None)  # fmt: skip
            elif kind == "delete" and row is not None:
                store.delete_annotation(row.id, expected_version=row.version)
            elif kind == "undo":
                store.undo()
            elif kind == "redo":
                store.redo()
            store.set_setting(OP_SETTING, op)
        os.write(fd, f"{op}\n".encode())  # reaches the kernel: survives this process being killed
        op += 1


@dataclass
class CrashReport:
    backend: str
    kills: int = 0
    committed: int = 0  # ops in the database
    acknowledged: int = 0  # highest op the editor saw committed
    lost: int = 0  # acknowledged ops the database does not have
    corrupted: int = 0  # slots whose row or mask differs from the model
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.lost == 0 and self.corrupted == 0


def _context() -> multiprocessing.context.BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def _journal(journal: Path) -> list[int]:
    return [int(x) for x in (journal.read_text() if journal.exists() else "").split()]


def _acked(journal: Path) -> int:
    return max(_journal(journal), default=-1)


def run(url: str, kills: int, workdir: Path, seed: int = 0, max_delay: float = 0.06) -> CrashReport:
    """Kill the editor ``kills`` times (each after it acknowledged at least one op since it started,
    plus a random delay up to ``max_delay`` s), then check the database against the model."""
    report = CrashReport("sqlite" if url.startswith("sqlite") else "postgresql")
    workdir.mkdir(parents=True, exist_ok=True)
    journal = workdir / "journal"
    setup(url)
    ctx, rng, start = _context(), random.Random(seed), time.perf_counter()
    for _ in range(kills):
        lines = len(_journal(journal))
        proc = ctx.Process(target=editor, args=(url, str(journal)), daemon=True)
        proc.start()
        deadline = time.monotonic() + 60  # until it resumed (one line) and committed an op (another)
        while len(_journal(journal)) < lines + 2 and proc.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, max_delay))
        if not proc.is_alive():
            report.problems.append(f"the editor stopped by itself (exit code {proc.exitcode})")
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(30)
        report.kills += 1
    report.seconds = time.perf_counter() - start
    report.acknowledged = _acked(journal)
    _check(url, report)
    return report


def _check(url: str, report: CrashReport) -> None:
    if url.startswith("sqlite"):
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        result = con.execute("PRAGMA integrity_check").fetchone()[0]
        con.close()
        if result != "ok":
            report.problems.append(f"integrity_check: {result}")
    with Store(url, author=AUTHOR) as store:
        committed = store.get_setting(OP_SETTING, -1)
        report.committed = committed + 1
        report.lost = max(0, report.acknowledged - committed)
        model = Model()
        for op in range(committed + 1):
            model.apply(op)
        _compare(store, model, report)
        for _ in range(3):  # the undo log survived every kill: three more undos agree with the model
            try:
                store.undo()
            except ConflictError as exc:
                report.problems.append(f"undo after the crashes refused: {exc}")
                return
            if model.done:
                slot, before, after = model.done.pop()
                model.state[slot] = before
                model.undone.append((slot, before, after))
        _compare(store, model, report)


def _compare(store: Store, model: Model, report: CrashReport) -> None:
    video, slots = _slots(store)
    rows = {(r.frame, r.object_id): r for r in store.annotations(video)}
    if len(rows) != sum(1 for v in model.state.values() if v is not None):
        report.problems.append(f"{len(rows)} rows in the database, the model has a different count")
    for slot, (frame, obj) in enumerate(slots):
        want, row = model.state.get(slot), rows.get((frame, obj))
        if (want is None) != (row is None) or (
            row is not None and not np.array_equal(row.mask(), mask_of(want))
        ):
            report.corrupted += 1
            report.problems.append(
                f"slot {slot} (frame {frame}, object {obj}): expected op {want}, found {row}"
            )


db.head_revision()  # computed once in the forkserver: forked editors do not parse the migrations again
