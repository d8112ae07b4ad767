"""avs_studio.store: the project database (SQLite by default, PostgreSQL by URL), see docs/CONTRACTS.md."""

from avs_studio.store.assignments import AssignedElsewhere, AssignmentRow, ReviewCounts
from avs_studio.store.db import parse as check_database_url
from avs_studio.store.errors import ConflictError, NotFoundError, ReadOnlyError, StoreError
from avs_studio.store.proposals import FrameMasks, ProposalCounts
from avs_studio.store.rows import (
    AnnotationRow,
    ClipResultRow,
    ObjectRow,
    PipelineRunRow,
    RevisionRow,
    TrainingRunRow,
    VideoRow,
)
from avs_studio.store.store import PALETTE, SOURCES, STATUSES, Store

__all__ = [
    "PALETTE",
    "SOURCES",
    "STATUSES",
    "AnnotationRow",
    "AssignedElsewhere",
    "AssignmentRow",
    "ClipResultRow",
    "ConflictError",
    "FrameMasks",
    "NotFoundError",
    "ObjectRow",
    "PipelineRunRow",
    "ProposalCounts",
    "ReadOnlyError",
    "ReviewCounts",
    "RevisionRow",
    "Store",
    "StoreError",
    "TrainingRunRow",
    "VideoRow",
    "check_database_url",
]
