"""A missing pip extra gives one clear message with the exact pip command: up front (`extras.require`),
from an import deep inside a command (the CLI), and as the GUI's list of features to grey out."""

from __future__ import annotations

import sys

import pytest

from avs_studio import extras
from avs_studio.extras import MissingExtraError


@pytest.fixture
def no_torch(monkeypatch):
    """Block torch and timm as an install without the [models]/[train] extras would lack them."""
    for name in [m for m in sys.modules if m.split(".")[0] in ("torch", "timm")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ModuleNotFoundError
    monkeypatch.setitem(sys.modules, "timm", None)


def test_require_names_the_extra_and_the_pip_command(no_torch):
    assert "torch" in extras.missing("models") and extras.missing("train") == ["torch", "timm"]
    with pytest.raises(MissingExtraError) as err:
        extras.require("train", "avs-studio train")
    e = err.value
    assert e.extra == "train" and e.modules == ["torch", "timm"]
    assert str(e) == (
        f"avs-studio train needs the optional [train] extra (torch, timm not installed). "
        f"Install it with: {sys.executable} -m pip install 'avs-studio[train]'"
    )
    assert isinstance(e, ImportError)


def test_import_errors_map_to_their_extra():
    err = extras.from_import_error(ModuleNotFoundError("No module named 'psycopg'", name="psycopg"))
    assert err.extra == "postgres" and "pip install 'avs-studio[postgres]'" in str(err)
    assert (
        extras.from_import_error(ModuleNotFoundError("x", name="torch.nn"), prefer="train").extra == "train"
    )
    assert extras.from_import_error(ModuleNotFoundError("x", name="torch")).extra == "models"
    assert extras.from_import_error(ModuleNotFoundError("x", name="not_ours")) is None  # a real bug stays one
    assert extras.from_import_error(ImportError("cannot import name 'x'")) is None


def test_cli_prints_the_extra_instead_of_a_traceback(no_torch, tmp_path, capsys):
    from avs_studio.cli import main

    assert main(["init", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    rc = main(["train", str(tmp_path / "p"), "--name", "s", "--epochs", "1"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert (
        "avs-studio train needs the optional [train] extra" in err
        and "pip install 'avs-studio[train]'" in err
    )


def test_unavailable_features_for_the_gui(no_torch):
    gone = extras.unavailable_features()
    assert set(gone) == {"proposals", "sam", "video_models", "training"}
    assert gone["training"].extra == "train" and "avs-studio[train]" in gone["training"].message
    assert gone["proposals"].extra == "models" and "avs-studio[models]" in gone["proposals"].message


def test_everything_is_available_in_the_full_install():
    assert extras.unavailable_features() == {} and extras.missing("train") == []


def test_a_postgres_url_without_the_driver_names_the_postgres_extra(monkeypatch, tmp_path, capsys):
    from avs_studio.cli import main

    monkeypatch.setitem(sys.modules, "psycopg", None)
    rc = main(["--database-url", "postgresql+psycopg://app:pw@127.0.0.1:1/db", "status", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1 and "needs the optional [postgres] extra" in err and "'avs-studio[postgres]'" in err
