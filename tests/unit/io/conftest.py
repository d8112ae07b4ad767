"""Fixtures for the io tests: generated AVSBench folders imported into fresh projects."""

from __future__ import annotations

from pathlib import Path

import pytest

from avs_studio.jobs.importing import import_avsbench
from avs_studio.jobs.project import init_project
from tests.helpers.avsbench_factory import make_avss, make_ms3, make_s4

MAKERS = {"s4": make_s4, "ms3": make_ms3, "avss": make_avss}
EXPORT_FORMAT = {"s4": "avsbench-s4", "ms3": "avsbench-ms3", "avss": "avss"}


@pytest.fixture
def imported(tmp_path: Path, request):
    """(layout, project, import report) for the subset given by indirect parametrisation (default s4)."""
    subset = getattr(request, "param", "s4")
    lay = MAKERS[subset](tmp_path / f"src_{subset}")
    project = init_project(tmp_path / "project")
    report = import_avsbench(project, lay.root, subset)
    yield lay, project, report
    project.close()
