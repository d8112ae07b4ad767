"""avs_studio.names: every hostile class of name is refused where it enters the store, and path joins
never leave their root (issue 10 item 3)."""

from __future__ import annotations

import os

import pytest

from avs_studio import names
from avs_studio.store import Store
from tests.unit.store.helpers import VIDEO

HOSTILE = [
    "..", " ..", ".. ", " .. ", ".", "...", "../../x", "../..", "a/b", "/etc", "/abs/path", "a\\b",
    "..\\..\\x", "\\\\server\\share", "C:", "C:x", "c:\\windows", "a:b", "a\x00b", "\x00", "a\nb", "ta\tb",
    "", " ", "   ", "\t", "x" * (names.MAX_BYTES + 1), "é" * (names.MAX_BYTES // 2 + 1),
]  # fmt: skip
FINE = ["train", "val", "dog_bark", "male speech", "-0QqFjLuT9U_30000", "a.b", "..a", "a..", "猫", "x" * 200]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_names_are_refused_with_the_field_named(value):
    with pytest.raises(names.UnsafeNameError, match="^split "):
        names.check_name(value, "split")


@pytest.mark.parametrize("value", FINE)
def test_ordinary_names_pass_stripped(value):
    assert names.check_name(f" {value} ", "category") == value


@pytest.mark.parametrize("value", [None, 3, b"train"])
def test_non_text_is_refused(value):
    with pytest.raises(names.UnsafeNameError, match="not text"):
        names.check_name(value, "split")


def test_clean_name_makes_file_stems_safe():
    assert names.clean_name("a/b\\c:d\x00e") == "a_b_c_d_e"
    assert names.clean_name("..") == "video" and names.clean_name("  ") == "video"
    assert len(names.clean_name("x" * 500).encode()) == names.MAX_BYTES
    assert names.check_name(names.clean_name("ok name"), "video name") == "ok name"


def test_safe_join_stays_inside_and_does_not_follow_symlinks_out(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    assert names.safe_join(root, "sub/x.png") == root / "sub" / "x.png"
    assert names.safe_join(root, "sub", "..", "y") == root / "sub" / ".." / "y"  # still inside
    for parts in (("..", "outside"), ("sub/../../outside/secret.txt",), ("/etc/passwd",), ("C:\\x",),
                  ("\\\\host\\share",), ("a\x00b",)):  # fmt: skip
        with pytest.raises(names.UnsafePathError):
            names.safe_join(root, *parts)
    os.symlink(outside, root / "link")
    os.symlink(outside / "secret.txt", root / "sub" / "file.txt")
    with pytest.raises(names.UnsafePathError, match="leads outside"):
        names.safe_join(root, "link", "secret.txt")
    with pytest.raises(names.UnsafePathError, match="leads outside"):
        names.safe_join(root, "sub/file.txt")
    os.symlink(root / "sub", root / "inner")  # a symlink that stays inside is fine
    assert names.safe_join(root, "inner", "x") == root / "inner" / "x"


@pytest.mark.parametrize("value", ["../../x", " ..", "a/b", "/abs", "C:x", "a\x00b", " ", "x" * 300])
def test_store_refuses_hostile_names_where_they_enter(tmp_path, value):
    with Store(f"sqlite:///{tmp_path / 'p.db'}") as store:
        for field, kw in (("split", {"split": value}), ("category", {"category": value}), ("video name", {"name": value})):  # fmt: skip
            with pytest.raises(names.UnsafeNameError, match=field):
                store.add_video(VIDEO, **kw)
        assert store.videos() == [] and store.categories() == []
        v = store.add_video(VIDEO, split=" train ", category="dog ")
        assert (store.video(v).split, store.video(v).category) == ("train", "dog")
        for field in ("name", "split", "category"):  # rename
            with pytest.raises(names.UnsafeNameError):
                store.update_video(v, **{field: value})
        assert (store.video(v).name, store.video(v).split) == ("dog", "train")
        o = store.add_object(v, " barking dog ")
        assert store.objects(v)[0].label == "barking dog"
        for label in ("", "  ", "a\x00b", "x" * 201):
            with pytest.raises(names.UnsafeNameError):
                store.add_object(v, label)
            with pytest.raises(names.UnsafeNameError):
                store.update_object(o, label=label)
        for key in ("", " ", "a\x00b", "k" * 201):
            with pytest.raises(ValueError, match="setting key"):
                store.set_setting(key, 1)


def test_a_file_stem_becomes_a_safe_default_name(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'p.db'}") as store:
        v = store.add_video({**VIDEO, "path": str(tmp_path / "take:1\\b.mp4")})
        assert store.video(v).name == "take_1_b"
