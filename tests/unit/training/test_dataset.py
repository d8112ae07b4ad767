"""Training data from a real project store and real video files: labels, pseudo labels (which frames,
their weight and threshold, what the dialog's plan counts), sound classes, splits, cache."""

import numpy as np
import pytest

from avs_studio import media
from avs_studio.jobs import add_videos, init_project
from avs_studio.training import dataset
from avs_studio.training.dataset import DataOptions, build_samples, collect_labels, split_videos, summarize
from avs_studio.training.selection import training_plan
from avs_studio.training.settings import DEFAULTS
from tests.helpers.media_factory import make_video

H, W = 60, 80


def _mask(x0, x1):
    m = np.zeros((H, W), bool)
    m[10:30, x0:x1] = True
    return m


@pytest.fixture
def project(tmp_path):
    p = init_project(tmp_path / "project")
    ids = {}
    for n, (name, split) in enumerate(
        (("a", "train"), ("b", None), ("c", "val"), ("d", "test"), ("e", None))
    ):
        path = make_video(tmp_path / f"{name}.mp4", frames=30 + n, fps=10, size=(W, H), gop=10)
        ids[name] = add_videos(p, [path], split=split).added[0][1]
    s = p.store
    o1, o2 = s.add_object(ids["a"], "dog"), s.add_object(ids["a"], "cat")
    s.put_annotation(ids["a"], 0, o1, _mask(0, 10), source="imported", status="accepted")
    s.put_annotation(ids["a"], 0, o2, _mask(40, 50), source="imported", status="accepted")
    s.put_annotation(ids["a"], 10, None, np.zeros((H, W), bool), source="manual", status="accepted")
    s.put_annotation(ids["a"], 20, o1, _mask(0, 30), source="proposal", status="proposed", score=0.9)
    ob = s.add_object(ids["b"], "bird")
    s.put_annotation(ids["b"], 0, ob, _mask(5, 25), source="proposal", status="proposed", score=0.9)
    s.put_annotation(ids["b"], 10, ob, _mask(5, 25), source="proposal", status="proposed", score=0.1)
    s.put_annotation(ids["b"], 20, ob, _mask(5, 25), source="student", status="proposed", score=0.9)
    oc = s.add_object(ids["c"], "car")
    s.put_annotation(ids["c"], 0, oc, _mask(20, 60), source="imported", status="accepted")
    od = s.add_object(ids["d"], "drum")
    s.put_annotation(ids["d"], 0, od, _mask(20, 60), source="imported", status="accepted")
    oe = s.add_object(ids["e"], "eel")
    s.put_annotation(ids["e"], 0, oe, _mask(5, 25), source="proposal", status="proposed", score=0.9)
    s.put_annotation(ids["e"], 10, oe, _mask(5, 25), source="proposal", status="rejected", score=0.9)
    yield p, ids
    p.close()


def test_splits_respect_the_benchmark(project):
    p, ids = project
    train, val = split_videos(p.store.videos(), "train", 0.5)
    assert sorted(train) == sorted([ids["a"], ids["b"], ids["e"]]) and val == [ids["c"]]
    # without "val" videos a stable fraction of the training videos validates instead; test never trains
    p.store.update_video(ids["c"], split="test")
    train2, val2 = split_videos(p.store.videos(), "train", 0.5)
    assert ids["c"] not in train2 + val2 and ids["d"] not in train2 + val2
    assert sorted(train2 + val2) == sorted([ids["a"], ids["b"], ids["e"]]) and val2
    assert split_videos(p.store.videos(), "train", 0.5) == (train2, val2)


def test_accepted_union_masks_and_pseudo_labels(project):
    p, ids = project
    train, _ = split_videos(p.store.videos(), "train", 0.1)
    plain = collect_labels(p.store, train, DataOptions())
    assert [(i.video_id, i.frame, i.weight) for i in plain] == [(ids["a"], 0, 1.0), (ids["a"], 10, 1.0)]
    assert np.array_equal(plain[0].mask, _mask(0, 10) | _mask(40, 50))  # union of the frame's objects
    assert not plain[1].mask.any()  # "nothing sounds here" is an empty target
    pseudo = collect_labels(
        p.store, train, DataOptions(pseudo_labels=True, pseudo_weight=0.3, pseudo_min_score=0.5)
    )
    extra = [(i.video_id, i.frame, i.weight) for i in pseudo if i.pseudo]
    # only OpenAVS proposals of unreviewed videos above the score: not a's (reviewed), not e's (a rejection),
    # not b's low-score frame, not b's student proposal
    assert extra == [(ids["b"], 0, 0.3)]
    assert summarize(p.store, 0.5) == {
        "train": {"videos": 1, "accepted_frames": 2, "edited_frames": 0, "pseudo_frames": 0},
        "unassigned": {"videos": 2, "accepted_frames": 0, "edited_frames": 0, "pseudo_frames": 1},
        "val": {"videos": 1, "accepted_frames": 1, "edited_frames": 0, "pseudo_frames": 0},
        "test": {"videos": 1, "accepted_frames": 1, "edited_frames": 0, "pseudo_frames": 0},
    }


def test_edited_frames_train_only_when_asked_and_finished(project):
    p, ids = project
    s, a = p.store, ids["a"]
    dog, cat = (o.id for o in s.objects(a))
    # frame 20: the dog's proposal corrected by hand, nothing left proposed -> a label when asked
    s.put_annotation(a, 20, dog, _mask(2, 12), source="manual", status="edited")
    # frame 25: one object corrected, the other still proposed -> a correction in progress, never a label
    s.put_annotation(a, 25, dog, _mask(0, 5), source="manual", status="edited")
    s.put_annotation(a, 25, cat, _mask(50, 60), source="proposal", status="proposed", score=0.9)
    train, _ = split_videos(s.videos(), "train", 0.1)
    assert [i.frame for i in collect_labels(s, train, DataOptions())] == [0, 10]
    items = collect_labels(s, train, DataOptions(include_edited=True))
    assert [(i.video_id, i.frame, i.weight, i.pseudo) for i in items] == [
        (a, 0, 1.0, False),
        (a, 10, 1.0, False),
        (a, 20, 1.0, False),
    ]
    assert np.array_equal(items[2].mask, _mask(2, 12))
    assert summarize(s, 0.5)["train"] == {
        "videos": 1,
        "accepted_frames": 2,
        "edited_frames": 1,
        "pseudo_frames": 0,
    }


def test_samples_decode_frames_and_audio_through_the_cache(project, tmp_path, monkeypatch):
    p, ids = project
    opts = DataOptions(image_size=32, pseudo_labels=True, pseudo_min_score=0.5)
    items = collect_labels(p.store, [ids["a"], ids["b"]], opts)
    samples = build_samples(p.store, items, opts, tmp_path / "cache")
    assert samples.images.shape == (3, 32, 32, 3) and samples.images.dtype == np.uint8
    assert samples.mels.shape == (3, 64, 100) and samples.masks.shape == (3, 32, 32)
    assert samples.keys == [(ids["a"], 0), (ids["a"], 10), (ids["b"], 0)]
    assert samples.weights.tolist() == [1.0, 1.0, 0.5]
    with media.VideoReader(p.store.video(ids["a"]).path) as reader:
        frame10 = reader.frame(10)
    import cv2

    expected = cv2.resize(frame10, (32, 32), interpolation=cv2.INTER_AREA)
    assert np.abs(samples.images[1].astype(int) - expected).max() <= 1
    assert samples.masks[0, 5:11, :3].all() and samples.masks[0, 5:11, 17:19].all()  # both objects
    assert not samples.masks[0, :, 6:14].any() and not samples.masks[0, 17:, :].any()
    assert samples.mels[0].max() > -60  # the video's tones are heard
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2

    def no_decoding(*_a, **_k):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(dataset.media, "VideoReader", no_decoding)
    again = build_samples(p.store, items, opts, tmp_path / "cache")
    assert np.array_equal(again.images, samples.images) and np.array_equal(again.mels, samples.mels)


def test_pseudo_labels_threshold_weight_and_plan(project):
    """Which proposals become pseudo labels, with real rows: OpenAVS proposals of unreviewed videos whose
    lowest object score reaches the threshold (inclusive); the plan counts exactly what training uses."""
    p, ids = project
    s, b = p.store, ids["b"]
    bird = s.objects(b)[0].id
    fish = s.add_object(b, "fish")
    # frame 30: two objects, the lowest score (0.4) decides; frame 40: exactly at the threshold
    s.put_annotation(b, 30, bird, _mask(5, 25), source="proposal", status="proposed", score=0.9)
    s.put_annotation(b, 30, fish, _mask(40, 60), source="proposal", status="proposed", score=0.4)
    s.put_annotation(b, 40, bird, _mask(5, 25), source="proposal", status="proposed", score=0.5)
    # a "val" video's proposals never train, nor does a test video's
    oc = s.objects(ids["c"])[0].id
    s.put_annotation(ids["c"], 10, oc, _mask(5, 25), source="proposal", status="proposed", score=0.9)
    train, val = split_videos(s.videos(), "train", 0.1)

    def pseudo(min_score, weight=0.25):
        opts = DataOptions(pseudo_labels=True, pseudo_weight=weight, pseudo_min_score=min_score)
        return [(i.video_id, i.frame, i.weight) for i in collect_labels(s, train, opts) if i.pseudo]

    assert pseudo(0.5) == [(b, 0, 0.25), (b, 40, 0.25)]  # 0.4 < 0.5 drops frame 30; 0.5 is enough
    assert pseudo(0.4) == [(b, 0, 0.25), (b, 30, 0.25), (b, 40, 0.25)]
    assert pseudo(0.05) == [
        (b, 0, 0.25),
        (b, 10, 0.25),
        (b, 30, 0.25),
        (b, 40, 0.25),
    ]  # never b's student row
    both = next(
        i
        for i in collect_labels(s, train, DataOptions(pseudo_labels=True, pseudo_min_score=0.4))
        if i.frame == 30
    )
    assert np.array_equal(both.mask, _mask(5, 25) | _mask(40, 60)) and both.kind == "pseudo"
    for include_edited, pseudo_on, min_score in ((False, False, 0.3), (True, True, 0.5), (False, True, 0.05)):
        chosen = DEFAULTS.updated(
            include_edited=include_edited, pseudo_labels=pseudo_on, pseudo_min_score=min_score
        )
        plan = training_plan(s, chosen)
        opts = DataOptions(include_edited=include_edited, pseudo_labels=pseudo_on, pseudo_min_score=min_score)
        items = collect_labels(s, train, opts)
        assert plan["train"] == {k: sum(i.kind == k for i in items) for k in ("accepted", "edited", "pseudo")}
        assert plan["val"] == {"accepted": 1, "edited": 0, "pseudo": 0}  # c's accepted frame; no pseudo
        assert (plan["train_videos"], plan["val_videos"]) == (3, 1)
    assert (
        training_plan(s, DEFAULTS.updated(pseudo_labels=True, pseudo_min_score=0.5))["train"]["pseudo"] == 2
    )
    # once a person reviews one frame of b (here: rejects a proposal), none of b's proposals is used
    s.put_annotation(b, 20, bird, _mask(5, 25), source="manual", status="rejected")
    assert pseudo(0.05) == []
    assert (
        training_plan(s, DEFAULTS.updated(pseudo_labels=True, pseudo_min_score=0.05))["train"]["pseudo"] == 0
    )


def test_sound_classes_from_categories_or_object_labels(project, tmp_path):
    p, ids = project
    s = p.store
    s.update_video(ids["a"], category="dog")
    train, _ = split_videos(s.videos(), "train", 0.1)
    opts = DataOptions(image_size=16, pseudo_labels=True, pseudo_min_score=0.5)
    samples = build_samples(s, collect_labels(s, train, opts), opts, tmp_path / "cache")
    # a: its category for both frames (even the empty one); b (a pseudo label): its one object "bird"
    assert samples.class_names == ["bird", "dog"]
    by_key = dict(zip(samples.keys, samples.classes.tolist()))
    assert by_key[(ids["a"], 0)] == by_key[(ids["a"], 10)] == 1
    assert by_key[(ids["b"], 0)] == 0 and len(by_key) == 3
    # validation uses the training classes; a label training never saw is unknown (-1)
    val = build_samples(s, collect_labels(s, [ids["c"]], DataOptions(image_size=16)), opts,
                        tmp_path / "cache", class_names=samples.class_names)  # fmt: skip
    assert val.class_names == samples.class_names and val.classes.tolist() == [-1]
    # two different sounding objects in one frame: no single class
    s.update_video(ids["a"], category=None)
    both = build_samples(s, collect_labels(s, [ids["a"]], DataOptions(image_size=16)), opts, tmp_path / "c2")
    assert both.keys[0] == (ids["a"], 0) and both.classes[0] == -1  # dog and cat
