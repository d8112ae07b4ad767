"""A project on a synthetic moving-objects video whose keyframes (1 per second) hold the true masks,
accepted: what propagation starts from (tests/helpers/moving_objects.py).

    project, vid, objs, scene = scene_project(tmp_path)      # objs: {"object 0": id, "object 1": id}
    folder = reviewed_project(tmp_path, [(scene, path), ...])  # several scenes, closed, for the CLI
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from avs_studio.jobs import add_videos, init_project
from tests.helpers.media_factory import make_corrupt_file
from tests.helpers.moving_objects import MovingScene, make_scene, write_scene_video

SIZE = (160, 120)
FPS = 10
FRAMES = 30  # 3 s: keyframes 0, 10, 20


def scene_project(tmp_path: Path, *, frames: int = FRAMES) -> tuple[Any, int, dict[str, int], MovingScene]:
    scene = make_scene(seed=3, size=SIZE, frames=frames, fps=FPS)
    path = write_scene_video(scene, tmp_path / "media" / "scene.mp4")
    project = init_project(tmp_path / "project")
    ((_, vid),) = add_videos(project, [path], split="train").added
    return project, vid, accept_keyframes(project, vid, scene), scene


def accept_keyframes(project: Any, vid: int, scene: MovingScene) -> dict[str, int]:
    """The scene's objects in video ``vid``, their true masks accepted on its keyframes; label -> id."""
    objs = {lab: project.store.add_object(vid, lab) for lab in scene.labels}
    items = [{"video_id": vid, "frame": f, "object_id": objs[lab], "mask": m}
             for f in scene.keyframes() for lab, m in scene.masks(f).items()]  # fmt: skip
    project.store.add_annotations(items, source="imported", status="accepted")
    return objs


def reviewed_project(folder: Path, scenes: list[tuple[MovingScene, Path]], corrupt: int | None = None) -> Path:
    """A closed project (``folder``/project) of copies of the scenes' videos with their keyframes
    accepted; ``corrupt``: the index of a video whose copy is then overwritten with bytes no decoder reads."""
    media = folder / "media"
    media.mkdir(parents=True)
    with init_project(folder / "project") as project:
        for i, (scene, path) in enumerate(scenes):
            copy = media / path.name
            copy.write_bytes(path.read_bytes())
            ((_, vid),) = add_videos(project, [copy]).added
            accept_keyframes(project, vid, scene)
            if i == corrupt:
                make_corrupt_file(copy, "garbage")
    return folder / "project"
