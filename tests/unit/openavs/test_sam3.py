"""The `sam3` text segmenter on a tiny random SAM 3 (the real transformers architecture), loaded through the
same loader as the downloaded weights, checked against the reference post-processing; and the box
de-duplication shared with GroundingDINO."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.registry import SEGMENTERS
from avs_studio.openavs.segmenters import sam3  # noqa: F401  (registers the stage)
from avs_studio.openavs.segmenters.common import merge_duplicates
from avs_studio.openavs.types import ObjectProposal, TextSegmenter

PHRASES = [["guitar", "man"], ["dog"], [], ["guitar", "guitar ", "dog"]]


def make(tiny_models, **params):
    weights.forget_loaded()
    base = {"model": None, "path": str(tiny_models["sam3"]), "threshold": 0.0, "device": "cpu"}
    return SEGMENTERS.create("sam3", **{**base, **params})


@pytest.fixture
def clip_frames(frames) -> list[np.ndarray]:
    return [*frames, frames[0][::-1].copy()]  # 4 frames of 72 x 96


def reference(seg, image: np.ndarray, phrase: str, threshold: float, mask_threshold: float):
    """What Sam3Processor's own post-processing gives for one image and one phrase, best first."""
    proc, model = seg.processor, seg.model
    enc = proc(images=[image], text=[phrase], return_tensors="pt")
    with torch.inference_mode():
        out = model(**enc)
    h, w = image.shape[:2]
    r = proc.post_process_instance_segmentation(out, threshold, mask_threshold, target_sizes=[(h, w)])[0]
    order = torch.argsort(r["scores"], descending=True)
    boxes = r["boxes"][order].numpy()
    boxes = np.clip(boxes, 0, [w, h, w, h])
    return r["scores"][order].numpy(), boxes, r["masks"][order].numpy().astype(bool)


def test_masks_boxes_and_scores_match_the_reference_post_processing(tiny_models, clip_frames):
    seg = make(tiny_models, max_objects=20, nms_iou=1.0, batched=False, mask_threshold=0.5)
    assert isinstance(seg, TextSegmenter) and seg.name == "sam3"
    for image, phrase in [(clip_frames[0], "guitar"), (clip_frames[1], "dog")]:
        objs = seg.segment([image], [[phrase]])[0]
        scores, boxes, masks = reference(seg, image, phrase, 0.0, 0.5)
        keep = masks.reshape(len(masks), -1).any(axis=1)  # an empty mask is no object
        assert len(objs) == int(keep.sum()) > 0
        for o, s, b, m in zip(objs, scores[keep], boxes[keep], masks[keep]):
            assert isinstance(o, ObjectProposal) and o.phrase == phrase
            assert abs(o.box_score - float(s)) < 1e-5
            np.testing.assert_allclose(o.box, b, atol=1e-3)
            assert o.mask.shape == image.shape[:2] and (o.mask == m).all()
            assert 0.5 < o.mask_score <= 1.0  # mean mask probability inside the mask


def test_a_clip_is_segmented_in_a_few_batched_calls(tiny_models, clip_frames):
    batched = make(tiny_models, batch_size=3, max_objects=5)
    one_by_one = make(tiny_models, batched=False, max_objects=5)
    a = batched.segment(clip_frames, PHRASES)
    b = one_by_one.segment(clip_frames, PHRASES)
    # 3 frames with phrases in one image batch; 3 distinct phrases encoded once; 5 pairs in batches of 3
    assert batched.calls == {"vision": 1, "text": 1, "decode": 2}
    assert one_by_one.calls == {"vision": 3, "text": 1, "decode": 3}
    assert a[2] == [] and b[2] == []
    for objs_a, objs_b, phrases, image in zip(a, b, PHRASES, clip_frames):
        assert [o.phrase for o in objs_a] == [o.phrase for o in objs_b]
        assert {o.phrase for o in objs_a} <= {p.strip() for p in phrases}
        assert len(objs_a) <= 5
        for x, y in zip(objs_a, objs_b):
            assert abs(x.box_score - y.box_score) < 1e-4 and (x.mask == y.mask).mean() > 0.99
            x0, y0, x1, y1 = x.box
            assert 0 <= x0 <= x1 <= image.shape[1] and 0 <= y0 <= y1 <= image.shape[0]
        assert [o.box_score for o in objs_a] == sorted((o.box_score for o in objs_a), reverse=True)


def test_thresholds_and_limits(tiny_models, clip_frames):
    assert make(tiny_models, threshold=1.0).segment(clip_frames[:2], PHRASES[:2]) == [[], []]
    assert make(tiny_models, mask_threshold=1.0).segment(clip_frames[:2], PHRASES[:2]) == [[], []]
    capped = make(tiny_models, max_objects=1, nms_iou=1.0).segment(clip_frames[:2], PHRASES[:2])
    assert [len(o) for o in capped] == [1, 1]
    seg = make(tiny_models)
    assert seg.segment(clip_frames[:2], [[], []]) == [[], []] and seg.calls["vision"] == 0
    for bad in ({"threshold": 1.5}, {"mask_threshold": -0.1}, {"max_objects": 0}):
        with pytest.raises(ValueError, match="sam3"):
            make(tiny_models, **bad)
    with pytest.raises(ValueError, match="same length"):
        seg.segment(clip_frames[:2], [["dog"]])


def test_missing_weights_name_the_gated_repo_download(monkeypatch, tmp_path):
    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path))
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    with pytest.raises(weights.ModelMissingError) as err:
        SEGMENTERS.create("sam3", device="cpu")
    assert err.value.command == "avs-studio models download sam3"
    spec = weights.get_spec("sam3")
    assert spec.gated and spec.repo == "facebook/sam3" and spec.family == "sam3"
    assert not weights.get_spec("sam2.1-hiera-large").gated


def test_the_real_size_model_is_the_published_architecture():
    """What the GPU benchmark builds with random weights (tiny_sam3.random_sam3): Sam3Config's defaults."""
    from avs_studio.openavs.tiny_sam3 import sam3_config, sam3_processor

    cfg = sam3_config(full_size=True)
    vit = cfg.vision_config.backbone_config
    assert (vit.image_size, vit.hidden_size, vit.num_hidden_layers) == (1008, 1024, 32)
    assert cfg.text_config.num_hidden_layers == 24 and cfg.detr_decoder_config.num_queries == 200
    proc = sam3_processor(cfg)
    enc = proc(images=[np.zeros((72, 96, 3), np.uint8)], text=["a guitar"], return_tensors="pt")
    assert tuple(enc["pixel_values"].shape) == (1, 3, 1008, 1008)
    assert int(enc["input_ids"].max()) < cfg.text_config.vocab_size and enc["input_ids"].shape[1] == 32


def test_merge_duplicates_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60], [0, 0, 10, 10]], np.float32)
    scores = np.array([0.5, 0.9, 0.4, 0.3])
    assert merge_duplicates(boxes, scores, 0.7) == [1, 2]
    assert merge_duplicates(boxes, scores, 1.0) == [1, 0, 2, 3]
    assert merge_duplicates(boxes[:0], scores[:0]) == []


def test_grounding_dino_merges_duplicate_boxes_before_segmenting(tiny_models):
    from avs_studio.openavs.segmenters.gdino import grounding_dino

    weights.forget_loaded()
    det = grounding_dino(None, str(tiny_models["grounding-dino"]), torch.device("cpu"), 0.1, 0.1, 10)
    probs = np.zeros((4, 6), np.float32)
    probs[:, 1] = [0.9, 0.8, 0.7, 0.6]  # every query names phrase 0 (token 1)
    boxes = np.array(
        [[0.3, 0.3, 0.2, 0.2], [0.31, 0.3, 0.2, 0.2], [0.7, 0.7, 0.2, 0.2], [0.3, 0.3, 0.2, 0.2]]
    )
    token_phrase = np.array([-1, 0, -1, -1, -1, -1])
    dets = det._pick(probs, boxes, token_phrase, ["guitar"], (100, 100))
    assert [round(d.score, 2) for d in dets] == [0.9, 0.7]  # the 0.8 and 0.6 boxes repeat the 0.9 one
    det.nms_iou = 1.0
    assert len(det._pick(probs, boxes, token_phrase, ["guitar"], (100, 100))) == 4
