"""avs_studio.atomic: complete file or old file, never a temp file left behind."""

import os
import threading

import pytest

from avs_studio.atomic import atomic_dir, atomic_open, atomic_path, write_bytes, write_text


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name or p.name.endswith(".old"))


def test_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "a.json"
    write_text(target, "one")
    write_text(target, "two")
    assert target.read_text() == "two"
    assert _leftovers(target.parent) == []


def test_failure_keeps_old_file(tmp_path):
    target = tmp_path / "a.bin"
    write_bytes(target, b"old")
    with pytest.raises(RuntimeError), atomic_open(target, "wb") as f:
        f.write(b"half of the new")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_atomic_path_keeps_extension_and_unique_names(tmp_path):
    target = tmp_path / "m.png"
    seen = []

    def writer(i):
        with atomic_path(target) as tmp:
            seen.append(tmp)
            assert tmp.suffix == ".png" and tmp.parent == tmp_path
            tmp.write_bytes(str(i).encode())

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 8
    assert target.read_bytes() in {str(i).encode() for i in range(8)}
    assert _leftovers(tmp_path) == []


def test_append_mode_refused(tmp_path):
    with pytest.raises(ValueError, match="write mode"), atomic_open(tmp_path / "x", "ab"):
        pass


def test_atomic_dir_new_replace_and_refuse(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "f").write_text("1")
    assert (out / "f").read_text() == "1"
    with pytest.raises(FileExistsError), atomic_dir(out) as tmp:
        (tmp / "f").write_text("2")
    assert (out / "f").read_text() == "1"
    with atomic_dir(out, replace=True) as tmp:
        (tmp / "g").write_text("3")
    assert sorted(os.listdir(out)) == ["g"]
    with pytest.raises(KeyError), atomic_dir(out, replace=True) as tmp:
        (tmp / "h").write_text("4")
        raise KeyError("boom")
    assert sorted(os.listdir(out)) == ["g"]
    assert _leftovers(tmp_path) == []
