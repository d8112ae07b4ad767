"""EngineController: which engine proposes in this project (``jobs.engine``), switching it, and the
quality of each engine measured on the people's own review (``jobs.quality``), computed off the
session's thread.

The engine is a project setting, so a change made elsewhere (the Train dialog, the CLI) shows after
``refresh``; every change is announced through ``events.engine_changed``.
"""

from __future__ import annotations

from collections.abc import Callable

from avs_studio.jobs.engine import (
    DEFAULT_ENGINE,
    Engine,
    EngineError,
    available_engines,
    proposal_engine,
    set_proposal_engine,
)
from avs_studio.jobs.quality import QualityReport, proposal_quality
from avs_studio.session.controller import Controller
from avs_studio.session.runners import Runner
from avs_studio.session.state import AnnotationSession


class EngineController(Controller):
    """``queries``: the runner the quality report is computed on (reads the whole revision log)."""

    def __init__(self, session: AnnotationSession, writer: Runner, queries: Runner) -> None:
        super().__init__(session, writer)
        self.queries = queries
        self.engine: Engine | None = None  # None: no project open
        self.events.project_changed.connect(self.refresh)

    def refresh(self) -> Engine | None:
        """Re-read the project's proposal engine and announce it. A setting that cannot be used is
        reported once and OpenAVS proposes meanwhile."""
        project = self.session.project
        if project is None:
            self.engine = None
        else:
            try:
                self.engine = proposal_engine(project)
            except EngineError as exc:
                self.engine = Engine(DEFAULT_ENGINE, "", "default")
                self.events.error.emit("The proposal engine setting is not usable", str(exc))
        self.events.engine_changed.emit(self.engine)
        return self.engine

    def available(self) -> list[str]:
        """Engine ids this project can switch to (OpenAVS, its profiles, each finished student)."""
        project = self.session.project
        return [] if project is None else available_engines(project)

    def set_engine(self, engine: str) -> None:
        """Make ``engine`` ("openavs", "openavs:PROFILE", "student:NAME") the project's proposal engine
        (checked first: a missing model or profile is reported and nothing changes)."""
        project = self.session.project
        if project is None:
            return

        def done(chosen: Engine) -> None:
            self.refresh()
            self.say(f"Proposals now come from {chosen.label}", 5000)

        self.write(lambda: set_proposal_engine(project, engine), done, "proposal engine")

    def quality(
        self, on_done: Callable[[QualityReport], None], on_error: Callable[[str], object] | None = None
    ) -> int | None:
        """Compute ``jobs.quality.proposal_quality`` on the queries runner; ``on_done(report)`` runs back
        on the session's thread. None when no project is open."""
        project = self.session.project
        if project is None:
            return None

        def failed(message: str) -> None:
            self.events.error.emit("Proposal quality could not be computed", message)
            if on_error is not None:
                on_error(message)

        return self.queries.submit(lambda: proposal_quality(project), on_done=on_done, on_error=failed)
