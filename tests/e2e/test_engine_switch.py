"""The engine switch end to end: `avs-studio engine` sets the project's proposal engine, `propose` without
--engine uses it (an OpenAVS profile file, then a student), --config means OpenAVS, every run records the
engine that ran, and `quality` reads the runs back once a person accepts the proposals."""

from __future__ import annotations

import json

import pytest

from avs_studio.cli import main
from avs_studio.jobs import add_videos, init_project, open_project
from avs_studio.jobs.engine import resolve_engine, set_proposal_engine
from avs_studio.jobs.propose import propose
from tests.helpers.media_factory import make_video
from tests.helpers.student import make_student

FPS, SECONDS, W, H = 10, 3, 96, 64
CONFIG = """
[pipeline]
clip_seconds = 5
device = "cpu"

[[describers]]
name = "tone"
tones = {"400" = "guitar", "700" = "guitar", "1000" = "guitar"}

[translator]
name = "keyword"
keywords = {guitar = "guitar"}

[segmenter]
name = "color-box"
colors = {guitar = [220, 40, 40]}
"""


@pytest.fixture
def project_dir(tmp_path):
    video = make_video(tmp_path / "media" / "clip.mp4", frames=SECONDS * FPS, fps=FPS, size=(W, H))
    with init_project(tmp_path / "proj") as project:
        add_videos(project, [video])
        make_student(project, "s1")
    return tmp_path / "proj"


def runs(project_dir) -> list[str]:
    with open_project(project_dir) as p:
        return [r.engine for r in p.store.pipeline_runs()]


def rows(project_dir) -> list[tuple[int, str, str, int | None]]:
    with open_project(project_dir) as p:
        return [(a.frame, a.source, a.author, a.run_id) for a in p.store.annotations(video_id=1)]


def test_propose_follows_the_project_engine(project_dir, tmp_path, capsys):
    d = str(project_dir)
    toml = tmp_path / "guitar.toml"
    toml.write_text(CONFIG, encoding="utf-8")

    assert main(["engine", d, f"openavs:{toml}"]) == 0
    assert capsys.readouterr().out == f"proposal engine: openavs:{toml}\n"
    assert main(["propose", d, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    openavs_id = f"openavs:{toml}"
    assert report["engine"] == openavs_id and report["keyframes"] == 3 and report["annotations"] == 3
    assert runs(project_dir) == [openavs_id]
    assert {(src, who, run) for _f, src, who, run in rows(project_dir)} == {("proposal", openavs_id, 1)}

    assert main(["engine", d, "student:s1"]) == 0
    capsys.readouterr()
    assert main(["propose", d]) == 0  # no --engine: the student now proposes, replacing the unreviewed ones
    assert "(run 2, student:s1)" in capsys.readouterr().out
    assert runs(project_dir)[-1] == "student:s1"
    assert {(f, src, who, run) for f, src, who, run in rows(project_dir)} <= {
        (f, "student", "student:s1", 2) for f in (0, 10, 20)
    }
    assert sorted({f for f, *_ in rows(project_dir)}) == [0, 10, 20]

    assert main(["propose", d, "--config", str(toml)]) == 0  # a pipeline config means OpenAVS
    assert runs(project_dir)[-1] == openavs_id
    with open_project(project_dir) as p:
        assert resolve_engine(p).id == "student:s1"  # --config did not change the project's engine
        report = propose(p, engine="openavs", config=str(toml), frames=[0])
        assert report.engine == openavs_id and report.keyframes == 3
        # what the GUI's propose action does: its own pipeline as config, the project's engine; an
        # engine that names a profile runs that profile (the offline profile would need model weights)
        set_proposal_engine(p, f"openavs:{toml}")
        report = propose(p, config="offline", engine=resolve_engine(p), frames=[0])
        assert report.engine == openavs_id
    assert main(["propose", d, "--engine", "student:s1", "--config", str(toml)]) == 1
    assert "give one" in capsys.readouterr().err


def test_quality_reads_back_what_each_engine_proposed(project_dir, tmp_path, capsys):
    d = str(project_dir)
    toml = tmp_path / "guitar.toml"
    toml.write_text(CONFIG, encoding="utf-8")
    with open_project(project_dir) as p:
        propose(p, engine="student:s1", device="cpu")
        rows_ = p.store.annotations(video_id=1)
        p.store.set_status(rows_[0].id, "accepted")  # frame 0: the student's proposal, accepted as is
        propose(p, config=str(toml))  # frames 10 and 20 (unreviewed) go to OpenAVS
        for a in p.store.annotations(video_id=1, status="proposed"):
            p.store.set_status(a.id, "accepted")
    assert main(["quality", d, "--json"]) == 0
    engines = {e["engine"]: e for e in json.loads(capsys.readouterr().out)["engines"]}
    assert sorted(engines) == [f"openavs:{toml}", "student:s1"]
    assert engines["student:s1"]["frames"] == 1 and engines[f"openavs:{toml}"]["frames"] == 2
    for e in engines.values():  # accepted as proposed: perfect scores
        assert e["miou"] == pytest.approx(1.0) and e["accepted_unchanged"] == 1.0
