"""`export --force` never deletes a project, its media, or anything that is not an earlier export of
ours (issue 10 item 1). Every refusal leaves the file tree exactly as it was and says why."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from avs_studio.io.errors import OutputExistsError
from avs_studio.jobs.exporting import export_dataset
from avs_studio.jobs.project import add_videos, init_project
from tests.helpers.media_factory import make_video


def _tree(root: Path) -> dict[str, int]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = Path(dirpath, name)
            out[str(p.relative_to(root))] = p.lstat().st_size
    return out


@pytest.fixture
def setup(imported, tmp_path):
    """The imported project (media inside it) plus a video added from a folder outside it, another
    project, an earlier export of ours and a folder of the user's own files."""
    _, project, _ = imported
    videos = tmp_path / "my videos"
    clip = make_video(videos / "walk.mp4", frames=12, fps=6, size=(64, 48))
    (videos / "notes.txt").write_text("mine")
    assert add_videos(project, [clip]).added
    other = tmp_path / "holder" / "other-project"
    init_project(other).close()
    (tmp_path / "holder" / "todo.txt").write_text("keep me")
    earlier = tmp_path / "release"
    export_dataset(project, earlier, "coco")
    (tmp_path / "sibling.txt").write_text("a file next to the project")
    return project, tmp_path


CASES = {
    "the project": (lambda p, t: p.dir, "is the project"),
    "its parent": (lambda p, t: t, "holds the project"),
    "a folder inside the project": (lambda p, t: p.dir / "media" / "avsbench", "media"),
    "the project's models folder": (lambda p, t: _filled(p.dir / "models"), "inside the project"),
    "an earlier export inside the project": (lambda p, t: _export_inside(p), "inside the project"),
    "the media folder": (lambda p, t: p.media_dir, "media"),
    "a folder holding the project's videos": (lambda p, t: t / "my videos", "video"),
    "a folder holding another project": (lambda p, t: t / "holder", "project"),
    "another project": (lambda p, t: t / "holder" / "other-project", "project"),
    "a symlink to the project": (lambda p, t: _link(t / "link-to-project", p.dir), "is the project"),
    "a symlink to a folder holding a project": (lambda p, t: _link(t / "link-to-holder", t / "holder"), "project"),
    "the user's home-like folder": (lambda p, t: _filled(t / "home"), "not an earlier export"),
}  # fmt: skip


def _filled(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "precious.bin").write_bytes(b"x" * 100)
    return folder


def _link(link: Path, target: Path) -> Path:
    os.symlink(target, link)
    return link


def _export_inside(project) -> Path:
    out = project.dir / "exports" / "v1"
    export_dataset(project, out, "png")  # a new folder inside the project is fine
    assert (out / "manifest.json").is_file()
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_force_refuses_to_replace_what_is_not_an_earlier_export(setup, case):
    project, tmp = setup
    make, why = CASES[case]
    out = make(project, tmp)
    before = _tree(tmp)
    with pytest.raises(OutputExistsError, match=why) as info:
        export_dataset(project, out, "png", force=True)
    assert "--force" in str(info.value) or "refused" in str(info.value)
    assert _tree(tmp) == before  # nothing deleted, nothing left behind
    assert project.store.videos()  # the project still opens and reads


def test_media_folder_is_refused_even_without_force_and_when_new(setup):
    project, _ = setup
    for out in (project.media_dir / "new-export", project.media_dir / "avsbench" / "s4" / "x"):
        with pytest.raises(OutputExistsError, match="media"):
            export_dataset(project, out, "png")
        assert not out.exists()


def test_an_earlier_export_of_ours_is_replaced(setup):
    project, tmp = setup
    earlier = tmp / "release"
    old = json.loads((earlier / "manifest.json").read_text())
    report = export_dataset(project, earlier, "png", force=True)
    assert report.manifest["format"] == "png" and old["format"] == "coco"
    assert not (earlier / "annotations.json").exists() and (earlier / "objects.json").is_file()
    link = _link(tmp / "link-to-release", earlier)  # a symlink to an export: the link is replaced
    export_dataset(project, link, "coco", force=True)
    assert (earlier / "objects.json").is_file() and (link / "annotations.json").is_file()


def test_an_export_holding_a_file_of_the_user_is_refused(setup):
    project, tmp = setup
    earlier = tmp / "release"
    (earlier / "my-notes.txt").write_text("written after the export")
    (earlier / ".DS_Store").write_bytes(b"\0")  # desktop litter is not the user's work
    with pytest.raises(OutputExistsError, match="my-notes.txt"):
        export_dataset(project, earlier, "png", force=True)
    assert (earlier / "my-notes.txt").read_text() == "written after the export"


def test_a_manifest_not_written_by_us_is_not_ours(setup):
    project, tmp = setup
    fake = tmp / "fake"
    fake.mkdir()
    (fake / "manifest.json").write_text(json.dumps({"app": "something-else", "files": {}}))
    (fake / "data.bin").write_bytes(b"1")
    with pytest.raises(OutputExistsError, match="not an earlier export"):
        export_dataset(project, fake, "png", force=True)
    (fake / "manifest.json").write_text("{ not json")
    with pytest.raises(OutputExistsError, match="not an earlier export"):
        export_dataset(project, fake, "png", force=True)
    assert sorted(p.name for p in fake.iterdir()) == ["data.bin", "manifest.json"]


def test_cli_names_the_reason(setup, capsys):
    from avs_studio.cli import main

    project, tmp = setup
    assert main(["export", str(project.dir), str(project.dir), "--format", "png", "--force"]) == 1
    err = capsys.readouterr().err
    assert "is the project" in err and "Traceback" not in err
    assert (project.dir / "avs-project.toml").is_file() and (project.dir / "project.db").is_file()
    assert main(["export", str(project.dir), str(tmp), "--format", "png", "--force"]) == 1
    assert (tmp / "sibling.txt").is_file()
    shutil.rmtree(tmp / "release")
