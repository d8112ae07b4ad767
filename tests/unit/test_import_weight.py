"""Start-up stays light: the CLI, the job layer and the main window load no torch or transformers.

Models load on the inference worker when first needed; importing torch alone costs ~0.5 GB of RSS and
seconds of start-up, which the 1-hour-video benchmark's memory budget has no room for.
"""

import subprocess
import sys

import pytest

CHECK = "import sys, {m}; heavy = [n for n in ('torch', 'transformers', 'whisper') if n in sys.modules]; print(heavy)"


@pytest.mark.parametrize(
    "module",
    ["avs_studio.cli", "avs_studio.jobs", "avs_studio.openavs", "avs_studio.session", "avs_studio.gui.main_window"],
)
def test_importing_loads_no_model_library(module):
    out = subprocess.run(
        [sys.executable, "-c", CHECK.format(m=module)],
        capture_output=True, text=True, check=True, env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""},
    )  # fmt: skip
    assert out.stdout.strip() == "[]", f"{module} imports {out.stdout.strip()}"
