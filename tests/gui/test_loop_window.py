"""The self-training loop through the real window: the proposal engine (status bar, Annotate ▸ Proposal
engine, the Train dialog's button) drives Ctrl+R; Review ▸ Proposal quality… shows the jobs figures; U
walks the review queue of a real tiny student; the video list puts "my queue" first and editing a video
assigned to someone else asks once. Screenshots of each view."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from avs_studio.jobs import add_videos, keyframes
from avs_studio.jobs.assign import assign
from avs_studio.jobs.propose_student import StudentPredictor
from avs_studio.jobs.review_queue import review_queue
from avs_studio.session.queue_controller import NO_STUDENT
from avs_studio.store import FrameMasks
from tests.gui.conftest import FPS, close_window, open_window
from tests.gui.test_main_window import drag
from tests.gui.test_proposals import wait_job
from tests.helpers.media_factory import make_video
from tests.helpers.student import make_student
from tests.unit.jobs.test_quality import EXPECTED, reviewed_history
from tests.unit.jobs.test_review_queue import FPS as QFPS
from tests.unit.jobs.test_review_queue import SECONDS, SIZE, queued, review, still, still_video, up  # noqa: F401 (fixtures)

CTRL = Qt.KeyboardModifier.ControlModifier


def idle(qtbot, w) -> None:
    qtbot.waitUntil(lambda: w.writer.idle() and w.worker.idle(), timeout=30000)


def test_ctrl_r_proposes_with_the_chosen_engine(qtbot, main_window, screenshot_dir):
    w = main_window
    store, vid = w.project.store, w.video.id
    assert w.engine_indicator.text() == "proposes: OpenAVS"
    assert w.project_panel.view.isColumnHidden(7)  # nobody is assigned anything: no assignee column
    make_student(w.project, "s1")
    w.engine_menu.rebuild()  # what opening Annotate ▸ Proposal engine does
    assert ("openavs", True) in w.engine_menu.entries() and ("student:s1", False) in w.engine_menu.entries()
    pick = next(a for a in w.engine_menu.actions() if a.data() == "student:s1")
    pick.trigger()
    idle(qtbot, w)
    assert w.engine_indicator.text() == "proposes: student s1"
    assert store.get_setting("proposal_engine") == "student:s1"
    w.engine_menu.popup(w.mapToGlobal(w.rect().center()))  # opening it rebuilds it
    qtbot.waitUntil(w.engine_menu.isVisible)
    assert ("student:s1", True) in w.engine_menu.entries()
    assert not any("tiny-random" in e for e, _ in w.engine_menu.entries())  # test-only: not offered
    w.engine_menu.grab().save(str(screenshot_dir / "engine_menu.png"))
    w.engine_menu.hide()
    QTest.keyClick(w.canvas, Qt.Key.Key_R, CTRL)
    job = max(w.jobs_panel.states)
    wait_job(qtbot, w, job)
    rows = store.annotations(video_id=vid)
    assert {r.frame for r in rows} == {0, FPS, 2 * FPS, 3 * FPS, 4 * FPS}  # the clip holding frame 0
    assert {(r.source, r.status, r.author) for r in rows} == {("student", "proposed", "student:s1")}
    assert store.pipeline_runs()[-1].engine == "student:s1"
    qtbot.waitUntil(lambda: w.session.states[:5] == ["proposed"] * 5, timeout=5000)
    w.grab().save(str(screenshot_dir / "engine_student_proposes.png"))

    # the Train dialog's "Use as proposal engine": the status bar follows at once
    make_student(w.project, "s2", seed=1)
    train = next(a for a in w.findChildren(QAction) if a.objectName() == "train_student")
    train.trigger()
    dialog = w.training_dialog
    dialog.name.setText("s2")
    dialog.engine_button.click()
    assert w.engine_indicator.text() == "proposes: student s2"
    dialog.close()


@pytest.fixture
def reviewed_project(video_project):
    """The GUI's project (its counter video first) plus the quality fixture's reviewed history."""
    reviewed_history(video_project)
    return video_project


def test_quality_dialog_shows_each_engine(qtbot, reviewed_project, gui_settings, screenshot_dir):
    w = open_window(qtbot, reviewed_project, gui_settings)
    try:
        w.action_table["proposal_quality"].trigger()
        dialog = w.quality_dialog
        qtbot.waitUntil(lambda: dialog.report is not None, timeout=20000)
        table = [[dialog.cell(r, c) for c in range(5)] for r in range(dialog.table.rowCount())]
        assert len(table) == len(EXPECTED["engines"]) == 2
        for row, e in zip(table, EXPECTED["engines"]):  # three decimals, as shown
            assert row[0] == e["engine"] and row[1] == str(e["frames"])
            assert float(row[2]) == pytest.approx(e["miou"], abs=5e-4)
            assert float(row[3]) == pytest.approx(e["fscore"], abs=5e-4)
            assert row[4] == f"{e['accepted_unchanged']:.0%}"
        assert dialog.message.text() == "10 accepted keyframe(s) with a stored proposal."
        dialog.grab().save(str(screenshot_dir / "proposal_quality.png"))
        # a frame accepted since: Refresh computes it again
        store = w.project.store
        for r in store.annotations(status="proposed"):
            store.set_status(r.id, "accepted")
        dialog.report = None
        dialog.refresh_button.click()
        qtbot.waitUntil(lambda: dialog.report is not None, timeout=20000)
        assert dialog.cell(0, 1) == "8"  # v1 f70, the one left proposed, now counts
    finally:
        close_window(qtbot, w)


def test_quality_dialog_empty_state(qtbot, main_window, screenshot_dir):
    w = main_window
    QTest.keyClick(w.canvas, Qt.Key.Key_M, CTRL | Qt.KeyboardModifier.ShiftModifier)
    dialog = w.quality_dialog
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=20000)
    assert dialog.table.rowCount() == 0 and dialog.table.isHidden()
    assert dialog.message.text().startswith("No reviewed proposals yet")
    dialog.grab().save(str(screenshot_dir / "proposal_quality_empty.png"))


def test_u_without_a_student_says_how_to_get_one(qtbot, main_window):
    w = main_window
    QTest.keyClick(w.canvas, Qt.Key.Key_U)
    assert w.last_error == f"No review queue yet: {NO_STUDENT}"
    assert w.status.currentMessage().startswith("No review queue yet")
    assert w.jobs_panel.states == {}


def test_u_walks_the_review_queue(qtbot, queued, gui_settings, screenshot_dir, tmp_path):  # noqa: F811
    """Two videos. Video 1 is the queue fixture (known disagreements); video 2 has one unreviewed keyframe,
    where OpenAVS proposed half of the student's mask (disagreement 1/2). Scores:
    video 1 frames 4, 28 (d = 1), 12, 24 (no teacher: u ~ 1), video 2 frame 8 (~0.75), video 1 frame 8
    (d ~ 0.05), frame 0 (d = 0): the walk leaves video 1 for video 2 and comes back."""
    project, vid, _known = queued
    second = make_video(tmp_path / "still2.mkv", frames=SECONDS * QFPS + 1, fps=QFPS, size=(SIZE, SIZE),
                        codec="ffv1", audio=None, counter=False, painter=still)  # fmt: skip
    (vid2,) = [v for _, v in add_videos(project, [second]).added]
    probs = StudentPredictor(project, "s1", "cpu").probabilities(
        project.store.video(vid2), [8], full_size=False
    )
    mine = probs[0] > 0.5
    half = np.argwhere(mine)[: int(mine.sum()) // 2]  # IoU = |half| / |mine| = 1/2 (within 1%)
    teacher = np.zeros_like(mine)
    teacher[tuple(half.T)] = True
    run = project.store.start_pipeline_run("openavs:default", {}, {})
    project.store.replace_proposals(
        vid2, [FrameMasks(8, [("dog", up(teacher), 0.9)])], (SIZE, SIZE), run_id=run
    )
    for f in keyframes(project.store.video(vid2)):
        if f != 8:
            review(project, vid2, f)
    ranked = review_queue(project, "s1", device="cpu").items
    order = [(i.video_id, i.frame) for i in ranked]
    assert order == [(vid, 4), (vid, 28), (vid, 12), (vid, 24), (vid2, 8), (vid, 8), (vid, 0)]
    assert ranked[4].disagreement == pytest.approx(0.5, abs=0.01)
    w = open_window(qtbot, project, gui_settings)
    try:
        w.nav.seek(12)  # where the user is does not matter: the walk starts at the top
        visited = []
        for _ in range(5):
            QTest.keyClick(w.canvas, Qt.Key.Key_U)
            want = order[len(visited)]
            qtbot.waitUntil(lambda want=want: (w.video.id, w.canvas.frame_index) == want, timeout=30000)
            visited.append((w.video.id, w.canvas.frame_index))
            if len(visited) == 1:  # the top one: OpenAVS proposed the student's complement here
                assert "disagrees with OpenAVS 100%" in w.status.currentMessage()
                w.grab().save(str(screenshot_dir / "review_queue_next.png"))
            video, frame = want
            name = "still" if video == vid else "still2"
            n = len(visited)
            assert w.status.currentMessage().startswith(
                f"Most uncertain #{n} of {len(order)}: {name} frame {frame + 1} "
            )
        assert visited == order[:5]
        assert len(w.jobs_panel.states) == 1  # ranked once, as one job, and reused
        review(project, *order[5])  # reviewed meanwhile (by anyone): skipped
        QTest.keyClick(w.canvas, Qt.Key.Key_U)
        qtbot.waitUntil(lambda: (w.video.id, w.canvas.frame_index) == order[6], timeout=10000)
        # another engine chosen: the next press ranks again
        w.engines.set_engine("openavs")
        idle(qtbot, w)
        QTest.keyClick(w.canvas, Qt.Key.Key_U)
        qtbot.waitUntil(lambda: len(w.jobs_panel.states) == 2, timeout=10000)
        idle(qtbot, w)
    finally:
        close_window(qtbot, w)


@pytest.fixture
def team_project(video_project, tmp_path):
    """Four videos: bob's, mine (unfinished), unassigned, mine (done)."""
    paths = [  # frame counts differ so that no two files are the same video
        make_video(tmp_path / "media" / f"{name}.mp4", frames=2 * FPS + i, fps=FPS, size=(160, 120))
        for i, name in enumerate(("unassigned", "mine_done", "mine"))
    ]
    add_videos(video_project, paths, split="train")
    store = video_project.store
    ids = {v.name: v.id for v in store.videos()}
    assign(video_project, "bob", video_ids=[ids["counter"]])
    me = store.author
    assign(video_project, me, video_ids=[ids["mine_done"]])
    for frame in keyframes(store.video(ids["mine_done"])):  # all reviewed: "nothing sounds", accepted
        store.put_annotation(ids["mine_done"], frame, None, np.zeros((120, 160), bool), source="manual",
                             status="accepted")  # fmt: skip
    assign(video_project, me, video_ids=[ids["mine"]])
    oid = store.add_object(ids["counter"], "drum")
    mask = np.zeros((120, 160), bool)
    mask[10:30, 10:40] = True
    store.put_annotation(ids["counter"], 0, oid, mask, source="proposal", status="proposed")
    return video_project


def test_my_queue_first_and_a_warning_before_editing_bobs_video(qtbot, team_project, gui_settings,
                                                                  screenshot_dir):  # fmt: skip
    w = open_window(qtbot, team_project, gui_settings)
    try:
        panel, store, me = w.project_panel, w.project.store, w.project.store.author
        qtbot.waitUntil(lambda: panel.row_count() == 4, timeout=10000)
        names = [panel.row_text(r, 0) for r in range(4)]
        owners = [panel.row_text(r, 7) for r in range(4)]
        assert names == ["mine", "unassigned", "mine_done", "counter"]
        assert owners == [f"{me} (you)", "", f"{me} (you)", "bob"]
        assert "my queue: 1 to do" in panel.summary_label.text()
        assert panel.view.header().visualIndex(7) == 1  # the assignee right after the name
        assert not panel.view.isColumnHidden(7)
        panel.grab().save(str(screenshot_dir / "video_list_my_queue.png"))

        counter = next(v.id for v in store.videos() if v.name == "counter")
        w.nav.open_video(counter)
        qtbot.waitUntil(lambda: w.video.id == counter and w.canvas.frame_index == 0, timeout=10000)
        seen: list[str] = []

        def answer(button: QMessageBox.StandardButton) -> None:  # the real question box, clicked
            def click() -> None:
                box = QApplication.activeModalWidget()
                assert isinstance(box, QMessageBox)
                seen.append(box.text())
                box.button(button).click()

            QTimer.singleShot(200, click)

        def back_to_window() -> None:
            w.activateWindow()  # the box gave the focus back
            qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
            idle(qtbot, w)

        w.ask = True
        answer(QMessageBox.StandardButton.No)
        QTest.keyClick(w.canvas, Qt.Key.Key_A)
        back_to_window()
        assert seen == w.questions == ["This video is assigned to bob — edit anyway?"]
        (proposal,) = store.annotations(video_id=counter)
        assert proposal.status == "proposed"  # not changed
        assert w.status.currentMessage() == "Not changed: this video is assigned to bob"
        # the brush asks when it is pressed, before painting; the press the box interrupted paints nothing
        w.canvas.setFocus()
        QTest.keyClick(w.canvas, Qt.Key.Key_B)
        vp = w.canvas.viewport()
        answer(QMessageBox.StandardButton.Yes)
        QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         w.canvas.view_point(100, 80))  # fmt: skip
        back_to_window()
        QTest.mouseMove(vp, w.canvas.view_point(140, 100))  # no button held any more
        QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           w.canvas.view_point(140, 100))  # fmt: skip
        idle(qtbot, w)
        assert len(seen) == 2 and store.annotations(video_id=counter) == [proposal]
        assert w.status.currentMessage() == "Editing bob's video: draw again"
        w.ask = False
        drag(w, [(100, 80), (120, 90)])  # confirmed: the stroke is stored, nothing asked
        idle(qtbot, w)
        (edited,) = store.annotations(video_id=counter)
        assert edited.status == "edited" and edited.mask().sum() > proposal.mask().sum()
        QTest.keyClick(w.canvas, Qt.Key.Key_A)
        idle(qtbot, w)
        assert store.annotations(video_id=counter)[0].status == "accepted" and len(w.questions) == 2
        QTest.keyClick(w.canvas, Qt.Key.Key_R)  # the next edit: no second question for this video
        idle(qtbot, w)
        assert store.annotations(video_id=counter)[0].status == "rejected" and len(w.questions) == 2
        mine = next(v.id for v in store.videos() if v.name == "mine")
        w.nav.open_video(mine)
        qtbot.waitUntil(lambda: w.video.id == mine and w.canvas.frame_index == 0, timeout=10000)
        w.object_panel.add_requested.emit("guitar")  # my own video: never asked
        idle(qtbot, w)
        assert [o.label for o in store.objects(mine)] == ["guitar"] and len(w.questions) == 2
    finally:
        close_window(qtbot, w)
