"""GroundingDINO + SAM / SAM 2.1 segmenters and the point segmenters, end to end on tiny random models
of the real architectures loaded through the real loaders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.devices import DeviceError, compute_dtype, resolve_device
from avs_studio.openavs.registry import POINT_SEGMENTERS, SEGMENTERS
from avs_studio.openavs.segmenters import gdino, sam, sam2  # noqa: F401  (registers the stages)
from avs_studio.openavs.segmenters.gdino import build_prompt
from avs_studio.openavs.segmenters.sam import SamEngine, load_sam
from avs_studio.openavs.types import ObjectProposal, PointSegmenter, TextSegmenter

PHRASES = [["guitar", "man"], ["dog"], []]


@pytest.fixture(params=[("gdino-sam", "sam"), ("gdino-sam2", "sam2")], ids=["sam", "sam2"])
def segmenter(request, tiny_models):
    name, fam = request.param
    weights.forget_loaded()
    return SEGMENTERS.create(
        name,
        detector="",
        detector_path=str(tiny_models["grounding-dino"]),
        sam="",
        sam_path=str(tiny_models[fam]),
        box_threshold=0.0,
        text_threshold=0.0,
        max_boxes=4,
        device="cpu",
    )


def counting(module: torch.nn.Module) -> list[int]:
    """Count forward calls of a module (wraps its forward)."""
    calls = [0]
    inner = module.forward

    def forward(*args, **kwargs):
        calls[0] += 1
        return inner(*args, **kwargs)

    module.forward = forward
    return calls


def test_build_prompt():
    text, spans = build_prompt(["Guitar", " a  Man.", ""])
    assert text == "guitar. a man."
    assert [text[s:e] for s, e in spans] == ["guitar", "a man"]


def test_text_segmenter_outputs(segmenter, frames):
    assert isinstance(segmenter, TextSegmenter)
    out = segmenter.segment(frames, PHRASES, ["v:0", "v:1", "v:2"])
    assert len(out) == 3
    assert out[2] == []  # no phrase, no detection
    for objs, img, phrases in zip(out[:2], frames, PHRASES):
        assert len(objs) == 4  # thresholds 0: every query passes, so the max_boxes cap sets the count
        h, w = img.shape[:2]
        for o in objs:
            assert isinstance(o, ObjectProposal)
            assert o.phrase in phrases
            assert o.mask.dtype == bool and o.mask.shape == (h, w)
            assert o.mask.any()
            x0, y0, x1, y1 = o.box
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            assert 0.0 <= o.box_score <= 1.0 and np.isfinite(o.mask_score)
        assert [o.box_score for o in objs] == sorted((o.box_score for o in objs), reverse=True)


def test_batched_equals_one_at_a_time(segmenter, frames):
    batch = segmenter.segment(frames, PHRASES)
    for img, phrases, objs in zip(frames, PHRASES, batch):
        single = segmenter.segment([img], [phrases])[0]
        assert [o.phrase for o in single] == [o.phrase for o in objs]
        for a, b in zip(single, objs):
            np.testing.assert_allclose(a.box, b.box, atol=1e-2)
            assert abs(a.box_score - b.box_score) < 1e-4
            assert (a.mask == b.mask).mean() > 0.99


def test_thresholds_filter_boxes(tiny_models, frames):
    seg = SEGMENTERS.create(
        "gdino-sam",
        detector="",
        detector_path=str(tiny_models["grounding-dino"]),
        sam="",
        sam_path=str(tiny_models["sam"]),
        box_threshold=1.0,
        device="cpu",
    )
    assert seg.segment(frames[:2], PHRASES[:2]) == [[], []]


def test_embedding_cache_shared_with_point_segmenter(tiny_models, frames):
    weights.forget_loaded()
    path = str(tiny_models["sam"])
    seg = SEGMENTERS.create(
        "gdino-sam",
        detector="",
        detector_path=str(tiny_models["grounding-dino"]),
        sam="",
        sam_path=path,
        box_threshold=0.0,
        text_threshold=0.0,
        device="cpu",
    )
    point = POINT_SEGMENTERS.create("sam", model="", path=path, device="cpu")
    assert isinstance(point, PointSegmenter)
    assert point.engine is seg.engine
    encoder_calls = counting(seg.engine.model.image_encoder)
    keys = ["v:0", "v:1"]
    seg.segment(frames[:2], PHRASES[:2], keys)
    assert encoder_calls[0] == 1  # both frames in one batch
    seg.segment(frames[:2], PHRASES[:2], keys)
    point.embed("v:0", frames[0])
    mask = point.predict("v:1", frames[1], np.array([[40.0, 30.0]]), np.array([1]))
    assert encoder_calls[0] == 1  # all cache hits
    assert mask.dtype == bool and mask.shape == frames[1].shape[:2]
    point.predict("v:0", frames[2], np.array([[40.0, 30.0]]), np.array([1]))  # same key, other image
    assert encoder_calls[0] == 2
    seg.segment(frames[:1], PHRASES[:1])  # no keys: never cached
    seg.segment(frames[:1], PHRASES[:1])
    assert encoder_calls[0] == 4


def test_sam_engine_lru_eviction(tiny_models, frames):
    engine = SamEngine(load_sam(tiny_models["sam"]), torch.device("cpu"), cache_size=2)
    engine.embed_many(["a", "b"], frames[:2])
    engine.embed_many(["c"], frames[2:])
    assert list(engine.cache) == ["b", "c"]
    engine.embed_many(["b"], frames[1:2])  # hit, becomes most recent
    assert engine.encoded_images == 3 and list(engine.cache) == ["c", "b"]
    engine.embed_many(["a"], frames[:1])
    assert engine.encoded_images == 4 and list(engine.cache) == ["b", "a"]


def test_sam_box_masks_match_segment_anything_predictor(tiny_models, frames):
    """Our batched box decoding gives the same masks as segment_anything's own SamPredictor."""
    from segment_anything import SamPredictor

    model = load_sam(tiny_models["sam"])
    engine = SamEngine(model, torch.device("cpu"))
    boxes = np.array([[10, 5, 60, 50], [30, 20, 90, 70]], np.float32)
    masks, scores = engine.boxes_to_masks(engine.embed_many([None], frames[:1])[0], boxes)
    pred = SamPredictor(model)
    pred.set_image(frames[0])
    for i, box in enumerate(boxes):
        m, s, _ = pred.predict(box=box, multimask_output=False)
        assert (m[0] == masks[i]).mean() > 0.999
        assert abs(s[0] - scores[i]) < 1e-4


@pytest.mark.parametrize("name,fam", [("sam", "sam"), ("sam2", "sam2")])
def test_point_segmenter_prompts(name, fam, tiny_models, frames):
    weights.forget_loaded()
    point = POINT_SEGMENTERS.create(name, model="", path=str(tiny_models[fam]), device="cpu")
    img = frames[0]
    point.embed("k", img)
    pos = point.predict("k", img, np.array([[30.0, 20.0]]), np.array([1]))
    both = point.predict(
        "k", img, np.array([[30.0, 20.0], [70.0, 50.0]]), np.array([1, 0]), box=(5, 5, 80, 60)
    )
    boxed = point.predict("k", img, None, None, box=(5, 5, 80, 60))
    refined = point.predict("k", img, np.array([[30.0, 20.0]]), np.array([1]), mask_input=pos)
    mask_only = point.predict("k", img, None, None, mask_input=both)
    for m in (pos, both, boxed, refined, mask_only):
        assert m.dtype == bool and m.shape == img.shape[:2]
    assert not np.array_equal(pos, both)  # the prompt changes the answer
    assert not np.array_equal(pos, refined)  # so does the mask input
    with pytest.raises(ValueError):
        point.predict("k", img, None, None)


def test_load_sam_rejects_foreign_file(tmp_path):
    p = tmp_path / "x.pth"
    torch.save({"foo": torch.zeros(1)}, p)
    with pytest.raises(weights.ModelError, match="not a segment_anything SAM checkpoint"):
        load_sam(p)
    p.write_bytes(b"garbage")
    with pytest.raises(weights.ModelError, match="cannot read SAM checkpoint"):
        load_sam(p)


def test_missing_weights_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path))
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    with pytest.raises(weights.ModelMissingError) as err:
        SEGMENTERS.create("gdino-sam", device="cpu")
    assert err.value.command == "avs-studio models download grounding-dino-tiny"
    assert "model.safetensors" in str(err.value)
    with pytest.raises(weights.ModelMissingError, match="sam_vit_h_4b8939.pth"):
        POINT_SEGMENTERS.create("sam", device="cpu")


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert compute_dtype(torch.device("cpu")) == torch.float32
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            resolve_device("cuda:0")


@pytest.mark.weights
def test_real_sam_vit_b_checkpoint_loads(frames):
    """Needs `avs-studio models download sam-vit-b` (skipped when the weights are not cached)."""
    if weights.missing_files("sam-vit-b"):
        pytest.skip("sam-vit-b is not downloaded (avs-studio models download sam-vit-b)")
    model = load_sam(weights.ensure("sam-vit-b"))
    assert model.image_encoder.patch_embed.proj.out_channels == 768
