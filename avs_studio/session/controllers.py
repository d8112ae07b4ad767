"""Every controller of one annotation window, wired to the session and its runners in one place: the
window (``gui.main_window``) and the headless test session build them here, so they cannot drift."""

from __future__ import annotations

from dataclasses import dataclass

from avs_studio.session.edit_controller import EditController
from avs_studio.session.engine_controller import EngineController
from avs_studio.session.history_controller import HistoryController
from avs_studio.session.navigation_controller import NavigationController
from avs_studio.session.objects_controller import ObjectsController
from avs_studio.session.propagation_controller import PropagationController, SegmentStored
from avs_studio.session.proposal_controller import ProposalController
from avs_studio.session.queue_controller import QueueController
from avs_studio.session.review_controller import ReviewController
from avs_studio.session.runners import FrameSource, Runner, Worker
from avs_studio.session.state import AnnotationSession


@dataclass(frozen=True)
class Controllers:
    nav: NavigationController
    edit: EditController
    review: ReviewController
    history: HistoryController
    objects: ObjectsController
    proposals: ProposalController
    propagation: PropagationController
    engines: EngineController
    review_queue: QueueController

    @classmethod
    def wire(
        cls,
        session: AnnotationSession,
        writer: Runner,
        worker: Worker,
        frames: FrameSource,
        media: Runner,
        queries: Runner,
    ) -> Controllers:
        """``writer``: every store write, in order; ``worker``: the models; ``frames``: decoding;
        ``media``: frame times, audio, waveform; ``queries``: reports read off the session's thread."""
        nav = NavigationController(session, writer, frames, media)
        return cls(
            nav=nav,
            edit=EditController(session, writer, worker, frames),
            review=ReviewController(session, writer),
            history=HistoryController(session, writer, nav),
            objects=ObjectsController(session, writer),
            proposals=ProposalController(session, writer, worker, frames),
            propagation=PropagationController(session, writer, worker),
            engines=EngineController(session, writer, queries),
            review_queue=QueueController(session, writer, worker, nav),
        )

    def job_output(self, payload: object) -> None:
        """What a running job stored, to the controller that shows it: a propagated segment, or a clip
        of proposals."""
        if isinstance(payload, SegmentStored):
            self.propagation.segment_stored(payload)
        else:
            self.proposals.clip_done(payload)
