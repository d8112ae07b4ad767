"""Malformed rows, missing files and unreadable images are reported by path and skipped."""

from __future__ import annotations

import pytest

from avs_studio.io import avsbench as layout
from avs_studio.io.errors import DatasetError
from avs_studio.jobs.importing import import_avsbench
from avs_studio.jobs.project import init_project
from tests.unit.io.conftest import MAKERS

DEFECTS = ("malformed_row", "missing_frame", "unreadable_png")


@pytest.mark.parametrize("subset", ["s4", "ms3", "avss"])
def test_defects_are_reported_and_the_rest_imported(tmp_path, subset):
    lay = MAKERS[subset](tmp_path / "src", defects=DEFECTS)
    with init_project(tmp_path / "p") as project:
        report = import_avsbench(project, lay.root, subset)
        problems = {p.path: p.reason for p in report.problems}
        csv_path = str(lay.root / layout.CSV_NAME[subset])
        assert any(path.startswith(csv_path + ":") and "malformed" in r for path, r in problems.items())
        assert "missing" in problems[str(lay.defects["missing_frame"])]
        assert "unreadable mask" in problems[str(lay.defects["unreadable_png"])]
        assert len(report.problems) == 3

        victim = lay.rows[-1]  # its frame 3 is missing: clip skipped
        names = {v.name for v in project.store.videos()}
        assert names == set(lay.names()) - {layout.clip_name(subset, victim)}
        # the clip with the unreadable mask is kept, without that frame's annotation
        broken = lay.rows[-2]
        video = next(v for v in project.store.videos() if v.name == layout.clip_name(subset, broken))
        frames = {a.frame for a in project.store.annotations(video_id=video.id)}
        expected = set(layout.expected_masks(subset, broken))
        assert frames == expected - {max(expected)}


def test_missing_audio_and_unreadable_frame_skip_the_clip(tmp_path):
    lay = MAKERS["s4"](tmp_path / "src", defects=("missing_audio",))
    row = lay.rows[0]
    bad_frame = lay.root / layout.frame_relpath("s4", row, 0)
    bad_frame.write_bytes(b"garbage")
    with init_project(tmp_path / "p") as project:
        report = import_avsbench(project, lay.root, "s4")
        problems = {p.path: p.reason for p in report.problems}
        assert "audio file missing" in problems[str(lay.defects["missing_audio"])]
        assert "unreadable frame" in problems[str(bad_frame)]
        assert {v.name for v in project.store.videos()} == set(lay.names()[1:-1])


def test_missing_csv_or_header_is_a_clear_error(tmp_path):
    with init_project(tmp_path / "p") as project:
        with pytest.raises(DatasetError, match="s4_meta_data.csv not found"):
            import_avsbench(project, tmp_path, "s4")
        (tmp_path / "s4_meta_data.csv").write_text("clip,when\nx,1\n")
        with pytest.raises(DatasetError, match="lacks column"):
            import_avsbench(project, tmp_path, "s4")
        with pytest.raises(DatasetError, match="unknown AVSBench subset"):
            import_avsbench(project, tmp_path, "s5")


def test_progress_and_cancel(tmp_path):
    import threading

    lay = MAKERS["ms3"](tmp_path / "src", per_split={"train": 3})
    calls = []
    cancel = threading.Event()

    def progress(done, total, message):
        calls.append((done, total, message))
        if done == 1:
            cancel.set()

    with init_project(tmp_path / "p") as project:
        report = import_avsbench(project, lay.root, "ms3", progress=progress, cancel=cancel)
        assert report.cancelled and len(project.store.videos()) == 1
        assert calls == [(1, 3, lay.names()[0])]
        rest = import_avsbench(project, lay.root, "ms3")  # resumes: only the missing clips are added
        assert sorted(rest.videos_added) == sorted(lay.names()[1:]) and not rest.cancelled
