"""Optional parts of the install (pip extras): what each enables, whether it is installed, and the one
message that tells how to add a missing one.

The base install (``pip install avs-studio``) annotates, reviews, imports, exports, evaluates and runs the
GUI without torch. ``require(extra)`` raises MissingExtraError (exact pip command) before a command starts
work it cannot finish; ``from_import_error`` turns a ModuleNotFoundError met later into the same message;
``unavailable_features()`` is what the GUI greys out. Qt-free; imports nothing optional.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass

DIST = "avs-studio"

# extra -> the top-level modules it brings (import names, not distribution names)
EXTRAS: dict[str, tuple[str, ...]] = {
    "models": (
        "torch",
        "torchvision",
        "transformers",
        "segment_anything",
        "whisper",
        "silero_vad",
        "sentence_transformers",
        "openai",
    ),
    "train": ("torch", "torchvision", "timm"),
    "postgres": ("psycopg",),
    "cluster": ("ray",),
}

PURPOSE = {
    "models": "model inference (OpenAVS proposals, SAM clicks, translate)",
    "train": "training and proposing with student models",
    "postgres": "PostgreSQL projects",
    "cluster": "cluster runs",
}

# GUI features and the extra each needs (gui/availability.py maps them to actions)
FEATURES = {"proposals": "models", "sam": "models", "video_models": "models", "training": "train"}


def pip_command(extra: str) -> str:
    """The exact command that adds ``extra`` to the Python running now."""
    return f"{sys.executable} -m pip install '{DIST}[{extra}]'"


class MissingExtraError(ImportError):
    """An optional part of the install is missing; the message names the extra and the pip command."""

    def __init__(self, extra: str, modules: list[str], what: str = ""):
        self.extra, self.modules, self.command = extra, list(modules), pip_command(extra)
        doing = what or PURPOSE.get(extra, extra)
        super().__init__(
            f"{doing} needs the optional [{extra}] extra ({', '.join(self.modules)} not installed). "
            f"Install it with: {self.command}",
            name=self.modules[0] if self.modules else None,
        )

    def __str__(self) -> str:
        return str(self.args[0])


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a blocked module (sys.modules[name] = None) or a broken parent
        return False


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (no import happens)."""
    if extra not in EXTRAS:
        raise KeyError(f"unknown extra {extra!r}; known: {', '.join(EXTRAS)}")
    return [m for m in EXTRAS[extra] if not _importable(m)]


def available(extra: str) -> bool:
    return not missing(extra)


def require(extra: str, what: str = "") -> None:
    """Raise MissingExtraError unless every module of ``extra`` is importable."""
    lacking = missing(extra)
    if lacking:
        raise MissingExtraError(extra, lacking, what)


def extra_of(module: str | None, prefer: str | None = None) -> str | None:
    """The extra that installs ``module`` (its top-level package): ``prefer`` when it is one of them."""
    root = (module or "").split(".")[0]
    owners = [e for e, mods in EXTRAS.items() if root in mods]
    if prefer in owners:
        return prefer
    return owners[0] if owners else None


def from_import_error(
    exc: ImportError, what: str = "", prefer: str | None = None
) -> MissingExtraError | None:
    """The MissingExtraError for an ImportError of an optional module, else None (a real bug)."""
    if isinstance(exc, MissingExtraError):
        return exc
    if not isinstance(exc, ModuleNotFoundError):
        return None
    extra = extra_of(exc.name, prefer)
    if extra is None:
        return None
    return MissingExtraError(extra, [str(exc.name).split(".")[0]], what)


@dataclass(frozen=True)
class Unavailable:
    feature: str
    extra: str
    message: str  # for a tooltip: what is missing and the pip command


def unavailable_features() -> dict[str, Unavailable]:
    """GUI features that cannot run in this install, with the message naming the extra to install."""
    out = {}
    for feature, extra in FEATURES.items():
        lacking = missing(extra)
        if lacking:
            out[feature] = Unavailable(feature, extra, str(MissingExtraError(extra, lacking)))
    return out
