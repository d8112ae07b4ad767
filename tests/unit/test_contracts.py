"""The docs stay true: every name docs/CONTRACTS.md lists exists, and the README, CONTRACTS.md and the ADRs
name only files that exist."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "docs" / "CONTRACTS.md"
LAYER = re.compile(r"^## `(avs_studio(?:\.\w+)*)`$", re.M)
TICKED = re.compile(r"`([^`]+)`")
NAME = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
PACKAGES = "media|masks|store|openavs|training|io|jobs|session|gui|commands"
PATH = re.compile(
    rf"(?<![\w/.-])((?:avs_studio|tests|docs|resources|packaging|\.ci|{PACKAGES})/[\w./*<>-]*\w)"
)


def _sections() -> list[tuple[str | None, str]]:
    text = CONTRACTS.read_text(encoding="utf-8")
    out: list[tuple[str | None, str]] = []
    for block in re.split(r"(?=^## )", text, flags=re.M):
        match = LAYER.match(block)
        out.append((match.group(1), block[match.end() :]) if match else (None, block))
    return out


def _is_attribute(cls: type, name: str) -> bool:
    """``name`` is set on instances of ``cls`` (annotation, dataclass field or ``self.name =``)."""
    for klass in inspect.getmro(cls):
        if name in getattr(klass, "__annotations__", {}) or name in getattr(
            klass, "__dataclass_fields__", {}
        ):
            return True
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        if re.search(rf"self\.{name}\s*(:[^=\n]+)?=(?!=)", source) or re.search(
            rf"self\.{name}\s*,[^=\n]*=", source
        ):
            return True
    return False


def _has_submodule(package: str, name: str) -> bool:
    return importlib.util.find_spec(f"{package}.{name}") is not None


def resolve(module: str, dotted: str) -> None:
    """Import ``module`` and walk ``dotted`` (attributes, submodules, then instance attributes)."""
    obj: object = importlib.import_module(module)
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if hasattr(obj, part):
            obj = getattr(obj, part)
        elif inspect.ismodule(obj) and hasattr(obj, "__path__") and _has_submodule(obj.__name__, part):
            obj = importlib.import_module(f"{obj.__name__}.{part}")
        elif inspect.isclass(obj) and i == len(parts) - 1 and _is_attribute(obj, part):
            return
        else:
            raise AssertionError(f"{module}: `{dotted}` does not exist ({part!r} not found)")


def _named(module: str | None, body: str) -> list[tuple[str, str]]:
    """(module, dotted name) for each name a section lists."""
    out = []
    for token in TICKED.findall(body):
        if "/" in token or token.startswith("python -m "):
            continue  # paths and commands: checked below
        if module is None:  # conventions: only fully qualified names are checked
            if token.startswith("avs_studio.") and NAME.match(token):
                head, _, rest = token.partition(".")
                out.append((head, rest))
            continue
        assert NAME.match(token), f"{module}: `{token}` is not a name; keep prose out of backticks there"
        out.append((module, token))
    return out


NAMES = [pair for module, body in _sections() for pair in _named(module, body)]


def test_contracts_list_names_in_every_layer():
    layers = {m for m, _ in _sections() if m}
    assert {
        "avs_studio.media",
        "avs_studio.store",
        "avs_studio.jobs",
        "avs_studio.session",
        "avs_studio.gui",
    } <= layers
    assert len(NAMES) > 150


@pytest.mark.parametrize("module,name", NAMES, ids=[f"{m}:{n}" for m, n in NAMES])
def test_every_listed_name_exists(module, name):
    resolve(module, name)


def test_commands_it_lists_exist():
    for token in TICKED.findall(CONTRACTS.read_text(encoding="utf-8")):
        if token.startswith("python -m "):
            assert importlib.util.find_spec(token.split()[2]) is not None, token


DOCS = [ROOT / "README.md", CONTRACTS, *sorted((ROOT / "docs" / "adr").glob("*.md"))]


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_docs_name_only_files_that_exist(doc):
    missing = []
    for path in sorted(set(PATH.findall(doc.read_text(encoding="utf-8")))):
        if "<" in path:  # a pattern such as commands/<area>.py
            continue
        bases = [ROOT] if path.split("/")[0] not in PACKAGES.split("|") else [ROOT / "avs_studio"]
        if not any(list(base.glob(path)) if "*" in path else (base / path).exists() for base in bases):
            missing.append(path)
    assert not missing, f"{doc.name} names files that do not exist: {missing}"
