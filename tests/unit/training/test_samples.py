"""Augmentation keeps image and mask aligned; mixing pastes another clip's object and takes either
clip's audio with the matching target; batch order is the same for any number of processes."""

import numpy as np

from avs_studio.training.samples import (
    SampleSet,
    augment,
    augment_mel,
    global_batches,
    make_batch,
    paste_object,
    shard,
)
from tests.unit.training.toy import toy_samples


def test_augment_moves_image_and_mask_together():
    samples = toy_samples(8, size=48)
    flipped = scaled = 0
    for i in range(8):
        mask = samples.masks[i]
        image = np.zeros((48, 48, 3), np.uint8)
        image[mask] = (230, 40, 40)  # the target is red, the rest dark: alignment is checkable per pixel
        image[~mask] = (30, 30, 30)
        for seed in range(6):
            out_img, out_mask = augment(image, mask, np.random.default_rng(seed))
            assert out_img.shape == image.shape and out_mask.shape == mask.shape and out_mask.dtype == bool
            agree = ((out_img[..., 0] > 120) == out_mask).mean()
            assert agree > 0.97
            assert out_img[..., 1][out_mask].mean() < 100  # colour jitter changed colours, not which pixels
            iou = lambda a, b: (a & b).sum() / max(1, (a | b).sum())  # noqa: E731
            flipped += iou(out_mask, mask[:, ::-1]) > iou(out_mask, mask) + 0.2
            scaled += out_mask.sum() > mask.sum() * 1.1
    assert flipped and scaled  # both geometric changes happened


def test_global_batches_are_the_same_for_any_world_size():
    batches = global_batches(22, 8, seed=1, epoch=3)
    assert [len(b) for b in batches] == [8, 8, 6]
    assert sorted(np.concatenate(batches).tolist()) == list(range(22))
    for world in (1, 2, 4):
        for b in batches:
            parts = [shard(b, r, world) for r in range(world)]
            assert sorted(np.concatenate(parts).tolist()) == sorted(b.tolist())
    assert [b.tolist() for b in global_batches(22, 8, 1, 3)] == [b.tolist() for b in batches]
    assert [b.tolist() for b in global_batches(22, 8, 1, 4)] != [b.tolist() for b in batches]
    assert [len(b) for b in global_batches(19, 8, 1, 0)] == [8, 8]  # a 3-sample tail is dropped


def test_make_batch_is_deterministic_per_sample():
    samples = toy_samples(6)
    kw = dict(seed=2, epoch=1, train=True, mix=0.5, audio_augment=True)
    a = make_batch(samples, np.array([0, 3]), **kw)
    b = make_batch(samples, np.array([3]), **kw)
    assert a.images.shape == (2, 3, 32, 32) and a.masks.shape == (2, 1, 32, 32) and a.mels.shape == (2, 64, 20)
    assert np.array_equal(a.images[1].numpy(), b.images[0].numpy())  # sample 3 looks the same in any shard
    assert np.array_equal(a.mels[1].numpy(), b.mels[0].numpy()) and a.classes[1] == b.classes[0]
    plain = make_batch(samples, np.array([0]), seed=2, epoch=1, train=False)
    assert np.array_equal(
        (plain.images[0].numpy() * 255).round().astype(np.uint8).transpose(1, 2, 0), samples.images[0]
    )
    assert np.array_equal(plain.mels[0].numpy(), samples.mels[0]) and plain.classes.tolist() == [0]


def test_paste_object_copies_the_donor_object_beside_ours():
    size = 48
    image = np.full((size, size, 3), 20, np.uint8)
    mask = np.zeros((size, size), bool)
    mask[4:20, 4:20] = True
    image[mask] = (200, 0, 0)
    donor = np.full((size, size, 3), 90, np.uint8)
    donor_mask = np.zeros((size, size), bool)
    donor_mask[30:40, 25:45] = True
    donor[donor_mask] = (0, 0, 250)
    for seed in range(20):
        out, pasted = paste_object(image, mask, donor, donor_mask, np.random.default_rng(seed))
        assert pasted.sum() == donor_mask.sum()  # the same object, moved
        ys, xs = np.nonzero(pasted)
        assert (ys.max() - ys.min(), xs.max() - xs.min()) == (9, 19)
        assert (out[pasted] == (0, 0, 250)).all() and (out[~pasted] == image[~pasted]).all()
        assert (pasted & mask).sum() <= mask.sum() // 5  # our object stays mostly visible
    assert paste_object(image, mask, donor, np.zeros_like(donor_mask), np.random.default_rng(0)) is None


def _two_colour_samples(n: int = 8, size: int = 40) -> SampleSet:
    """Even samples: a red square (class 0); odd: a green one (class 1); each mel is constant = its index."""
    images = np.full((n, size, size, 3), 10, np.uint8)
    masks = np.zeros((n, size, size), bool)
    for i in range(n):
        y, x = 4 + 3 * i % 20, 6 + 5 * i % 20
        masks[i, y : y + 12, x : x + 12] = True
        images[i][masks[i]] = (230, 20, 20) if i % 2 == 0 else (20, 230, 20)
    mels = np.stack([np.full((8, 10), float(i), np.float32) for i in range(n)])
    classes = np.arange(n) % 2
    return SampleSet(images, mels, masks, np.ones(n, np.float32), [(i, 0) for i in range(n)], classes, ["r", "g"])


def test_mixing_makes_the_audio_choose_the_target():
    samples = _two_colour_samples()
    donors_heard = own_heard = 0
    for epoch in range(6):
        batch = make_batch(samples, np.arange(8), seed=0, epoch=epoch, train=True, mix=1.0)
        for k in range(8):
            heard = int(batch.mels[k, 0, 0])  # whose audio this sample got
            target = batch.masks[k, 0].numpy() > 0
            image = batch.images[k].numpy().transpose(1, 2, 0)
            assert int(batch.classes[k]) == heard % 2  # the class of the sound, not of the frame
            red = (image[..., 0] > 0.5) & (image[..., 1] < 0.3)
            green = (image[..., 1] > 0.5) & (image[..., 0] < 0.3)
            assert red.sum() > 20 and green.sum() > 20  # both objects are in the frame
            heard_colour, other_colour = (red, green) if heard % 2 == 0 else (green, red)
            assert target.sum() > 0.8 * heard_colour.sum()
            assert (target & other_colour).sum() <= 0.05 * other_colour.sum()  # not the other object
            if heard == k:
                own_heard += 1
            else:
                donors_heard += 1
    assert donors_heard > 10 and own_heard > 10


def test_audio_augmentation_keeps_the_sound_recognisable():
    mel = np.full((16, 50), -80.0, np.float32)
    mel[6] = 0.0  # one loud band
    for seed in range(10):
        out = augment_mel(mel, np.random.default_rng(seed))
        assert out.shape == mel.shape
        loud = np.nonzero(out.max(axis=1) > -40)[0]
        assert len(loud) == 1 and abs(int(loud[0]) - 6) <= 1  # at most one band of pitch shift
    outs = [augment_mel(mel + np.linspace(0, 1, 50), np.random.default_rng(s)) for s in range(5)]
    assert any(not np.array_equal(outs[0], o) for o in outs[1:])
