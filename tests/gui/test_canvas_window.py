"""Canvas and window: zoom toward the cursor, re-fit on resize until the user zooms, rejected masks
hatched, frame and time visible while messages show, 1-based frames, no test-only profile offered."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from tests.gui.test_proposals import shot


def wheel(canvas, pos: QPoint, steps: int) -> None:
    event = QWheelEvent(
        QPointF(pos), QPointF(canvas.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(canvas.viewport(), event)


def fitted_scale(canvas) -> float:
    vp = canvas.viewport().rect()
    h, w = canvas.image.shape[:2]
    return min(vp.width() / w, vp.height() / h)


def fits(canvas) -> bool:
    """The frame fills the view (fitInView keeps a small margin)."""
    return abs(canvas.transform().m11() / fitted_scale(canvas) - 1) < 0.03


def test_wheel_zooms_toward_the_cursor(qtbot, main_window):
    c = main_window.canvas
    for x, y, steps in ((130.0, 100.0, 3), (20.0, 15.0, 2), (140.0, 20.0, -1)):
        at = c.view_point(x, y)
        before = c.transform().m11()
        wheel(c, at, steps)
        assert c.transform().m11() != before
        gx, gy = c.image_point(at)
        assert abs(gx - x) < 1.5 and abs(gy - y) < 1.5, (x, y, gx, gy)  # the same pixel stays under it


def test_the_frame_refits_on_resize_until_the_user_zooms(qtbot, main_window):
    w, c = main_window, main_window.canvas
    assert fits(c)
    w.resize(1500, 950)
    qtbot.waitUntil(lambda: fits(c), timeout=5000)
    w.resize(1000, 700)
    qtbot.waitUntil(lambda: fits(c), timeout=5000)
    w.action_table["zoom_in"].trigger()
    zoomed = c.transform().m11()
    w.resize(1400, 900)
    qtbot.wait(100)
    assert c.transform().m11() == zoomed  # the user's zoom is kept
    w.action_table["zoom_fit"].trigger()
    w.resize(1100, 760)
    qtbot.waitUntil(lambda: fits(c), timeout=5000)


def test_rejected_masks_are_hatched(qtbot, main_window):
    w = main_window
    store, vid = w.project.store, w.video.id
    boxes = {"accepted": (10, 50, 10, 50), "proposed": (10, 50, 60, 100), "rejected": (60, 110, 60, 140)}
    for status, (y0, y1, x0, x1) in boxes.items():
        oid = store.add_object(vid, status)
        m = np.zeros((120, 160), bool)
        m[y0:y1, x0:x1] = True
        store.put_annotation(vid, 0, oid, m, source="proposal", status=status)
    w.session.reload()
    alpha = w.canvas.overlay_rgba()[..., 3]
    inner = {s: alpha[y0 + 3 : y1 - 3, x0 + 3 : x1 - 3] for s, (y0, y1, x0, x1) in boxes.items()}
    assert (inner["accepted"] > 0).all() and (inner["proposed"] > 0).all()  # solid fills
    hatched = (inner["rejected"] > 0).mean()
    assert 0.3 < hatched < 0.7  # stripes: about half covered
    w.canvas.set_mask_mode("outline")
    alpha = w.canvas.overlay_rgba()[..., 3]
    y0, y1, x0, x1 = boxes["rejected"]
    assert (alpha[y0 + 3 : y1 - 3, x0 + 3 : x1 - 3] > 0).mean() > 0.3  # hatched in outline mode too
    w.canvas.set_mask_mode("fill")
    shot(w, "rejected_hatched.png")


def test_frame_and_time_stay_visible_while_a_message_shows(qtbot, main_window):
    w = main_window
    w.nav.seek(12)
    qtbot.waitUntil(lambda: w.canvas.frame_index == 12, timeout=10000)
    w.status.showMessage("a long message about something that happened", 10000)
    assert w.status.frame_label.isVisible() and w.status.time_label.isVisible()
    assert w.status.frame_label.text().startswith("frame 13/")  # 1-based
    assert w.status.time_label.text() == "00:01.200"


def test_the_test_only_profile_is_not_offered(qtbot, main_window):
    w = main_window
    w.pipeline_menu.fill()
    offered = [a.text() for a in w.pipeline_menu.menu.actions()]
    assert "default" in offered and "tiny-random" not in offered
    dialog = w.pipeline_menu.show_settings()
    items = [dialog.profile.itemText(i) for i in range(dialog.profile.count())]
    assert "default" in items and "tiny-random" not in items
    dialog.close()
