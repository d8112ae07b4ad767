"""Names that become parts of file paths (split, category, video name) and the joins built from them.

One set of rules, checked where a name enters (add, import, rename, settings) and again where a path
is built (``safe_join``), so a hostile or careless name can never steer a read or a write outside
the folder it belongs to. Errors name the field, the value and what is wrong.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

MAX_BYTES = 200  # a file-name component is at most 255 bytes; leave room for suffixes ("_5.png")
MAX_LABEL = 200
_DRIVE = re.compile(r"^[A-Za-z]:")
_SEPARATORS = ("/", "\\")


class UnsafeNameError(ValueError):
    """A name cannot be used: it could steer a path elsewhere, or no file system can hold it."""


class UnsafePathError(ValueError):
    """A path built from names (or a symlink on the way) leads outside the folder it must stay in."""


def _control(value: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in value)


def name_problem(value: object) -> str | None:
    """Why ``value`` cannot be one path component (None when it can); checked after stripping spaces."""
    if not isinstance(value, str):
        return f"is a {type(value).__name__}, not text"
    v = value.strip()
    if not v:
        return "is empty"
    if _control(v):
        return "contains a control character (NUL, tab, newline, ...)"
    if any(sep in v for sep in _SEPARATORS):
        return "contains a path separator ('/' or '\\')"
    if set(v) == {"."}:
        return "is '.' or '..'"
    if ":" in v:
        return "contains ':' (a drive letter or stream name on Windows)"
    if len(v.encode("utf-8")) > MAX_BYTES:
        return f"is longer than {MAX_BYTES} bytes"
    return None


def check_name(value: object, what: str) -> str:
    """``value`` stripped of surrounding spaces, if it is safe as one file or folder name.

    Refused (UnsafeNameError): empty or only spaces, '.', '..' (also with spaces around), a separator
    ('/' or '\\'), an absolute path or drive letter, a control character such as NUL, or over
    ``MAX_BYTES`` bytes.
    """
    problem = name_problem(value)
    if problem:
        raise UnsafeNameError(f"{what} {value!r} {problem}; use a plain name such as 'train' or 'dog_bark'")
    return str(value).strip()


def check_optional(value: object, what: str) -> str | None:
    return None if value is None else check_name(value, what)


def check_label(value: object, what: str = "object label") -> str:
    """An object label (shown, exported in JSON; never a path): non-empty text without control
    characters, at most ``MAX_LABEL`` characters; returned stripped."""
    if not isinstance(value, str) or not value.strip():
        raise UnsafeNameError(f"{what} {value!r} is empty; give the object a name")
    v = value.strip()
    if _control(v):
        raise UnsafeNameError(f"{what} {value!r} contains a control character (NUL, tab, newline, ...)")
    if len(v) > MAX_LABEL:
        raise UnsafeNameError(f"{what} {v[:40]!r}... is longer than {MAX_LABEL} characters")
    return v


def clean_name(value: str, fallback: str = "video") -> str:
    """A safe name made from ``value`` (a file's stem): unusable characters become '_'."""
    v = "".join("_" if c in "/\\:" or unicodedata.category(c) == "Cc" else c for c in value).strip()
    while len(v.encode("utf-8")) > MAX_BYTES:
        v = v[:-1]
    return v if v and set(v) != {"."} else fallback


def safe_join(root: str | os.PathLike[str], *parts: str) -> Path:
    """``root / parts...``, refused (UnsafePathError) unless the result, with every symlink on the way
    followed, stays inside ``root`` (itself resolved). ``parts`` may hold '/'-separated relative paths."""
    for part in parts:
        if PurePosixPath(part).is_absolute() or PureWindowsPath(part).is_absolute() or _DRIVE.match(part):
            raise UnsafePathError(f"{part!r} is an absolute path; it must stay inside {root}")
        if "\x00" in part:
            raise UnsafePathError(f"{part!r} contains a NUL character")
    path = Path(root, *parts)
    base = Path(root).resolve()
    target = path.resolve()
    if target != base and not target.is_relative_to(base):
        raise UnsafePathError(f"{path} leads outside {root} (to {target}); refused")
    return path
