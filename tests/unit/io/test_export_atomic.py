"""Exports are atomic: no partial output on failure or cancel, no overwrite without force."""

from __future__ import annotations

import threading

import pytest

from avs_studio.io import writers
from avs_studio.io.errors import OutputExistsError
from avs_studio.jobs.exporting import ExportCancelled, export_dataset


def _leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name)


@pytest.mark.parametrize("imported", ["s4"], indirect=True)
def test_failure_midway_leaves_nothing(imported, tmp_path, monkeypatch):
    _, project, _ = imported
    out = tmp_path / "release"
    real_add = writers.AvsbenchWriter.add
    calls = {"n": 0}

    def failing_add(self, clip):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real_add(self, clip)

    monkeypatch.setattr(writers.AvsbenchWriter, "add", failing_add)
    with pytest.raises(OSError, match="No space"):
        export_dataset(project, out, "avsbench-s4")
    assert calls["n"] == 2
    assert not out.exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("imported", ["s4"], indirect=True)
def test_cancel_leaves_nothing(imported, tmp_path):
    _, project, _ = imported
    cancel = threading.Event()
    seen = []

    def progress(done, total, name):
        seen.append(done)
        cancel.set()

    with pytest.raises(ExportCancelled):
        export_dataset(project, tmp_path / "c", "coco", progress=progress, cancel=cancel)
    assert seen == [1] and not (tmp_path / "c").exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("imported", ["s4"], indirect=True)
def test_refuses_non_empty_output_unless_forced(imported, tmp_path):
    _, project, _ = imported
    out = tmp_path / "release"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="--force"):
        export_dataset(project, out, "coco")
    assert (out / "keep.txt").read_text() == "mine" and _leftovers(tmp_path) == []
    with pytest.raises(OutputExistsError, match="keep.txt|not an earlier export"):
        export_dataset(project, out, "coco", force=True)  # --force replaces only an earlier export
    assert (out / "keep.txt").read_text() == "mine"
    (out / "keep.txt").unlink()
    export_dataset(project, out, "png")
    report = export_dataset(project, out, "coco", force=True)
    assert not (out / "objects.json").exists() and (out / "annotations.json").is_file()
    assert report.out == out and _leftovers(tmp_path) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    export_dataset(project, empty, "png")  # an empty folder is fine
    assert (empty / "manifest.json").is_file()
