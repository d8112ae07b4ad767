"""The numpy metrics equal a plain PyTorch (CPU) transcription of the official AVSBench code, bit for bit.

The transcription follows avs_scripts/avs_s4/utils/utility.py (mask_iou, _eval_pr, Eval_Fmeasure) with
the sigmoid removed (inputs are probabilities), pyutils.AverageMeter for the dataset mean, and
avs_scripts/avss/utils/compute_color_metrics.py (_batch_miou_fscore) for the semantic task.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avs_studio.masks import metrics

torch.set_num_threads(1)


def official_mask_iou(pred, target, eps=1e-7):
    N = pred.size(0)
    num_pixels = pred.size(-1) * pred.size(-2)
    no_obj_flag = target.sum(2).sum(1) == 0
    pred = (pred > 0.5).int()
    inter = (pred * target).sum(2).sum(1)
    union = torch.max(pred, target).sum(2).sum(1)
    inter_no_obj = ((1 - target) * (1 - pred)).sum(2).sum(1)
    inter[no_obj_flag] = inter_no_obj[no_obj_flag]
    union[no_obj_flag] = num_pixels
    return torch.sum(inter / (union + eps)) / N


def official_eval_pr(y_pred, y, num):
    prec, recall = torch.zeros(num), torch.zeros(num)
    thlist = torch.linspace(0, 1 - 1e-10, num)
    for i in range(num):
        y_temp = (y_pred >= thlist[i]).float()
        tp = (y_temp * y).sum()
        prec[i], recall[i] = tp / (y_temp.sum() + 1e-20), tp / (y.sum() + 1e-20)
    return prec, recall


def official_fmeasure(pred, gt, pr_num=255):
    N = pred.size(0)
    beta2 = 0.3
    avg_f, img_num = 0.0, 0
    score = torch.zeros(pr_num)
    for img_id in range(N):
        if torch.mean(gt[img_id]) == 0.0:
            continue
        prec, recall = official_eval_pr(pred[img_id], gt[img_id], pr_num)
        f_score = (1 + beta2) * prec * recall / (beta2 * prec + recall)
        f_score[f_score != f_score] = 0
        avg_f += f_score
        img_num += 1
        score = avg_f / img_num
    return score.max().item()


class AverageMeter:  # pyutils.AverageMeter, one key
    def __init__(self):
        self.total, self.count = 0.0, 0

    def add(self, v):
        self.total += v
        self.count += 1

    def get(self):
        return self.total / self.count


def official_semantic_batch(predict_idx, target_idx, nclass, beta2=0.3):
    predict = predict_idx.float() + 1
    target = target_idx.float() + 1
    predict = predict * (target > 0).float()
    intersection = predict * (predict == target).float()
    cls_count = torch.zeros(nclass).float()
    ious = torch.zeros(nclass).float()
    fscores = torch.zeros(nclass).float()
    for i in range(target.shape[0]):
        area_inter = torch.histc(intersection[i], bins=nclass, min=1, max=nclass)
        area_pred = torch.histc(predict[i], bins=nclass, min=1, max=nclass)
        area_lab = torch.histc(target[i], bins=nclass, min=1, max=nclass)
        area_union = area_pred + area_lab - area_inter
        iou = 1.0 * area_inter.float() / (2.220446049250313e-16 + area_union.float())
        ious += iou
        cls_count[torch.nonzero(area_union).squeeze(-1)] += 1
        precision = area_inter / area_pred
        recall = area_inter / area_lab
        fscore = (1 + beta2) * precision * recall / (beta2 * precision + recall)
        fscore[torch.isnan(fscore)] = 0.0
        fscores += fscore
    return ious, fscores, cls_count


def _random_video(rng, frames, h, w, empty_rate=0.25, quantised=False):
    probs, gts = [], []
    for _ in range(frames):
        if quantised:  # PNG-like probabilities, some exactly at thresholds
            p = rng.integers(0, 256, (h, w)).astype(np.float32) / np.float32(255)
        else:
            p = rng.random((h, w), dtype=np.float32) ** rng.uniform(0.3, 3)
        if rng.random() < empty_rate:
            g = np.zeros((h, w), np.float32)
        else:
            cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(2, max(3, h // 2))
            yy, xx = np.mgrid[:h, :w]
            g = (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.float32)
            p = np.clip(p * 0.6 + g * rng.uniform(0, 0.6), 0, 1).astype(np.float32)
        probs.append(p)
        gts.append(g)
    return probs, gts


def test_thresholds_equal_torch_linspace():
    assert np.array_equal(metrics.thresholds(), torch.linspace(0, 1 - 1e-10, 255).numpy())
    assert metrics.thresholds()[-1] == 1.0
    for n in (2, 3, 11, 100, 256):
        assert np.array_equal(metrics.thresholds(n), torch.linspace(0, 1 - 1e-10, n).numpy()), n


@pytest.mark.parametrize("n", [*range(0, 70), 99, 128, 255, 1000, 4097])
def test_sum_order_equals_torch(n):
    rng = np.random.default_rng(n)
    x = (rng.random(n) * rng.random()).astype(np.float32)
    assert float(metrics._sum_f32(x)) == torch.from_numpy(x).sum().item()
    if n:
        assert float(np.float32(metrics._sum_f32(x) / np.float32(n))) == torch.from_numpy(x).mean().item()


@pytest.mark.parametrize("seed", range(6))
def test_binary_equals_official_transcription(seed):
    rng = np.random.default_rng(seed)
    h, w = [(16, 16), (12, 20), (9, 7)][seed % 3]
    n_videos = int(rng.integers(1, 11))
    frames = int(rng.choice([1, 3, 5]))
    videos = [_random_video(rng, frames, h, w, quantised=bool(seed % 2)) for _ in range(n_videos)]

    ours = metrics.evaluate_binary(videos, batch_videos=4)

    meter_iou, meter_f = AverageMeter(), AverageMeter()
    for start in range(0, n_videos, 4):
        batch = videos[start : start + 4]
        pred = torch.from_numpy(np.stack([p for v in batch for p in v[0]]))
        gt = torch.from_numpy(np.stack([g for v in batch for g in v[1]]))
        miou = official_mask_iou(pred, gt)
        meter_iou.add(miou)
        meter_f.add(official_fmeasure(pred, gt))
        assert metrics.batch_miou(list(pred.numpy()), list(gt.numpy())) == miou.item()
    assert ours["miou"] == meter_iou.get().item()
    assert ours["fscore"] == meter_f.get()
    assert ours["frames"] == n_videos * frames
    assert ours["batches"] == (n_videos + 3) // 4


@pytest.mark.parametrize("seed", range(4))
def test_semantic_equals_official_transcription(seed):
    rng = np.random.default_rng(100 + seed)
    ncls, h, w = 71, 10, 14
    n_videos = int(rng.integers(1, 7))
    videos = []
    for _ in range(n_videos):
        preds, gts = [], []
        for _ in range(int(rng.choice([5, 10]))):
            present = rng.choice(ncls, size=3, replace=False)
            g = rng.choice(present, size=(h, w))
            p = np.where(rng.random((h, w)) < 0.7, g, rng.choice(present, size=(h, w)))
            preds.append(p.astype(np.int64))
            gts.append(g.astype(np.int64))
        videos.append((preds, gts))

    ours = metrics.evaluate_semantic(videos, num_classes=ncls, batch_videos=4)

    miou_pc, fs_pc, cls_pc = torch.zeros(ncls), torch.zeros(ncls), torch.zeros(ncls)
    for start in range(0, n_videos, 4):
        batch = videos[start : start + 4]
        pred = torch.from_numpy(np.stack([p for v in batch for p in v[0]]))
        gt = torch.from_numpy(np.stack([g for v in batch for g in v[1]]))
        i, f, c = official_semantic_batch(pred, gt, ncls)
        miou_pc += i
        fs_pc += f
        cls_pc += c
    miou_pc = miou_pc / cls_pc
    miou_pc[torch.isnan(miou_pc)] = 0
    f_pc = fs_pc / cls_pc
    f_pc[torch.isnan(f_pc)] = 0
    assert ours["miou"] == torch.mean(miou_pc).item()
    assert ours["fscore"] == torch.mean(f_pc).item()
    assert ours["classes"] == int((cls_pc != 0).sum())
