"""Which engine proposes, in the window: a status-bar label ("proposes: student s1") and the Annotate ▸
Proposal engine submenu (the project's engines, the current one checked). Both follow
``EngineController`` (session/engine_controller.py) through ``events.engine_changed``. And which engine
propagates: the Annotate ▸ Propagation engine submenu (``PropagationController``)."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QLabel, QMenu, QWidget

from avs_studio.jobs.engine import Engine, parse_engine
from avs_studio.session import EngineController, PropagationController

PREFIX = "proposes: "


def engine_text(engine_id: str) -> str:
    """A menu entry for an engine id: "OpenAVS (pipeline settings)", "OpenAVS (fast)", "student s1"."""
    try:
        engine = parse_engine(engine_id)
    except ValueError:
        return engine_id
    return "OpenAVS (pipeline settings)" if engine.kind == "openavs" and not engine.name else engine.label


class EngineIndicator(QLabel):
    """The status bar's "proposes: …" (a permanent widget of its own)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(PREFIX + "–", parent)
        self.setObjectName("engine_indicator")

    def show_engine(self, engine: Engine | None) -> None:
        if engine is None:
            self.setText(PREFIX + "–")
            self.setToolTip("")
            return
        self.setText(PREFIX + engine.label)
        self.setToolTip(
            f"Ctrl+R and Ctrl+Shift+R propose with {engine.id} (the project's proposal engine); "
            "change it in Annotate ▸ Proposal engine or with Train ▸ Use as proposal engine"
        )


class EngineMenu(QMenu):
    """Annotate ▸ Proposal engine: one checkable entry per engine, rebuilt each time it opens."""

    def __init__(self, engines: EngineController, parent: QWidget | None = None) -> None:
        super().__init__("Proposal &engine", parent)
        self.setObjectName("engine_menu")
        self.setToolTipsVisible(True)
        self.engines = engines
        self.group = QActionGroup(self)
        self.aboutToShow.connect(self.rebuild)

    def rebuild(self) -> None:
        """The project's engines (``jobs.engine.available_engines``), the current one checked."""
        self.clear()
        for action in self.group.actions():
            self.group.removeAction(action)
        current = self.engines.engine.id if self.engines.engine is not None else None
        ids = self.engines.available()
        if current is not None and current not in ids:
            ids.insert(0, current)
        for engine_id in ids:
            action = QAction(engine_text(engine_id), self)
            action.setObjectName(f"engine:{engine_id}")
            action.setCheckable(True)
            action.setChecked(engine_id == current)
            action.setData(engine_id)
            action.triggered.connect(lambda _c=False, e=engine_id: self.engines.set_engine(e))
            self.group.addAction(action)
            self.addAction(action)
        if not ids:
            self.addAction("(open a project first)").setEnabled(False)

    def entries(self) -> list[tuple[str, bool]]:
        """(engine id, checked) of each entry (tests, scripts)."""
        return [(str(a.data()), a.isChecked()) for a in self.actions() if a.data()]


# engine -> its menu entry (openavs.propagation has the engines; what each is, in words, is said here)
PROPAGATION_ENGINES = {
    "flow": "Optical flow (CPU, no weights)",
    "sam2": "SAM 2.1 video (models extra, weights)",
    "sam3": "SAM 3 tracker (models extra, weights)",
}


class PropagationEngineMenu(QMenu):
    """Annotate ▸ Propagation engine: what Ctrl+P / Ctrl+Shift+P run in this project (a project setting,
    also the CLI's default). The entries are made once (availability.py greys out the ones whose extra
    is missing, by object name); the current one is checked each time the menu opens."""

    def __init__(self, propagation: PropagationController, parent: QWidget | None = None) -> None:
        super().__init__("Propagation en&gine", parent)
        self.setObjectName("propagation_engine_menu")
        self.setToolTipsVisible(True)
        self.propagation = propagation
        self.group = QActionGroup(self)
        for name, text in PROPAGATION_ENGINES.items():
            action = QAction(text, self)
            action.setObjectName(f"propagation_engine_{name}")
            action.setCheckable(True)
            action.setData(name)
            action.triggered.connect(lambda _c=False, n=name: self.propagation.set_engine(n))
            self.group.addAction(action)
            self.addAction(action)
        self.aboutToShow.connect(self.refresh)

    def refresh(self) -> None:
        current = self.propagation.engine_name()
        for action in self.group.actions():
            action.setChecked(action.data() == current)

    def entries(self) -> list[tuple[str, bool, bool]]:
        """(engine, checked, enabled) of each entry (tests, scripts)."""
        return [(str(a.data()), a.isChecked(), a.isEnabled()) for a in self.group.actions()]
