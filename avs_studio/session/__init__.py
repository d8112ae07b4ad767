"""avs_studio.session: the Qt-free state of one annotation window and the controllers that change it.

``AnnotationSession`` holds what is shown and emits ``events``; each controller takes the session and
the runners it writes and computes on, and turns one user intent into store work. The GUI only connects
its signals to controllers and draws the session (see docs/adr/0010-session-and-controllers.md).
"""

from avs_studio.session.assignment_guard import AssignmentGuard
from avs_studio.session.controller import Controller
from avs_studio.session.controllers import Controllers
from avs_studio.session.display import STATUS_COLOURS, Layer
from avs_studio.session.edit_controller import EditController
from avs_studio.session.engine_controller import EngineController
from avs_studio.session.events import Event
from avs_studio.session.history_controller import HistoryController
from avs_studio.session.media import MediaData, load_media
from avs_studio.session.navigation_controller import NavigationController, speed_step
from avs_studio.session.objects_controller import ObjectsController
from avs_studio.session.prompts import ClipPrompt, FramePrompt
from avs_studio.session.propagation_controller import PropagationController, SegmentStored
from avs_studio.session.proposal_controller import ProposalController
from avs_studio.session.queue_controller import QueueController
from avs_studio.session.review_controller import ReviewController
from avs_studio.session.runners import FrameSource, ImmediateRunner, Priority, Runner, Worker
from avs_studio.session.state import AnnotationSession, SessionEvents

__all__ = [
    "STATUS_COLOURS",
    "AnnotationSession",
    "AssignmentGuard",
    "ClipPrompt",
    "Controller",
    "Controllers",
    "EditController",
    "EngineController",
    "Event",
    "FramePrompt",
    "FrameSource",
    "HistoryController",
    "ImmediateRunner",
    "Layer",
    "MediaData",
    "NavigationController",
    "ObjectsController",
    "Priority",
    "PropagationController",
    "ProposalController",
    "QueueController",
    "ReviewController",
    "Runner",
    "SegmentStored",
    "SessionEvents",
    "Worker",
    "load_media",
    "speed_step",
]
