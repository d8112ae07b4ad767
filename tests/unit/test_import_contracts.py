"""The static checks cover every module by default: each top-level module of avs_studio is placed in the
import-linter layers, the Qt-free ones are in the "no Qt" contract, and the mypy overrides name only
modules that exist (everything not listed there is typed strictly)."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "avs_studio"
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
QT_ALLOWED = {"gui", "app", "commands", "cli", "__main__"}  # the GUI and what starts it


def _top_level() -> set[str]:
    return {m.name for m in pkgutil.iter_modules([str(PACKAGE)])}


def _contract(name_start: str) -> dict:
    found = [c for c in CONFIG["importlinter"]["contracts"] if c["name"].startswith(name_start)]
    assert len(found) == 1, f"one import-linter contract named {name_start!r}..."
    return found[0]


def _short(modules: list[str]) -> set[str]:
    return {m.strip().removeprefix("avs_studio.") for entry in modules for m in entry.split("|")}


def test_every_module_is_placed_in_a_layer() -> None:
    layers = _short(_contract("Layers")["layers"])
    missing = _top_level() - layers
    assert not missing, f"place these avs_studio modules in the layers contract (pyproject.toml): {missing}"
    assert not layers - _top_level(), f"layers name modules that do not exist: {layers - _top_level()}"


def test_every_qt_free_module_is_in_the_no_qt_contract() -> None:
    sources = _short(_contract("Qt only")["source_modules"])
    missing = _top_level() - QT_ALLOWED - sources
    assert not missing, f"add these modules to the 'Qt only in gui' contract (pyproject.toml): {missing}"
    assert not sources & QT_ALLOWED


@pytest.mark.parametrize("override", range(len(CONFIG["mypy"]["overrides"])))
def test_mypy_overrides_name_existing_modules(override: int) -> None:
    for name in CONFIG["mypy"]["overrides"][override]["module"]:
        parts = name.removesuffix(".*").split(".")
        path = ROOT.joinpath(*parts)
        assert path.is_dir() or path.with_suffix(".py").is_file(), f"mypy override names {name}: no such module"


def test_core_is_strict_by_default() -> None:
    mypy = CONFIG["mypy"]
    for flag in ("disallow_untyped_defs", "disallow_any_generics", "warn_return_any", "disallow_untyped_calls"):
        assert mypy.get(flag) is True, f"[tool.mypy] {flag} must be on for every module not listed as lenient"
    lenient = {m for o in mypy["overrides"] for m in o["module"] if o.get("disallow_untyped_defs") is False}
    lenient |= {m for o in mypy["overrides"] for m in o["module"] if o.get("ignore_errors")}
    for core in ("media", "masks", "store", "io", "jobs", "session"):
        assert not any(m.startswith(f"avs_studio.{core}") for m in lenient), f"avs_studio.{core} must be strict"
    for module in ("settings", "validation", "progress", "atomic", "names", "keystore", "extras"):
        assert f"avs_studio.{module}" not in lenient
