"""The one table of actions: id, menu text, default keys, tooltip. Shortcuts are rebindable.

Every non-drawing command of the main window is a QAction made from this table, so menus, tooltips,
the F1 list and the shortcut editor all read the same place. User bindings are kept in one place, the
user's QSettings (group "shortcuts", key = action id, value = portable key text, several joined by
"; ", "" = no key): ``save_keys`` / ``load_keys`` below, used by ``ActionTable``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction, QKeySequence


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    keys: tuple[str, ...] = ()  # default shortcuts (portable text, first one shown in menus)
    tip: str = ""
    menu: str = ""  # File | Edit | Annotate | Review | Navigate | Tools | View | Help
    checkable: bool = False


SPECS: tuple[ActionSpec, ...] = (
    # File
    ActionSpec("new_project", "&New project…", ("Ctrl+N",), "Create a project in an empty folder", "File"),
    ActionSpec("open_project", "&Open project…", ("Ctrl+O",), "Open an AVS Studio project folder", "File"),
    ActionSpec("add_videos", "&Add videos…", ("Ctrl+I",), "Add video files to this project", "File"),
    ActionSpec(
        "locate_video",
        "&Locate video…",
        (),
        "Point the project at a video file that was moved (its content is checked)",
        "File",
    ),
    ActionSpec("quit", "&Quit", ("Ctrl+Q",), "Close AVS Studio (everything is already stored)", "File"),
    # Edit
    ActionSpec("undo", "&Undo", ("Ctrl+Z",), "Undo the last stored change (also after a restart)", "Edit"),
    ActionSpec("redo", "&Redo", ("Ctrl+Shift+Z",), "Redo the last undone change", "Edit"),
    ActionSpec(
        "settings", "&Settings…", ("Ctrl+,",), "Pipeline settings: device, models, LLM endpoint", "Edit"
    ),
    ActionSpec(
        "edit_shortcuts", "&Keyboard shortcuts…", ("Ctrl+K",), "Change the keys of any action", "Edit"
    ),
    # Navigate
    ActionSpec("play", "&Play / pause", ("Space",), "Play the video with sound from this frame", "Navigate"),
    ActionSpec(
        "play_second",
        "Play this &second",
        ("Shift+Space",),
        "Play the current second with sound, then come back",
        "Navigate",
    ),
    ActionSpec(
        "slower", "Play s&lower", ("Ctrl+Down",), "Playback speed one step down (to 0.25x)", "Navigate"
    ),
    ActionSpec("faster", "Play &faster", ("Ctrl+Up",), "Playback speed one step up (to 2x)", "Navigate"),
    ActionSpec(
        "loop_clip",
        "&Loop this clip",
        ("L",),
        "While playing, repeat the 5-second clip holding this frame",
        "Navigate",
        checkable=True,
    ),
    ActionSpec("prev_frame", "Previous frame", ("Left",), "", "Navigate"),
    ActionSpec("next_frame", "Next frame", ("Right",), "", "Navigate"),
    ActionSpec("back_second", "Back one second", ("Shift+Left",), "", "Navigate"),
    ActionSpec("forward_second", "Forward one second", ("Shift+Right",), "", "Navigate"),
    ActionSpec("prev_keyframe", "Previous keyframe", (",",), "", "Navigate"),
    ActionSpec("next_keyframe", "Next keyframe", (".",), "", "Navigate"),
    ActionSpec(
        "next_review",
        "Next keyframe to &review",
        ("N",),
        "Next keyframe that is proposed, edited or not processed",
        "Navigate",
    ),
    # Review
    ActionSpec(
        "accept", "&Accept object", ("A",), "Accept the selected object's mask on this frame", "Review"
    ),
    ActionSpec(
        "reject", "&Reject object", ("R",), "Reject the selected object's mask on this frame", "Review"
    ),
    ActionSpec(
        "accept_clip",
        "Accept &clip",
        ("Shift+A",),
        "Accept every mask of the current 5-second clip",
        "Review",
    ),
    ActionSpec(
        "next_uncertain",
        "Next most &uncertain",
        ("U",),
        "Go to the unreviewed keyframe the student is least sure of (needs a trained student)",
        "Review",
    ),
    ActionSpec(
        "proposal_quality",
        "Proposal &quality…",
        ("Ctrl+Shift+M",),
        "How good each engine's proposals were, measured on the frames people accepted",
        "Review",
    ),
    # Tools
    ActionSpec("tool_brush", "&Brush", ("B",), "Paint the selected object", "Tools", True),
    ActionSpec("tool_eraser", "&Eraser", ("E",), "Erase from the selected object", "Tools", True),
    ActionSpec(
        "tool_polygon", "&Polygon", ("P",), "Click points; Enter or double click fills", "Tools", True
    ),
    ActionSpec(
        "tool_sam",
        "&SAM refine",
        ("S",),
        "Left click adds, right click removes, drag draws a box",
        "Tools",
        True,
    ),
    ActionSpec("brush_smaller", "Smaller brush", ("[",), "", "Tools"),
    ActionSpec("brush_larger", "Larger brush", ("]",), "", "Tools"),
    ActionSpec("fill_holes", "&Fill holes", ("H",), "Fill the holes of the selected object's mask", "Tools"),
    ActionSpec(
        "copy_previous",
        "&Copy from previous keyframe",
        ("C",),
        "Copy all masks of the previous keyframe here",
        "Tools",
    ),
    ActionSpec(
        "rerun_prompt", "Re-run &text prompt", ("T",), "Segment this frame again with its phrases", "Annotate"
    ),
    ActionSpec(
        "download_models",
        "&Download models…",
        (),
        "Fetch the model weights the pipeline settings need",
        "Annotate",
    ),
    ActionSpec(
        "run_clip",
        "Propose masks for current &clip",
        ("Ctrl+R",),
        "Propose masks for the current 5-s clip with the proposal engine (Annotate ▸ Proposal engine)",
        "Annotate",
    ),
    ActionSpec(
        "run_videos",
        "Propose masks for &selected videos",
        ("Ctrl+Shift+R",),
        "Propose masks for the selected videos with the proposal engine (Annotate ▸ Proposal engine)",
        "Annotate",
    ),
    ActionSpec(
        "propagate_object",
        "&Propagate selected object",
        ("Ctrl+P",),
        "Carry the selected object's reviewed masks to every frame of this video, as proposals",
        "Annotate",
    ),
    ActionSpec(
        "propagate_all",
        "Propagate &all objects",
        ("Ctrl+Shift+P",),
        "Carry every object's reviewed masks to every frame of this video, as proposals",
        "Annotate",
    ),
    # View
    ActionSpec("mask_mode", "&Masks: fill / outline / hidden", ("O",), "Cycle how masks are drawn", "View"),
    ActionSpec(
        "spectrogram", "&Spectrogram", ("G",), "Show the spectrogram instead of the waveform", "View", True
    ),
    ActionSpec("zoom_fit", "Zoom to &fit", ("Ctrl+0",), "", "View"),
    ActionSpec("zoom_in", "Zoom &in", ("Ctrl+=",), "", "View"),
    ActionSpec("zoom_out", "Zoom &out", ("Ctrl+-",), "", "View"),
    ActionSpec("show_jobs", "&Jobs", ("Ctrl+J",), "Show or hide the jobs dock", "View", True),
    # Help
    ActionSpec("shortcuts", "&Shortcuts", ("F1",), "List every action and its keys", "Help"),
    ActionSpec("about", "&About AVS Studio", (), "", "Help"),
) + tuple(ActionSpec(f"select_{i}", f"Select object {i}", (str(i),), "", "Review") for i in range(1, 10))


GROUP = "shortcuts"
PORTABLE = QKeySequence.SequenceFormat.PortableText


def save_keys(settings: QSettings, action_id: str, keys: list[QKeySequence]) -> None:
    """Remember the keys of one action for this user."""
    settings.setValue(f"{GROUP}/{action_id}", "; ".join(k.toString(PORTABLE) for k in keys))


def load_keys(settings: QSettings, action_id: str) -> list[QKeySequence] | None:
    """The keys the user gave an action; None when never changed (its defaults apply)."""
    value = settings.value(f"{GROUP}/{action_id}")
    if value is None:
        return None
    return [QKeySequence(part.strip()) for part in str(value).split(";") if part.strip()]


def forget_keys(settings: QSettings, action_id: str) -> None:
    settings.remove(f"{GROUP}/{action_id}")


def _tip(spec: ActionSpec, keys: list[QKeySequence]) -> str:
    text = spec.tip or spec.text.replace("&", "").rstrip("…")
    shown = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys if not k.isEmpty())
    return f"{text} ({shown})" if shown else text


class ActionTable(QObject):
    """The QActions of a window, by id, with rebindable shortcuts kept in QSettings."""

    changed = Signal(str)  # action id whose shortcut changed

    def __init__(self, parent: QObject, settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.specs: dict[str, ActionSpec] = {s.id: s for s in SPECS}
        self.actions: dict[str, QAction] = {}
        for spec in SPECS:
            action = QAction(spec.text, parent)
            action.setObjectName(spec.id)
            action.setCheckable(spec.checkable)
            self.actions[spec.id] = action
            self._apply(spec.id, self._stored(spec.id))

    def __getitem__(self, action_id: str) -> QAction:
        return self.actions[action_id]

    def connect(self, action_id: str, fn: Callable[..., object]) -> None:
        self.actions[action_id].triggered.connect(lambda _checked=False: fn())

    def default_keys(self, action_id: str) -> list[QKeySequence]:
        return [QKeySequence(k) for k in self.specs[action_id].keys]

    def keys(self, action_id: str) -> list[QKeySequence]:
        return list(self.actions[action_id].shortcuts())

    def set_keys(self, action_id: str, keys: list[QKeySequence | str]) -> None:
        """Rebind ``action_id`` (empty list = no key) and remember it across restarts."""
        seqs = [k if isinstance(k, QKeySequence) else QKeySequence(k) for k in keys]
        self._apply(action_id, seqs)
        save_keys(self.settings, action_id, seqs)
        self.changed.emit(action_id)

    def default_mapping(self) -> dict[str, str]:
        """Action id -> its first default key ("" = none), what the shortcut editor resets to."""
        return {aid: spec.keys[0] if spec.keys else "" for aid, spec in self.specs.items()}

    def apply_mapping(self, mapping: Mapping[str, str]) -> list[str]:
        """Bind and remember the keys of a mapping {action id: key} as a whole (the shortcut editor's
        OK); ShortcutConflict and nothing changed when two actions would share a key."""
        from avs_studio.gui.shortcuts import apply_shortcuts, normalise_key

        changed = apply_shortcuts(self.actions, mapping)  # checks the whole mapping first
        for aid, key in mapping.items():
            if aid in self.actions and aid in changed:
                self.set_keys(aid, [normalise_key(key)] if normalise_key(key) else [])
        return changed

    def reset(self, action_id: str) -> None:
        forget_keys(self.settings, action_id)
        self._apply(action_id, self.default_keys(action_id))
        self.changed.emit(action_id)

    def conflicts(self) -> dict[str, list[str]]:
        """Key text -> action ids bound to it, for keys bound more than once."""
        seen: dict[str, list[str]] = {}
        for aid, action in self.actions.items():
            for k in action.shortcuts():
                if not k.isEmpty():
                    seen.setdefault(k.toString(QKeySequence.SequenceFormat.PortableText), []).append(aid)
        return {k: v for k, v in seen.items() if len(v) > 1}

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(menu, text, keys, tip) for the F1 list, in table order."""
        out = []
        for aid, spec in self.specs.items():
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in self.keys(aid))
            out.append((spec.menu, spec.text.replace("&", ""), keys, spec.tip))
        return out

    def _stored(self, action_id: str) -> list[QKeySequence]:
        keys = load_keys(self.settings, action_id)
        return self.default_keys(action_id) if keys is None else keys

    def _apply(self, action_id: str, keys: list[QKeySequence]) -> None:
        action = self.actions[action_id]
        action.setShortcuts(keys)
        action.setToolTip(_tip(self.specs[action_id], keys))
        action.setStatusTip(self.specs[action_id].tip)
