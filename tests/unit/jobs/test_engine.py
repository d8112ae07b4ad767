"""jobs.engine: the project's proposal engine, parsed, checked, stored and resolved; the training job's
"use as proposal engine" goes through it."""

from __future__ import annotations

import pytest

from avs_studio.cli import main
from avs_studio.jobs import init_project
from avs_studio.jobs.engine import (
    Engine,
    EngineError,
    available_engines,
    parse_engine,
    proposal_engine,
    resolve_engine,
    set_proposal_engine,
)
from avs_studio.jobs.train import TrainError, use_as_proposal_engine
from avs_studio.settings import PROPOSAL_ENGINE
from tests.helpers.student import make_student


@pytest.fixture
def project(tmp_path):
    p = init_project(tmp_path / "proj")
    yield p
    p.close()


@pytest.mark.parametrize(
    "text, kind, name, label",
    [
        ("openavs", "openavs", "", "OpenAVS"),
        ("openavs:offline", "openavs", "offline", "OpenAVS (offline)"),
        (" student:s1 ", "student", "s1", "student s1"),
    ],
)
def test_parse(text, kind, name, label):
    e = parse_engine(text)
    assert (e.kind, e.name, e.id, e.label) == (kind, name, text.strip(), label)


@pytest.mark.parametrize("text", ["magic", "student", "student:", "openavs:", "student:../x", "sam:1"])
def test_parse_refuses(text):
    with pytest.raises(EngineError):
        parse_engine(text)


def test_default_setting_and_resolution(project, tmp_path):
    assert proposal_engine(project) == Engine("openavs", "", "default")
    with pytest.raises(EngineError, match="student model .*s1/model.pt not found; train it first"):
        set_proposal_engine(project, "student:s1")
    with pytest.raises(EngineError, match="unknown pipeline profile 'nope'"):
        set_proposal_engine(project, "openavs:nope")
    assert project.store.get_setting(PROPOSAL_ENGINE) is None  # nothing stored by a refused switch

    make_student(project, "s1")
    assert set_proposal_engine(project, "student:s1").id == "student:s1"
    assert project.store.get_setting(PROPOSAL_ENGINE) == "student:s1"
    assert resolve_engine(project) == Engine("student", "s1", "setting")
    assert resolve_engine(project, "openavs:offline") == Engine("openavs", "offline", "argument")
    assert resolve_engine(project, config="offline") == Engine("openavs", "", "config")  # --config = OpenAVS
    assert "student:s1" in available_engines(project) and "openavs:offline" in available_engines(project)
    assert "openavs:tiny-random" not in available_engines(project)  # test-only: not offered

    assert set_proposal_engine(project, "openavs:offline").id == "openavs:offline"
    assert resolve_engine(project).name == "offline"


def test_a_damaged_setting_names_the_fix(project):
    project.store.set_setting(PROPOSAL_ENGINE, "magic")
    with pytest.raises(EngineError, match="avs-studio engine .* openavs"):
        proposal_engine(project)


def test_training_job_switch_goes_through_the_same_function(project):
    with pytest.raises(TrainError, match="finish training 'late' first"):
        use_as_proposal_engine(project, "late")
    make_student(project, "late")
    assert use_as_proposal_engine(project, "late") == Engine("student", "late", "setting")
    assert proposal_engine(project).id == "student:late"


def test_cli_engine(project, capsys):
    make_student(project, "s2")
    d = str(project.dir)
    assert main(["engine", d]) == 0
    out = capsys.readouterr().out
    assert "proposal engine: openavs (default)" in out and "student:s2" in out
    assert main(["engine", d, "student:s2"]) == 0
    assert capsys.readouterr().out.strip() == "proposal engine: student:s2"
    assert main(["engine", d, "student:none"]) == 1
    assert "student model" in capsys.readouterr().err
    assert main(["engine", d]) == 0
    assert capsys.readouterr().out.startswith("proposal engine: student:s2\n")


def test_a_missing_extra_is_named_for_the_engine_that_would_run(project, monkeypatch, capsys):
    """`propose` without --engine checks the extra of the engine the project resolves to."""
    import sys

    make_student(project, "s3")
    d = str(project.dir)
    for name in [m for m in sys.modules if m.split(".")[0] in ("torch", "timm")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ModuleNotFoundError
    monkeypatch.setitem(sys.modules, "timm", None)
    assert main(["propose", d]) == 1
    assert "avs-studio propose needs the optional [models] extra" in capsys.readouterr().err
    assert main(["engine", d, "student:s3"]) == 0  # switching needs no torch
    capsys.readouterr()
    assert main(["propose", d]) == 1
    assert "avs-studio propose needs the optional [train] extra" in capsys.readouterr().err
    assert main(["queue", d]) == 1
    assert "avs-studio queue needs the optional [train] extra" in capsys.readouterr().err
    assert main(["quality", d, "--json"]) == 0  # quality needs no torch
    assert capsys.readouterr().out.strip().startswith('{\n  "engines": []')
