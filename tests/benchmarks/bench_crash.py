"""Crash benchmark: SIGKILL an editor working through the Store N times (SQLite, and PostgreSQL when
AVS_TEST_DATABASE_URL is set); figures: kills, edits committed, edits lost (target 0), slots corrupted
(target 0), seconds per kill. See tests/helpers/crash.py for what is checked."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from sqlalchemy import MetaData, create_engine

from tests.benchmarks._common import Figures
from tests.helpers import crash


def _empty(url: str) -> None:
    engine = create_engine(url)
    md = MetaData()
    md.reflect(engine)
    md.drop_all(engine)
    engine.dispose()


def main(quick: bool = False) -> list[dict]:
    emit = Figures("crash")
    kills = 20 if quick else 100
    urls = {"sqlite": None, "postgresql": os.environ.get("AVS_TEST_DATABASE_URL")}
    with tempfile.TemporaryDirectory() as tmp:
        for backend, url in urls.items():
            if backend == "postgresql" and not url:
                print("  (postgresql skipped: set AVS_TEST_DATABASE_URL)")
                continue
            if url is None:
                url = f"sqlite:///{Path(tmp) / 'crash.db'}"
            else:
                _empty(url)
            r = crash.run(url, kills, Path(tmp) / backend, seed=7, max_delay=0.1)
            emit(f"{backend}: kills", r.kills, "", f">= {kills}")
            emit(f"{backend}: edits committed", r.committed, "", "-")
            emit(f"{backend}: acknowledged edits lost", r.lost, "", "0")
            emit(f"{backend}: slots corrupted", r.corrupted, "", "0")
            emit(f"{backend}: seconds per kill", r.seconds / max(r.kills, 1), "s", "-")
            for problem in r.problems[:5]:
                print(f"  !! {problem}")
    return emit.rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
