"""Evaluation of PNG folders and of annotation sets inside a project."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from avs_studio.io.errors import DatasetError
from avs_studio.io.evalfolders import MissingPredictionError, video_folders
from avs_studio.jobs.evaluate import evaluate, evaluate_folders
from avs_studio.masks import avss_palette, metrics


def _save(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _binary_folders(tmp_path, n_videos=6, frames=5, seed=0):
    rng = np.random.default_rng(seed)
    videos = []
    for v in range(n_videos):
        preds, gts = [], []
        for f in range(frames):
            g = np.zeros((12, 20), np.uint8)
            if (v + f) % 4:
                g[2 : 4 + f, 3 : 9 + v] = 255
            p = rng.integers(0, 256, (12, 20)).astype(np.uint8)
            p[g > 0] = np.maximum(p[g > 0], 140)
            # folder v10 sorts after v9 naturally, frame 10 after frame 9
            _save(tmp_path / "gt" / f"cat/v{v * 5}" / f"v{v * 5}_{f + 1}.png", g)
            _save(tmp_path / "pred" / f"cat/v{v * 5}" / f"v{v * 5}_{f + 1}.png", p)
            preds.append(p)
            gts.append(g)
        videos.append((preds, gts))
    return videos


def test_folders_natural_order_and_official_metrics(tmp_path):
    videos = _binary_folders(tmp_path)
    folders = video_folders(tmp_path / "gt")
    assert [f for f, _ in folders] == [f"cat/v{v * 5}" for v in range(6)]  # v5 before v10
    res = evaluate_folders(tmp_path / "pred", tmp_path / "gt")
    assert res == metrics.evaluate_binary(videos)
    assert res["frames"] == 30 and res["batches"] == 2 and 0 < res["miou"] < 1 and 0 < res["fscore"] < 1
    per_frame = evaluate_folders(tmp_path / "pred", tmp_path / "gt", protocol="per-frame")
    assert per_frame == metrics.evaluate_binary(videos, protocol="per-frame")


def test_missing_prediction_names_the_frame(tmp_path):
    _binary_folders(tmp_path, n_videos=2)
    (tmp_path / "pred" / "cat/v5/v5_3.png").unlink()
    with pytest.raises(MissingPredictionError, match="cat/v5/v5_3.png"):
        evaluate_folders(tmp_path / "pred", tmp_path / "gt")
    with pytest.raises(DatasetError, match="not a folder"):
        evaluate_folders(tmp_path / "pred", tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no PNG"):
        evaluate_folders(tmp_path / "pred", tmp_path / "empty")


def test_semantic_folders_index_and_palette_pngs(tmp_path):
    pal = avss_palette()
    rng = np.random.default_rng(3)
    videos = []
    for v in range(3):
        preds, gts = [], []
        for f in range(10):
            g = rng.choice([0, 4, 9], size=(8, 8)).astype(np.int32)
            p = np.where(rng.random((8, 8)) < 0.8, g, 9).astype(np.int32)
            _save(tmp_path / "gt" / f"v{v}" / f"{f}.png", pal[g])  # colour GT
            idx = Image.frombytes("P", (8, 8), p.astype(np.uint8).tobytes())  # index-PNG prediction
            idx.putpalette(pal.ravel().tolist())
            (tmp_path / "pred" / f"v{v}").mkdir(parents=True, exist_ok=True)
            idx.save(tmp_path / "pred" / f"v{v}" / f"{f}.png")
            preds.append(p)
            gts.append(g)
        videos.append((preds, gts))
    res = evaluate_folders(tmp_path / "pred", tmp_path / "gt", task="semantic")
    assert res == metrics.evaluate_semantic(videos)
    assert res["classes"] == 3 and res["frames"] == 30


@pytest.mark.parametrize("imported", ["ms3"], indirect=True)
def test_project_agreement_between_sources(imported):
    lay, project, _ = imported
    store = project.store
    perfect = evaluate(project, pred={"status": "accepted"}, gt={"status": "accepted"})
    assert perfect["miou"] == pytest.approx(1.0) and perfect["missing_pred"] == 0
    # proposals: the GT mask shifted right by 2 px on every annotated frame of the first video
    video = store.videos()[0]
    obj = store.add_object(video.id, "guitar")  # one mask per (video, frame, object): a separate object
    preds, gts = [], []
    for a in store.annotations(video_id=video.id, status="accepted"):
        m = a.mask()
        shifted = np.zeros_like(m)
        shifted[:, 2:] = m[:, :-2]
        store.put_annotation(video.id, a.frame, obj, shifted, source="proposal", status="proposed")
        preds.append(shifted)
        gts.append(m)
    res = evaluate(project, pred={"source": "proposal"}, gt={"status": "accepted", "source": "imported"})
    others = [v for v in store.videos() if v.id != video.id]
    assert res["frames"] == len(store.annotations(status="accepted"))
    assert res["missing_pred"] == sum(
        len({a.frame for a in store.annotations(video_id=v.id)}) for v in others
    )
    # same as scoring the arrays directly, the other videos with empty predictions
    direct = [(preds, gts)]
    for v in others:
        frames = sorted({a.frame for a in store.annotations(video_id=v.id)})
        g = [np.any([a.mask() for a in store.annotations(video_id=v.id, frame=f)], axis=0) for f in frames]
        direct.append(([np.zeros_like(x) for x in g], g))
    assert {k: res[k] for k in ("miou", "fscore", "frames", "batches")} == metrics.evaluate_binary(direct)


@pytest.mark.parametrize("imported", ["avss"], indirect=True)
def test_project_semantic_evaluation(imported):
    _, project, _ = imported
    res = evaluate(project, pred={"status": "accepted"}, gt={"status": "accepted"}, task="semantic")
    # perfect agreement: every class that occurs scores 1; background + 5 classes of 71
    assert res["classes"] == 6
    assert res["miou"] == pytest.approx(6 / 71, rel=1e-6)
