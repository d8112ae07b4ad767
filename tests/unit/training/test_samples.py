"""Augmentation keeps image and mask aligned; batch order is the same for any number of processes."""

import numpy as np

from avs_studio.training.samples import augment, global_batches, make_batch, shard
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
    a = make_batch(samples, np.array([0, 3]), seed=2, epoch=1, train=True)
    b = make_batch(samples, np.array([3]), seed=2, epoch=1, train=True)
    assert a[0].shape == (2, 3, 32, 32) and a[2].shape == (2, 1, 32, 32) and a[1].shape == (2, 64, 20)
    assert np.array_equal(a[0][1].numpy(), b[0][0].numpy())  # sample 3 looks the same in any shard
    plain = make_batch(samples, np.array([0]), seed=2, epoch=1, train=False)
    assert np.array_equal(
        (plain[0][0].numpy() * 255).round().astype(np.uint8).transpose(1, 2, 0), samples.images[0]
    )
