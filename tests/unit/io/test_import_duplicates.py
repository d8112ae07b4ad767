"""Import never merges two clips that share a name, and two imports at once never create duplicate
objects or masks (issue 10 item 5); on SQLite and, with AVS_TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from avs_studio.io import avsbench as layout
from avs_studio.jobs.importing import import_avsbench
from avs_studio.jobs.project import init_project, open_project
from tests.helpers.avsbench_factory import make_s4
from tests.unit.store.conftest import PG_SKIP, PG_URL, _empty_postgres

ROOT = Path(__file__).resolve().parents[3]


def _rewrite_csv(lay, rows):
    path = lay.root / layout.CSV_NAME["s4"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=layout.CSV_COLUMNS["s4"])
        w.writeheader()
        w.writerows(rows)


def _same_clip_as(lay, src, category):
    """A row with ``src``'s name under another category, with real files (another clip)."""
    row = {**src, "category": category}
    for rel in (
        [layout.frame_relpath("s4", src, i) for i in range(5)]
        + [layout.audio_relpath("s4", src)]
        + [layout.mask_relpath("s4", src, i) for i in layout.expected_masks("s4", src)]
    ):
        dst = lay.root / rel.replace(f"/{src['category']}/", f"/{category}/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes((lay.root / rel).read_bytes())
    return row


def test_a_second_row_with_the_same_name_is_a_problem_not_a_merge(tmp_path):
    lay = make_s4(tmp_path / "src")
    first = lay.rows[2]  # val: five masks
    twin = _same_clip_as(lay, first, "piano")
    _rewrite_csv(lay, [*lay.rows, twin])
    with init_project(tmp_path / "p") as project:
        report = import_avsbench(project, lay.root, "s4")
        dup = [p for p in report.problems if "duplicate clip name" in p.reason]
        assert (
            len(dup) == 1
            and dup[0].path.endswith(f":{len(lay.rows) + 2}")
            and "first on line 4" in dup[0].reason
        )
        video = next(v for v in project.store.videos() if v.name == first["name"])
        assert video.category == first["category"]
        assert len(project.store.annotations(video_id=video.id)) == len(layout.expected_masks("s4", first))
        assert [o.label for o in project.store.objects(video.id)] == [first["category"]]


def test_the_same_name_in_a_later_import_is_a_problem_not_already_there(tmp_path):
    lay = make_s4(tmp_path / "src")
    with init_project(tmp_path / "p") as project:
        import_avsbench(project, lay.root, "s4")
        first = lay.rows[2]
        twin = _same_clip_as(lay, first, "piano")
        _rewrite_csv(lay, [twin])
        report = import_avsbench(project, lay.root, "s4")
        assert report.videos_existing == [] and report.annotations_added == 0
        assert (
            len(report.problems) == 1 and "already in the project with category" in report.problems[0].reason
        )
        assert "piano" in report.problems[0].reason
        video = next(v for v in project.store.videos() if v.name == first["name"])
        assert [o.label for o in project.store.objects(video.id)] == [first["category"]]


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from avs_studio.jobs.importing import import_avsbench
    from avs_studio.jobs.project import open_project
    project_dir, root, go = sys.argv[1:4]
    while not Path(go).exists():
        time.sleep(0.005)
    with open_project(project_dir) as project:
        report = import_avsbench(project, root, "s4")
    print(report.annotations_added, report.annotations_existing, len(report.problems), flush=True)
    """
)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_imports_at_once_create_each_object_and_mask_once(tmp_path, backend):
    url = None
    if backend == "postgres":
        if not PG_URL:
            pytest.skip(PG_SKIP)
        _empty_postgres(PG_URL)
        url = PG_URL
    lay = make_s4(tmp_path / "src", per_split={"train": 2, "val": 3, "test": 3})
    init_project(tmp_path / "p", database_url=url).close()
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path / "p"), str(lay.root), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )  # fmt: skip
        for _ in range(2)
    ]
    go.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    added = [tuple(map(int, out.split())) for out, _ in outs]
    expected = sum(len(layout.expected_masks("s4", r)) for r in lay.rows)
    assert sum(a for a, _, _ in added) == expected  # every mask stored once between the two
    assert all(a + e == expected and p == 0 for a, e, p in added)
    with open_project(tmp_path / "p") as project:
        videos = project.store.videos()
        assert sorted(v.name for v in videos) == sorted(lay.names())
        labels = [[o.label for o in project.store.objects(v.id)] for v in videos]
        assert all(ls == [v.category] for ls, v in zip(labels, videos) if v.name != lay.names()[1])
        assert labels[1] == []  # clip 1's only mask is all black: no object
        assert len(project.store.annotations()) == expected
