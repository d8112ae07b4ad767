"""Self-training loop benchmark: `quality` over a reviewed project and the review queue's throughput.

quality: N accepted keyframes (480 x 270, two objects each) proposed by one run; a third accepted as is,
a third edited then accepted, a third with one object deleted then the other accepted. Reads the whole
revision log once (its memory is the peak RSS figure).
queue: a default-size random-initialised student over the unreviewed keyframes of a 2-minute video,
cold (frames and audio decoded into the training cache) and warm (from the cache).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from avs_studio.jobs import add_videos, init_project
from avs_studio.jobs.quality import proposal_quality
from avs_studio.jobs.review_queue import review_queue
from avs_studio.store import FrameMasks
from tests.benchmarks._common import Figures, peak_rss_mb

H, W = 270, 480


def _box(rng: np.random.Generator) -> np.ndarray:
    m = np.zeros((H, W), bool)
    y, x = rng.integers(0, H - 60), rng.integers(0, W - 80)
    m[y : y + rng.integers(20, 60), x : x + rng.integers(30, 80)] = True
    return m


def _reviewed_project(folder: Path, frames: int):
    project = init_project(folder / "quality")
    s = project.store
    rng = np.random.default_rng(0)
    per_video = 250
    for start in range(0, frames, per_video):
        n = min(per_video, frames - start)
        v = s.add_video({"path": f"/media/v{start}.mp4", "fps": 25.0, "frame_count": n * 25, "width": W,
                         "height": H, "duration": float(n), "has_audio": True})  # fmt: skip
        run = s.start_pipeline_run("openavs:default", {}, {})
        for c in range(0, n, 5):
            clip = [
                FrameMasks(f * 25, [("dog", _box(rng), 0.9), ("car", _box(rng), 0.5)])
                for f in range(c, c + 5)
            ]
            s.replace_proposals(v, [fm for fm in clip if fm.frame < n * 25], (H, W), run_id=run)
        for k, row in enumerate(sorted({a.frame for a in s.annotations(video_id=v)})):
            rows = s.annotations(video_id=v, frame=row)
            if k % 3 == 1:
                s.put_annotation(v, row, rows[0].object_id, _box(rng), source="proposal", status="edited")
            elif k % 3 == 2:
                s.delete_annotation(rows[1].id)
            for r in s.annotations(video_id=v, frame=row):
                s.set_status(r.id, "accepted")
    return project


def main(quick: bool = False) -> list[dict]:
    emit = Figures("loop")
    frames = 300 if quick else 3000
    with tempfile.TemporaryDirectory() as tmp:
        project = _reviewed_project(Path(tmp), frames)
        t = time.perf_counter()
        report = proposal_quality(project)
        seconds = time.perf_counter() - t
        assert report.engines[0].frames == frames
        emit(f"quality over {frames} reviewed keyframes", seconds, "s", "-")
        emit("quality per 1000 keyframes", seconds / frames * 1000, "s", "-")
        emit("peak RSS after quality", peak_rss_mb(), "MiB", "-")
        project.close()

        from avs_studio.training.model import StudentConfig  # torch: after the quality figures
        from tests.helpers.media_factory import make_video
        from tests.helpers.student import make_student

        seconds_long = 30 if quick else 120
        clip = make_video(Path(tmp) / "long.mp4", frames=seconds_long * 5, fps=5, size=(320, 240))
        project = init_project(Path(tmp) / "queue")
        add_videos(project, [clip])
        default = StudentConfig()
        make_student(project, "s1", config=default)
        for label in ("cold", "warm"):
            t = time.perf_counter()
            queue = review_queue(project, "s1", device="cpu")
            seconds = time.perf_counter() - t
            emit(
                f"queue {queue.unreviewed} keyframes ({label}, image {default.image_size})", seconds, "s", "-"
            )
        project.close()
    return emit.rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
