"""AVSBench metrics on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from avs_studio.masks import metrics

approx = lambda v: pytest.approx(v, rel=1e-6, abs=1e-7)  # noqa: E731


def f_of(prec: float, rec: float) -> float:
    return 0.0 if prec == 0 and rec == 0 else 1.3 * prec * rec / (0.3 * prec + rec)


def test_empty_gt_empty_prediction_scores_one_and_is_skipped_by_f():
    z = np.zeros((4, 6), np.float32)
    assert metrics.frame_iou(z, z) == 1.0
    assert metrics.frame_f_curve(z, z) is None
    assert metrics.batch_fscore([z], [z]) == 0.0
    assert metrics.evaluate_binary([([z], [z])]) == {"miou": 1.0, "fscore": 0.0, "frames": 1, "batches": 1}


def test_empty_gt_nonempty_prediction_scores_background_fraction():
    gt = np.zeros((4, 5), np.uint8)
    pred = np.zeros((4, 5), np.float32)
    pred[0, :3] = 0.9  # 3 of 20 pixels predicted foreground
    assert metrics.frame_iou(pred, gt) == approx(17 / 20)


def test_all_ones_prediction():
    gt = np.zeros((4, 4), np.uint8)
    gt[:2, :] = 255  # 8 of 16 pixels
    ones = np.ones((4, 4), np.float32)
    assert metrics.frame_iou(ones, gt) == approx(0.5)
    curve = metrics.frame_f_curve(ones, gt)
    assert curve.shape == (255,) and curve.dtype == np.float32
    assert np.all(curve == curve[0])  # every threshold keeps all pixels (the last threshold is 1.0)
    assert float(curve.max()) == approx(f_of(0.5, 1.0))


def test_threshold_is_strict_for_iou_and_inclusive_for_f():
    thr = metrics.thresholds()
    gt = np.array([[1, 1, 0, 0]], np.uint8)
    pred = np.array([[thr[10], thr[10], thr[9], 0.0]], np.float32)
    assert metrics.batch_fscore([pred], [gt]) == approx(1.0)  # at t10, p >= t keeps exactly the 2 fg pixels
    half = np.array([[0.5, 0.5, 0.0, 0.0]], np.float32)
    assert metrics.frame_iou(half, gt) == 0.0  # p == 0.5 is background
    above = np.nextafter(half, np.float32(1)) * (half > 0)
    assert metrics.frame_iou(above, gt) == approx(1.0)


def test_uint8_png_probabilities_are_value_over_255():
    gt = np.array([[1, 0]], np.uint8)
    pred = np.array([[128, 127]], np.uint8)  # 128/255 > 0.5, 127/255 < 0.5
    assert metrics.frame_iou(pred, gt) == approx(1.0)
    # at thresholds up to 127/255 both pixels are positive (precision 1/2), above only the fg one
    assert metrics.batch_fscore([pred], [gt]) == approx(1.0)


def _perfect(h=3, w=5):
    g = np.zeros((h, w), np.uint8)
    g[0, 0] = 1
    return g.astype(np.float32), g


@pytest.mark.parametrize("n_frames", [1, 3, 20])
def test_batches_of_1_3_20_frames(n_frames):
    frames = []
    for i in range(n_frames):
        g = np.zeros((3, 7), np.uint8)  # non-square
        g[0, : 1 + i % 3] = 1  # 1..3 fg pixels
        p = np.zeros((3, 7), np.float32)
        p[0, :2] = 0.8  # always 2 predicted
        frames.append((p, g))
    preds, gts = [f[0] for f in frames], [f[1] for f in frames]
    ious = [[1 / 2, 1.0, 2 / 3][i % 3] for i in range(n_frames)]
    assert metrics.batch_miou(preds, gts) == approx(sum(ious) / n_frames)
    # F per threshold: p in {0, 0.8}; t <= 0.8 -> 2 predicted; t > 0.8 -> none (F 0)
    fs = [f_of(*[(0.5, 1.0), (1.0, 1.0), (1.0, 2 / 3)][i % 3]) for i in range(n_frames)]
    assert metrics.batch_fscore(preds, gts) == approx(sum(fs) / n_frames)
    # one video of n frames is one batch
    res = metrics.evaluate_binary([(preds, gts)])
    assert res["batches"] == 1 and res["frames"] == n_frames
    assert res["miou"] == approx(sum(ious) / n_frames)


def test_last_partial_batch_weighs_as_a_full_one():
    good_p, good_g = _perfect()
    bad_p = np.zeros((3, 5), np.float32)
    videos = [([good_p], [good_g])] * 4 + [([bad_p], [good_g])]
    res = metrics.evaluate_binary(videos)
    assert res["batches"] == 2 and res["frames"] == 5
    assert res["miou"] == approx(0.5)  # (1 + 0) / 2, not 4/5
    # the all-zero prediction still reaches F(1/15, 1) at threshold 0 (every pixel p >= 0)
    assert res["fscore"] == approx((1 + f_of(1 / 15, 1.0)) / 2)
    per_frame = metrics.evaluate_binary(videos, protocol="per-frame")
    assert per_frame["miou"] == approx(0.8)
    assert per_frame["fscore"] == approx((4 + f_of(1 / 15, 1.0)) / 5)


def test_batch_without_foreground_scores_zero_f_and_counts():
    good_p, good_g = _perfect()
    z = np.zeros((3, 5), np.float32)
    res = metrics.evaluate_binary([([good_p], [good_g])] * 4 + [([z], [z])])
    assert res["fscore"] == approx(0.5)
    assert res["miou"] == approx(1.0)
    # per-frame protocol skips the empty-GT frame for F
    assert metrics.evaluate_binary([([good_p], [good_g]), ([z], [z])], protocol="per-frame")[
        "fscore"
    ] == approx(1.0)


def test_f_depends_on_grouping_and_batch_size_is_configurable():
    _, g = _perfect()
    low = np.zeros((3, 5), np.float32)
    low[0, 0] = 0.3  # fg alone for 0 < t <= 0.3
    fp = np.zeros((3, 5), np.float32)
    fp[0, 0], fp[0, 1] = 1.0, 0.9  # fg + one false positive for t <= 0.9, fg alone above
    videos = [([low], [g]), ([fp], [g])]
    assert metrics.evaluate_binary(videos, batch_videos=1)["fscore"] == approx(1.0)
    # one batch: the mean curve peaks at 0 < t <= 0.3 with (1 + F(1/2, 1)) / 2
    assert metrics.evaluate_binary(videos, batch_videos=4)["fscore"] == approx((1 + f_of(0.5, 1.0)) / 2)
    assert metrics.evaluate_binary(videos, batch_videos=4)["miou"] == approx((0 + 0.5) / 2)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        metrics.frame_iou(np.zeros((2, 3)), np.zeros((3, 2)))


def test_semantic_with_classes_absent_from_some_frames():
    n = 71
    g1 = np.zeros((4, 4), np.int64)
    g1[:2, :2] = 5  # 4 px of class 5
    p1 = np.zeros((4, 4), np.int64)
    p1[:2, :1] = 5  # 2 px predicted, both right
    p1[3, 3] = 7  # a false class-7 pixel
    g2 = np.zeros((4, 4), np.int64)  # class 5 absent from frame 2
    p2 = np.zeros((4, 4), np.int64)
    res = metrics.evaluate_semantic([([p1, p2], [g1, g2])], num_classes=n)
    iou, f, count = metrics.SemanticEvaluator(n).per_class()  # empty evaluator: all zero
    assert not iou.any() and not count.any()
    ev = metrics.SemanticEvaluator(n)
    ev.add_video([p1, p2], [g1, g2])
    iou, f, count = ev.per_class()
    # class 0: frame 1 gt 12, pred 13, inter 11 -> 11/14 ; frame 2 -> 1
    assert iou[0] == approx((11 / 14 + 1) / 2) and count[0] == 2
    assert iou[5] == approx(2 / 4) and count[5] == 1  # frame 2 does not count for class 5
    assert iou[7] == 0 and count[7] == 1  # predicted only: counts, scores 0
    assert f[5] == approx(f_of(1.0, 0.5)) and f[7] == 0
    assert f[0] == approx((f_of(11 / 13, 11 / 12) + f_of(1, 1)) / 2)
    assert res["miou"] == approx((iou[0] + iou[5]) / 71)
    assert res["fscore"] == approx((f[0] + f[5]) / 71)
    assert res["frames"] == 2 and res["classes"] == 3


def test_semantic_rejects_out_of_range_classes():
    with pytest.raises(ValueError, match="outside"):
        metrics.evaluate_semantic([([np.full((2, 2), 71)], [np.zeros((2, 2), int)])])
