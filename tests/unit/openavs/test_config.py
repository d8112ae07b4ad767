"""Pipeline configuration: built-in profiles, TOML files, and clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from avs_studio.openavs import ConfigError, load_config, profiles
from avs_studio.openavs.config import parse_config

NO_LLM: dict[str, str] = {}
LLM_ENV = {"AVS_STUDIO_LLM_BASE_URL": "http://127.0.0.1:11434/v1", "AVS_STUDIO_LLM_MODEL": "llama3"}


def test_builtin_profiles():
    assert {"default", "offline", "tiny-random"} <= set(profiles())
    for name in profiles():
        cfg = load_config(name, env=NO_LLM)
        assert cfg.profile == name and cfg.describers and cfg.clip_seconds == 5 and cfg.keyframe_rate == 1.0
    off = load_config("offline", env=NO_LLM)
    assert [d.name for d in off.describers] == ["ast", "whisper"] and off.translator.name == "offline"
    assert off.segmenter.name == "gdino-sam2" and off.point_segmenter.name == "sam"


def test_default_is_real_models_never_tiny_random():
    for cfg in (
        load_config(None, env=NO_LLM),
        load_config("default", env=NO_LLM),
        load_config(None, env=LLM_ENV),
    ):
        assert cfg.profile == "default"
        flat = repr(cfg.to_dict())
        assert "tiny:" not in flat and "tiny-random" not in flat
        assert [d.name for d in cfg.describers] == ["ast", "whisper"]
        assert cfg.describers[0].params["model"] == "ast-audioset"
        assert cfg.segmenter.name in ("gdino-sam2", "gdino-sam") and cfg.point_segmenter.name == "sam"
    tiny = load_config("tiny-random", env=NO_LLM)
    assert all(
        str(v).startswith("tiny:")
        for v in (tiny.describers[0].params["path"], tiny.segmenter.params["sam_path"])
    )


def test_default_translator_follows_the_llm_settings():
    assert load_config("default", env=NO_LLM).translator.name == "offline"
    cfg = load_config("default", env=LLM_ENV)
    assert cfg.translator.name == "openai" and cfg.translator.params["timeout"] == 60.0
    # project settings count as configured and fill the endpoint
    cfg = load_config("default", env=NO_LLM, llm={"base_url": "http://h:8080/v1", "model": "qwen"})
    assert cfg.translator.name == "openai"
    assert (
        cfg.translator.params["base_url"] == "http://h:8080/v1" and cfg.translator.params["model"] == "qwen"
    )
    assert "api_key" not in repr(
        load_config("default", env=NO_LLM, llm={"model": "m", "api_key": "s"}).to_dict()
    )


def test_toml_file(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(
        '[pipeline]\nclip_seconds = 3\ndevice = "cpu"\n'
        '[[describers]]\nname = "fixed"\ntexts = ["dog barking"]\n'
        '[translator]\nname = "keyword"\nkeywords = {dog = "dog"}\n'
        '[segmenter]\nname = "color-box"\n'
    )
    cfg = load_config(f)
    assert cfg.clip_seconds == 3 and cfg.device == "cpu" and cfg.point_segmenter is None
    assert cfg.describers[0].params == {"texts": ["dog barking"]}
    assert cfg.translator.params == {"keywords": {"dog": "dog"}} and cfg.profile == str(f)
    assert load_config(str(f)).clip_seconds == 3


BASE = {
    "describers": [{"name": "fixed"}],
    "translator": {"name": "keyword", "keywords": {}},
    "segmenter": {"name": "color-box"},
}


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"segmentr": {}},
            "unknown key(s) 'segmentr'; valid keys: profile, description, pipeline, describers",
        ),
        (
            {"pipeline": {"fps": 3}},
            "unknown key(s) 'fps' in [pipeline]; valid: keyframe_rate, clip_seconds, device",
        ),
        (
            {"segmenter": {"name": "sam4"}},
            "'sam4' is not a known text segmenter; valid: color-box, gdino-sam, gdino-sam2, sam3",
        ),
        ({"describers": [{"name": "pengi"}]}, "'pengi' is not a known audio describer; valid: "),
        (
            {"translator": {"name": "gpt"}},
            "'gpt' is not a known prompt translator; valid: hf-chat, keyword, offline, openai",
        ),
        ({"describers": []}, "at least one [[describers]]"),
        ({"describers": [{"name": "fixed"}, {"name": "fixed"}]}, "listed twice"),
        ({"translator": {"keywords": {}}}, "[translator] has no `name`"),
        ({"pipeline": {"clip_seconds": 0}}, "clip_seconds >= 1"),
    ],
)
def test_errors_list_the_valid_choices(change, message):
    with pytest.raises(ConfigError) as info:
        parse_config({**BASE, **change}, "x.toml")
    assert message in str(info.value) and str(info.value).startswith("x.toml")


def test_unknown_profile_and_bad_files(tmp_path):
    with pytest.raises(
        ConfigError, match="unknown pipeline profile 'fast'; built-in profiles: default, offline"
    ):
        load_config("fast")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[pipeline\n")
    with pytest.raises(ConfigError, match="bad.toml is not valid TOML"):
        load_config(bad)


def test_importing_openavs_is_light():
    code = (
        "import sys, avs_studio.openavs as o\n"
        "heavy = [m for m in ('torch', 'transformers', 'openai', 'sentence_transformers', 'whisper') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert {'ast', 'whisper', 'fixed'} <= set(o.DESCRIBERS.names())\n"
        "assert {'gdino-sam', 'gdino-sam2', 'color-box'} <= set(o.SEGMENTERS.names())\n"
        "assert {'sam', 'sam2', 'color-point'} <= set(o.POINT_SEGMENTERS.names())\n"
        "assert {'openai', 'hf-chat', 'offline', 'keyword'} <= set(o.TRANSLATORS.names())\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_default_profiles_use_sam3_once_its_weights_are_in_the_cache(tmp_path, monkeypatch):
    from avs_studio.openavs import weights

    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path))
    for name in ("default", "offline"):
        cfg = load_config(name, env=NO_LLM)
        assert cfg.segmenter.name == "gdino-sam2" and cfg.segmenter.params["nms_iou"] == 0.7
    sam3 = load_config("sam3", env=NO_LLM)
    assert sam3.segmenter.name == "sam3" and sam3.segmenter.params["model"] == "sam3"
    folder = weights.model_dir("sam3")  # as if downloaded: every registered file present
    for f in weights.get_spec("sam3").files:
        (folder / f.path).parent.mkdir(parents=True, exist_ok=True)
        (folder / f.path).write_bytes(b"{}")
    assert weights.is_cached("sam3")
    for name in ("default", "offline"):
        cfg = load_config(name, env=NO_LLM)
        assert cfg.segmenter.name == "sam3"
        assert cfg.segmenter.params == {"model": "sam3", "threshold": 0.5, "mask_threshold": 0.5}
        assert cfg.to_dict()["segmenter"]["name"] == "sam3"  # provenance names what runs


@pytest.mark.parametrize(
    "prefer, message",
    [
        ({"name": "sam3"}, "needs `model`"),
        ({"name": "sam3", "model": "no-such-model"}, "needs `model`"),
        ({"name": "sam4", "model": "sam3"}, "'sam4' is not a known text segmenter"),
        ("sam3", r"\[segmenter.prefer\] must be a table"),
    ],
)
def test_bad_prefer_table_is_a_config_error(prefer, message):
    data = {
        "describers": [{"name": "fixed"}],
        "translator": {"name": "keyword", "keywords": {}},
        "segmenter": {"name": "color-box", "prefer": prefer},
    }
    with pytest.raises(ConfigError, match=message):
        parse_config(data, "t")
