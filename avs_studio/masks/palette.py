"""Colours: the fixed object palette of the GUI and the label palettes of DAVIS / AVSBench files."""

from __future__ import annotations

import numpy as np

# matplotlib's tab10 followed by the light shades of tab20, both without their greys (grey means
# "not processed" in the review colours). The order never changes: object i always gets colour i.
OBJECT_PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5",
    "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
)  # fmt: skip

AVSS_CLASSES = 71  # AVSBench-semantic: background + 70 classes


def colour_for_index(index: int) -> str:
    """The "#rrggbb" colour of object ``index`` (0-based), cycling through OBJECT_PALETTE."""
    if index < 0:
        raise ValueError(f"object index must be >= 0, got {index}")
    return OBJECT_PALETTE[index % len(OBJECT_PALETTE)]


def hex_to_rgb(colour: str) -> tuple[int, int, int]:
    """Parse "#rrggbb" into (r, g, b) ints 0..255."""
    text = colour.strip()
    if len(text) != 7 or text[0] != "#":
        raise ValueError(f"colour must look like '#rrggbb', got {colour!r}")
    try:
        return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)
    except ValueError:
        raise ValueError(f"colour must look like '#rrggbb', got {colour!r}") from None


def voc_colormap(count: int = 256) -> np.ndarray:
    """The PASCAL VOC colormap (``count`` x 3 uint8), by its bit-shifting rule.

    Label i spreads its bits over the channels: bit 3k goes to red, 3k+1 to green and 3k+2 to blue, each
    at bit position 7 - k of its channel. Label 0 is black, 1 is (128, 0, 0), 255 is (224, 224, 192).
    """
    if not 0 < count <= 256:
        raise ValueError(f"the VOC colormap has 1..256 entries, asked for {count}")
    labels = np.arange(count)
    cmap = np.zeros((count, 3), dtype=np.uint8)
    for k in range(8):
        for channel in range(3):
            bit = (labels >> (3 * k + channel)) & 1
            cmap[:, channel] |= (bit << (7 - k)).astype(np.uint8)
    return cmap


def davis_palette() -> np.ndarray:
    """The DAVIS palette for indexed PNG masks: the 256-entry PASCAL VOC colormap (256 x 3 uint8)."""
    return voc_colormap(256)


def avss_palette() -> np.ndarray:
    """AVSBench-semantic label colours (71 x 3 uint8): the first 71 PASCAL VOC colormap entries.

    This is the palette of AVSBench's get_v2_pallete(); label 0 (background) is black.
    """
    return voc_colormap(AVSS_CLASSES)


def labels_from_rgb(image: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Map an (h, w, 3) uint8 colour label image to int32 labels (row index in ``palette``).

    Raises ValueError naming the first colour that is not in the palette.
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"a colour label image must be (height, width, 3), got shape {img.shape}")
    pal = np.asarray(palette, dtype=np.int64)
    keys = _rgb_keys(img.astype(np.int64))
    pal_keys = _rgb_keys(pal)
    order = np.argsort(pal_keys, kind="stable")
    pos = np.clip(np.searchsorted(pal_keys[order], keys), 0, len(order) - 1)
    found = pal_keys[order][pos] == keys
    if not found.all():
        r, c = np.argwhere(~found)[0]
        raise ValueError(f"colour {tuple(int(v) for v in img[r, c])} at (x={c}, y={r}) is not in the palette")
    return order[pos].astype(np.int32)


def rgb_from_labels(labels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Map int labels (h, w) to an (h, w, 3) uint8 colour image through ``palette``."""
    lab = np.asarray(labels)
    pal = np.asarray(palette, dtype=np.uint8)
    if lab.ndim != 2 or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels must be a 2-D integer array, got shape {lab.shape} dtype {lab.dtype}")
    if lab.size and (lab.min() < 0 or lab.max() >= len(pal)):
        raise ValueError(f"labels must be in 0..{len(pal) - 1}, got {lab.min()}..{lab.max()}")
    return np.asarray(pal[lab])


def _rgb_keys(rgb: np.ndarray) -> np.ndarray:
    return np.asarray((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
