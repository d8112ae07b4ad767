"""SAM refinement runs on the inference worker: the GUI thread keeps ticking, the mask lands in the store."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from avs_studio.jobs.clips import frame_key
from avs_studio.openavs import POINT_SEGMENTERS
from tests.gui.conftest import FPS, close_window, open_window


def click(window, x: float, y: float, button=Qt.MouseButton.LeftButton):
    pos = window.canvas.view_point(x, y)
    QTest.mouseClick(window.canvas.viewport(), button, Qt.KeyboardModifier.NoModifier, pos)
    return window.canvas.image_point(pos)


def red_square(frame: np.ndarray) -> np.ndarray:
    """The moving red square media_factory draws (what a colour click must select)."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return (r > 180) & (g < 90) & (b < 90)


@pytest.fixture(scope="module")
def tiny_sam_path(tmp_path_factory):
    from avs_studio.openavs import tiny

    return tiny.build("sam", tmp_path_factory.mktemp("tiny-sam"))


def test_tiny_sam_click_runs_off_the_gui_thread(qtbot, video_project, gui_settings, tiny_sam_path):
    """The model never runs on the GUI thread (the GUI gap itself is a figure of bench_gui)."""
    w = open_window(qtbot, video_project, gui_settings)
    seg = POINT_SEGMENTERS.create("sam", path=str(tiny_sam_path), device="cpu")
    threads: set[int] = set()
    for name in ("embed", "predict"):
        real = getattr(seg, name)

        def traced(*a, _real=real, **k):
            threads.add(threading.get_ident())
            return _real(*a, **k)

        setattr(seg, name, traced)
    w.worker.set_point_segmenter(seg)
    store, vid = w.project.store, w.video.id
    oid = store.add_object(vid, "square")
    w.session.reload()
    QTest.keyClick(w.canvas, Qt.Key.Key_S)
    assert w.canvas.tool is w.tools["sam"]
    qtbot.waitUntil(w.worker.idle, timeout=60000)  # embeddings of this and the next keyframes
    click(w, 60, 70)
    qtbot.waitUntil(
        lambda: w.worker.idle() and w.writer.idle() and bool(store.annotations(video_id=vid)), timeout=60000
    )
    assert threads and threading.main_thread().ident not in threads
    rows = store.annotations(video_id=vid, frame=0)
    assert [(r.object_id, r.status, r.source) for r in rows] == [(oid, "edited", "manual")]
    mask = rows[0].mask()
    assert mask.shape == (120, 160) and mask.dtype == bool
    # the stored mask is what the segmenter predicts for that click on that frame
    pts = np.asarray(w.tools["sam"].points, np.float32)
    expected = seg.predict(frame_key(vid, 0), w.canvas.image, pts, np.ones(1, np.int32))
    assert np.array_equal(mask, expected)
    close_window(qtbot, w)


def test_colour_click_selects_square_and_negative_click_removes(qtbot, main_window):
    w = main_window
    seg = POINT_SEGMENTERS.create("color-point", device="cpu")
    w.worker.set_point_segmenter(seg)
    store, vid = w.project.store, w.video.id
    oid = store.add_object(vid, "square")
    w.session.reload()
    QTest.keyClick(w.canvas, Qt.Key.Key_S)
    # the frame and its neighbouring keyframes are embedded ahead on the worker
    qtbot.waitUntil(
        lambda: seg.is_cached(frame_key(vid, FPS)) and seg.is_cached(frame_key(vid, 2 * FPS)), timeout=20000
    )
    square = red_square(w.canvas.image)
    ys, xs = np.nonzero(square)
    click(w, float(np.median(xs)), float(np.median(ys)))
    qtbot.waitUntil(
        lambda: w.worker.idle() and w.writer.idle() and bool(store.annotations(video_id=vid)), timeout=20000
    )
    stored = store.annotations(video_id=vid, frame=0)[0]
    assert stored.object_id == oid
    iou = (stored.mask() & square).sum() / (stored.mask() | square).sum()
    assert iou > 0.8
    # a right click on the same square removes it again
    click(w, float(np.median(xs)), float(np.median(ys)), Qt.MouseButton.RightButton)
    qtbot.waitUntil(
        lambda: w.worker.idle() and w.writer.idle() and store.annotations(video_id=vid)[0].version == 2,
        timeout=20000,
    )
    assert not store.annotations(video_id=vid, frame=0)[0].mask().any()


def test_interactive_request_jumps_ahead_of_batch(qtbot, main_window):
    """A SAM click queued behind a long batch job runs between its steps, not after it."""
    w = main_window
    order: list[str] = []

    def long_job(progress, cancel, on_clip):
        for i in range(20):
            if cancel.is_set():
                return
            time.sleep(0.05)
            order.append(f"batch {i}")
            progress(i + 1, 20, "step")

    job = w.worker.start_job("long", long_job)
    qtbot.waitUntil(lambda: len(order) >= 2, timeout=5000)
    w.worker.submit(lambda: order.append("click"))
    qtbot.waitUntil(lambda: "click" in order, timeout=5000)
    assert order.index("click") < 10
    w.worker.cancel_job(job)
    qtbot.waitUntil(w.worker.idle, timeout=5000)
    assert w.jobs_panel.states[job] == "cancelled"


def test_worker_error_is_reported_not_raised(qtbot, video_project, gui_settings):
    w = open_window(qtbot, video_project, gui_settings)
    w.worker.set_profile("no-such-profile")
    w.project.store.add_object(w.video.id, "x")
    w.session.reload()
    QTest.keyClick(w.canvas, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: getattr(w, "last_error", None) is not None, timeout=20000)
    assert "no-such-profile" in w.last_error
    close_window(qtbot, w)


def test_sample_project_clicks_and_review(qtbot, sample_project, gui_settings):
    """The bundled sample: click the drum and the bird, accept the drum; screenshot for the docs."""
    from tests.gui.test_proposals import shot

    w = open_window(qtbot, sample_project, gui_settings)
    w.worker.set_point_segmenter(POINT_SEGMENTERS.create("color-point", device="cpu"))
    store, vid = w.project.store, w.video.id
    drum, bird = (o.id for o in store.objects(vid))  # made by the sample's first proposals
    assert [o.label for o in store.objects(vid)] == ["drum", "bird"]
    img = w.canvas.image.astype(int)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    red = (r > 140) & (g < 80) & (b < 80)
    yellow = (r > 200) & (g > 170) & (b < 110)
    QTest.keyClick(w.canvas, Qt.Key.Key_S)
    for number, mask in ((1, red), (2, yellow)):
        QTest.keyClick(w.canvas, getattr(Qt.Key, f"Key_{number}"))
        ys, xs = np.nonzero(mask)
        i = np.argmin((xs - np.median(xs)) ** 2 + (ys - np.median(ys)) ** 2)  # a pixel of it near its middle
        click(w, float(xs[i]), float(ys[i]))
        qtbot.waitUntil(
            lambda n=number: (
                w.worker.idle()
                and w.writer.idle()
                and len(store.annotations(video_id=vid, frame=0, status="edited")) == n
            ),
            timeout=20000,
        )
    rows = {r.object_id: r.mask() for r in store.annotations(video_id=vid, frame=0)}
    for obj, colour, other in ((drum, red, yellow), (bird, yellow, red)):
        m = rows[obj]
        assert (
            (m & colour).sum() > 0.6 * colour.sum() and m.sum() < 1.3 * colour.sum() and not (m & other).any()
        )
    QTest.keyClick(w.canvas, Qt.Key.Key_1)
    QTest.keyClick(w.canvas, Qt.Key.Key_A)
    qtbot.waitUntil(w.writer.idle)
    assert {r.object_id: r.status for r in store.annotations(video_id=vid, frame=0)} == {
        drum: "accepted",
        bird: "edited",
    }
    w.set_tool(None)
    qtbot.waitUntil(lambda: w.project_panel.row_text(0, 5) == "1", timeout=5000)  # acc.
    shot(w, "main_window_sample.png")
    close_window(qtbot, w)


PROFILE_HEAD = (
    '[[describers]]\nname = "fixed"\ntexts = ["x"]\n[translator]\nname = "keyword"\nkeywords = {}\n'
    '[segmenter]\nname = "color-box"\n'
)


def test_s_loads_only_the_point_segmenter(qtbot, video_project, gui_settings, tmp_path):
    from avs_studio.openavs import load_config

    toml = tmp_path / "points.toml"
    toml.write_text(PROFILE_HEAD + '[point_segmenter]\nname = "color-point"\n')
    w = open_window(qtbot, video_project, gui_settings)
    w.worker.set_profile(load_config(toml))
    w.project.store.add_object(w.video.id, "x")
    w.session.reload()
    QTest.keyClick(w.canvas, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: w.worker.idle() and "color-point" in w.status.models_label.text(), timeout=20000)
    assert not w.worker.pipeline_loaded  # no describer, translator or text segmenter was built
    click(w, 40.0, 40.0)
    qtbot.waitUntil(lambda: w.worker.idle() and w.writer.idle(), timeout=20000)
    assert len(w.project.store.annotations(video_id=w.video.id)) == 1 and not w.worker.pipeline_loaded
    close_window(qtbot, w)


@pytest.mark.parametrize("why", ["offline", "unreachable"])
def test_a_missing_sam_weight_pressed_twice_gives_one_dialog(qtbot, video_project, gui_settings, tmp_path,
                                                            monkeypatch, why):  # fmt: skip
    import socket

    from avs_studio.gui.main_window import MainWindow
    from avs_studio.openavs import load_config

    for name in ("HF_HUB_OFFLINE", "AVS_STUDIO_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    if why == "offline":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:  # no setting says so, but no host answers: a download cannot work either

        def no_network(*_a, **_k):
            raise OSError(101, "Network is unreachable")

        monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path / "empty-cache"))
    toml = tmp_path / "needs-sam.toml"
    toml.write_text(PROFILE_HEAD + '[point_segmenter]\nname = "sam"\nmodel = "sam-vit-b"\n')
    w = MainWindow(video_project, settings=gui_settings, ask=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.canvas.frame_index == 0, timeout=10000)
    w.worker.set_profile(load_config(toml))
    w.project.store.add_object(w.video.id, "x")
    w.session.reload()
    for _ in range(3):  # S on, off, on: two loads fail the same way
        QTest.keyClick(w.canvas, Qt.Key.Key_S)
        qtbot.waitUntil(lambda: w.worker.idle() and w.problems.is_open(), timeout=30000)
    assert not w.worker.pipeline_loaded
    text = w.problems.text()
    assert len(w.findChildren(type(w.problems.box))) == 1
    assert text.count("needs 1 model that is not in the model cache") == 1, text
    assert "sam-vit-b" in text and str(tmp_path / "empty-cache") in text and " MB" in text  # size, cache
    assert "avs-studio models import PATH" in text and "Download them with" not in text  # offline
    assert "Fetch it with" not in text  # the task's own error is covered by the offer, not shown too
    from tests.gui.test_proposals import shot

    shot(w.problems.box, "missing_models_problem.png")
    buttons = [b.text() for b in w.problems.box.buttons()]
    assert "Import model files…" in buttons and not any("Download" in b for b in buttons)
    w.problems.click("Import model files…")
    dialog = w.pipeline_menu.dialog
    assert dialog is not None and not dialog.download_button.isVisible()
    assert ("HF_HUB_OFFLINE" if why == "offline" else "cannot be reached") in dialog.offline_reason
    dialog.close()
    w.close()
