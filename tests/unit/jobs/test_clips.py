"""One definition of a clip: the frames ``clip_of`` gives agree with the keyframes ``split_clips`` groups
(what proposals run on), for any frame rate, clip length and keyframe layout; the length is the profile's."""

from __future__ import annotations

import pytest

from avs_studio.jobs.clips import clip_length, clip_of, frame_key, split_clips
from avs_studio.openavs import load_config


class _Video:
    def __init__(self, fps: float, frame_count: int, rate: float = 1.0) -> None:
        self.fps, self.frame_count, self.keyframe_rate, self.meta = fps, frame_count, rate, {}


@pytest.mark.parametrize(
    "fps,count,rate,size",
    [
        (10, 60, 1.0, 5),
        (25, 1000, 1.0, 5),
        (29.97, 901, 1.0, 5),
        (23.976, 500, 2.0, 3),
        (30, 7, 1.0, 5),
        (12.5, 400, 1.0, 1),
    ],
)
def test_clip_of_matches_split_clips(fps, count, rate, size):
    from avs_studio.jobs import keyframes

    kf = keyframes(_Video(fps, count, rate))
    clips = split_clips(kf, size)
    assert [k for c in clips for k in c] == kf and all(len(c) == size for c in clips[:-1])
    for i, clip in enumerate(clips):
        first = 0 if i == 0 else clip[0]
        end = clips[i + 1][0] if i + 1 < len(clips) else count
        for frame in range(first, end):  # every frame of the clip, not only its keyframes
            assert clip_of(kf, frame, size, count) == (first, end)
    assert clip_of([], 3, size, count) == (0, count)


def test_clip_length_comes_from_the_profile(tmp_path):
    assert clip_length() == load_config("default").clip_seconds == 5
    toml = tmp_path / "p.toml"
    toml.write_text(
        '[pipeline]\nclip_seconds = 3\n[[describers]]\nname = "fixed"\ntexts = ["x"]\n'
        '[translator]\nname = "keyword"\nkeywords = {}\n[segmenter]\nname = "color-box"\n'
    )
    assert clip_length(toml) == 3 and clip_length(load_config(toml)) == 3
    assert frame_key(7, 12) == "video:7:12"
