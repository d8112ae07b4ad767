"""`propose` end to end: a real mp4 with sound -> pipeline -> proposals, objects and provenance in SQLite."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from avs_studio.cli import main
from avs_studio.jobs import add_videos, init_project, open_project
from avs_studio.jobs.engine import EngineError
from avs_studio.jobs.propose import ProposeError, propose
from avs_studio.openavs import TranslatorConnectionError
from tests.helpers.media_factory import counter_height, make_video
from tests.unit.openavs.fake_llm import FakeLLM, free_port

W, H, FPS, SECONDS = 160, 120, 10, 7
# The factory's tone schedule: second s sounds at 400 + 300 s Hz. What the `tone` describer hears:
TONES = {
    "400": "acoustic guitar strumming",
    "700": "guitar riff",
    "1000": "wind blowing",  # nothing visible -> explicit empty proposal
    "1300": "dog barking",  # a dog is named but no green thing is in the picture -> empty
    "1600": "dog barking",
    "1900": "guitar",
    "2200": "guitar",
}
CONFIG = f"""
[pipeline]
clip_seconds = 5
device = "cpu"

[[describers]]
name = "tone"
tones = {json.dumps(TONES).replace('": "', '" = "')}

[translator]
name = "keyword"
keywords = {{guitar = "guitar", dog = "dog"}}

[segmenter]
name = "color-box"
colors = {{guitar = [220, 40, 40], dog = [40, 200, 60]}}
"""
GUITAR_FRAMES = [0, 10, 50, 60]
EMPTY_FRAMES = [20, 30, 40]


def square(i: int) -> np.ndarray:
    """Where media_factory.draw_frame paints the red square of frame i."""
    sq = max(4, min(W, H) // 5)
    top = counter_height(H)
    x0, y0 = (i * 3) % max(1, W - sq), top + (i * 2) % max(1, H - top - sq)
    m = np.zeros((H, W), bool)
    m[y0 : y0 + sq, x0 : x0 + sq] = True
    return m


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("media")
    return {
        "sound": make_video(d / "sound.mp4", frames=SECONDS * FPS, fps=FPS, size=(W, H)),
        "mute": make_video(d / "mute.mp4", frames=3 * FPS, fps=FPS, size=(W, H), audio=None),
    }


@pytest.fixture
def project(tmp_path, videos):
    p = init_project(tmp_path / "proj")
    report = add_videos(p, [videos["sound"], videos["mute"]])
    assert [vid for _, vid in report.added] == [1, 2]
    yield p
    p.close()


@pytest.fixture
def config(tmp_path) -> Path:
    f = tmp_path / "pipeline.toml"
    f.write_text(CONFIG)
    return f


def test_proposals_masks_empty_frames_and_provenance(project, config):
    seen: list[tuple[int, list[int]]] = []
    report = propose(
        project, config=str(config), on_clip=lambda v, fr: seen.append((v, [f.frame_index for f in fr]))
    )
    store = project.store
    rows = store.annotations(video_id=1)
    assert sorted({a.frame for a in rows}) == sorted(GUITAR_FRAMES + EMPTY_FRAMES)
    objects = store.objects(1)
    assert [(o.label, o.index) for o in objects] == [("guitar", 0)]  # one object per phrase, reused
    for a in rows:
        assert (a.source, a.status, a.run_id) == ("proposal", "proposed", report.run_id)
        if a.frame in GUITAR_FRAMES:
            m, want = a.mask(), square(a.frame)
            assert a.object_id == objects[0].id and m.shape == (H, W)
            iou = (m & want).sum() / (m | want).sum()
            assert iou > 0.9, (a.frame, iou)
            assert a.area == m.sum() and a.score == 1.0
        else:
            assert a.object_id is None and a.area == 0 and not a.mask().any()  # "nothing sounds here"
    assert [(a.frame, a.object_id) for a in store.annotations(video_id=2)] == [
        (0, None),
        (10, None),
        (20, None),
    ]

    assert (report.clips, report.keyframes, report.annotations, report.empty) == (3, 10, 4, 6)
    assert report.videos == 2 and report.new_objects == 1 and not report.cancelled and not report.errors
    assert report.warnings == ["video 2 (mute) has no audio: its 3 keyframes got explicit empty proposals"]
    assert seen == [(1, [0, 10, 20, 30, 40]), (1, [50, 60]), (2, [0, 10, 20])]

    (run,) = store.pipeline_runs()
    assert run.id == report.run_id and run.engine == f"openavs:{config}" and run.status == "done"
    assert run.config["describers"][0]["name"] == "tone" and run.models["segmenter"] == "color-box"
    clips = store.clip_results(1)
    assert [c.frames for c in clips] == [[0, 10, 20, 30, 40], [50, 60]]
    first = clips[0].result
    assert first["descriptions"][2] == {"tone": "wind blowing"}
    assert first["phrases"] == [["guitar"], ["guitar"], [], ["dog"], ["dog"]]
    assert first["translation"]["translator"] == "keyword" and "Frame 5:" in first["translation"]["prompt"]
    assert first["objects"][0][0]["phrase"] == "guitar" and first["spans"][1] == [1.0, 2.0]
    assert set(first["timings"]) >= {"describe:tone", "translate", "segment"}
    assert store.clip_results(2)[0].result["no_audio"] is True


def test_rerun_leaves_reviewed_frames_alone(project, config):
    propose(project, config=str(config))
    store = project.store
    by_frame = {a.frame: a for a in store.annotations(video_id=1)}
    accepted = store.set_status(by_frame[0].id, "accepted")
    edited = store.put_annotation(1, 20, None, np.ones((H, W), bool), source="manual", status="edited")
    report = propose(project, video_ids=[1], config=str(config))
    after = {a.frame: a for a in store.annotations(video_id=1)}
    assert (after[0].id, after[0].version, after[0].status) == (accepted.id, accepted.version, "accepted")
    assert (after[20].id, after[20].source, after[20].area) == (edited.id, "manual", H * W)
    assert after[10].id != by_frame[10].id and after[10].status == "proposed"  # replaced
    assert report.skipped == 2 and report.keyframes == 5 and report.new_objects == 0
    assert len(store.objects(1)) == 1 and len(store.pipeline_runs()) == 2
    assert len(store.annotations(video_id=1)) == 7


def test_cancel_between_clips_keeps_whole_clips_only(project, config):
    cancel = threading.Event()
    report = propose(project, config=str(config), cancel=cancel, on_clip=lambda v, f: cancel.set())
    assert report.cancelled and report.clips == 1
    assert sorted(a.frame for a in project.store.annotations()) == [0, 10, 20, 30, 40]
    assert [c.frames for c in project.store.clip_results(1)] == [[0, 10, 20, 30, 40]]
    assert project.store.pipeline_runs()[0].status == "cancelled"


def test_frames_proposes_only_the_clips_holding_them(project, config):
    # 50 is a keyframe of video 1's second clip; 55 is no keyframe; video 2 (mute, 0-20) holds neither
    report = propose(project, config=str(config), frames=[55, 50])
    store = project.store
    assert sorted(a.frame for a in store.annotations()) == [50, 60]
    assert [c.frames for c in store.clip_results(1)] == [[50, 60]] and store.clip_results(2) == []
    assert (report.videos, report.clips, report.keyframes, report.warnings) == (1, 1, 2, [])
    # 10 is a keyframe of both videos: their first clips
    report = propose(project, config=str(config), frames=[10])
    assert sorted((c.video_id, c.frames) for c in store.clip_results(1) + store.clip_results(2)) == [
        (1, [0, 10, 20, 30, 40]),
        (1, [50, 60]),
        (2, [0, 10, 20]),
    ]
    assert (report.videos, report.clips, report.keyframes) == (2, 2, 8)


def llm_config(tmp_path: Path, url: str, *, clip_seconds: int = 5, parallel: int = 1) -> Path:
    f = tmp_path / "llm.toml"
    f.write_text(
        CONFIG.replace(
            '[translator]\nname = "keyword"\nkeywords = {guitar = "guitar", dog = "dog"}',
            f'[translator]\nname = "openai"\nbase_url = "{url}"\nmodel = "m"\nretries = 1\nhttp_retries = 0\ntimeout = 5'
            f"\nparallel = {parallel}",
        ).replace("clip_seconds = 5", f"clip_seconds = {clip_seconds}")
    )
    return f


def test_unusable_llm_answers_fall_back_to_the_offline_translator(project, tmp_path):
    with FakeLLM(["not json at all"]) as server:
        report = propose(project, video_ids=[1], config=str(llm_config(tmp_path, server.url)))
    assert len(server.requests) == 4  # two clips, each asked twice (retries = 1)
    store = project.store
    assert [c.frames for c in store.clip_results(1)] == [[0, 10, 20, 30, 40], [50, 60]]
    t = store.clip_results(1)[0].result["translation"]
    assert t["translator"] == "offline" and t["fallback"]["from"] == "openai"
    assert t["fallback"]["raw"] == "not json at all" and t["fallback"]["attempts"] == 2
    assert "no usable answer" in t["fallback"]["error"]
    # the offline translator heard "guitar" in frames 0, 10, 50, 60 and a dog (not in the picture) at 30, 40
    labelled = {a.frame for a in store.annotations(video_id=1) if a.object_id is not None}
    assert labelled == set(GUITAR_FRAMES)
    assert report.fallback_clips == 2 and report.clips == 2 and store.pipeline_runs()[0].status == "done"
    assert len([w for w in report.warnings if "gave no usable answer" in w]) == 2


def test_unreachable_llm_writes_nothing(project, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(TranslatorConnectionError, match=url.replace(".", r"\.")):
        propose(project, video_ids=[1], config=str(llm_config(tmp_path, url)))
    assert project.store.annotations() == [] and project.store.clip_results(1) == []


def test_llm_answers_become_proposals(project, tmp_path):
    answer = json.dumps(
        {"frames": [{"frame": i + 1, "objects": ["Guitar"] if i < 2 else []} for i in range(5)]}
    )
    answer2 = json.dumps({"frames": [{"frame": 1, "objects": ["guitar"]}, {"frame": 2, "objects": []}]})
    with FakeLLM(["oops", answer, answer2]) as server:
        report = propose(project, video_ids=[1], config=str(llm_config(tmp_path, server.url)))
    frames = {a.frame: a.object_id for a in project.store.annotations(video_id=1)}
    assert frames == {0: 1, 10: 1, 20: None, 30: None, 40: None, 50: 1, 60: None}
    t = project.store.clip_results(1)[0].result["translation"]
    assert t["attempts"] == 2 and t["history"][0] == "oops" and t["raw"] == answer
    assert report.annotations == 3 and "openai" in project.store.pipeline_runs()[0].models["translator"]


def test_engine_errors(project):
    with pytest.raises(EngineError, match="unknown engine 'magic'"):
        propose(project, engine="magic")
    with pytest.raises(ProposeError, match="no video with id 9"):
        propose(project, video_ids=[9], config="offline")


def test_cli_propose_json(project, config, capsys):
    project_dir = project.dir
    project.close()
    assert main(["propose", str(project_dir), "--config", str(config), "--video", "1", "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert (data["clips"], data["annotations"], data["empty"]) == (2, 4, 3)
    assert "frames 50-60" not in err  # off a terminal no progress lines (tests/e2e/test_cli_output.py)
    with open_project(project_dir) as p:
        assert len(p.store.annotations(video_id=1)) == 7 and p.store.annotations(video_id=2) == []
    assert main(["propose", str(project_dir), "--config", str(config), "--split", "nothing"]) == 0
    assert "proposed 0 clips of 0 videos" in capsys.readouterr().out


@pytest.mark.slow
def test_tiny_random_profile_end_to_end(project):
    """Real model code (tiny random AST, Whisper, GroundingDINO, SAM; real MiniLM embeddings) end to end."""
    report = propose(project, video_ids=[1], config="tiny-random", device="cpu")
    rows = project.store.annotations(video_id=1)
    assert sorted({a.frame for a in rows}) == [0, 10, 20, 30, 40, 50, 60]
    for a in rows:
        assert a.source == "proposal" and a.status == "proposed" and a.mask().shape == (H, W)
        assert (a.object_id is None) == (a.area == 0)
    run = project.store.pipeline_runs()[0]
    assert run.status == "done" and run.config["profile"] == "tiny-random"
    assert run.models["describer:ast"].startswith("ast") and "version:torch" in run.models
    clip = project.store.clip_results(1)[0].result
    assert set(clip["descriptions"][0]) == {"ast", "whisper"}
    assert clip["translation"]["translator"] == "offline"
    assert report.clips == 2 and report.keyframes == 7


def test_llm_endpoint_from_project_settings(project, tmp_path, monkeypatch):
    for key in (
        "AVS_STUDIO_LLM_BASE_URL",
        "AVS_STUDIO_LLM_MODEL",
        "AVS_STUDIO_LLM_API_KEY",
        "OPENAI_API_KEY",
    ):
        monkeypatch.delenv(key, raising=False)
    f = tmp_path / "auto.toml"
    f.write_text(
        CONFIG.replace(
            '[translator]\nname = "keyword"\nkeywords = {guitar = "guitar", dog = "dog"}',
            '[translator]\nname = "openai"\nwhen_unconfigured = "offline"\nhttp_retries = 0',
        )
    )
    answer = json.dumps({"frames": [{"frame": i + 1, "objects": ["guitar"]} for i in range(5)]})
    answer2 = json.dumps({"frames": [{"frame": 1, "objects": []}, {"frame": 2, "objects": []}]})
    with FakeLLM([answer, answer2]) as server:
        project.store.set_setting(
            "pipeline", {"llm": {"base_url": server.url, "model": "qwen", "api_key": ""}}
        )
        report = propose(project, video_ids=[1], config=str(f))
    assert [r["model"] for r in server.requests] == ["qwen", "qwen"]
    run = project.store.pipeline_runs()[0]
    assert run.config["translator"]["base_url"] == server.url and run.models["translator"].startswith(
        "openai"
    )
    assert report.annotations == 5 and report.empty == 2


def guitar_where_heard(body: dict, malformed_on: str = "") -> str:
    """An LLM that names a guitar in each frame whose descriptions mention one (any request order)."""
    prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
    if malformed_on and malformed_on in prompt:
        return "I cannot answer that"
    frames = re.split(r"^Frame \d+:$", prompt, flags=re.M)[1:]
    return json.dumps(
        {
            "frames": [
                {"frame": i + 1, "objects": ["guitar"] if "guitar" in f else []} for i, f in enumerate(frames)
            ]
        }
    )


@pytest.mark.parametrize("parallel", [1, 3])
def test_several_clips_prompts_in_flight_give_the_same_proposals(project, tmp_path, parallel):
    with FakeLLM(respond=guitar_where_heard, delay=0.5) as server:
        config = llm_config(tmp_path, server.url, clip_seconds=2, parallel=parallel)
        report = propose(project, video_ids=[1], config=str(config))
    assert server.max_in_flight == parallel  # 4 clips: with parallel 3, three prompts wait at once
    store = project.store
    assert [c.frames for c in store.clip_results(1)] == [[0, 10], [20, 30], [40, 50], [60]]  # in order
    labelled = {a.frame: a.object_id is not None for a in store.annotations(video_id=1)}
    assert labelled == {f: f in GUITAR_FRAMES for f in GUITAR_FRAMES + EMPTY_FRAMES}
    for a in store.annotations(video_id=1):
        if a.object_id is not None:
            want = square(a.frame)
            assert (a.mask() & want).sum() / (a.mask() | want).sum() > 0.9
    assert report.clips == 4 and store.pipeline_runs()[0].status == "done"


def test_a_failing_clip_among_those_in_flight_falls_back_and_the_run_goes_on(project, tmp_path):
    # clip 2 (frames 20, 30) hears wind: the LLM answers it with prose, twice; the other clips answer fine
    with FakeLLM(respond=lambda b: guitar_where_heard(b, malformed_on="wind"), delay=0.2) as server:
        config = llm_config(tmp_path, server.url, clip_seconds=2, parallel=3)
        report = propose(project, video_ids=[1], config=str(config))
    assert server.max_in_flight >= 2
    store = project.store
    clips = store.clip_results(1)
    assert [c.frames for c in clips] == [[0, 10], [20, 30], [40, 50], [60]]  # every clip, in order
    assert [c.result["translation"]["translator"] for c in clips] == ["openai", "offline", "openai", "openai"]
    assert report.fallback_clips == 1 and report.clips == 4


def bad_answers(body: dict) -> str:
    """An LLM that answers every clip badly, each clip in its own way (the clips have 2 frames, the last 1)."""
    prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
    if "acoustic guitar strumming" in prompt:  # frames 0, 10: always one frame too few
        return json.dumps({"frames": [{"frame": 1, "objects": ["guitar"]}]})
    if "wind blowing" in prompt:  # frames 20, 30: prose, never JSON
        return "The first second sounds like wind and the second like a dog."
    if "The clip has 1 frame" in prompt:  # frame 60: wrong types, in a code fence
        return '```json\n{"frames": [{"frame": "1", "objects": "guitar"}]}\n```'
    # frames 40, 50: JSON cut off in the middle of a third entry
    return 'Here you go: {"frames": [{"frame": 1, "objects": []}, {"frame": 2, "objects": ["guitar"]}, {"fra'


def test_bad_llm_answers_still_give_proposals_for_every_clip(project, tmp_path):
    with FakeLLM(respond=bad_answers) as server:
        report = propose(project, video_ids=[1], config=str(llm_config(tmp_path, server.url, clip_seconds=2)))
    store = project.store
    clips = {tuple(c.frames): c.result for c in store.clip_results(1)}
    assert list(clips) == [(0, 10), (20, 30), (40, 50), (60,)]
    assert {a.frame for a in store.annotations(video_id=1)} == {0, 10, 20, 30, 40, 50, 60}
    short, prose, broken, types = clips.values()
    assert short["translation"]["salvaged"] is True and short["phrases"] == [["guitar"], []]
    assert any("frame(s) 2 missing" in r for r in short["translation"]["repairs"])
    assert (
        prose["translation"]["translator"] == "offline"
        and prose["translation"]["fallback"]["from"] == "openai"
    )
    assert broken["phrases"] == [[], ["guitar"]] and "salvaged" not in broken["translation"]
    assert any("JSON was broken" in r for r in broken["translation"]["repairs"])
    assert types["phrases"] == [["guitar"]] and any(
        "was a string" in r for r in types["translation"]["repairs"]
    )
    labelled = {a.frame for a in store.annotations(video_id=1) if a.object_id is not None}
    assert labelled == {0, 50, 60}  # frame 10's guitar was lost with the missing frame
    assert (report.clips, report.fallback_clips, report.salvaged_clips) == (4, 1, 1)
    # retries: the short answer and the prose were asked again (retries = 1), the others were usable at once
    assert len(server.requests) == 6


SAM3_CONFIG = """
[pipeline]
clip_seconds = 5
device = "cpu"

[[describers]]
name = "tone"
tones = {"400" = "acoustic guitar strumming", "700" = "guitar riff"}

[translator]
name = "keyword"
keywords = {guitar = "guitar"}

[segmenter]
name = "sam3"
model = ""
path = "tiny:sam3"
threshold = 0.0
mask_threshold = 0.45
max_objects = 2
"""


def test_cli_propose_with_sam3_on_tiny_weights(project, tmp_path, capsys):
    """SAM 3 (tiny random weights of the real architecture) proposes through `propose --config FILE`."""
    config = tmp_path / "sam3.toml"
    config.write_text(SAM3_CONFIG)
    project_dir = project.dir
    project.close()
    assert main(["propose", str(project_dir), "--config", str(config), "--video", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["clips"] == 2 and data["keyframes"] == 7 and data["fallback_clips"] == 0
    with open_project(project_dir) as p:
        run = p.store.pipeline_runs()[0]
        assert run.status == "done" and run.models["segmenter"].startswith("sam3")
        first = p.store.clip_results(1)[0].result
        assert first["phrases"][:2] == [["guitar"], ["guitar"]] and first["phrases"][2] == []
        objects = first["objects"]
        assert 1 <= len(objects[0]) <= 2 and all(o["phrase"] == "guitar" for o in objects[0])
        assert objects[2] == [] and all(0.0 <= o["box_score"] <= 1.0 for o in objects[0])
        rows = {a.frame: a for a in p.store.annotations(video_id=1)}
        assert set(rows) == {0, 10, 20, 30, 40, 50, 60}
        for frame in (0, 10):  # the tiny model's masks, stored at frame size
            assert rows[frame].object_id is not None and rows[frame].mask().shape == (H, W)
            assert rows[frame].mask().sum() == rows[frame].area > 0
        assert rows[20].object_id is None and rows[20].area == 0


def test_audio_is_decoded_at_the_rate_the_describers_need(tmp_path):
    """A describer that listens at 48 kHz hears a 12 kHz tone (above what 16 kHz audio holds)."""
    video = make_video(
        tmp_path / "high.mp4", frames=2 * FPS, fps=FPS, size=(W, H), tone_schedule=[12000.0, 12000.0],
        audio_rate=48000,
    )  # fmt: skip
    results = {}
    for rate in (16000, 48000):
        p = init_project(tmp_path / f"p{rate}")
        add_videos(p, [video])
        f = tmp_path / f"c{rate}.toml"
        tones = next(line for line in CONFIG.splitlines() if line.startswith("tones = "))
        f.write_text(CONFIG.replace(tones, f'tones = {{"12000" = "guitar"}}\nrate = {rate}\ntolerance = 200'))
        report = propose(p, config=str(f))
        results[rate] = (report.annotations, p.store.clip_results(1)[0].result["descriptions"][0])
        p.close()
    assert results[48000] == (2, {"tone": "guitar"})
    assert results[16000][0] == 0 and results[16000][1] == {"tone": ""}
