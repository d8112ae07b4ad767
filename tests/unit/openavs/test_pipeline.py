"""The orchestrator with deterministic stages (avs_studio.openavs.testing): describers -> translation -> masks."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from avs_studio.media import AudioTrack
from avs_studio.openavs import (
    DESCRIBERS,
    TRANSLATORS,
    Clip,
    ConfigError,
    Pipeline,
    PipelineError,
    StageSpec,
    TranslationError,
    TranslatorConnectionError,
    load_config,
)
from avs_studio.openavs.config import parse_config
from avs_studio.openavs.pipeline import Cancelled

RATE = 16000
RED, GREEN = (220, 40, 40), (40, 200, 60)
CONFIG = {
    "pipeline": {"device": "cpu", "clip_seconds": 3},
    "describers": [
        {"name": "tone", "tones": {"400": "acoustic guitar strumming", "700": "dog barking"}},
        {"name": "fixed", "texts": ["room tone"]},
    ],
    "translator": {"name": "keyword", "keywords": {"guitar": "guitar", "dog": "green dog"}},
    "segmenter": {"name": "color-box", "colors": {"guitar": list(RED)}},
    "point_segmenter": {"name": "color-point"},
}


def frame(red_at: tuple[int, int] | None, green_at: tuple[int, int] | None = None) -> np.ndarray:
    img = np.full((48, 64, 3), 100, np.uint8)
    if red_at:
        x, y = red_at
        img[y : y + 10, x : x + 12] = RED
    if green_at:
        x, y = green_at
        img[y : y + 6, x : x + 6] = GREEN
    return img


def clip() -> Clip:
    t = np.arange(3 * RATE) / RATE
    freq = np.where(t < 1, 400.0, np.where(t < 2, 0.0, 700.0))
    audio = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)[None, :]
    frames = [frame((5, 5)), frame((30, 20), (2, 40)), frame(None, (50, 30))]
    return Clip(
        frames, [0, 25, 50], [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)], AudioTrack(audio, RATE), key="video:7"
    )


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline.from_config(parse_config(CONFIG, "test"), device="cpu")


def test_run_gives_per_frame_phrases_masks_and_provenance(pipeline):
    calls = []
    out = pipeline.run(clip(), progress=lambda d, t, m: calls.append((d, t)))
    assert out.descriptions == [
        {"tone": "acoustic guitar strumming", "fixed": "room tone"},
        {"tone": "", "fixed": ""},  # silent second: both describers give ""
        {"tone": "dog barking", "fixed": "room tone"},
    ]
    assert [f.frame_index for f in out.frames] == [0, 25, 50]
    assert [f.phrases for f in out.frames] == [["guitar"], [], ["green dog"]]
    f0 = out.frames[0]
    assert len(f0.objects) == 1 and f0.objects[0].phrase == "guitar"
    expected = np.zeros((48, 64), bool)
    expected[5:15, 5:17] = True
    np.testing.assert_array_equal(f0.objects[0].mask, expected)
    assert f0.objects[0].box == (5.0, 5.0, 17.0, 15.0)
    assert out.frames[1].objects == []  # nothing sounds in the silent second, though red is visible
    assert [o.phrase for o in out.frames[2].objects] == ["green dog"]  # colour word in the phrase
    assert out.frames[2].objects[0].mask.sum() == 36
    np.testing.assert_array_equal(out.frames[0].union((48, 64)), expected)
    assert out.translation["translator"] == "keyword" and "Frame 3:" in out.translation["prompt"]
    assert out.translation["phrases"] == [["guitar"], [], ["green dog"]]
    assert set(out.timings) == {"describe:tone", "describe:fixed", "translate", "segment", "total"}
    assert out.models["describer:tone"] == "tone" and out.models["segmenter"] == "color-box"
    assert out.models["version:avs_studio"]
    assert calls[0] == (0, 4) and calls[-1] == (4, 4)


def test_cancel_between_stages(pipeline):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        pipeline.run(clip(), cancel=cancel)
    cancel.clear()

    def progress(done, total, message):
        if done == 2:  # about to translate: stop before segmenting
            cancel.set()

    with pytest.raises(Cancelled, match="segmenting"):
        pipeline.run(clip(), progress=progress, cancel=cancel)


def test_segment_frame_reruns_one_frame_with_edited_phrases(pipeline):
    img = frame((30, 20), (2, 40))
    objs = pipeline.segment_frame(img, [" Guitar ", "GREEN blob", "guitar", ""], key="video:7:25")
    assert [o.phrase for o in objs] == ["guitar", "green blob"]
    assert objs[0].mask[20:30, 30:42].all() and objs[0].mask.sum() == 120
    assert pipeline.segment_frame(img, ["  "]) == []


def test_point_segmenter_is_built_on_first_use(pipeline):
    assert pipeline._point_segmenter is None
    ps = pipeline.point_segmenter
    img = frame((30, 20), (2, 40))
    ps.embed("k", img)
    mask = ps.predict("k", img, np.array([[35, 25]]), np.array([1]))
    assert mask.sum() == 120 and mask[20:30, 30:42].all()
    assert pipeline.point_segmenter is ps


def test_stage_contract_violations_are_named(pipeline):
    class Bad:
        name = "bad"

        def describe(self, segments, rate):
            return ["only one"]

    DESCRIBERS.add("bad", lambda **kw: Bad())
    try:
        cfg = parse_config({**CONFIG, "describers": [{"name": "bad"}]}, "test")
        with pytest.raises(PipelineError, match="describer 'bad' returned 1 texts for 3 segments"):
            Pipeline.from_config(cfg).run(clip())
    finally:
        DESCRIBERS.remove("bad")


def test_unknown_stage_parameter_is_a_config_error():
    with pytest.raises(ConfigError, match=r"'colours' in \[segmenter\] \(text segmenter 'color-box'\)"):
        parse_config({**CONFIG, "segmenter": {"name": "color-box", "colours": {}}}, "test")
    cfg = parse_config(CONFIG, "test")  # a stage built by hand still names the parameter when built
    cfg.segmenter = StageSpec("color-box", {"colours": {}})
    with pytest.raises(ConfigError, match="segmenter 'color-box'.*colours"):
        Pipeline.from_config(cfg)


def test_from_config_accepts_a_profile_file(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text(
        '[[describers]]\nname = "fixed"\n[translator]\nname = "keyword"\nkeywords = {}\n[segmenter]\nname = "color-box"\n'
    )
    p = Pipeline.from_config(str(f), device="cpu")
    assert p.device == "auto" or p.device == "cpu"
    assert p.config.profile == str(f) and load_config(str(f)).segmenter.name == "color-box"


def test_describer_context_pads_each_segment_within_the_audio():
    seen: dict[str, list[int]] = {}

    class Spy:
        def __init__(self, name):
            self.name = name

        def describe(self, segments, rate):
            seen[self.name] = [s.shape[-1] for s in segments]
            return [""] * len(segments)

    DESCRIBERS.add("spy-a", lambda **kw: Spy("spy-a"))
    DESCRIBERS.add("spy-b", lambda **kw: Spy("spy-b"))
    try:
        cfg = parse_config(
            {
                **CONFIG,
                "pipeline": {"device": "cpu", "context_seconds": 0.25},
                "describers": [{"name": "spy-a"}, {"name": "spy-b", "context": 1.0}],
            },
            "test",
        )
        assert cfg.context_for("spy-a") == 0.25 and cfg.context_for("spy-b") == 1.0
        assert cfg.to_dict()["describers"][1]["context"] == 1.0
        Pipeline.from_config(cfg).describe(clip())
    finally:
        DESCRIBERS.remove("spy-a")
        DESCRIBERS.remove("spy-b")
    # 3 s of audio: the first and last windows are cut at the ends of the track, never shifted
    assert seen["spy-a"] == [int(1.25 * RATE), int(1.5 * RATE), int(1.25 * RATE)]
    assert seen["spy-b"] == [2 * RATE, 3 * RATE, 2 * RATE]


def test_context_padding_lets_a_describer_hear_the_neighbouring_seconds():
    cfg = parse_config(
        {**CONFIG, "describers": [{"name": "fixed", "texts": ["room tone"], "context": 0.5}]}, "t"
    )
    out = Pipeline.from_config(cfg, device="cpu").describe(clip())
    assert [d["fixed"] for d in out] == ["room tone"] * 3  # the silent second now hears its neighbours


@pytest.mark.parametrize("value", [-1, "1", True, 31])
def test_bad_context_is_a_config_error(value):
    with pytest.raises(ConfigError, match="context"):
        parse_config({**CONFIG, "describers": [{"name": "fixed", "context": value}]}, "t")
    with pytest.raises(ConfigError, match="context_seconds"):
        parse_config({**CONFIG, "pipeline": {"context_seconds": value}}, "t")


class Broken:
    """A translator whose answers are never usable (or whose endpoint is gone)."""

    name = "broken"

    def __init__(self, connection: bool = False, device: str = "cpu"):
        self.connection, self.calls = connection, 0

    def translate(self, descriptions):
        self.calls += 1
        kind = TranslatorConnectionError if self.connection else TranslationError
        raise kind("no usable answer", raw="I cannot tell", attempts=3, translator=self.name)


@pytest.fixture
def broken():
    TRANSLATORS.add("broken", lambda **kw: Broken(**kw))
    yield
    TRANSLATORS.remove("broken")


def test_a_clip_without_a_usable_answer_is_answered_by_the_fallback_translator(broken):
    cfg = parse_config(
        {
            **CONFIG,
            "translator": {
                "name": "broken",
                "fallback": {"name": "keyword", "keywords": {"guitar": "guitar"}},
            },
        },
        "t",
    )
    assert (
        cfg.translator_fallback.name == "keyword"
        and cfg.to_dict()["translator"]["fallback"]["name"] == "keyword"
    )
    pipe = Pipeline.from_config(cfg, device="cpu")
    outs = list(pipe.run_many([clip(), clip()]))
    assert pipe.translator.calls == 2 and len(outs) == 2
    for out in outs:
        assert [f.phrases for f in out.frames] == [["guitar"], [], []]
        assert out.frames[0].objects and out.frames[0].objects[0].phrase == "guitar"
        t = out.translation
        assert t["translator"] == "keyword"
        assert t["fallback"] == {
            "from": "broken",
            "error": "no usable answer",
            "raw": "I cannot tell",
            "attempts": 3,
        }


def test_the_default_fallback_is_the_offline_translator(broken):
    cfg = parse_config({**CONFIG, "translator": {"name": "broken"}}, "t")
    assert cfg.translator_fallback.name == "offline" and cfg.translator_fallback.params == {
        "embeddings": "auto"
    }
    out = Pipeline.from_config(cfg, device="cpu").run(clip())
    assert out.translation["translator"] == "offline" and out.translation["fallback"]["from"] == "broken"
    assert out.frames[0].phrases == ["guitar"]  # "acoustic guitar strumming"


def test_a_connection_error_still_stops_the_run(broken):
    cfg = parse_config({**CONFIG, "translator": {"name": "broken", "connection": True}}, "t")
    with pytest.raises(TranslatorConnectionError):
        Pipeline.from_config(cfg, device="cpu").run(clip())


def test_bad_fallback_is_a_config_error():
    with pytest.raises(ConfigError, match="'gpt' is not a known prompt translator"):
        parse_config({**CONFIG, "translator": {"name": "keyword", "keywords": {}, "fallback": "gpt"}}, "t")


def test_audio_is_decoded_at_the_highest_rate_a_describer_listens_at():
    pipe = Pipeline.from_config(parse_config(CONFIG, "t"), device="cpu")
    assert pipe.audio_rate == 16000  # no describer asks for more than the default
    cfg = parse_config(
        {**CONFIG, "describers": [{"name": "tone", "tones": {}, "rate": 48000}, {"name": "fixed"}]}, "t"
    )
    assert Pipeline.from_config(cfg, device="cpu").audio_rate == 48000
