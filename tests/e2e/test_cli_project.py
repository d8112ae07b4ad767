"""`avs-studio init / add / status` end to end, on real files (SQLite, and PostgreSQL when available)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from avs_studio import __version__
from avs_studio.cli import main
from tests.helpers.media_factory import make_corrupt_file, make_video

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    good = make_video(tmp_path / "clip.mp4", frames=30, fps=10, size=(96, 64))
    silent = make_video(tmp_path / "silent.mp4", frames=20, fps=10, size=(96, 64), audio=None)
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video")
    broken = make_corrupt_file(tmp_path / "broken.mp4")
    return {"good": good, "silent": silent, "text": text, "broken": broken}


def test_version_and_help_from_the_console_script():
    out = subprocess.run(
        [sys.executable, "-m", "avs_studio", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert out.stdout.strip() == f"avs-studio {__version__}"
    out = subprocess.run(
        [sys.executable, "-m", "avs_studio", "--help"], capture_output=True, text=True, cwd=ROOT, check=True
    )
    for command in ("init", "add", "status"):
        assert command in out.stdout


def test_init_add_status(tmp_path, media, capsys):
    project = tmp_path / "proj"
    assert run_cli("init", project) == 0
    assert (project / "project.db").is_file() and (project / "avs-project.toml").is_file()
    capsys.readouterr()

    code = run_cli("add", project, media["good"], media["text"], media["silent"], media["broken"])
    out, err = capsys.readouterr()
    assert code == 1  # some files were skipped: a script must notice
    assert "notes.mp4" in err and "broken.mp4" in err and "2 file(s) were not added" in err  # each is named
    assert out.count("added ") == 2

    assert run_cli("status", project, "--json") == 0
    videos = json.loads(capsys.readouterr().out)["videos"]
    assert [Path(v["path"]).name for v in videos] == ["clip.mp4", "silent.mp4"]
    clip, silent = videos
    assert clip["frames"] == 30 and clip["fps"] == pytest.approx(10) and clip["has_audio"] is True
    assert clip["duration"] == pytest.approx(3.0, abs=0.15)
    assert silent["has_audio"] is False
    for key in ("id", "path", "frames", "fps", "duration", "has_audio", "split", "category", "annotations"):
        assert key in clip
    assert set(clip["annotations"]) >= {"status", "source"}


def test_adding_the_same_file_twice_keeps_one_row(tmp_path, media, capsys):
    project = tmp_path / "proj"
    run_cli("init", project)
    run_cli("add", project, media["good"])
    run_cli("add", project, media["good"])
    capsys.readouterr()
    run_cli("status", project, "--json")
    assert len(json.loads(capsys.readouterr().out)["videos"]) == 1


def test_not_a_project_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert run_cli("status", tmp_path / "empty") == 1
    err = capsys.readouterr().err
    assert "not an AVS Studio project" in err and "avs-studio init" in err


def test_only_bad_files_fails(tmp_path, media, capsys):
    project = tmp_path / "proj"
    run_cli("init", project)
    assert run_cli("add", project, media["text"]) == 1


def test_database_url_selects_another_database(tmp_path, media, capsys):
    project = tmp_path / "proj"
    other = tmp_path / "elsewhere.db"
    url = f"sqlite:///{other}"
    assert run_cli("--database-url", url, "init", project) == 0
    assert other.is_file() and not (project / "project.db").exists()
    assert run_cli("add", project, media["good"]) == 0  # the marker remembers the URL
    capsys.readouterr()
    run_cli("--database-url", url, "status", project, "--json")
    assert len(json.loads(capsys.readouterr().out)["videos"]) == 1


@pytest.fixture
def pg_url():
    base = os.environ.get("AVS_TEST_DATABASE_URL")
    if not base:
        pytest.skip("no PostgreSQL server: set AVS_TEST_DATABASE_URL (.ci/run starts one)")
    import sqlalchemy as sa

    name = f"avs_cli_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_cli_on_postgresql(tmp_path, media, pg_url, capsys):
    project = tmp_path / "proj"
    assert run_cli("--database-url", pg_url, "init", project) == 0
    assert not (project / "project.db").exists()
    assert run_cli("--database-url", pg_url, "add", project, media["good"], media["silent"]) == 0
    capsys.readouterr()
    assert run_cli("--database-url", pg_url, "status", project, "--json") == 0
    videos = json.loads(capsys.readouterr().out)["videos"]
    assert sorted(Path(v["path"]).name for v in videos) == ["clip.mp4", "silent.mp4"]
