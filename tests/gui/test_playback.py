"""PlaybackController: wall clock without an audio device, audio clock with a stream, loop, span, speed."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from avs_studio.gui.playback import NO_DEVICE_NOTICE, AudioFeed, PlaybackController
from avs_studio.media import AudioTrack

FPS = 25
RATE = 8000


def times(n: int = 250) -> np.ndarray:
    return np.arange(n) / FPS


def ramp_track(seconds: float = 10.0) -> AudioTrack:
    """Sample k holds k / N: any block tells where in the track it came from."""
    n = int(seconds * RATE)
    return AudioTrack((np.arange(n, dtype=np.float32) / n)[None, :], RATE)


def no_device(**kwargs):
    import sounddevice as sd

    raise sd.PortAudioError("Error querying device -1")


class FakeStream:
    """An output stream that calls the callback from its own thread in real time, like PortAudio."""

    latency = 0.03
    block = 256

    def __init__(self, samplerate, channels, dtype, callback, latency):
        self.rate, self.channels, self.callback = samplerate, channels, callback
        self.out: list[np.ndarray] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.closed = False
        FakeStream.last = self

    @property
    def time(self) -> float:
        return time.perf_counter()

    def start(self):
        self._thread.start()

    def _run(self):
        next_t = time.perf_counter()
        while not self._stop.is_set():
            buf = np.empty((self.block, self.channels), np.float32)
            info = SimpleNamespace(outputBufferDacTime=time.perf_counter() + self.latency)
            self.callback(buf, self.block, info, None)
            self.out.append(buf.copy())
            next_t += self.block / self.rate
            time.sleep(max(0.0, next_t - time.perf_counter()))

    def abort(self):
        self._stop.set()
        self._thread.join(1.0)

    def close(self):
        self.closed = True


@pytest.fixture
def controller(qtbot):
    pb = PlaybackController(stream_factory=no_device)
    pb.set_media(times(), ramp_track(), 10.0)
    yield pb
    pb.close()


def record(pb: PlaybackController) -> list[tuple[float, int]]:
    seen: list[tuple[float, int]] = []
    pb.frameChanged.connect(lambda f: seen.append((time.perf_counter(), f)))
    return seen


def assert_on_schedule(seen, t_start, start_frame=0, speed=1.0, tol=2):
    """Each frameChanged carries the frame the clock shows at that moment (load only delays ticks)."""
    for t, f in seen:
        expected = start_frame + (t - t_start) * FPS * speed
        assert abs(f - expected) <= tol, (f, expected, t - t_start)


def test_no_device_plays_silently_at_the_right_rate_and_says_so_once(qtbot, controller):
    notices: list[str] = []
    controller.notice.connect(notices.append)
    seen = record(controller)
    t0 = time.perf_counter()
    controller.play(0)
    qtbot.wait(500)
    controller.pause()
    assert not controller.is_playing() and not controller.audio_active()
    assert_on_schedule(seen, t0)
    frames = [f for _, f in seen]
    assert frames == sorted(frames) and frames[-1] >= 8  # ~12 frames in 0.5 s, never backwards
    assert len(notices) == 1 and notices[0].startswith(NO_DEVICE_NOTICE)
    controller.play()
    qtbot.wait(50)
    controller.pause()
    assert len(notices) == 1  # once per controller, not once per play


def test_default_stream_on_this_machine(qtbot):
    """With the real sounddevice: either sound plays or the notice says why not (CI has no device)."""
    pb = PlaybackController()
    pb.set_media(times(), ramp_track(), 10.0)
    notices: list[str] = []
    pb.notice.connect(notices.append)
    pb.play(0)
    qtbot.wait(200)
    active = pb.audio_active()
    pb.close()
    assert pb.frame() > 0
    assert active or (len(notices) == 1 and NO_DEVICE_NOTICE in notices[0])


def test_silent_video_needs_no_device_and_no_notice(qtbot):
    pb = PlaybackController(stream_factory=no_device)
    pb.set_media(times(), None)
    notices: list[str] = []
    pb.notice.connect(notices.append)
    t0 = time.perf_counter()
    pb.play(0)
    qtbot.wait(300)
    t1 = time.perf_counter()
    pb.pause()
    t2 = time.perf_counter()
    # paused on the frame the clock showed (bounds from the time measured: a stalled machine waits longer)
    assert notices == [] and (t1 - t0) * FPS - 2 <= pb.frame() <= (t2 - t0) * FPS + 2


def test_loop_wraps_inside_the_range(qtbot, controller):
    controller.set_loop(5, 9)  # [0.2 s, 0.4 s)
    assert controller.loop_range() == pytest.approx((0.2, 0.4))
    seen = record(controller)
    controller.play(0)  # outside the loop: starts at its first frame

    def wraps() -> int:
        frames = [f for _, f in seen]
        return sum(1 for a, b in zip(frames, frames[1:]) if b < a)

    qtbot.waitUntil(lambda: wraps() >= 2, timeout=5000)  # about 0.5 s: a 0.2 s loop played twice over
    controller.pause()
    frames = [f for _, f in seen]
    assert set(frames) <= set(range(5, 10)) and {5, 9} <= set(frames)


def test_play_span_plays_once_and_returns(qtbot, controller):
    controller.seek(40)
    seen = record(controller)
    with qtbot.waitSignal(controller.finished, timeout=10_000):
        controller.play_span(50, 59)  # "play the current second": 2.0 s .. 2.4 s
    frames = [f for _, f in seen]
    assert frames[0] == 50 and max(frames) == 59 and frames[-1] == 50
    assert not controller.is_playing()
    dt = seen[-1][0] - seen[0][0]
    assert dt >= 0.3, dt  # the span lasts 0.4 s: played in real time, not skipped through


def test_play_to_the_end_stops_on_the_last_frame(qtbot, controller):
    controller.seek(240)
    with qtbot.waitSignal(controller.finished, timeout=10_000):
        controller.play()
    assert controller.frame() == 249 and not controller.is_playing()


@pytest.mark.parametrize("speed", [0.5, 2.0])
def test_speed_scales_the_clock(qtbot, controller, speed):
    controller.set_speed(speed)
    seen = record(controller)
    t0 = time.perf_counter()
    controller.play(0)
    qtbot.wait(400)
    controller.pause()
    assert_on_schedule(seen, t0, speed=speed)
    assert seen[-1][1] >= 0.6 * 0.4 * FPS * speed
    controller.set_speed(10)
    assert controller.speed() == 2.0


def test_seek_while_playing_continues_from_there(qtbot, controller):
    controller.play(0)
    qtbot.wait(100)
    seen = record(controller)
    t0 = time.perf_counter()
    controller.seek(200)
    qtbot.wait(200)
    controller.pause()
    assert seen[0][1] == 200
    assert_on_schedule(seen, t0, start_frame=200)
    assert seen[-1][1] >= 202


def test_audio_stream_drives_the_clock_and_feeds_the_right_samples(qtbot):
    pb = PlaybackController(stream_factory=FakeStream)
    track = ramp_track()
    pb.set_media(times(), track, 10.0)
    notices: list[str] = []
    pb.notice.connect(notices.append)
    pb.play(50)  # 2.0 s
    assert pb.audio_active()
    qtbot.wait(400)
    stream = FakeStream.last
    heard = pb.position()
    pb.pause()
    assert notices == [] and stream.closed
    out = np.concatenate(stream.out)[:, 0]
    start = 50 * RATE // FPS
    np.testing.assert_allclose(out, track.samples[0, start : start + len(out)], atol=1e-6)
    # the clock is what is heard: samples delivered minus the output latency
    delivered = 2.0 + len(out) / RATE
    assert delivered - FakeStream.latency - 0.05 <= heard <= delivered - FakeStream.latency + 0.08
    assert abs(pb.frame() - heard * FPS) <= 3


def test_audio_feed_loop_speed_and_end():
    x = np.arange(100, dtype=np.float32)[None, :]
    feed = AudioFeed(x, 10)  # 10 Hz: sample k at k / 10 s
    feed.position, feed.loop = 2.0, (2.0, 3.0)
    block, t = feed.read(25)
    assert t == 2.0
    assert block[:, 0].tolist() == [20 + k % 10 for k in range(25)]
    assert feed.position == pytest.approx(2.5)
    feed.loop, feed.position, feed.speed = None, 1.0, 2.0
    assert feed.read(4)[0][:, 0].tolist() == [10, 12, 14, 16]
    feed.speed, feed.position = 0.5, 1.0
    assert feed.read(4)[0][:, 0].tolist() == [10, 10.5, 11, 11.5]
    feed.speed, feed.position, feed.end = 1.0, 9.7, 9.9
    assert feed.read(4)[0][:, 0].tolist() == [97, 98, 0, 0]
