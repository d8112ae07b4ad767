"""`propose` through the local executor: same proposals as plain propose, failing clips retried then
reported, resume by configuration fingerprint, progress with throughput (no Ray needed)."""

from __future__ import annotations

import json
import threading

import pytest

from avs_studio.cli import main
from avs_studio.extras import MissingExtraError
from avs_studio.jobs import add_videos, init_project
from avs_studio.jobs.executor import ExecutorError, ExecutorOptions
from avs_studio.jobs.propose import propose
from avs_studio.jobs.propose_batch import fingerprint
from avs_studio.openavs import load_config
from tests.e2e.test_propose import CONFIG, FPS, SECONDS, H, W, guitar_where_heard, llm_config
from tests.helpers.media_factory import make_video
from tests.unit.openavs.fake_llm import FakeLLM


def failing_llm_config(tmp_path, url: str, **kw):
    """llm_config without a fallback translator (naming the translator itself turns it off), so a clip the
    LLM answers with prose fails."""
    f = llm_config(tmp_path, url, **kw)
    f.write_text(f.read_text().replace("timeout = 5", 'timeout = 5\nfallback = "openai"'))
    return f


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    d = tmp_path_factory.mktemp("media")
    return [
        make_video(d / "a.mp4", frames=SECONDS * FPS, fps=FPS, size=(W, H)),
        make_video(d / "b.mp4", frames=4 * FPS, fps=FPS, size=(W, H), tone_schedule=[400, 1600, 1000, 700]),
        make_video(d / "mute.mp4", frames=3 * FPS, fps=FPS, size=(W, H), audio=None),
    ]


def new_project(path, media):
    p = init_project(path)
    add_videos(p, media)
    return p


@pytest.fixture
def config(tmp_path):
    f = tmp_path / "pipeline.toml"
    f.write_text(CONFIG)
    return f


def stored(project) -> list[tuple]:
    """Everything a proposal run leaves: (video, frame, object label, mask RLE, score, source, status)."""
    labels = {o.id: o.label for v in project.store.videos() for o in project.store.objects(v.id)}
    return sorted(
        (a.video_id, a.frame, labels.get(a.object_id), a.rle["counts"], a.score, a.source, a.status)
        for a in project.store.annotations()
    )


def clips_stored(project) -> list[tuple[int, list[int]]]:
    return [(v.id, c.frames) for v in project.store.videos() for c in project.store.clip_results(v.id)]


def test_local_executor_stores_what_plain_propose_stores(tmp_path, media, config):
    with new_project(tmp_path / "plain", media) as plain, new_project(tmp_path / "local", media) as local:
        want = propose(plain, config=str(config))
        seen = []
        got = propose(local, config=str(config), executor="local", progress=lambda *a: seen.append(a))
        assert stored(local) == stored(plain) and len(stored(local)) == 7 + 4 + 3
        assert clips_stored(local) == clips_stored(plain)
        for key in (
            "clips",
            "keyframes",
            "annotations",
            "empty",
            "videos",
            "new_objects",
            "warnings",
            "salvaged_clips",
        ):
            assert getattr(got, key) == getattr(want, key), key
        (run,) = local.store.pipeline_runs()
        fp = got.execution["fingerprint"]
        assert run.status == "done" and run.config["fingerprint"] == fp and len(fp) == 32
        assert run.models["segmenter"] == "color-box" and run.id == got.run_id
        assert all(c.result["fingerprint"] == fp for v in (1, 2, 3) for c in local.store.clip_results(v))
        assert got.execution["executor"] == "local" and got.execution["failed"] == 0
        assert seen[0][:2] == (0, 4) and [s[0] for s in seen[1:]] == [1, 2, 3, 4]
        assert "video 1 (a): frames 0-40 (" in seen[1][2] and "clips/s, ETA" in seen[-1][2]


def test_a_failing_clip_is_retried_then_reported_and_the_others_stored(tmp_path, media):
    with new_project(tmp_path / "p", media) as project:
        # clip 2 of video 1 (frames 20, 30) hears wind: the LLM answers it with prose every time
        with FakeLLM(respond=lambda b: guitar_where_heard(b, malformed_on="wind"), delay=0.05) as server:
            cfg = failing_llm_config(tmp_path, server.url, clip_seconds=2, parallel=3)
            report = propose(project, video_ids=[1], config=str(cfg), executor=ExecutorOptions(retries=2))
            wind = [
                r
                for r in server.requests
                if "wind" in next(m for m in r["messages"] if m["role"] == "user")["content"]
            ]
        assert len(wind) == 3 * 2  # 3 attempts of the clip, each asking twice (translator retries = 1)
        assert sorted(a.frame for a in project.store.annotations(video_id=1)) == [0, 10, 40, 50, 60]
        assert [c.frames for c in project.store.clip_results(1)] == [[0, 10], [40, 50], [60]]
        (error,) = report.errors
        assert error.startswith("video 1 (a): frames 20-30: TranslationError") and "(failed 3 times)" in error
        assert report.execution["retried"] == 2 and report.execution["failed"] == 1
        assert report.clips == 3 and project.store.pipeline_runs()[0].status == "done"


def test_a_clip_that_fails_once_is_stored_on_its_retry(tmp_path, media):
    failed = []

    def flaky(body):  # the first attempt at the wind clip fails
        prompt = next(m for m in body["messages"] if m["role"] == "user")["content"]
        if "wind" in prompt and not failed:
            failed.append(prompt)
            return "no json"
        return guitar_where_heard(body)

    with new_project(tmp_path / "p", media) as project:
        with FakeLLM(respond=flaky) as server:
            cfg = failing_llm_config(tmp_path, server.url, clip_seconds=2)
            cfg.write_text(cfg.read_text().replace("retries = 1", "retries = 0"))
            report = propose(project, video_ids=[1], config=str(cfg), executor="local")
        assert report.errors == [] and report.execution["retried"] == 1 and report.clips == 4
        assert len(failed) == 1
        assert sorted(a.frame for a in project.store.annotations(video_id=1)) == [0, 10, 20, 30, 40, 50, 60]


def test_resume_skips_the_clips_stored_with_the_same_configuration(tmp_path, media, config):
    with new_project(tmp_path / "p", media) as project:
        cancel = threading.Event()

        def stop_after_two(done, total, message):
            if done == 2:
                cancel.set()

        first = propose(project, config=str(config), executor="local", progress=stop_after_two, cancel=cancel)
        assert first.cancelled and first.clips == 2
        assert project.store.pipeline_runs()[0].status == "cancelled"
        again = propose(project, config=str(config), executor="local", resume=True)
        assert again.execution["already_stored"] == 2 and again.clips == 2
        clips = clips_stored(project)
        assert sorted(clips) == [
            (1, [0, 10, 20, 30, 40]),
            (1, [50, 60]),
            (2, [0, 10, 20, 30]),
            (3, [0, 10, 20]),
        ]
        with new_project(tmp_path / "ref", media) as ref:
            propose(ref, config=str(config))
            assert stored(project) == stored(ref)  # nothing lost, nothing twice

        nothing = propose(project, config=str(config), executor="local", resume=True)
        assert nothing.clips == 0 and nothing.execution["already_stored"] == 4
        assert len(project.store.pipeline_runs()) == 2  # a run with nothing to do leaves no row

        # another configuration's result is newer: resuming the first one runs those clips again
        other = tmp_path / "other.toml"
        other.write_text(CONFIG.replace('guitar = "guitar", dog', 'guitar = "guitar", wind = "guitar", dog'))
        assert propose(project, config=str(other), executor="local", resume=True, video_ids=[1]).clips == 2
        back = propose(project, config=str(config), executor="local", resume=True)
        assert back.clips == 2 and back.execution["already_stored"] == 2


def test_fingerprint_ignores_device_and_concurrency_only():
    cfg = load_config("offline").to_dict()
    base = fingerprint("openavs", cfg)
    moved = json.loads(json.dumps(cfg))
    moved["pipeline"]["device"] = "cuda"
    moved["translator"]["parallel"] = 8
    assert fingerprint("openavs", moved) == base
    changed = json.loads(json.dumps(cfg))
    changed["segmenter"]["box_threshold"] = 0.99
    assert fingerprint("openavs", changed) != base
    assert fingerprint("student:x", cfg) != base


def test_executor_options_are_checked():
    with pytest.raises(ExecutorError, match="unknown executor 'spark'"):
        ExecutorOptions(kind="spark")
    with pytest.raises(ExecutorError, match="--workers must be at least 1"):
        ExecutorOptions(kind="ray", workers=0)


def test_cli_propose_local_executor_resume(tmp_path, media, config, capsys):
    with new_project(tmp_path / "p", media) as project:
        project_dir = project.dir
    args = ["propose", str(project_dir), "--config", str(config), "--executor", "local", "--json"]
    assert main(args + ["--video", "1"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["clips"] == 2 and data["execution"]["executor"] == "local"
    assert "frames 50-60" not in err and "ETA" not in err  # off a terminal no progress (test_cli_output.py)
    assert main(args + ["--resume"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["clips"] == 2 and data["execution"]["already_stored"] == 2


def test_student_proposals_through_the_executor_match_plain_ones(tmp_path, media):
    from tests.helpers.clip_work import random_student

    with new_project(tmp_path / "plain", media) as plain, new_project(tmp_path / "local", media) as local:
        for p in (plain, local):
            random_student(p.dir, "s1")
        want = propose(plain, engine="student:s1", device="cpu")
        got = propose(local, engine="student:s1", device="cpu", executor="local")
        assert got.errors == [] and got.engine == "student:s1" and got.clips == want.clips == 4
        assert stored(local) == stored(plain) and {s[5] for s in stored(local)} == {"student"}
        assert sum(s[2] is not None for s in stored(local)) > 0  # some keyframes got a mask
        run = local.store.pipeline_runs()[0]
        assert run.engine == "student:s1" and len(run.config["sha256"]) == 64


def test_ray_executor_without_ray_names_the_extra(tmp_path, media, config, monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # as if the [cluster] extra were missing
    with new_project(tmp_path / "p", media) as project:
        with pytest.raises(
            MissingExtraError, match=r"\[cluster\] extra.*pip install 'avs-studio\[cluster\]'"
        ):
            propose(project, config=str(config), executor="ray")
        assert project.store.annotations() == []
        project_dir = project.dir
    assert main(["propose", str(project_dir), "--config", str(config), "--executor", "ray"]) == 1
    assert (
        "avs-studio: error: avs-studio propose needs the optional [cluster] extra" in capsys.readouterr().err
    )
    assert main(["propose", str(project_dir), "--config", str(config), "--workers", "2"]) == 1
    assert "need --executor ray" in capsys.readouterr().err


@pytest.mark.postgres
def test_resume_on_postgresql(tmp_path, media, config):
    from tests.unit.store.conftest import PG_SKIP, PG_URL, _empty_postgres

    if not PG_URL:
        pytest.skip(PG_SKIP)
    _empty_postgres(PG_URL)
    cancel = threading.Event()
    with init_project(tmp_path / "pg", database_url=PG_URL) as project:
        add_videos(project, media)
        first = propose(
            project, config=str(config), executor="local", cancel=cancel,
            progress=lambda done, total, msg: done == 1 and cancel.set(),
        )  # fmt: skip
        assert first.clips == 1
        again = propose(project, config=str(config), executor="local", resume=True)
        assert again.execution["already_stored"] == 1 and again.clips == 3
        with new_project(tmp_path / "ref", media) as ref:
            propose(ref, config=str(config))
            assert stored(project) == stored(ref) and sorted(clips_stored(project)) == sorted(
                clips_stored(ref)
            )
    _empty_postgres(PG_URL)


def test_fallback_translations_are_counted_and_named_as_in_plain_propose(tmp_path, media):
    with new_project(tmp_path / "plain", media) as plain, new_project(tmp_path / "local", media) as local:
        with FakeLLM(["not json at all"]) as server:
            cfg = llm_config(tmp_path, server.url)
            want = propose(plain, video_ids=[1], config=str(cfg))
            got = propose(local, video_ids=[1], config=str(cfg), executor="local")
        assert got.fallback_clips == want.fallback_clips == 2 and got.errors == []
        assert got.warnings == want.warnings and len(got.warnings) == 2
        assert stored(local) == stored(plain)
