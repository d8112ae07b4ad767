"""`propose --executor ray` on a local Ray cluster started once for this module (2 CPUs, 2 workers):
the same masks as a local run, a worker killed mid-run, a clip that always fails, a worker that cannot
load its models, and resume after the driver is killed. (Student proposals through the executor are
checked in test_propose_executor.py; the Ray path does not depend on the work.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from avs_studio.jobs import add_videos, init_project, open_project
from avs_studio.jobs.executor import ExecutorOptions, run_clips
from avs_studio.jobs.propose import ProposeReport, plan_clips, propose
from avs_studio.jobs.propose_batch import OpenAVSWork, ProposalWriter
from avs_studio.openavs import load_config
from tests.e2e.test_propose import CONFIG, FPS, H, W, guitar_where_heard, llm_config
from tests.e2e.test_propose_executor import clips_stored, failing_llm_config, stored
from tests.helpers.clip_work import SlowWork
from tests.helpers.media_factory import make_video
from tests.unit.openavs.fake_llm import FakeLLM

ray = pytest.importorskip("ray", reason="the [cluster] extra (ray) is not installed")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("ray_cluster")]


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Four different videos with sound (several clips each)."""
    d = tmp_path_factory.mktemp("media")
    tones = [
        [400, 700, 1000, 1300, 1600, 1900, 2200],
        [1600, 400, 1300, 700],
        [700, 2200, 400, 1000, 1600, 400],
    ]
    out = [
        make_video(d / f"v{i}.mp4", frames=len(t) * FPS, fps=FPS, size=(W, H), tone_schedule=t)
        for i, t in enumerate(tones)
    ]
    return out + [make_video(d / "mute.mp4", frames=2 * FPS, fps=FPS, size=(W, H), audio=None)]


def new_project(path, media):
    p = init_project(path)
    assert len(add_videos(p, media).added) == len(media)
    return p


RAY2 = ExecutorOptions(kind="ray", workers=2)


def test_ray_stores_exactly_the_masks_a_local_run_stores(tmp_path, media):
    """The deterministic tiny-random profile (real model code): plain local propose vs 2 Ray workers."""
    with new_project(tmp_path / "local", media) as local, new_project(tmp_path / "ray", media) as remote:
        videos = [1, 2, 4]  # 7 s, 4 s and a silent 2 s video: 4 clips of the tiny models
        want = propose(local, config="tiny-random", device="cpu", video_ids=videos)
        got = propose(remote, config="tiny-random", device="cpu", executor=RAY2, video_ids=videos)
        # both workers start; whether the second is ready before the first has done every clip is timing
        assert got.errors == [] and got.execution["workers"] >= 1
        assert stored(remote) == stored(local) and len(stored(local)) >= 7 + 4 + 2
        assert clips_stored(remote) == clips_stored(local)
        assert (got.clips, got.keyframes, got.annotations, got.empty) == (
            want.clips, want.keyframes, want.annotations, want.empty,
        )  # fmt: skip
        for v in local.store.videos():
            a = [c.result.get("descriptions") for c in local.store.clip_results(v.id)]
            b = [c.result.get("descriptions") for c in remote.store.clip_results(v.id)]
            assert a == b
        run = remote.store.pipeline_runs()[0]
        assert run.status == "done" and run.models["describer:ast"].startswith("ast")


def write_to(project, config: dict) -> tuple[ProposalWriter, ProposeReport]:
    report = ProposeReport(engine="openavs")
    return ProposalWriter(project, report, {**config, "fingerprint": "test"}, "openavs", "proposal"), report


def test_a_worker_killed_mid_run_has_its_clips_queued_again(tmp_path, media):
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text(CONFIG.replace("clip_seconds = 5", "clip_seconds = 2"))
    cfg = load_config(str(cfg_file))
    pids = tmp_path / "pids"
    pids.mkdir()
    with new_project(tmp_path / "p", media) as project, new_project(tmp_path / "ref", media) as ref:
        propose(ref, config=cfg)
        tasks = [t for v, clips in plan_clips(project.store.videos(), 2) for t in _tasks(v, clips)]
        writer, report = write_to(project, cfg.to_dict())
        killed = []

        def write_and_kill(task, out):
            writer(task, out)
            if report.clips == 2 and not killed:  # both workers are busy with queued clips
                victim = sorted(pids.iterdir())[0]
                os.kill(int(victim.name), signal.SIGKILL)
                killed.append(victim.name)

        stats = run_clips(tasks, SlowWork(OpenAVSWork(cfg), 0.4, str(pids)), write_and_kill, RAY2)
        writer.finish()
        assert killed and stats.lost_workers == 1 and stats.requeued >= 1 and stats.failed == []
        assert stats.stored == len(tasks) == 4 + 2 + 3 + 1
        assert sorted(clips_stored(project)) == sorted(clips_stored(ref))  # each clip once, none lost
        assert stored(project) == stored(ref)


def _tasks(video, clips):
    from avs_studio.jobs.executor import ClipTask

    return [ClipTask(video, tuple(c)) for c in clips]


def test_a_clip_that_always_fails_is_reported_and_the_others_stored(tmp_path, media):
    with new_project(tmp_path / "p", media) as project:
        # clip 2 of video 1 (frames 20, 30) hears wind: the LLM answers it with prose every time
        with FakeLLM(respond=lambda b: guitar_where_heard(b, malformed_on="wind")) as server:
            cfg = failing_llm_config(tmp_path, server.url, clip_seconds=2)
            report = propose(project, video_ids=[1, 2], config=str(cfg), executor=RAY2)
        assert len(report.errors) == 1, report.errors
        error = report.errors[0]
        assert error.startswith("video 1 (v0): frames 20-30: TranslationError") and "failed 3 times" in error
        assert report.execution["retried"] == 2 and report.clips == 4 + 2 - 1
        assert sorted(a.frame for a in project.store.annotations(video_id=1)) == [0, 10, 40, 50, 60]
        assert sorted(c.frames for c in project.store.clip_results(2)) == [[0, 10], [20, 30]]  # any order


def test_resume_after_the_driver_is_killed_stores_every_clip_once(tmp_path, media, ray_cluster):
    cfg = tmp_path / "c.toml"
    with new_project(tmp_path / "p", media) as project, new_project(tmp_path / "ref", media) as ref:
        project_dir = project.dir
        with FakeLLM(respond=guitar_where_heard, delay=0.4) as server:
            cfg = llm_config(tmp_path, server.url, clip_seconds=2)
            propose(ref, config=str(cfg))
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            cmd = [sys.executable, "-m", "avs_studio", "propose", str(project_dir), "--config", str(cfg),
                   "--executor", "ray", "--address", ray_cluster, "--workers", "2"]  # fmt: skip
            driver = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                deadline = time.monotonic() + 120
                while len(clips_stored(project)) < 3:
                    assert driver.poll() is None, driver.stderr.read().decode()
                    assert time.monotonic() < deadline, "the driver stored nothing in 120 s"
                    time.sleep(0.2)
            finally:
                driver.kill()  # SIGKILL: no cleanup, its pipeline run stays "running"
                driver.wait()
            before = clips_stored(project)
            assert 3 <= len(before) < 10
            with open_project(project_dir) as again:  # resuming does not depend on the executor
                report = propose(again, config=str(cfg), executor="local", resume=True)
        assert report.execution["already_stored"] == len(before) and report.clips == 10 - len(before)
        after = clips_stored(project)
        assert len(after) == len(set(map(str, after))) == 10  # every clip once, none lost
        assert sorted(after) == sorted(clips_stored(ref))
        assert stored(project) == stored(ref)
        assert [r.status for r in project.store.pipeline_runs()] == ["running", "done"]


def test_a_worker_that_cannot_load_the_models_stops_the_run_with_its_error(tmp_path, media):
    bad = tmp_path / "bad.toml"
    describer = next(line for line in CONFIG.splitlines() if line.startswith("tones = "))
    bad.write_text(
        CONFIG.replace('name = "tone"', 'name = "ast"').replace(
            describer, f'path = "{tmp_path / "no-such-model"}"'
        )
    )
    with new_project(tmp_path / "p", media) as project:
        with pytest.raises(Exception, match="no-such-model"):
            propose(project, config=str(bad), executor=RAY2)
        assert project.store.annotations() == []
        assert [r.status for r in project.store.pipeline_runs()] == ["failed"]
