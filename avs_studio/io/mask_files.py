"""A folder of per-frame mask PNGs (DAVIS style): ``00000.png`` = frame 0 (0-based), read and checked.

A binary PNG (grey values 0/255 or 0/1, or a 1-bit image) holds one object; an indexed (palette) PNG
holds one object per palette index (0 = background). Every other file is reported as a Problem naming
it and why, and skipped: a name that is not a frame number, a frame outside the video, a duplicate frame,
something that is not a regular file, not a PNG, a size other than the video's (checked from the header,
before anything is decoded, so a huge header costs nothing), grey values that are neither binary nor
indices, a pixel whose index is not in the palette.
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from avs_studio.io.avsbench import Problem

NAME = re.compile(r"(\d{1,9})\.png", re.IGNORECASE)
BINARY, INDEXED = "binary", "indexed"
_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError)  # noqa: B014


def printable(name: str) -> str:
    """A file name safe to print: control characters (and invalid surrogates) as escapes."""
    return "".join(
        ch if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF else ascii(ch)[1:-1] for ch in name
    )


@dataclass
class MaskFile:
    frame: int
    path: Path
    kind: str  # BINARY | INDEXED
    objects: dict[int, np.ndarray] = field(default_factory=dict)  # index (binary: 1) -> non-empty mask


class MaskFileError(ValueError):
    """One mask file cannot be used; the message says why (the caller names the file)."""


def max_file_bytes(size: tuple[int, int]) -> int:
    """Largest mask PNG accepted for a frame of this size (h, w): a generous bound on a PNG of 8-bit
    pixels (incompressible data plus headers) so a giant file is refused before it is read."""
    h, w = size
    return 2 * h * w + 2**20


def read_mask_png(path: str | os.PathLike[str], size: tuple[int, int]) -> tuple[str, dict[int, np.ndarray]]:
    """(kind, {index: mask}) of one mask PNG for a frame of ``size`` (h, w); raises MaskFileError."""
    h, w = size
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path, formats=["PNG"])
    except UnidentifiedImageError:
        raise MaskFileError("not a PNG image") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise MaskFileError(f"its header claims an oversized image ({exc})") from None
    except _ERRORS as exc:
        raise MaskFileError(f"not a readable PNG ({exc})") from exc
    with img:
        if img.size != (w, h):
            raise MaskFileError(f"is {img.size[0]}x{img.size[1]}, the video is {w}x{h}")
        try:
            img.load()
        except _ERRORS as exc:
            raise MaskFileError(f"cannot be decoded ({exc})") from exc
        if img.mode == "P":
            return INDEXED, _indexed(img)
        return BINARY, _binary(img)


def _indexed(img: Image.Image) -> dict[int, np.ndarray]:
    idx = np.asarray(img)
    colours = len(img.getpalette() or []) // 3
    used = np.unique(idx)
    bad = used[used >= max(colours, 1)]
    if bad.size:
        raise MaskFileError(f"palette index {int(bad[0])} is not in its {colours}-colour palette")
    return {int(i): idx == i for i in used if i != 0}


def _binary(img: Image.Image) -> dict[int, np.ndarray]:
    if img.mode in ("RGB", "RGBA", "LA"):
        rgb = np.asarray(img.convert("RGB"))
        if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
            raise MaskFileError("a colour image: save masks as binary (0/255) or indexed (palette) PNGs")
        arr = rgb[..., 0]
    elif img.mode in ("1", "L", "I", "I;16", "I;16B", "I;16L"):
        arr = np.asarray(img)
    else:
        raise MaskFileError(f"image mode {img.mode} is not a mask: use binary (0/255) or indexed PNGs")
    values = set(np.unique(arr).tolist())
    if img.mode != "1" and not (values <= {0, 1} or values <= {0, 255}):
        shown = ", ".join(str(v) for v in sorted(values)[:6]) + (", ..." if len(values) > 6 else "")
        raise MaskFileError(
            f"grey values {shown} are neither 0/1 nor 0/255: save one object as 0/255, several as an indexed PNG"
        )
    m = arr != 0
    return {1: m} if m.any() else {}


def scan_mask_dir(
    folder: str | os.PathLike[str], size: tuple[int, int], frame_count: int, problems: list[Problem]
) -> Iterator[MaskFile]:
    """The usable mask files of ``folder`` in frame order; each other entry becomes a Problem."""
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder of mask PNGs")
    named: dict[int, Path] = {}
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        path = Path(entry.path)
        shown = str(root / printable(entry.name))
        match = NAME.fullmatch(entry.name)
        if match is None:
            problems.append(Problem(shown, "not named by a 0-based frame number like 00000.png"))
            continue
        frame = int(match.group(1))
        try:
            st = os.stat(path)  # follows a link: what counts is the file it points to
        except OSError as exc:
            problems.append(Problem(shown, f"cannot be read ({exc.strerror or exc})"))
            continue
        if not stat.S_ISREG(st.st_mode):
            problems.append(Problem(shown, "not a regular file"))
        elif frame >= frame_count:
            problems.append(
                Problem(shown, f"frame {frame} is outside the video (frames 0-{frame_count - 1})")
            )
        elif frame in named:
            problems.append(
                Problem(shown, f"frame {frame} already comes from {printable(named[frame].name)}")
            )
        elif st.st_size > max_file_bytes(size):
            problems.append(Problem(shown, f"{st.st_size} bytes is far too large for a mask of this video"))
        else:
            named[frame] = path
    for frame in sorted(named):
        path = named[frame]
        try:
            kind, objects = read_mask_png(path, size)
        except MaskFileError as exc:
            problems.append(Problem(str(root / printable(path.name)), str(exc)))
            continue
        yield MaskFile(frame, path, kind, objects)
