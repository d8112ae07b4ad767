"""Every bad input of issue 10 item 7 (and others of the same kind) gives a named error and an exit code,
never a traceback, and loses nothing."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import tempfile
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from avs_studio.cli import main
from avs_studio.io import avsbench as layout
from avs_studio.jobs.project import init_project, open_project
from avs_studio.store import ReadOnlyError, Store, StoreError
from tests.helpers.avsbench_factory import make_s4
from tests.helpers.media_factory import make_video

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *args) -> tuple[int, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.fixture
def project(tmp_path):
    init_project(tmp_path / "p").close()
    return tmp_path / "p"


BAD_URLS = [
    ("garbage", "is not a database URL"),
    ("foo://host/db", "cannot use"),
    ("mysql://u:secret@host/db", "driver"),
    ("sqlite:////no/such/folder/x.db", "does not exist"),
    ("postgresql+psycopg://u:secret@127.0.0.1:1/db", "reachable"),
]


@pytest.mark.parametrize(("url", "why"), BAD_URLS)
def test_bad_database_url_before_or_after_the_command(capsys, tmp_path, project, url, why):
    for args in (["--database-url", url, "status", project], ["status", project, "--database-url", url]):
        code, err = run(capsys, *args)
        assert code == 1 and why in err and "secret" not in err, err
    code, err = run(capsys, "init", tmp_path / "new", "--database-url", url)
    assert code == 1 and why in err
    assert not (tmp_path / "new").exists()  # nothing half-made left behind


def test_database_url_works_after_the_command(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    assert run(capsys, "init", tmp_path / "p", "--database-url", url)[0] == 0
    assert (tmp_path / "elsewhere.db").is_file() and not (tmp_path / "p" / "project.db").exists()
    clip = make_video(tmp_path / "c.mp4", frames=6, fps=6, size=(32, 24))
    assert run(capsys, "add", tmp_path / "p", clip, "--database-url", url)[0] == 0
    assert run(capsys, "--database-url", url, "status", tmp_path / "p")[0] == 0


def test_add_exits_non_zero_when_it_skipped_a_file(capsys, tmp_path, project):
    good = make_video(tmp_path / "good.mp4", frames=6, fps=6, size=(32, 24))
    (tmp_path / "bad.mp4").write_bytes(b"\x00" * 100)
    code, err = run(capsys, "add", project, good, tmp_path / "bad.mp4")
    assert code == 1 and "bad.mp4" in err and "1 file(s) were not added" in err
    with open_project(project) as p:
        assert len(p.store.videos()) == 1  # the good one is in


@pytest.mark.parametrize(
    ("content", "why"),
    [('format = "one"\n', "'format' must be a whole number"), ("format = true\n", "'format'"),
     ("database_url = 5\n", "'database_url' must be"), ('database_url = ""\n', "'database_url'"),
     ("format = [\n", "not valid TOML"), (b"format = 1 # \xff\xfe\n", "not UTF-8"),
     ("format = 99\n", "newer AVS Studio")],
)  # fmt: skip
def test_marker_with_wrong_types(capsys, project, content, why):
    marker = project / "avs-project.toml"
    marker.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, err = run(capsys, "status", project)
    assert code == 1 and why in err and str(project) in err


def test_zero_byte_or_missing_database_is_refused_not_rebuilt(capsys, project):
    db = project / "project.db"
    db.write_bytes(b"")
    code, err = run(capsys, "status", project)
    assert code == 1 and "empty (0 bytes)" in err and "backup" in err
    assert db.stat().st_size == 0  # not silently replaced by a fresh database
    code, err = run(capsys, "add", project, project / "x.mp4")
    assert code == 1 and db.stat().st_size == 0
    db.unlink()
    code, err = run(capsys, "status", project)
    assert code == 1 and "is missing" in err and not db.exists()
    with pytest.raises(StoreError, match="empty"):
        (project / "empty.db").write_bytes(b"")
        Store(f"sqlite:///{project / 'empty.db'}")


@pytest.mark.parametrize("value", ["a,b,c", "0.8,0.1", "-1,1,1", "nan,1,1", "inf,0,0", "0,0,0", " "])
def test_bad_resplit(capsys, tmp_path, project, value):
    with pytest.raises(SystemExit) as info:
        main(["export", str(project), str(tmp_path / "out"), "--format", "png", f"--resplit={value}"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "argument --resplit" in err and "three non-negative ratios" in err
    assert not (tmp_path / "out").exists()


def _forged_png(path: Path, width: int, height: int) -> None:
    """A tiny real PNG whose header claims width x height (CRC fixed so the header itself is valid)."""
    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("w", "h"), [(60000, 60000), (9000, 9000), (1, 70_000_000)])
def test_png_claiming_huge_size_skips_that_clip(capsys, tmp_path, project, w, h):
    lay = make_s4(tmp_path / "src")
    frame = lay.root / layout.frame_relpath("s4", lay.rows[0], 2)
    mask = lay.root / layout.mask_relpath("s4", lay.rows[2], 1)
    _forged_png(frame, w, h)
    _forged_png(mask, w, h)
    code, err = run(capsys, "import-avsbench", project, lay.root, "--subset", "s4")
    assert code == 0 and str(frame) in err and f"{w}x{h}" in err or "exceeds" in err
    with open_project(project) as p:
        names = {v.name for v in p.store.videos()}
        assert names == set(lay.names()) - {lay.rows[0]["name"]}  # that clip skipped, the rest imported
        video = next(v for v in p.store.videos() if v.name == lay.rows[2]["name"])
        assert 1 not in {a.frame for a in p.store.annotations(video_id=video.id)}


def test_non_utf8_csv(capsys, tmp_path, project):
    lay = make_s4(tmp_path / "src")
    csv_path = lay.root / layout.CSV_NAME["s4"]
    text = csv_path.read_text(encoding="utf-8")
    csv_path.write_bytes(text.replace(lay.rows[1]["name"], lay.rows[1]["name"] + "é").encode("latin-1"))
    code, err = run(capsys, "import-avsbench", project, lay.root, "--subset", "s4")
    assert code == 1 and "not UTF-8" in err and "line 3" in err
    csv_path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # a BOM is fine
    assert run(capsys, "import-avsbench", project, lay.root, "--subset", "s4")[0] == 0


def test_non_utf8_translate_input(capsys, tmp_path, monkeypatch):
    bad = tmp_path / "in.json"
    bad.write_bytes('{"frames": [{"describers": {"ast": "Caf\u00e9"}}]}'.encode("latin-1"))
    code, err = run(capsys, "translate", bad)
    assert code == 1 and "not UTF-8" in err and str(bad) in err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"frames": \xff}')))
    code, err = run(capsys, "translate", "-")
    assert code == 1 and "standard input is not UTF-8" in err
    bad.write_text("[1, 2")
    code, err = run(capsys, "translate", bad)
    assert code == 1 and "not valid JSON" in err


def test_read_only_store_mode(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    with Store(url) as s:
        v = s.add_video(
            {"path": "/m/a.mp4", "fps": 1.0, "frame_count": 5, "width": 4, "height": 4, "duration": 5.0}
        )
    with Store(url, read_only=True) as ro:
        assert [r.id for r in ro.videos()] == [v] and ro.read_only
        for write in (lambda: ro.add_object(v, "x"), lambda: ro.set_setting("k", 1), ro.undo):
            with pytest.raises(ReadOnlyError, match="read-only"):
                write()
        with pytest.raises(ReadOnlyError), ro.group():
            pass
    with Store(url, read_only=True) as ro, Store(url) as rw:  # a writer at work: WAL present, mode=ro
        rw.set_setting("k", 2)
        assert ro.get_setting("k") == 2


READ_ONLY_CHILD = textwrap.dedent(
    """
    import os, sys
    import avs_studio.cli, avs_studio.commands.project, avs_studio.commands.datasets, avs_studio.jobs.exporting
    import sqlite3, sqlalchemy.dialects.sqlite, alembic.runtime.migration, PIL.PngImagePlugin, json, wave, csv
    avs_studio.cli.build_parser()  # every command module imported while the interpreter's files are readable
    import avs_studio.store.db; avs_studio.store.db.head_revision()  # the migration scripts too (cached)
    def others_can_enter(path):  # every folder up to / lets other users in (a checkout in a 0700 folder does not)
        path = os.path.realpath(path)
        while path != os.path.dirname(path):
            if not os.stat(path).st_mode & 0o001:
                return False
            path = os.path.dirname(path)
        return True
    import av
    code = [os.path.dirname(avs_studio.__file__), os.path.dirname(av.__file__)]
    if os.geteuid() == 0 and not all(map(others_can_enter, code)):
        print("cannot-drop-root", flush=True); sys.exit(0)
    if os.geteuid() == 0:  # root ignores permissions: become nobody, as a colleague with read access is
        try:
            os.setgid(65534); os.setuid(65534)
        except PermissionError:
            print("cannot-drop-root", flush=True); sys.exit(0)
    project, out = sys.argv[1:3]
    codes = [avs_studio.cli.main(["status", project]), avs_studio.cli.main(["export", project, out, "--format", "png"]),
             avs_studio.cli.main(["add", project, os.path.join(project, "media", "c.mp4")])]
    print("codes", *codes, flush=True)
    """
)


def test_a_read_only_project_can_still_be_read():
    base = Path(tempfile.mkdtemp(prefix="avs-ro-"))
    try:
        project = base / "p"
        with init_project(project) as p:
            clip = make_video(project / "media" / "c.mp4", frames=6, fps=6, size=(32, 24))
            vid = p.store.add_video(__import__("avs_studio.media", fromlist=["probe"]).probe(clip))
            p.store.put_annotation(vid, 0, None, np.zeros((24, 32), bool), source="manual", status="accepted")
        out = base / "out"
        out.mkdir()
        for folder, _dirs, files in os.walk(base):
            os.chmod(folder, 0o555)
            for f in files:
                os.chmod(os.path.join(folder, f), 0o444)
        os.chmod(base, 0o755)
        os.chmod(out, 0o777)
        before = sorted((f, (project / f).stat().st_size) for f in os.listdir(project))
        proc = subprocess.run([sys.executable, "-c", READ_ONLY_CHILD, str(project), str(out / "export")],
                              capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
        assert "Traceback" not in proc.stderr, proc.stderr
        if "cannot-drop-root" in proc.stdout:
            pytest.skip("running as root and cannot become a user who may read this checkout: permissions cannot bite")
        assert proc.stdout.split()[-3:] == ["0", "0", "1"], proc.stdout + proc.stderr
        assert "read-only" in proc.stderr and "no write permission" in proc.stderr
        assert (out / "export" / "manifest.json").is_file()
        assert sorted((f, (project / f).stat().st_size) for f in os.listdir(project)) == before
    finally:
        for folder, _dirs, _files in os.walk(base):
            os.chmod(folder, 0o755)
        import shutil

        shutil.rmtree(base)
