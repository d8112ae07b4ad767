"""Video paths: a project opens from any folder and after moving; the same file under another spelling
or with the same content is the same video; a moved video is relinked after a hash check (issue 10
item 6)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from avs_studio.cli import main
from avs_studio.jobs.project import add_videos, init_project, missing_videos, open_project
from avs_studio.jobs.relink import RelinkError, relink
from tests.helpers.media_factory import make_video


def run(*args) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A project with one video inside its folder and one outside, both added by relative paths."""
    (tmp_path / "work").mkdir()
    outside = make_video(tmp_path / "work" / "videos" / "street.mp4", frames=12, fps=6, size=(64, 48))
    init_project(tmp_path / "proj").close()
    inside = make_video(tmp_path / "proj" / "media" / "drum.mp4", frames=14, fps=6, size=(64, 48))
    monkeypatch.chdir(tmp_path / "work")
    assert run("add", "../proj", "videos/street.mp4", "../proj/media/drum.mp4") == 0
    return tmp_path, outside, inside


def _status(capsys, project) -> list[dict]:
    capsys.readouterr()
    assert run("status", project, "--json") == 0
    return json.loads(capsys.readouterr().out)["videos"]


def test_paths_are_stored_relative_inside_the_project_and_open_from_anywhere(world, capsys, monkeypatch):
    tmp, outside, inside = world
    with open_project(tmp / "proj") as project:
        rows = project.store.videos()
        assert [r.stored_path for r in rows] == [str(outside.resolve()), "media/drum.mp4"]
    (tmp / "elsewhere").mkdir()
    monkeypatch.chdir(tmp / "elsewhere")
    videos = _status(capsys, tmp / "proj")
    assert [Path(v["path"]) for v in videos] == [outside.resolve(), (tmp / "proj" / "media" / "drum.mp4")]
    assert [v["missing"] for v in videos] == [False, False]
    with open_project(tmp / "proj") as project:  # frames decode from here too
        for v in project.store.videos():
            project.store.put_annotation(v.id, 0, None, __import__("numpy").zeros((48, 64), bool),
                                         source="manual", status="accepted")  # fmt: skip
    assert run("export", tmp / "proj", "out", "--format", "avsbench-s4") == 0
    assert (tmp / "elsewhere" / "out" / "manifest.json").is_file()


def test_the_project_folder_can_move(world, capsys):
    tmp, outside, _ = world
    shutil.move(tmp / "proj", tmp / "moved")
    videos = _status(capsys, tmp / "moved")
    assert [Path(v["path"]) for v in videos] == [outside.resolve(), tmp / "moved" / "media" / "drum.mp4"]
    assert not any(v["missing"] for v in videos)


def test_another_spelling_or_the_same_content_is_the_same_video(world, capsys):
    tmp, outside, _ = world
    os.symlink(outside, tmp / "work" / "link.mp4")
    shutil.copyfile(outside, tmp / "work" / "copy.mp4")
    capsys.readouterr()
    code = run(
        "add",
        "../proj",
        "videos/../videos/street.mp4",
        str(outside),
        "./videos/street.mp4",
        "link.mp4",
        "copy.mp4",
    )
    out = capsys.readouterr().out
    assert code == 0 and "added" not in out
    assert out.count("kept ") == 5 and out.count("same content as video 1") == 2 and "already video 1" in out
    assert len(_status(capsys, tmp / "proj")) == 2


def test_paths_stored_absolute_by_an_older_version_become_relative(world):
    tmp, _, inside = world
    engine = create_engine(f"sqlite:///{tmp / 'proj' / 'project.db'}")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE videos SET path = :p WHERE id = 2"), {"p": str(tmp / "proj" / "media" / "drum.mp4")}
        )
    engine.dispose()
    with open_project(tmp / "proj") as project:
        assert project.store.video(2).stored_path == "media/drum.mp4"


def test_relink_a_moved_video(world, capsys):
    tmp, outside, _ = world
    moved = tmp / "archive" / "street.mp4"
    moved.parent.mkdir()
    shutil.move(outside, moved)
    capsys.readouterr()
    assert run("status", tmp / "proj") == 0
    cap = capsys.readouterr()
    assert "(MISSING)" in cap.out and "avs-studio relink" in cap.err
    with open_project(tmp / "proj") as project:
        assert [v.id for v in missing_videos(project)] == [1]
    assert run("relink", tmp / "proj", 1, moved) == 0
    assert "now reads" in capsys.readouterr().out
    assert not any(v["missing"] for v in _status(capsys, tmp / "proj"))

    other = make_video(tmp / "other.mp4", frames=12, fps=6, size=(64, 48), counter=False)
    assert run("relink", tmp / "proj", 1, other) == 1
    err = capsys.readouterr().err
    assert "content differs" in err and "--force" in err and "Traceback" not in err
    small = make_video(tmp / "small.mp4", frames=10, fps=6, size=(64, 48))
    assert run("relink", tmp / "proj", 1, small, "--force") == 1
    assert "masks would not fit" in capsys.readouterr().err
    notes = tmp / "notes.mp4"
    notes.write_text("not a video")
    assert run("relink", tmp / "proj", 1, notes) == 1
    assert "notes.mp4" in capsys.readouterr().err
    assert run("relink", tmp / "proj", 99, moved) == 1
    assert "video 99 does not exist" in capsys.readouterr().err
    with open_project(tmp / "proj") as project:
        assert Path(project.store.video(1).path) == moved  # every refusal changed nothing
        row = relink(project, 1, other, force=True)  # a re-encode: same frames and size
        assert row.sha256 != project.store.video(2).sha256 and Path(row.path) == other
        assert row.meta["relinked_from"] and row.frame_count == 12
        with pytest.raises(RelinkError, match="already video 2|content differs"):
            relink(project, 1, tmp / "proj" / "media" / "drum.mp4")


def test_add_videos_api_reports_existing(tmp_path):
    clip = make_video(tmp_path / "a.mp4", frames=6, fps=6, size=(32, 24))
    with init_project(tmp_path / "p") as project:
        assert add_videos(project, [clip]).added
        report = add_videos(project, [clip, tmp_path / "." / "a.mp4"])
        assert report.added == [] and [e[1] for e in report.existing] == [1, 1]
