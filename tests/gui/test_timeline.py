"""TimelineWidget on a real decoded tone video: pixels of the waveform, ticks, spectrogram; seek and zoom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from avs_studio.gui.timeline import (
    RULER_BACKGROUND,
    RULER_H,
    STATUS_COLOURS,
    STRIP_BACKGROUND,
    STRIP_H,
    TICK_H,
    WAVE_COLOUR,
    TimelineWidget,
    paint_legend,
    spectrogram_columns,
)
from avs_studio.media import AudioTrack, EnvelopePyramid, VideoReader, load_audio
from tests.helpers.media_factory import make_video, tone_frequency, tone_samples

FPS = 25
FRAMES = 100  # 4 s: tones 400, 700, 1000, 1300 Hz, amplitude 0.5
W, H = 800, 140
STATUS = {10: "none", 30: "proposed", 50: "accepted", 70: "rejected", 90: "edited"}


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    path = make_video(tmp_path_factory.mktemp("tl") / "tone.mp4", frames=FRAMES, fps=FPS, audio_rate=16000)
    with VideoReader(path) as reader:
        times = reader.frame_times.copy()
        duration = reader.info.duration
    track = load_audio(path, rate=None, mono=True)
    return duration, times, track


@pytest.fixture
def timeline(qtbot, media):
    duration, times, track = media
    tl = TimelineWidget()
    qtbot.addWidget(tl)
    tl.resize(W, H)
    tl.set_media(duration, times, EnvelopePyramid(track.samples, track.rate), track)
    tl.set_keyframe_status(STATUS)
    tl.show()
    qtbot.waitExposed(tl)
    return tl


def pixels(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def rgb(hex_colour: str) -> np.ndarray:
    c = QColor(hex_colour)
    return np.array([c.red(), c.green(), c.blue()], np.uint8)


def is_colour(px: np.ndarray, hex_colour: str, tol: int = 6) -> np.ndarray:
    return (np.abs(px.astype(int) - rgb(hex_colour).astype(int)) <= tol).all(axis=-1)


def test_waveform_band_shows_the_tone_amplitude(timeline, media, screenshot_dir: Path):
    img = pixels(timeline)
    timeline.grab().save(str(screenshot_dir / "timeline_zoomed_out.png"))
    band = img[RULER_H : H - TICK_H - STRIP_H]
    wave = is_colour(band, WAVE_COLOUR)
    # every column inside the audio has waveform pixels; the tone (amplitude 0.5) fills about half the band
    cols = wave.any(axis=0)
    assert cols[5 : W - 5].mean() > 0.97
    mid = (band.shape[0] - 1) / 2
    for x in (100, 300, 500, 700):
        rows = np.flatnonzero(wave[:, x])
        assert abs(rows.min() - (mid - 0.5 * mid)) <= 3, (x, rows.min())
        assert abs(rows.max() - (mid + 0.5 * mid)) <= 3, (x, rows.max())
    # nothing of the waveform outside its band
    assert not is_colour(img[H - TICK_H + 1 :], WAVE_COLOUR).any()


def test_keyframe_ticks_have_status_colours_at_their_times(timeline, media):
    _, times, _ = media
    img = pixels(timeline)
    row = img[H - TICK_H // 2]
    for frame, status in STATUS.items():
        x = round(timeline.x_for_time(times[frame]))
        assert is_colour(row[x], STATUS_COLOURS[status]).all(), (frame, status, row[x])
        assert not is_colour(row[x + 8], STATUS_COLOURS[status]).all()
    # and no tick colour anywhere else on the tick row
    xs = {round(timeline.x_for_time(times[f])) + d for f in STATUS for d in (-1, 0, 1)}
    others = [x for x in range(W) if x not in xs]
    for status in set(STATUS.values()):
        assert not is_colour(row[others], STATUS_COLOURS[status]).any(), status


def test_unknown_status_is_refused(timeline):
    with pytest.raises(ValueError, match="unknown review status"):
        timeline.set_keyframe_status({3: "maybe"})


def test_click_seeks_to_the_frame_under_the_mouse(qtbot, timeline):
    x = 306  # 306 / 800 * 4 s = 1.53 s -> frame 38 at 25 fps
    with qtbot.waitSignal(timeline.seekRequested, timeout=2000) as sig:
        QTest.mouseClick(timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, 60))
    assert sig.args == [38]
    assert timeline.frame() == 38
    img = pixels(timeline)
    px = round(timeline.x_for_time(1.52))  # the playhead (white) snaps to the start of frame 38
    assert (img[RULER_H + 5, px] >= 250).all() and abs(px - x) <= 2


def test_drag_seeks_continuously(qtbot, timeline):
    seen: list[int] = []
    timeline.seekRequested.connect(seen.append)
    QTest.mousePress(timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(100, 60))
    for x in (200, 400, 600):
        QTest.mouseMove(timeline, QPoint(x, 60))
    QTest.mouseRelease(timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(600, 60))
    # 100 px = 0.5 s = frame 12; 600 px = 3.0 s = frame 75
    assert seen[0] == 12 and seen[-1] == 75
    assert seen == sorted(seen) and len(set(seen)) == len(seen)  # one signal per new frame


def wheel(widget, x: int, dy: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    pos = QPointF(x, 60)
    event = QWheelEvent(
        pos,
        widget.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, dy),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_wheel_zooms_around_the_cursor_and_shift_wheel_pans(timeline):
    assert timeline.view_range() == pytest.approx((0.0, 4.0), abs=0.05)
    wheel(timeline, 200, 120)  # cursor at 1.0 s
    t0, t1 = timeline.view_range()
    assert t1 - t0 == pytest.approx(4.0 * 0.8, rel=0.01)
    assert timeline.time_at_x(200) == pytest.approx(1.0, abs=0.01)  # the time under the cursor stays
    wheel(timeline, 200, 3 * 120)
    assert timeline.view_range()[1] - timeline.view_range()[0] == pytest.approx(4.0 * 0.8**4, rel=0.01)
    before = timeline.view_range()
    wheel(timeline, 200, -120, Qt.KeyboardModifier.ShiftModifier)  # pan right by a tenth of the span
    after = timeline.view_range()
    span = before[1] - before[0]
    assert after[0] - before[0] == pytest.approx(0.1 * span, rel=0.02)
    assert after[1] - after[0] == pytest.approx(span)
    wheel(timeline, 200, -10 * 120)  # zoom out past the whole file: clamped to the media
    assert timeline.view_range() == pytest.approx((0.0, 4.0), abs=0.05)


def test_shift_drag_pans(timeline):
    timeline.set_view(1.0, 2.0)
    QTest.mousePress(timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, QPoint(400, 60))
    QTest.mouseMove(timeline, QPoint(200, 60))
    QTest.mouseRelease(
        timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, QPoint(200, 60)
    )
    assert timeline.view_range() == pytest.approx((1.25, 2.25), abs=0.01)


def test_zoomed_in_shows_single_cycles(timeline, screenshot_dir: Path):
    timeline.set_view(1.0, 1.02)  # 20 ms (the closest zoom) of 700 Hz: 14 cycles over 800 px
    img = pixels(timeline)
    timeline.grab().save(str(screenshot_dir / "timeline_zoomed_in.png"))
    band = is_colour(img[RULER_H : H - TICK_H - STRIP_H], WAVE_COLOUR)
    top = np.array([np.flatnonzero(band[:, x]).min() for x in range(W) if band[:, x].any()])
    assert len(top) > W * 0.95
    # the top edge rises and falls with the sine: two crossings of its median per cycle
    centred = top - np.median(top)
    crossings = np.count_nonzero(np.diff(np.sign(centred[np.abs(centred) > 3])) != 0)
    assert 24 <= crossings <= 32, crossings


def test_follow_pages_the_view_to_the_playhead(timeline, media):
    _, times, _ = media
    timeline.set_view(0.0, 1.0)
    timeline.set_frame(75)  # 3.0 s
    t0, t1 = timeline.view_range()
    assert t0 <= times[75] <= t1 and t1 - t0 == pytest.approx(1.0)
    timeline.set_follow(False)
    timeline.set_view(0.0, 1.0)
    timeline.set_frame(80)
    assert timeline.view_range() == pytest.approx((0.0, 1.0))


def test_spectrogram_puts_higher_tones_higher(qtbot, timeline, screenshot_dir: Path):
    with qtbot.waitSignal(timeline.spectrogramReady, timeout=10000):
        timeline.show_spectrogram(True)
        timeline.repaint()  # requests it; a worker thread computes it
    assert timeline.spectrogram_shown() and not timeline.spectrogram_pending()
    img = pixels(timeline)
    timeline.grab().save(str(screenshot_dir / "timeline_spectrogram.png"))
    band = img[RULER_H : H - TICK_H - STRIP_H].astype(int).sum(axis=2)  # brightness
    assert not is_colour(img[RULER_H : H - TICK_H - STRIP_H], WAVE_COLOUR).mean() > 0.01
    peak_rows = [int(np.argmax(band[:, x])) for x in (100, 300, 500, 700)]  # 400, 700, 1000, 1300 Hz
    assert peak_rows == sorted(peak_rows, reverse=True) and len(set(peak_rows)) == 4, peak_rows
    timeline.show_spectrogram(False)
    assert is_colour(pixels(timeline)[RULER_H : H - TICK_H - STRIP_H], WAVE_COLOUR).any()


def test_spectrogram_of_a_long_window_reads_one_slice_per_column():
    rate, seconds = 8000, 600  # 10 min: the long-window path (600 s * 8000 > 200 columns * 256)
    x = tone_samples(seconds, rate, schedule=lambda s: 500.0 if s < 300 else 2500.0)
    mel = spectrogram_columns(AudioTrack(x[None, :], rate), 0.0, float(seconds), 200)
    assert mel.shape == (64, 200)
    low, high = np.argmax(mel[:, :100], axis=0), np.argmax(mel[:, 100:], axis=0)
    assert np.all(low == np.bincount(low).argmax()) and np.all(high == np.bincount(high).argmax())
    assert high[0] > low[0] + 10  # 2500 Hz sits many mel bands above 500 Hz
    assert tone_frequency(0) == 400.0  # the fixture's tone schedule the other tests rely on


def test_empty_timeline_paints_without_media(qtbot):
    tl = TimelineWidget()
    qtbot.addWidget(tl)
    tl.resize(300, 80)
    tl.set_frame(5)
    assert tl.view_range()[1] > 0
    assert not pixels(tl).max() == 0  # "no video" text on the background


def test_silent_video_highlight_and_crowded_ticks(qtbot, media):
    _, times, _ = media
    tl = TimelineWidget()
    qtbot.addWidget(tl)
    tl.resize(100, 90)  # 4 s over 100 px: one frame per pixel, ticks of neighbouring frames overlap
    tl.set_media(4.0, times, None, None)
    tl.set_keyframe_status({50: "accepted", 51: "rejected", 52: "accepted"})
    tl.show_spectrogram(True)  # no audio: stays on the (empty) waveform band
    assert not tl.spectrogram_shown()
    img = pixels(tl)
    x = round(tl.x_for_time(times[51]))
    assert is_colour(img[90 - TICK_H // 2, x], STATUS_COLOURS["rejected"]).all()  # needs a look: drawn on top
    assert not is_colour(img[RULER_H : 90 - TICK_H - STRIP_H], WAVE_COLOUR).any()  # no audio, no waveform
    tl.set_highlight(1.0, 2.0)
    lit = pixels(tl)
    band = slice(RULER_H + 2, 90 - TICK_H - STRIP_H - 2)
    inside, outside = lit[band, 30].astype(int).sum(), lit[band, 70].astype(int).sum()
    assert inside > outside and (lit[band, 70] == img[band, 70]).all()
    tl.clear_highlight()
    assert (pixels(tl)[band, 30] == img[band, 30]).all()


def strip_row(h: int = H) -> int:
    return h - TICK_H - STRIP_H // 2  # a row inside the mask strip, above the keyframe ticks


def test_mask_strip_colours_every_frame_with_masks_by_state(timeline, media, screenshot_dir: Path):
    _, times, _ = media
    frames = {f: "proposed" for f in range(20, 30)} | {40: "accepted", 41: "edited", 62: "rejected"}
    timeline.set_frame_status(frames)
    assert timeline.frame_status() == frames
    img = pixels(timeline)
    timeline.grab().save(str(screenshot_dir / "timeline_mask_strip.png"))
    row = img[strip_row()]
    for f in range(100):
        x = round(timeline.x_for_time((times[f] + times[min(f + 1, 99)]) / 2)) if f < 99 else W - 3
        expected = STATUS_COLOURS[frames[f]] if f in frames else STRIP_BACKGROUND
        assert is_colour(row[x], expected).all(), (f, frames.get(f), row[x])
    # the ticks stay keyframe ticks: frame 25 is proposed in the strip, not a tick
    assert not is_colour(
        img[H - TICK_H // 2, round(timeline.x_for_time(times[25]))], STATUS_COLOURS["proposed"]
    ).all()
    with pytest.raises(ValueError, match="unknown review status"):
        timeline.set_frame_status({3: "maybe"})


def test_mask_strip_zoomed_out_keeps_a_lone_frame_that_needs_a_look(qtbot, media):
    _, times, _ = media
    tl = TimelineWidget()
    qtbot.addWidget(tl)
    tl.resize(40, 90)  # 100 frames over 40 px: 2.5 frames per column
    tl.set_media(4.0, times, None, None)
    tl.set_frame_status({f: "accepted" for f in range(100)} | {51: "proposed"})
    img = pixels(tl)
    row = img[strip_row(90)]
    x = int(times[51] / 4.0 * 40)
    assert is_colour(row[x], STATUS_COLOURS["proposed"]).all()
    assert (
        is_colour(row[x + 3], STATUS_COLOURS["accepted"]).all()
        and is_colour(row[5], STATUS_COLOURS["accepted"]).all()
    )


def test_legend_shows_every_status_colour_in_the_ruler(timeline):
    img = pixels(timeline)
    ruler = img[3 : RULER_H - 3, W // 2 :]
    for colour in STATUS_COLOURS.values():
        assert is_colour(ruler, colour).sum() >= 30, colour  # an 8x8 swatch, at least half visible
    assert not is_colour(img[3 : RULER_H - 3, : W // 4], STATUS_COLOURS["accepted"]).any()


def test_a_time_label_never_runs_under_the_legend(timeline):
    """A tick just left of the legend keeps its tick mark but not a label the legend would cut."""
    scratch = QImage(W, RULER_H, QImage.Format.Format_ARGB32)
    painter = QPainter(scratch)
    left = paint_legend(painter, W)
    painter.end()
    assert W // 2 < left < W
    span = 2.0
    timeline.set_view(0.0, span)
    t0 = 3.0 - (left - 15) / W * span  # the tick of 3.0 s lands 15 px left of the legend
    timeline.set_view(t0, t0 + span)
    timeline.repaint()
    img = pixels(timeline)
    tick = round(timeline.x_for_time(3.0))
    assert abs(tick - (left - 15)) <= 1
    band = img[2 : RULER_H - 2, tick + 2 : left]  # where its label would start
    assert is_colour(band, RULER_BACKGROUND, tol=10).all()  # no label text there
    assert not is_colour(img[RULER_H - 3 : RULER_H - 1, tick], RULER_BACKGROUND, tol=10).all()  # the tick
