"""Names from a CSV or a damaged project never steer a read outside ROOT or a write outside OUT, and
symlinks are not followed out of the tree (issue 10 item 3)."""

from __future__ import annotations

import csv
import os
import shutil

import pytest
from sqlalchemy import create_engine, text

from avs_studio.io import avsbench as layout
from avs_studio.io.errors import DatasetError
from avs_studio.jobs.exporting import export_dataset
from avs_studio.jobs.importing import import_avsbench
from avs_studio.jobs.project import init_project
from tests.helpers.avsbench_factory import make_avss, make_s4


def _copy_clip(lay, src_row, dst_row, subset="s4"):
    """Put a real clip's files where ``dst_row``'s (possibly hostile) paths point, as an attacker would."""
    n = layout.frame_count(subset, src_row)
    pairs = [
        (layout.frame_relpath(subset, src_row, i), layout.frame_relpath(subset, dst_row, i)) for i in range(n)
    ]
    pairs += [(layout.mask_relpath(subset, src_row, i), layout.mask_relpath(subset, dst_row, i))
              for i in layout.expected_masks(subset, src_row)]  # fmt: skip
    pairs.append((layout.audio_relpath(subset, src_row), layout.audio_relpath(subset, dst_row)))
    for a, b in pairs:
        dst = lay.root / b.replace("/ ..", "/..").replace(
            ".. /", "../"
        )  # what the old code opened (stripped)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(lay.root / a, dst)


def _append_rows(lay, rows):
    path = lay.root / layout.CSV_NAME[lay.subset]
    with open(path, "a", newline="", encoding="utf-8") as fh:
        csv.DictWriter(fh, fieldnames=layout.CSV_COLUMNS[lay.subset]).writerows(rows)


HOSTILE_ROWS = [
    {"name": "evil1", "start_time": "0", "category": "dog", "split": " .."},
    {"name": "evil2", "start_time": "0", "category": " ..", "split": "train"},
    {"name": " .. ", "start_time": "0", "category": "dog", "split": "val"},
    {"name": "evil4", "start_time": "0", "category": "dog", "split": "C:train"},
    {"name": "x" * 240, "start_time": "0", "category": "dog", "split": "val"},
    {"name": "evil6", "start_time": "0", "category": "..\\..", "split": "val"},
]


def test_hostile_csv_names_are_reported_and_the_rest_imported(tmp_path):
    lay = make_s4(tmp_path / "src")
    for row in HOSTILE_ROWS[:3]:
        _copy_clip(lay, lay.rows[0], {**row, **{k: v.strip() for k, v in row.items()}})
    _append_rows(lay, HOSTILE_ROWS)
    with init_project(tmp_path / "p") as project:
        report = import_avsbench(project, lay.root, "s4")
        bad = [p for p in report.problems if "malformed row" in p.reason]
        assert len(bad) == len(HOSTILE_ROWS), report.problems
        for problem, column in zip(bad, ["split", "category", "name", "split", "name", "category"]):
            assert f"column {column!r}" in problem.reason
        assert sorted(v.name for v in project.store.videos()) == sorted(lay.names())
        media = project.media_dir / "avsbench" / "s4"
        assert sorted(p.name for p in media.iterdir() if p.suffix == ".mkv") == sorted(
            f"{n}.mkv" for n in lay.names()
        )


def test_symlinks_out_of_root_are_not_followed(tmp_path):
    lay = make_s4(tmp_path / "src")
    outside = tmp_path / "outside"
    outside.mkdir()
    a, b, c = lay.rows[0], lay.rows[1], lay.rows[2]
    frame = lay.root / layout.frame_relpath("s4", a, 0)  # a file symlinked out of ROOT
    shutil.move(frame, outside / "frame.png")
    os.symlink(outside / "frame.png", frame)
    audio = lay.root / layout.audio_relpath("s4", b)
    shutil.move(audio, outside / "audio.wav")
    os.symlink(outside / "audio.wav", audio)
    folder = (lay.root / layout.mask_relpath("s4", c, 0)).parent  # a whole folder symlinked out
    shutil.move(folder, outside / "masks")
    os.symlink(outside / "masks", folder)
    d = lay.rows[3]  # a symlink that stays inside ROOT is fine
    inner = lay.root / layout.frame_relpath("s4", d, 1)
    shutil.move(inner, lay.root / "kept.png")
    os.symlink(lay.root / "kept.png", inner)
    with init_project(tmp_path / "p") as project:
        report = import_avsbench(project, lay.root, "s4")
        problems = {p.path: p.reason for p in report.problems}
        assert "outside" in problems[str(frame)] and "outside" in problems[str(audio)]
        mask = lay.root / layout.mask_relpath("s4", c, 0)
        assert "outside" in problems[str(mask)]
        names = {v.name for v in project.store.videos()}
        assert names == {c["name"], d["name"]}  # a and b skipped; c kept without the masks from outside
        video = next(v for v in project.store.videos() if v.name == c["name"])
        assert project.store.annotations(video_id=video.id) == []


def test_avss_label_folder_out_of_root_is_refused(tmp_path):
    lay = make_avss(tmp_path / "src")
    row = lay.rows[0]
    clip_dir = lay.root / row["label"] / row["uid"]
    shutil.move(clip_dir, tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", clip_dir)
    with init_project(tmp_path / "p") as project:
        report = import_avsbench(project, lay.root, "avss")
        assert any("outside" in p.reason for p in report.problems)
        assert row["uid"] not in {v.name for v in project.store.videos()}


@pytest.mark.parametrize(
    ("fmt", "column", "value"),
    [("avsbench-s4", "category", "../../escape"), ("avsbench-s4", "split", " .."),
     ("png", "name", "../../escape"), ("coco", "name", "../escape"), ("avsbench-ms3", "name", "/tmp/escape")],
)  # fmt: skip
def test_export_rechecks_names_already_in_a_project(tmp_path, fmt, column, value):
    """A project written before names were checked (or edited by hand): the export refuses to build a
    path from the bad name, names the video, and writes nothing anywhere."""
    lay = make_s4(tmp_path / "src")
    with init_project(tmp_path / "p") as project:
        import_avsbench(project, lay.root, "s4")
        engine = create_engine(project.store.url)
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE videos SET {column} = :v WHERE id = 1"), {"v": value})
        engine.dispose()
        out = tmp_path / "deep" / "out"
        with pytest.raises(DatasetError, match="video 1") as info:
            export_dataset(project, out, fmt, write_frames=True)
        assert column in str(info.value)
        assert (
            not out.exists()
            and not (tmp_path / "escape").exists()
            and not (tmp_path / "deep" / "escape").exists()
        )
        assert sorted(os.listdir(tmp_path / "deep")) == []
