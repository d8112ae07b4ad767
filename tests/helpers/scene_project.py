"""A project on a synthetic moving-objects video whose keyframes (1 per second) hold the true masks,
accepted: what propagation starts from (tests/helpers/moving_objects.py).

    project, vid, objs, scene = scene_project(tmp_path)      # objs: {"object 0": id, "object 1": id}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avs_studio.jobs import add_videos, init_project
from tests.helpers.moving_objects import MovingScene, make_scene, write_scene_video

SIZE = (160, 120)
FPS = 10
FRAMES = 30  # 3 s: keyframes 0, 10, 20


def scene_project(tmp_path: Path, *, frames: int = FRAMES) -> tuple[Any, int, dict[str, int], MovingScene]:
    scene = make_scene(seed=3, size=SIZE, frames=frames, fps=FPS)
    path = write_scene_video(scene, tmp_path / "media" / "scene.mp4")
    project = init_project(tmp_path / "project")
    ((_, vid),) = add_videos(project, [path], split="train").added
    objs = {lab: project.store.add_object(vid, lab) for lab in scene.labels}
    items = [{"video_id": vid, "frame": f, "object_id": objs[lab], "mask": m}
             for f in scene.keyframes() for lab, m in scene.masks(f).items()]  # fmt: skip
    project.store.add_annotations(items, source="imported", status="accepted")
    return project, vid, objs, scene
