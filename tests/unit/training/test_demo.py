"""Synthetic S4 demo data, easy and hard: layout, determinism, and that only the audio tells which shape
is the target (hard: 6 classes, 2-3 shapes a frame, colours unrelated to the class, varied class sounds)."""

import csv
import hashlib
import wave

import cv2
import numpy as np
import pytest

from avs_studio.io.demo import HARD_SHAPES, SHAPES, SOUNDS, DemoDataError, make_demo_s4
from avs_studio.io.demo_sounds import HARD_SOUNDS


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


@pytest.fixture(scope="module")
def hard(tmp_path_factory):
    root = tmp_path_factory.mktemp("hard") / "s4"
    make_demo_s4(root, hard=True, train=24, val=2, test=4, seed=3, size=96)
    return root


def _objects(image: np.ndarray, background: np.ndarray) -> list[np.ndarray]:
    """Connected regions that differ from the background (the shapes), as masks."""
    far = (np.abs(image.astype(np.float32) - background).sum(-1) > 60).astype(np.uint8)
    n, labels = cv2.connectedComponents(far)
    return [labels == k for k in range(1, n) if (labels == k).sum() > 20]


def test_hard_task_layout_classes_and_shapes(hard):
    rows = list(csv.DictReader(open(hard / "s4_meta_data.csv")))
    assert {r["category"] for r in rows if r["split"] == "train"} == set(HARD_SHAPES)
    assert len(HARD_SHAPES) == 6
    counts = []
    for r in rows:
        name, cat, split = r["name"], r["category"], r["split"]
        masks = sorted((hard / "gt_masks" / split / cat / name).glob("*.png"))
        assert len(masks) == (1 if split == "train" else 5)  # S4: train clips have one annotated frame
        img = cv2.imread(str(hard / "visual_frames" / split / cat / name / f"{name}_1.png"))[..., ::-1]
        mask = cv2.imread(str(masks[0]), cv2.IMREAD_GRAYSCALE) > 127
        background = np.median(img[~mask], axis=0)
        shapes = _objects(img, background)
        counts.append(len(shapes))
        assert sum((s & mask).sum() > 0.8 * s.sum() for s in shapes) == 1  # exactly one shape is the target
    assert set(counts) == {2, 3}  # two or three shapes per frame


def test_hard_task_colours_say_nothing(hard):
    hues: dict[str, list[float]] = {}
    for mask_path in (hard / "gt_masks" / "train").rglob("*.png"):
        mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE) > 127
        img = cv2.imread(str(mask_path).replace("gt_masks", "visual_frames"))
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        hues.setdefault(mask_path.parent.parent.name, []).append(float(np.median(hsv[..., 0][mask])))
    spread = [max(h) - min(h) for h in hues.values()]
    assert min(spread) > 45  # each class's targets come in unrelated colours (OpenCV hue is 0..180)


def _spectrum_peak(path, t0=0.0, seconds=1.0) -> float:
    with wave.open(str(path)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32)
    seg = x[int(t0 * 16000) : int((t0 + seconds) * 16000)]
    return float(np.argmax(np.abs(np.fft.rfft(seg * np.hanning(len(seg))))) / seconds)


def test_hard_task_sounds_vary_within_a_class(hard):
    by_class: dict[str, list] = {}
    for wav in (hard / "audio_wav" / "train").rglob("*.wav"):
        by_class.setdefault(wav.parent.name, []).append(wav)
    for kind, wavs in by_class.items():
        f0 = HARD_SOUNDS[kind][0]
        with wave.open(str(wavs[0])) as w:
            a = np.frombuffer(w.readframes(16000), "<i2").astype(np.float32)
        with wave.open(str(wavs[1])) as w:
            b = np.frombuffer(w.readframes(16000), "<i2").astype(np.float32)
        assert np.corrcoef(a, b)[0, 1] < 0.5  # two clips of a class are different sounds
        peaks = [_spectrum_peak(w, 0.0, 5.0) for w in wavs]
        # the loudest partial is a harmonic of the class's pitch (jittered by at most 10 %)
        assert all(any(abs(p - h * f0) <= 0.11 * h * f0 for h in range(1, 6)) for p in peaks), (kind, peaks)


def test_hard_defaults_and_cli(tmp_path, monkeypatch):
    from avs_studio.io import demo

    monkeypatch.setattr(demo, "HARD_CLIPS", {"train": 3, "val": 1, "test": 2})
    report = make_demo_s4(tmp_path / "h", hard=True, size=48)
    assert report.clips == {"train": 3, "val": 1, "test": 2} and report.categories == list(HARD_SHAPES)
    assert demo.HARD_CLIPS is not demo.EASY_CLIPS
    with pytest.raises(DemoDataError, match="shapes_per_frame"):
        make_demo_s4(tmp_path / "bad", hard=True, shapes_per_frame=7)
