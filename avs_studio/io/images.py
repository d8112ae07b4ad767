"""Reading and writing the still images of dataset layouts (PNG / JPEG), with errors naming the file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from avs_studio.io.errors import DatasetError
from avs_studio.masks import labels_from_rgb

_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError)
MAX_PIXELS = 64_000_000  # 8K x 8K: far above any dataset frame, far below what a forged header claims


def _open(path: str | os.PathLike[str]) -> Image.Image:
    try:
        img = Image.open(path)
        w, h = img.size  # from the header, before any pixel is decoded
        if w * h > MAX_PIXELS:
            img.close()
            raise DatasetError(
                f"{path}: the image claims {w}x{h} pixels, more than the {MAX_PIXELS // 1_000_000} million an "
                f"image may have here (a damaged or forged header); skipped"
            )
        img.load()
        return img
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except _ERRORS as exc:
        raise DatasetError(f"{path}: not a readable image ({exc})") from exc


def read_rgb(path: str | os.PathLike[str]) -> np.ndarray:
    """An image as RGB uint8 (H, W, 3)."""
    return np.asarray(_open(path).convert("RGB"), dtype=np.uint8).copy()


def read_binary_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """A binary ground-truth mask (any mode): non-zero grey value = foreground."""
    img = _open(path)
    if img.mode in ("P", "1", "L", "I", "I;16"):
        arr = np.asarray(img)
        return np.asarray(arr != 0, bool)  # P: palette index 0 is background whatever its colour
    return np.asarray(np.asarray(img.convert("L")) != 0, bool)


def read_gray(path: str | os.PathLike[str]) -> np.ndarray:
    """An 8-bit grayscale image (H, W) uint8 (prediction probabilities are value / 255)."""
    img = _open(path)
    if img.mode != "L":
        img = img.convert("L")
    return np.asarray(img, dtype=np.uint8).copy()


def read_labels(path: str | os.PathLike[str], palette: np.ndarray) -> np.ndarray:
    """Class indices of a semantic mask: an index PNG (P / L mode) as is, an RGB one through ``palette``."""
    img = _open(path)
    if img.mode in ("P", "L", "I", "I;16"):
        return np.asarray(img).astype(np.int32)
    try:
        return labels_from_rgb(np.asarray(img.convert("RGB")), palette)
    except ValueError as exc:
        raise DatasetError(f"{path}: {exc}") from exc


def write_mask_png(path: str | os.PathLike[str], mask: np.ndarray) -> None:
    """A binary mask as an 8-bit grayscale PNG with values 0 / 255."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.where(np.asarray(mask, bool), 255, 0).astype(np.uint8)).save(path, format="PNG")


def write_rgb(path: str | os.PathLike[str], rgb: np.ndarray, quality: int = 95) -> None:
    """An RGB image as PNG or JPEG (by suffix)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.ascontiguousarray(rgb, np.uint8))
    if Path(path).suffix.lower() in (".jpg", ".jpeg"):
        img.save(path, format="JPEG", quality=quality)
    else:
        img.save(path, format="PNG", compress_level=1)  # fast; about 10-20% larger than level 6


def write_indexed_png(path: str | os.PathLike[str], indices: np.ndarray, palette: np.ndarray) -> None:
    """Class / object indices (H, W) as a palette ('P' mode) PNG with ``palette`` (N x 3 uint8)."""
    idx = np.asarray(indices)
    if idx.size and (idx.min() < 0 or idx.max() > 255):
        raise DatasetError(f"{path}: indices must be 0..255 for an indexed PNG")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img = Image.frombytes("P", (idx.shape[1], idx.shape[0]), np.ascontiguousarray(idx, np.uint8).tobytes())
    pal = np.zeros((256, 3), np.uint8)
    p = np.asarray(palette, np.uint8)[:256]
    pal[: len(p)] = p
    img.putpalette(pal.ravel().tolist())
    img.save(path, format="PNG")
