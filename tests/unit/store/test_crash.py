"""Random SIGKILLs while an editor works through the Store: zero lost or corrupted edits, and the undo
log still works, on SQLite and PostgreSQL (issue 10). The bounded form runs in every suite; the long
form is marked slow (and `python -m tests.benchmarks --only crash` prints its figures)."""

from __future__ import annotations

import pytest

from tests.helpers import crash

KILLS = {"sqlite": 50, "postgres": 20}


def _check(report: crash.CrashReport, kills: int) -> None:
    assert report.ok, report.problems[:5]
    assert report.kills == kills and report.lost == 0 and report.corrupted == 0
    assert report.committed >= kills  # every editor committed at least once before it was killed
    assert report.acknowledged <= report.committed - 1  # nothing acknowledged is missing


def test_random_kills_lose_nothing(store_url, tmp_path):
    kills = KILLS["sqlite" if store_url.startswith("sqlite") else "postgres"]
    _check(crash.run(store_url, kills, tmp_path / "crash", seed=1), kills)


@pytest.mark.slow
def test_random_kills_lose_nothing_long(store_url, tmp_path):
    _check(crash.run(store_url, 200, tmp_path / "crash", seed=2, max_delay=0.15), 200)


def test_the_model_catches_a_lost_edit(tmp_path):
    """The check can fail: a database that lost the newest edit of a slot is reported as corrupted."""
    url = f"sqlite:///{tmp_path / 'p.db'}"
    report = crash.run(url, 3, tmp_path / "crash", seed=3)
    assert report.ok
    from avs_studio.store import Store

    with Store(url, author="someone-else") as store:  # a write the model does not know
        video = store.videos()[0]
        obj = store.objects(video.id)[0]
        store.put_annotation(video.id, 0, obj.id, ~crash.mask_of(0), source="manual", status="edited")
    bad = crash.CrashReport("sqlite", acknowledged=report.acknowledged)
    crash._check(url, bad)
    assert bad.corrupted >= 1 and not bad.ok
