"""Grey out what this install cannot do: the actions of a feature whose pip extra is missing are disabled,
their tooltip names the extra and the pip command (the logic is Qt-free: avs_studio.extras)."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction

from avs_studio import extras

# feature (extras.FEATURES) -> action ids (gui/actions.py, or an objectName such as the Train menu's)
FEATURE_ACTIONS = {
    "proposals": ("run_clip", "run_videos", "rerun_prompt"),
    "sam": ("tool_sam",),
    "video_models": ("propagation_engine_sam2", "propagation_engine_sam3"),
    "training": ("train_student", "next_uncertain"),  # the review queue runs the student
}


def grey_out_unavailable(window: Any) -> dict[str, str]:
    """Disable the window's actions that need a missing extra; returns action id -> tooltip set."""
    table = getattr(getattr(window, "action_table", None), "actions", {})
    named = {a.objectName(): a for a in window.findChildren(QAction) if a.objectName()}
    done = {}
    for feature, missing in extras.unavailable_features().items():
        for aid in FEATURE_ACTIONS.get(feature, ()):
            action = table.get(aid) or named.get(aid)
            if action is None:
                continue
            action.setEnabled(False)
            action.setToolTip(missing.message)
            action.setStatusTip(missing.message)
            done[aid] = missing.message
    return done
