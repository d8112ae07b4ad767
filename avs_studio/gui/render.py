"""Numpy images <-> QImage, and the mask overlay (about 45% fill + solid outline per object)."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QColor, QImage

from avs_studio.session.display import Layer

__all__ = [
    "FILL_ALPHA",
    "MODES",
    "Layer",
    "argb_qimage",
    "composite",
    "from_qimage",
    "outline",
    "rgb_of",
    "to_qimage",
]

FILL_ALPHA = 115  # about 45% of 255
MODES = ("fill", "outline", "hidden")


def to_qimage(rgb: np.ndarray) -> QImage:
    """uint8 RGB (H, W, 3) or RGBA (H, W, 4) -> QImage owning a copy of the pixels."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    fmt = QImage.Format.Format_RGBA8888 if rgb.shape[2] == 4 else QImage.Format.Format_RGB888
    return QImage(rgb.data, w, h, rgb.strides[0], fmt).copy()


def from_qimage(image: QImage) -> np.ndarray:
    """QImage -> uint8 RGB (H, W, 3) copy."""
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w = img.height(), img.width()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=img.bytesPerLine() * h)
    return buf.reshape(h, img.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def rgb_of(colour: str) -> tuple[int, int, int]:
    c = QColor(colour)
    return c.red(), c.green(), c.blue()


def outline(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """Pixels of ``mask`` that touch the background (the solid edge drawn around a mask)."""
    m = mask.astype(np.uint8)
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    inner = cv2.erode(m, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return (m > 0) & (inner == 0)


def hatch(shape: tuple[int, int]) -> np.ndarray:
    """Diagonal stripes (True on the stripes) scaled to the frame: how a rejected mask is filled."""
    h, w = shape
    period = max(6, round(max(h, w) / 60))
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx + yy) % period) < period // 2


def composite(shape: tuple[int, int], layers: list[Layer], mode: str) -> np.ndarray:
    """RGBA (H, W, 4) overlay of the layers, later layers on top."""
    h, w = shape
    out = np.zeros((h, w, 4), np.uint8)
    if mode == "hidden":
        return out
    edge_width = max(1, round(max(h, w) / 400))
    for layer in layers:
        if layer.mask.shape != (h, w) or not layer.mask.any():
            continue
        r, g, b = rgb_of(layer.colour)
        if layer.status == "rejected":  # hatched: told apart from accepted and proposed at a glance
            out[layer.mask & hatch((h, w))] = (r, g, b, FILL_ALPHA if mode == "fill" else 255)
        elif mode == "fill":
            out[layer.mask] = (r, g, b, FILL_ALPHA)
        edge = outline(layer.mask, edge_width + (1 if layer.selected else 0))
        out[edge] = (r, g, b, 255)
    return out


def argb_qimage(argb: np.ndarray) -> QImage:
    """QImage (RGB32, a copy) of an (h, w) uint32 0xAARRGGBB array."""
    h, w = argb.shape
    data = np.ascontiguousarray(argb, dtype=np.uint32)
    return QImage(data.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()
