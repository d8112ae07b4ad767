"""OpenAVS pipeline time per 5-frame clip on CPU with the `tiny-random` profile (real model code, tiny
random weights: the figures measure the orchestration and the CPU cost of the code paths, not accuracy).

Per stage (describers, translation, segmentation) and end to end: Pipeline.run on a 5-keyframe clip of
224x224 frames with 5 s of audio, and `propose` on a real 5 s mp4 into a SQLite project (decoding, the
pipeline and the one-transaction clip write). Medians after one warm-up run.

LLM-bound proposing: the same models with the `openai` translator talking to a local OpenAI-compatible
server that answers after a fixed latency (a stand-in for a real LLM's), on a 20 s mp4 (4 clips), with
one clip prompt in flight at a time versus `parallel = 4`.

    python -m tests.benchmarks --only openavs_pipeline [--quick]
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from tests.benchmarks._common import Figures, machine


def _clip(size: int = 224, seconds: int = 5):
    from avs_studio.media import AudioTrack
    from avs_studio.openavs import Clip

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(seconds)]
    t = np.arange(seconds * 16000) / 16000
    audio = AudioTrack((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :], 16000)
    return Clip(
        frames,
        [i * 25 for i in range(seconds)],
        [(float(i), i + 1.0) for i in range(seconds)],
        audio,
        "bench:1",
    )


def main(quick: bool = False) -> list[dict]:
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    emit = Figures("openavs_pipeline", machine("CPU"))

    runs = 2 if quick else 5
    with tempfile.TemporaryDirectory(prefix="bench_openavs_") as tmp:
        saved = os.environ.get("AVS_STUDIO_CACHE")
        if saved is None:  # tiny models go into a private cache, not the user's
            os.environ["AVS_STUDIO_CACHE"] = str(Path(tmp) / "cache")
        try:
            _measure(emit, runs, Path(tmp))
        finally:
            if saved is None:
                os.environ.pop("AVS_STUDIO_CACHE", None)
    return emit.rows


def _measure(emit, runs: int, tmp: Path) -> None:
    from avs_studio.openavs import Pipeline

    t = time.perf_counter()
    pipe = Pipeline.from_config("tiny-random", device="cpu")
    emit("build tiny-random pipeline (first use)", time.perf_counter() - t, "s", "-")
    clip = _clip()
    pipe.run(clip)  # warm-up
    timings = [pipe.run(clip).timings for _ in range(runs)]
    for key in timings[0]:
        if key != "total":
            emit(f"{key} per clip", statistics.median(tm[key] for tm in timings), "s", "-")
    emit("pipeline per 5-frame clip", statistics.median(tm["total"] for tm in timings), "s", "-")

    from avs_studio.jobs import add_videos, init_project
    from avs_studio.jobs.propose import propose
    from tests.helpers.media_factory import make_video

    video = make_video(tmp / "clip.mp4", frames=125, fps=25, size=(224, 224))
    with init_project(tmp / "proj") as project:
        add_videos(project, [video])
        per_clip = []
        for _ in range(runs):
            report = propose(project, config=pipe, device="cpu")
            per_clip.append(report.timings["clips"] / max(1, report.clips))
        emit("propose per 5-frame clip (mp4 -> store)", statistics.median(per_clip), "s", "-")
    _measure_llm_bound(emit, tmp)


LLM_LATENCY = 0.5  # seconds the local server waits before each answer


def _measure_llm_bound(emit, tmp: Path) -> None:
    import json
    import re
    from dataclasses import replace

    from avs_studio.jobs import add_videos, init_project
    from avs_studio.jobs.propose import propose
    from avs_studio.openavs import Pipeline, load_config
    from avs_studio.openavs.config import StageSpec
    from tests.helpers.media_factory import make_video
    from tests.unit.openavs.fake_llm import FakeLLM

    def respond(body: dict) -> str:
        prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
        n = len(re.findall(r"^Frame \d+:$", prompt, flags=re.M))
        return json.dumps({"frames": [{"frame": i + 1, "objects": ["dog"]} for i in range(n)]})

    video = make_video(tmp / "long.mp4", frames=500, fps=25, size=(224, 224))
    seconds = {}
    with FakeLLM(respond=respond, delay=LLM_LATENCY) as server:
        for parallel in (1, 4):
            spec = StageSpec("openai", {"base_url": server.url, "model": "bench", "parallel": parallel})
            cfg = replace(load_config("tiny-random"), translator=spec)
            pipe = Pipeline.from_config(cfg, device="cpu")
            pipe.run(_clip())  # warm-up (models loaded, the HTTP connection open)
            with init_project(tmp / f"llm{parallel}") as project:
                add_videos(project, [video])
                t = time.perf_counter()
                report = propose(project, config=pipe, device="cpu")
                seconds[parallel] = (time.perf_counter() - t) / max(1, report.clips)
            emit(
                f"propose per clip, LLM {LLM_LATENCY:g} s latency, parallel {parallel}",
                seconds[parallel],
                "s",
                "-",
            )
    emit("LLM-bound propose: parallel 4 speed-up", seconds[1] / seconds[4], "x", ">= 2")


if __name__ == "__main__":
    main()
