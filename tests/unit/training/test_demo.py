"""Synthetic S4 demo data: layout, determinism, and that only the audio tells which shape is the target."""

import csv
import hashlib
import wave

import cv2
import numpy as np
import pytest

from avs_studio.io.demo import SHAPES, SOUNDS, DemoDataError, make_demo_s4


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "s4"
    make_demo_s4(root, train=4, val=2, test=4, seed=7, size=96)
    return root


def test_layout_follows_avsbench_s4(demo):
    rows = list(csv.DictReader(open(demo / "s4_meta_data.csv")))
    assert [r["split"] for r in rows].count("train") == 4 and len(rows) == 10
    assert set(rows[0]) == {"name", "start_time", "category", "split"}
    for r in rows:
        name, cat, split = r["name"], r["category"], r["split"]
        assert cat in SHAPES
        frames = sorted((demo / "visual_frames" / split / cat / name).glob("*.png"))
        assert [f.name for f in frames] == [f"{name}_{k}.png" for k in range(1, 6)]
        masks = sorted((demo / "gt_masks" / split / cat / name).glob("*.png"))
        assert len(masks) == (1 if split == "train" else 5)
        m = cv2.imread(str(masks[0]), cv2.IMREAD_UNCHANGED)
        assert m.shape == (96, 96) and set(np.unique(m)) == {0, 255}
        img = cv2.imread(str(frames[0]))
        assert img.shape == (96, 96, 3)
        with wave.open(str(demo / "audio_wav" / split / cat / f"{name}.wav")) as w:
            assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (16000, 1, 5 * 16000)


def test_frames_show_distractor_shapes_outside_the_mask(demo):
    # every frame has coloured shapes outside the target mask (other classes): vision alone is ambiguous
    for mask_path in (demo / "gt_masks" / "test").rglob("*.png"):
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 127
        img = cv2.imread(str(mask_path).replace("gt_masks", "visual_frames")).astype(np.float32)
        background = np.median(img[~mask], axis=0)
        far = np.abs(img - background).sum(-1) > 60
        outside = far & ~cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert outside.sum() > 0.3 * mask.sum() > 0


def test_audio_carries_the_class(demo):
    rows = list(csv.DictReader(open(demo / "s4_meta_data.csv")))
    for r in rows:
        with wave.open(str(demo / "audio_wav" / r["split"] / r["category"] / f"{r['name']}.wav")) as w:
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32)
        spectrum = np.abs(np.fft.rfft(x[:16000]))
        peak_hz = np.argmax(spectrum)  # 1 s window: bin = Hz
        assert abs(peak_hz - SOUNDS[r["category"]][0]) < 0.06 * SOUNDS[r["category"]][0]


def test_deterministic_by_seed(tmp_path):
    a = make_demo_s4(tmp_path / "a", train=2, val=1, test=1, seed=3, size=64).root
    b = make_demo_s4(tmp_path / "b", train=2, val=1, test=1, seed=3, size=64).root
    c = make_demo_s4(tmp_path / "c", train=2, val=1, test=1, seed=4, size=64).root
    assert _digest(a) == _digest(b) != _digest(c)


def test_refuses_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(DemoDataError, match="x"):
        make_demo_s4(tmp_path / "x", train=1, val=1, test=1)
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"
