"""`avs-studio import-masks`: DAVIS-style per-frame PNGs into a video; bad files named and skipped."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from avs_studio.cli import main
from avs_studio.io.mask_files import MaskFileError, read_mask_png
from avs_studio.jobs import add_videos, init_project, open_project
from avs_studio.jobs.import_masks import import_masks
from avs_studio.masks import davis_palette
from tests.helpers.media_factory import make_video

W, H, FRAMES = 64, 48, 20


@pytest.fixture
def project(tmp_path):
    path = make_video(tmp_path / "clip.mp4", frames=FRAMES, fps=10, size=(W, H), audio=None)
    with init_project(tmp_path / "proj") as p:
        ((_, vid),) = add_videos(p, [path]).added
        yield p, vid


def box(y0, y1, x0, x1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def save_binary(path, mask, one=255, mode="L"):
    Image.fromarray(np.where(mask, one, 0).astype(np.uint8), mode="L").convert(mode).save(path)


def save_indexed(path, idx):
    img = Image.frombytes("P", (W, H), np.ascontiguousarray(idx, np.uint8).tobytes())
    img.putpalette(davis_palette().ravel().tolist())
    img.save(path)


def raw_png(path, w, h, colour_type=0, palette=b"", pixels=b"\0" * 64):
    """A PNG written chunk by chunk (Pillow would fix what these tests need broken)."""

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    plte = chunk(b"PLTE", palette) if palette else b""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + plte + chunk(b"IDAT", zlib.compress(pixels))
                     + chunk(b"IEND", b""))  # fmt: skip


def huge_header_png(path, w=100_000, h=100_000):
    raw_png(path, w, h)


def out_of_palette_png(path, index=5, colours=3):
    rows = b"".join(b"\0" + bytes([index if (x, y) == (0, 0) else 0 for x in range(W)]) for y in range(H))
    raw_png(path, W, H, colour_type=3, palette=bytes(3 * colours), pixels=rows)


def test_binary_pngs_become_one_object_by_label(project, tmp_path, capsys):
    p, vid = project
    d = tmp_path / "bin"
    d.mkdir()
    save_binary(d / "00000.png", box(0, 10, 0, 10))  # 0 / 255
    save_binary(d / "00003.png", box(5, 20, 5, 30), one=1)  # 0 / 1
    save_binary(d / "00004.png", box(20, 40, 10, 50), mode="1")  # 1-bit
    save_binary(d / "00007.png", box(0, 0, 0, 0))  # all background: nothing sounds here
    p.close()
    proj = tmp_path / "proj"
    assert main(["import-masks", str(proj), str(vid), str(d), "--label", "Guitar"]) == 0
    out = capsys.readouterr()
    assert (
        "4 mask files read, 3 masks and 1 empty frames added, 0 already there; new objects: Guitar" in out.out
    )
    with open_project(proj) as q:
        (obj,) = q.store.objects(vid)
        assert obj.label == "Guitar"
        rows = {a.frame: a for a in q.store.annotations(video_id=vid)}
        assert sorted(rows) == [0, 3, 4, 7]
        assert np.array_equal(rows[3].mask(), box(5, 20, 5, 30)) and np.array_equal(
            rows[4].mask(), box(20, 40, 10, 50)
        )
        assert rows[7].object_id is None and not rows[7].mask().any()
        assert {(a.source, a.status) for a in rows.values()} == {("imported", "accepted")}
        # again, as proposals: everything is already there, nothing is added or overwritten
        rep = import_masks(q, vid, d, status="proposed", label="guitar")
        assert (rep.annotations_added, rep.existing, rep.objects_created) == (0, 4, [])
        assert {a.status for a in q.store.annotations(video_id=vid)} == {"accepted"}


def test_indexed_pngs_give_one_object_per_palette_index(project, tmp_path):
    p, vid = project
    d = tmp_path / "idx"
    d.mkdir()
    idx = np.zeros((H, W), np.uint8)
    idx[box(0, 20, 0, 20)] = 1
    idx[box(25, 45, 30, 60)] = 2
    save_indexed(d / "00002.png", idx)
    idx2 = np.zeros((H, W), np.uint8)
    idx2[box(10, 30, 10, 40)] = 2  # only object 2 here
    save_indexed(d / "00005.png", idx2)
    p.store.add_object(vid, "person 2")  # reused, case-insensitively
    rep = import_masks(p, vid, d, status="proposed", label="Person")
    assert rep.objects_created == ["Person 1"] and rep.annotations_added == 3 and rep.problems == []
    objs = {o.label: o.id for o in p.store.objects(vid)}
    got = {(a.frame, a.object_id): a for a in p.store.annotations(video_id=vid)}
    assert set(got) == {(2, objs["Person 1"]), (2, objs["person 2"]), (5, objs["person 2"])}
    assert np.array_equal(got[(2, objs["person 2"])].mask(), box(25, 45, 30, 60))
    assert np.array_equal(got[(5, objs["person 2"])].mask(), box(10, 30, 10, 40))
    assert {a.status for a in got.values()} == {"proposed"}


def test_bad_files_are_named_and_skipped_and_the_good_ones_imported(project, tmp_path, capsys):
    p, vid = project
    d = tmp_path / "bad"
    d.mkdir()
    save_binary(d / "00001.png", box(0, 10, 0, 10))  # the one good file
    Image.fromarray(np.zeros((H + 2, W), np.uint8)).save(d / "00002.png")  # wrong size
    (d / "00003.png").write_text("not an image at all")
    Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(d / "00004.png", format="JPEG")  # a JPEG named .png
    save_binary(d / f"{FRAMES:05d}.png", box(0, 5, 0, 5))  # frame 20 of a 20-frame video
    out_of_palette_png(d / "00006.png")  # index 5 in a 3-colour palette
    huge_header_png(d / "00007.png")
    grey = np.zeros((H, W), np.uint8)
    grey[:5, :5] = 128
    Image.fromarray(grey).save(d / "00008.png")  # neither 0/1 nor 0/255
    save_binary(d / "1.png", box(0, 3, 0, 3))  # frame 1 a second time
    (d / "00009.png").mkdir()  # a folder
    os.symlink("/dev/zero", d / "00010.png")  # endless device
    os.mkfifo(d / "00011.png")  # would block a reader
    for hostile in (
        "notes.txt",
        "00012.png.exe",
        "-rf.png",
        "..png",
        "00013.png\n\x1b[31mRED",
        "ünïcödé.png",
    ):
        (d / hostile).write_bytes(b"x")
    p.close()
    assert main(["import-masks", str(tmp_path / "proj"), str(vid), str(d)]) == 0
    out = capsys.readouterr()
    assert "1 mask files read, 1 masks" in out.out and "17 file(s) skipped" in out.out
    err = out.err
    for name, reason in (
        ("00002.png", f"is {W}x{H + 2}, the video is {W}x{H}"),
        ("00003.png", "not a PNG image"),
        ("00004.png", "not a PNG image"),
        (f"{FRAMES:05d}.png", f"frame {FRAMES} is outside the video (frames 0-{FRAMES - 1})"),
        ("00006.png", "palette index 5 is not in its 3-colour palette"),
        ("00007.png", "its header claims an oversized image"),
        ("00008.png", "grey values 0, 128 are neither 0/1 nor 0/255"),
        ("1.png", "frame 1 already comes from 00001.png"),
        ("00009.png", "not a regular file"),
        ("00010.png", "not a regular file"),
        ("00011.png", "not a regular file"),
        ("notes.txt", "not named by a 0-based frame number"),
        ("00012.png.exe", "not named by a 0-based frame number"),
        ("00013.png\\n\\x1b[31mRED", "not named by a 0-based frame number"),
    ):
        assert f"skipped {d / name}: {reason}" in err, (name, err)
    assert "\x1b" not in err and "00013.png\n" not in err  # control characters are escaped, not printed
    with open_project(tmp_path / "proj") as q:
        (row,) = q.store.annotations(video_id=vid)
        assert row.frame == 1 and np.array_equal(row.mask(), box(0, 10, 0, 10))
        assert [o.label for o in q.store.objects(vid)] == ["object"]


def test_unknown_video_or_folder_and_huge_header_are_clear_errors(project, tmp_path, capsys):
    p, vid = project
    p.close()
    proj = str(tmp_path / "proj")
    assert main(["import-masks", proj, "99", str(tmp_path)]) == 1
    assert "video 99 does not exist" in capsys.readouterr().err
    assert main(["import-masks", proj, str(vid), str(tmp_path / "nope")]) == 1
    assert "is not a folder of mask PNGs" in capsys.readouterr().err
    assert main(["import-masks", proj, str(vid), str(tmp_path), "--label", "bad\nname"]) == 1
    assert "--label 'bad\\nname' contains a control character" in capsys.readouterr().err
    huge_header_png(tmp_path / "h.png", 5000, 5000)  # under Pillow's bomb limit: refused by size
    with pytest.raises(MaskFileError, match=f"is 5000x5000, the video is {W}x{H}"):
        read_mask_png(tmp_path / "h.png", (H, W))
