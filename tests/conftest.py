"""Suite-wide settings: headless Qt and a private model cache and data dir."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCREENSHOTS = ROOT / "test-output" / "screenshots"


@pytest.fixture(autouse=True, scope="session")
def _private_dirs(tmp_path_factory):
    """Keep the user's model cache, data dir, key file and keyring out of tests."""
    base = tmp_path_factory.mktemp("avs-home")
    keys = ("AVS_STUDIO_CACHE", "AVS_STUDIO_DATA", "AVS_STUDIO_CONFIG", "AVS_STUDIO_KEYRING")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ["AVS_STUDIO_CACHE"] = str(base / "cache")
    os.environ["AVS_STUDIO_DATA"] = str(base / "data")
    os.environ["AVS_STUDIO_CONFIG"] = str(base / "config")
    os.environ["AVS_STUDIO_KEYRING"] = "file"
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
