"""The training dialog, offscreen: start a real trainer subprocess, watch the curves, cancel, resume,
finish, use the student as proposal engine; its fields start at the training defaults; it says how many
frames of each kind (accepted, edited, pseudo-labelled) a run will use; the Train menu; a screenshot."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import QSettings

from avs_studio.gui.training_dialog import TrainingDialog
from avs_studio.io.demo import make_demo_s4
from avs_studio.jobs import init_project
from avs_studio.jobs.importing import import_avsbench
from avs_studio.settings import PROPOSAL_ENGINE
from avs_studio.training.settings import DEFAULTS


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
    dialog = TrainingDialog(
        demo_project, options={"image_size": 32, "batch_size": 4, "lr": 0.003, "val_every": 2}
    )
    qtbot.addWidget(dialog)
    dialog.show()
    summary = {
        dialog.summary.item(r, 0).text(): dialog.summary.item(r, 2).text()
        for r in range(dialog.summary.rowCount())
    }
    assert summary == {"train": "8", "val": "10", "test": "5"}  # S4: train clips have one labelled frame

    assert "trains on 8 accepted = 8 frames from 8 videos, and validates on 10 frames" in dialog.plan.text()
    dialog.name.setText("gui")
    dialog.steps.setValue(120)
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
    total = saved_step + 4  # a few more steps to run
    dialog.steps.setValue(total)
    with qtbot.waitSignal(dialog.finished, timeout=240_000) as ended:
        assert dialog.start(resume=True)
    assert ended.args == ["done"], dialog.message.text()
    steps = [int(x) for x in dialog.loss_curve.getData()[0]]
    assert steps == list(range(1, total + 1))  # the curve goes on from the saved step
    miou_steps = [int(x) for x in dialog.miou_curve.getData()[0]]
    assert miou_steps and all(x % 2 == 0 or x == total for x in miou_steps)  # validated every 2 steps
    assert "best val mIoU" in dialog.message.text()
    row = dialog.runs.item(0, 0)
    assert dialog.runs.item(0, 1).text() == "done" and 0 <= float(dialog.runs.item(0, 2).text()) <= 1
    dialog.runs.selectRow(row.row())
    assert dialog.use_as_engine()
    assert demo_project.store.get_setting(PROPOSAL_ENGINE) == "student:gui"
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
    dialog.steps.setValue(2)
    assert "trains on 7 accepted = 7 frames" in dialog.plan.text()
    dialog.edited.setChecked(True)
    assert "trains on 7 accepted + 1 edited = 8 frames" in dialog.plan.text()
    with qtbot.waitSignal(dialog.finished, timeout=120_000) as ended:
        assert dialog.start()
        assert not dialog.edited.isEnabled()
    assert ended.args == ["done"], dialog.message.text()
    assert next(e for e in events if e["event"] == "data")["train_samples"] == 8


def test_fields_start_at_the_training_defaults(qtbot, demo_project):
    dialog = TrainingDialog(demo_project)
    qtbot.addWidget(dialog)
    assert dialog.backbone.currentText() == DEFAULTS.backbone == "auto"
    assert "tiny" in dialog.backbone_note.text() and "models download" in dialog.backbone_note.text()
    assert (dialog.image_size.value(), dialog.steps.value()) == (DEFAULTS.image_size, DEFAULTS.steps)
    assert dialog.pseudo_weight.value() == DEFAULTS.pseudo_weight
    assert dialog.pseudo_min_score.value() == DEFAULTS.pseudo_min_score
    assert dialog.pseudo.isChecked() is DEFAULTS.pseudo_labels and dialog.edited.isChecked() is False


def test_pseudo_labels_are_counted_and_used(qtbot, demo_project, screenshot_dir):
    """Proposals of unreviewed clips: the plan counts them at the chosen threshold, the run uses exactly
    those, with the chosen weight."""
    import numpy as np

    store = demo_project.store
    videos = [v for v in store.videos() if v.split == "train"][:2]
    for v in videos:  # two clips nobody reviewed, with OpenAVS proposals of scores 0.9, 0.6, 0.2
        for a in store.annotations(video_id=v.id):
            store.delete_annotation(a.id)
        obj = store.objects(v.id)[0].id
        mask = np.zeros((v.height, v.width), bool)
        mask[10:30, 10:30] = True
        for frame, score in zip(range(3), (0.9, 0.6, 0.2)):
            store.put_annotation(v.id, frame, obj, mask, source="proposal", status="proposed", score=score)
    dialog = TrainingDialog(demo_project, options={"image_size": 32, "batch_size": 4})
    qtbot.addWidget(dialog)
    dialog.show()
    assert "trains on 6 accepted = 6 frames" in dialog.plan.text()
    dialog.pseudo.setChecked(True)
    assert "6 accepted + 4 pseudo-labelled" in dialog.plan.text()  # 0.9 and 0.6 pass the default 0.3
    dialog.pseudo_min_score.setValue(0.7)
    assert "6 accepted + 2 pseudo-labelled" in dialog.plan.text() and "score ≥ 0.7" in dialog.plan.text()
    pseudo_column = {
        dialog.summary.item(r, 0).text(): dialog.summary.item(r, 4).text()
        for r in range(dialog.summary.rowCount())
    }
    assert pseudo_column["train"] == "2"
    dialog.pseudo_weight.setValue(0.3)
    assert "weight 0.3" in dialog.plan.text()
    qtbot.waitUntil(lambda: dialog.plan.isVisible())
    plan = dialog.plan  # the whole plan is readable: its wrapped text fits the room it got
    assert plan.height() >= plan.heightForWidth(plan.width()) > plan.fontMetrics().lineSpacing() * 2
    path = screenshot_dir / "training_dialog_pseudo.png"
    assert dialog.grab().save(str(path))

    events = []
    dialog.event.connect(events.append)
    dialog.name.setText("pseudo")
    dialog.steps.setValue(2)
    with qtbot.waitSignal(dialog.finished, timeout=120_000) as ended:
        assert dialog.start()
    assert ended.args == ["done"], dialog.message.text()
    data = next(e for e in events if e["event"] == "data")
    assert (data["train_samples"], data["pseudo_samples"]) == (8, 2)
    run = {r.name: r for r in store.training_runs()}["pseudo"]
    assert run.config["data"]["pseudo_weight"] == 0.3 and run.config["data"]["pseudo_min_score"] == 0.7
