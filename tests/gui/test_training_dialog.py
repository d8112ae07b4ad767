"""The training dialog, offscreen: start a real trainer subprocess, watch the curves, cancel, resume,
finish, use the student as proposal engine; the Train menu in the main window; a screenshot."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import QSettings

from avs_studio.gui.training_dialog import TrainingDialog
from avs_studio.io.demo import make_demo_s4
from avs_studio.jobs import init_project
from avs_studio.jobs.importing import import_avsbench
from avs_studio.jobs.train import PROPOSAL_ENGINE_SETTING


@pytest.fixture
def demo_project(tmp_path):
    make_demo_s4(tmp_path / "demo", train=8, val=2, test=1, seed=2, size=64)
    project = init_project(tmp_path / "project")
    import_avsbench(project, tmp_path / "demo", "s4")
    yield project
    project.close()


def _points(curve) -> int:
    xs, _ys = curve.getData()
    return 0 if xs is None else len(xs)


def test_train_cancel_resume_and_use_as_engine(qtbot, demo_project, screenshot_dir):
    dialog = TrainingDialog(demo_project, options={"image_size": 32, "batch_size": 4, "lr": 0.003})
    qtbot.addWidget(dialog)
    dialog.show()
    summary = {
        dialog.summary.item(r, 0).text(): dialog.summary.item(r, 2).text()
        for r in range(dialog.summary.rowCount())
    }
    assert summary == {"train": "8", "val": "10", "test": "5"}  # S4: train clips have one labelled frame

    dialog.name.setText("gui")
    dialog.epochs.setValue(60)
    assert dialog.start()
    assert dialog.is_running() and not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: _points(dialog.loss_curve) >= 3, timeout=120_000)
    with qtbot.waitSignal(dialog.finished, timeout=60_000) as stopped:
        dialog.cancel()
    assert stopped.args == ["cancelled"] and dialog.state == "cancelled"
    checkpoint = demo_project.dir / "models" / "gui" / "checkpoint.pt"
    assert checkpoint.is_file() and "Resume" in dialog.message.text()
    cancelled_at = _points(dialog.loss_curve)
    assert dialog.runs.rowCount() == 1 and dialog.runs.item(0, 1).text() == "cancelled"

    saved_step = torch.load(checkpoint, weights_only=True)["step"]
    assert saved_step == cancelled_at  # the curve shows exactly the steps the checkpoint holds
    epochs = saved_step // 2 + 2  # 8 clips / batch 4 = 2 steps per epoch; at least one more epoch to run
    dialog.epochs.setValue(epochs)
    with qtbot.waitSignal(dialog.finished, timeout=240_000) as ended:
        assert dialog.start(resume=True)
    assert ended.args == ["done"], dialog.message.text()
    steps = [int(x) for x in dialog.loss_curve.getData()[0]]
    assert steps == list(range(1, 2 * epochs + 1))  # the curve goes on from the saved step
    assert _points(dialog.miou_curve) >= 1
    row = dialog.runs.item(0, 0)
    assert dialog.runs.item(0, 1).text() == "done" and 0 <= float(dialog.runs.item(0, 2).text()) <= 1
    dialog.runs.selectRow(row.row())
    assert dialog.use_as_engine()
    assert demo_project.store.get_setting(PROPOSAL_ENGINE_SETTING) == "student:gui"
    assert "(proposal engine)" in dialog.runs.item(0, 0).text()
    path = screenshot_dir / "training_dialog.png"
    assert dialog.grab().save(str(path)) and path.stat().st_size > 10_000


def test_bad_name_and_missing_checkpoint_are_reported(qtbot, demo_project):
    dialog = TrainingDialog(demo_project, options={"image_size": 32})
    qtbot.addWidget(dialog)
    dialog.name.setText("../escape")
    assert not dialog.start() and "must be letters" in dialog.message.text()
    dialog.name.setText("absent")
    with qtbot.waitSignal(dialog.finished, timeout=120_000) as ended:
        dialog.start(resume=True)
    assert ended.args == ["error"] and "models/absent/checkpoint.pt" in dialog.message.text()
    assert not dialog.use_as_engine() and "absent/model.pt" in dialog.message.text()


def test_train_menu_in_main_window(qtbot, demo_project, tmp_path):
    from avs_studio.gui.main_window import MainWindow

    window = MainWindow(settings=QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat), ask=False)
    qtbot.addWidget(window)
    titles = [a.text() for a in window.menuBar().actions()]
    assert "&Train" in titles and titles.index("&Train") < titles.index("&Help")
    window.set_project(demo_project)
    window.train_menu.actions()[0].trigger()
    assert window.training_dialog.isVisible() and window.training_dialog.project is demo_project
    window.training_dialog.close()
    window.set_project(None)


def test_edited_frames_are_counted_and_trained_when_ticked(qtbot, demo_project):
    store = demo_project.store
    video = next(v for v in store.videos() if v.split == "train")
    for row in store.annotations(video_id=video.id, status="accepted"):
        store.set_status(row.id, "edited")
    dialog = TrainingDialog(demo_project, options={"image_size": 32, "batch_size": 4})
    qtbot.addWidget(dialog)
    header = [dialog.summary.horizontalHeaderItem(c).text() for c in range(dialog.summary.columnCount())]
    train_row = next(
        r for r in range(dialog.summary.rowCount()) if dialog.summary.item(r, 0).text() == "train"
    )
    counts = dict(zip(header, (dialog.summary.item(train_row, c).text() for c in range(len(header)))))
    assert (counts["accepted"], counts["edited"]) == ("7", "1")

    events = []
    dialog.event.connect(events.append)
    dialog.name.setText("with-edited")
    dialog.epochs.setValue(1)
    dialog.edited.setChecked(True)
    with qtbot.waitSignal(dialog.finished, timeout=120_000) as ended:
        assert dialog.start()
        assert not dialog.edited.isEnabled()
    assert ended.args == ["done"], dialog.message.text()
    assert next(e for e in events if e["event"] == "data")["train_samples"] == 8
