"""OpenAVS from the window with deterministic stages: proposals stream in, the prompt panel shows the
describer texts and LLM answer, editing a phrase re-segments the frame, cancel leaves no partial clip."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from avs_studio.openavs import DESCRIBERS, load_config
from avs_studio.openavs.testing import FixedDescriber
from tests.gui.conftest import FPS, close_window, open_window
from tests.helpers.media_factory import make_video, red

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "screenshots"

# second 0 plays 400 Hz ("a red square hums" -> "red square"), second 1 plays 700 Hz (a bird: nothing
# visible), then tone_frequency repeats the schedule upwards: only the listed tones get a text.
CONFIG = """
profile = "gui-test"
[pipeline]
keyframe_rate = 1.0
clip_seconds = 5
device = "cpu"
[[describers]]
name = "{describer}"
tones = {{ "400" = "a red square hums", "700" = "a bird sings", "1000" = "a red square hums" }}
[translator]
name = "keyword"
keywords = {{ "red square" = "red square", "bird" = "bird" }}
[segmenter]
name = "color-box"
min_area = 16
"""


def config(tmp_path: Path, describer: str = "tone"):
    path = tmp_path / "gui-test.toml"
    path.write_text(CONFIG.format(describer=describer))
    return load_config(path)


def wait_job(qtbot, w, job: int, state: str = "done", timeout: int = 60000) -> None:
    qtbot.waitUntil(lambda: w.jobs_panel.states.get(job) in ("done", "failed", "cancelled"), timeout=timeout)
    qtbot.waitUntil(lambda: w.writer.idle() and w.worker.idle(), timeout=timeout)
    assert w.jobs_panel.states[job] == state, getattr(w, "last_error", "")


def shot(window, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    assert window.grab().save(str(path))
    return path


def test_run_openavs_shows_proposals_and_prompts(qtbot, main_window, tmp_path):
    w = main_window
    w.worker.set_profile(config(tmp_path))
    store, vid = w.project.store, w.video.id
    clips: list = []
    w.worker.job_clip.connect(lambda job, payload: clips.append(payload))
    w.project_panel.activate_row(0)
    w.action_table["run_videos"].trigger()
    job = max(w.jobs_panel.states)
    wait_job(qtbot, w, job)
    assert [c[0] for c in clips] == [vid, vid]  # two clips (0-4 s, 5 s), each reported when stored
    # keyframes 0 s (400 Hz) holds a proposal of the red square; 1 s (700 Hz: a bird) is explicitly empty
    obj = next(o for o in store.objects(vid) if o.label == "red square")
    rows = {(r.frame, r.object_id): r for r in store.annotations(video_id=vid)}
    assert rows[(0, obj.id)].status == "proposed" and rows[(0, obj.id)].source == "proposal"
    assert (FPS, None) in rows and not rows[(FPS, None)].mask().any()
    qtbot.waitUntil(lambda: w.canvas.frame_index == 0)
    square = red(w.canvas.image)
    assert np.array_equal(rows[(0, obj.id)].mask(), square)
    # shown on the canvas: the overlay paints exactly the square, in the object's colour
    qtbot.waitUntil(lambda: w.canvas.overlay_rgba() is not None and w.canvas.overlay_rgba()[..., 3].any())
    assert np.array_equal(w.canvas.overlay_rgba()[..., 3] > 0, square)
    # the prompt panel shows the clip's describer texts, LLM answer and phrases per keyframe
    panel = w.prompt_panel
    assert [f.frame for f in panel.clip.frames] == [0, FPS, 2 * FPS, 3 * FPS, 4 * FPS]
    assert panel.clip.frames[0].descriptions == {"tone": "a red square hums"}
    assert panel.clip.frames[0].answer == ["red square"] and panel.clip.frames[1].answer == ["bird"]
    assert panel.phrases(0) == ["red square"]
    top = panel.tree.topLevelItem(0)
    texts = [top.child(i).text(1) for i in range(top.childCount())]
    assert "a red square hums" in texts and "red square" in texts
    assert "keyword" in panel.header.text()
    # keyframe ticks: proposed (amber) / empty proposal counts as proposed too
    assert w.session.states[0] == "proposed"
    w.right_tabs.setCurrentWidget(panel)
    w.status.set_device("cpu")
    shot(w, "main_window_prompts.png")
    w.right_tabs.setCurrentWidget(w.object_panel)
    shot(w, "main_window_masks.png")


def test_editing_a_phrase_resegments_that_frame(qtbot, main_window, tmp_path):
    w = main_window
    w.worker.set_profile(config(tmp_path))
    store, vid = w.project.store, w.video.id
    job = w.proposals.run_current_clip()
    wait_job(qtbot, w, job)
    assert {r.frame for r in store.annotations(video_id=vid)} == {0, FPS, 2 * FPS, 3 * FPS, 4 * FPS}
    w.right_tabs.setCurrentWidget(w.prompt_panel)
    qtbot.waitUntil(lambda: w.prompt_panel.clip is not None)
    # the 1 s keyframe answered "bird" (nothing red): say it is the red square after all
    editor = w.prompt_panel.editors[FPS]
    editor.setText("red square")
    editor.editingFinished.emit()
    qtbot.waitUntil(
        lambda: any(r.object_id is not None for r in store.annotations(video_id=vid, frame=FPS)),
        timeout=30000,
    )
    qtbot.waitUntil(lambda: w.writer.idle() and w.worker.idle())
    rows = store.annotations(video_id=vid, frame=FPS)
    frame = w.frames.reader(w.video.path).frame(FPS)
    obj = [r for r in rows if r.object_id is not None][0]
    assert np.array_equal(obj.mask(), red(frame)) and obj.status == "proposed"
    # T on frame 0 keeps a person's edit: accept it first, then T changes nothing
    QTest.keyClick(w.canvas, Qt.Key.Key_A)
    qtbot.waitUntil(w.writer.idle)
    before = store.annotations(video_id=vid, frame=0)
    QTest.keyClick(w.canvas, Qt.Key.Key_T)
    time.sleep(0.2)
    qtbot.waitUntil(lambda: w.writer.idle() and w.worker.idle())
    assert [(r.status, r.version) for r in store.annotations(video_id=vid, frame=0)] == [
        (r.status, r.version) for r in before
    ]


@pytest.fixture
def slow_describer():
    class Slow(FixedDescriber):
        name = "slow-fixed"

        def describe(self, segments, rate):
            time.sleep(0.4)
            return super().describe(segments, rate)

    DESCRIBERS.add("slow-fixed", lambda device=None, **p: Slow(texts=["a red square hums"]))
    yield
    DESCRIBERS.remove("slow-fixed")


def test_cancel_leaves_no_partial_clip(qtbot, tmp_path, gui_settings, slow_describer):
    from avs_studio.jobs import add_videos, init_project

    video = make_video(tmp_path / "long.mp4", frames=16 * FPS, fps=FPS, size=(160, 120), gop=10)
    project = init_project(tmp_path / "p")
    add_videos(project, [video])
    w = open_window(qtbot, project, gui_settings)
    cfg = config(tmp_path, "slow-fixed")
    cfg.describers[0].params = {}
    w.worker.set_profile(cfg)
    store, vid = project.store, w.video.id
    job = w.proposals.run_videos([vid])
    # cancel (the jobs dock's button) as soon as the first clip is stored
    w.worker.job_clip.connect(lambda j, payload: w.jobs_panel.table.cellWidget(0, 3).click())
    wait_job(qtbot, w, job, state="cancelled")
    frames = sorted({r.frame for r in store.annotations(video_id=vid)})
    assert frames == [0, FPS, 2 * FPS, 3 * FPS, 4 * FPS]  # exactly the first clip, nothing of the second
    results = store.clip_results(vid)
    assert [r.frames for r in results] == [frames]
    assert store.pipeline_runs()[-1].status == "cancelled"
    close_window(qtbot, w)
    project.close()
