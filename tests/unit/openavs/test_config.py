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


# ---------------------------------------------------------------- typed profiles (openavs.schema)

FULL = {
    "pipeline": {"device": "cpu"},
    "describers": [{"name": "tone", "tones": {"400": "guitar"}}],
    "translator": {"name": "keyword", "keywords": {}, "fallback": {"name": "keyword", "keywords": {}}},
    "segmenter": {"name": "color-box", "prefer": {"name": "sam3", "model": "sam3"}},
    "point_segmenter": {"name": "color-point"},
}


def _with(path: tuple, key: str, value) -> dict:
    """FULL with ``key = value`` added to the table at ``path``."""
    import copy

    data = copy.deepcopy(FULL)
    table = data
    for part in path:
        table = table[part]
    table[key] = value
    return data


@pytest.mark.parametrize(
    "path, table, valid",
    [
        ((), None, "valid keys: profile, description, pipeline, describers, translator, segmenter"),
        (("pipeline",), "[pipeline]", "valid: keyframe_rate, clip_seconds, device, context_seconds"),
        (
            ("describers", 0),
            "[describers #1] (audio describer 'tone')",
            "valid: name, context, tones, tolerance",
        ),
        (
            ("translator",),
            "[translator] (prompt translator 'keyword')",
            "valid: name, when_unconfigured, fallback, keywords",
        ),
        (
            ("translator", "fallback"),
            "[translator.fallback] (prompt translator 'keyword')",
            "valid: name, keywords",
        ),
        (
            ("segmenter",),
            "[segmenter] (text segmenter 'color-box')",
            "valid: name, prefer, colors, tolerance, min_area",
        ),
        (
            ("segmenter", "prefer"),
            "[segmenter.prefer] (text segmenter 'sam3')",
            "valid: name, model, path, threshold",
        ),
        (
            ("point_segmenter",),
            "[point_segmenter] (point segmenter 'color-point')",
            "valid: name, tolerance, cache_size",
        ),
    ],
)
def test_an_unknown_key_at_any_level_lists_the_valid_keys(path, table, valid):
    parse_config(FULL, "p.toml", env=NO_LLM)  # the table itself is valid
    with pytest.raises(ConfigError) as info:
        parse_config(_with(path, "colour", 1), "p.toml", env=NO_LLM)
    message = str(info.value)
    assert message.startswith("p.toml: unknown key(s) 'colour'")
    assert (f"in {table}" in message) if table else "in [" not in message
    assert valid in message
    if table and "(" in table:  # a stage table: `device` is the pipeline's, never a stage's
        assert "device" not in message.split("valid:")[1]


@pytest.mark.parametrize(
    "path, key, value, expected",
    [
        (("pipeline",), "keyframe_rate", "fast", "[pipeline] `keyframe_rate` must be a number, got 'fast'"),
        (("pipeline",), "clip_seconds", 2.5, "[pipeline] `clip_seconds` must be an integer, got 2.5"),
        (("pipeline",), "device", "gpu", "[pipeline] `device` must be auto, cpu, cuda or cuda:N, got 'gpu'"),
        (("describers", 0), "tolerance", "40", "[describers #1] `tolerance` must be a number, got '40'"),
        (("describers", 0), "tones", ["a"], "[describers #1] `tones` must be a table of strings, got ['a']"),
        (("describers", 0), "context", True, "[describers #1] `context` must be a number, got True"),
        (("translator",), "keywords", {"dog": 3}, "[translator] `keywords` must be a table of strings"),
        (("translator",), "when_unconfigured", 3, "[translator] `when_unconfigured` must be a string, got 3"),
        (("translator", "fallback"), "keywords", "dog", "[translator.fallback] `keywords` must be a table"),
        (("segmenter",), "colors", {"g": "red"}, "[segmenter] `colors` must be a table of lists of integers"),
        (("segmenter",), "min_area", 1.5, "[segmenter] `min_area` must be an integer, got 1.5"),
        (("segmenter", "prefer"), "batched", "yes", "[segmenter.prefer] `batched` must be true or false"),
        (("point_segmenter",), "cache_size", "16", "[point_segmenter] `cache_size` must be an integer"),
        ((), "profile", 3, "`profile` must be a string, got 3"),
    ],
)
def test_a_wrong_type_names_the_file_the_key_and_the_expected_type(path, key, value, expected):
    with pytest.raises(ConfigError) as info:
        parse_config(_with(path, key, value), "p.toml", env=NO_LLM)
    assert str(info.value).startswith("p.toml: ") and expected in str(info.value)


def test_model_backed_stages_are_checked_against_their_factories_without_loading_them():
    """The parameters of ast, whisper, gdino-sam2, sam3, sam, openai, ... are their factories' (registered
    by openavs.factories, light): a typo or a wrong type fails at parse time, before any download or
    model load; the default profile parses without importing torch."""
    for table, expected in [
        ({"name": "ast", "top_k": "3"}, "[describers #1] `top_k` must be an integer, got '3'"),
        ({"name": "whisper", "languge": "fr"}, "unknown key(s) 'languge' in [describers #1]"),
        ({"name": "clap", "device": "cuda"}, "unknown key(s) 'device' in [describers #1]"),
    ]:
        with pytest.raises(ConfigError, match=re_escape(expected)):
            parse_config({**BASE, "describers": [table]}, "p.toml", env=NO_LLM)
    bad_segmenters = [
        ({"name": "gdino-sam2", "box_treshold": 0.3}, "'box_treshold' in [segmenter]"),
        ({"name": "sam3", "threshold": "high"}, "[segmenter] `threshold` must be a number"),
    ]
    for table, expected in bad_segmenters:
        with pytest.raises(ConfigError, match=re_escape(expected)):
            parse_config({**BASE, "segmenter": table}, "p.toml", env=NO_LLM)
    with pytest.raises(
        ConfigError, match=re_escape("`response_format` must be one of 'auto', 'json_schema'")
    ):
        parse_config(
            {**BASE, "translator": {"name": "openai", "response_format": "xml"}}, "p.toml", env=NO_LLM
        )
    with pytest.raises(ConfigError, match=re_escape("`cache_size` must be an integer")):
        parse_config({**BASE, "point_segmenter": {"name": "sam2", "cache_size": "8"}}, "p.toml", env=NO_LLM)
    code = (
        "import sys\nfrom avs_studio.openavs import load_config\n"
        "for name in ('default', 'offline', 'sam3', 'tiny-random'):\n    load_config(name, env={})\n"
        "heavy = [m for m in ('torch', 'transformers', 'whisper', 'segment_anything') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


def test_a_stage_registered_later_is_checked_against_its_own_signature():
    from avs_studio.openavs import SEGMENTERS

    def make_blob(
        sizes: list[int] | None = None, gain: float = 1.0, mode: str = "fast", device: str = "cpu"
    ) -> object:
        return object()

    SEGMENTERS.add("blob", make_blob)
    SEGMENTERS.add("anything", lambda **kw: object())  # **params: any key goes to the stage
    try:
        cfg = parse_config({**BASE, "segmenter": {"name": "blob", "sizes": [1, 2], "gain": 2}}, "p.toml")
        assert cfg.segmenter.params == {"sizes": [1, 2], "gain": 2}  # the values as written
        with pytest.raises(ConfigError, match=re_escape("valid: name, prefer, sizes, gain, mode")):
            parse_config({**BASE, "segmenter": {"name": "blob", "gian": 2}}, "p.toml")
        with pytest.raises(ConfigError, match=re_escape("`sizes` must be a list of integers, got ['a']")):
            parse_config({**BASE, "segmenter": {"name": "blob", "sizes": ["a"]}}, "p.toml")
        cfg = parse_config({**BASE, "segmenter": {"name": "anything", "whatever": {"x": 1}}}, "p.toml")
        assert cfg.segmenter.params == {"whatever": {"x": 1}}
    finally:
        SEGMENTERS.remove("blob")
        SEGMENTERS.remove("anything")


def test_every_problem_of_a_profile_is_named_at_once(tmp_path):
    f = tmp_path / "many.toml"
    f.write_text(
        '[pipeline]\nfps = 3\nkeyframe_rate = "x"\n'
        '[[describers]]\nname = "tone"\ntones = {}\nrate = 1.5\n'
        '[translator]\nname = "keyword"\nkeywords = {}\nfallback = "gpt"\n'
        '[segmenter]\nname = "color-box"\ntolerance = "wide"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(f)
    message = str(info.value)
    assert message.startswith(f"{f}: ")
    for part in (
        "unknown key(s) 'fps' in [pipeline]",
        "[pipeline] `keyframe_rate` must be a number, got 'x'",
        "[describers #1] `rate` must be an integer, got 1.5",
        "[translator.fallback] name 'gpt' is not a known prompt translator",
        "[segmenter] `tolerance` must be an integer, got 'wide'",
    ):
        assert part in message, part


def test_the_profile_json_schema_accepts_the_builtin_profiles_and_refuses_bad_ones():
    import tomllib

    jsonschema = pytest.importorskip("jsonschema")
    from avs_studio.openavs import DESCRIBERS, SEGMENTERS
    from avs_studio.openavs.config import profiles_dir
    from avs_studio.openavs.schema import profile_schema

    schema = profile_schema()
    for path in profiles_dir().glob("*.toml"):
        jsonschema.validate(tomllib.loads(path.read_text(encoding="utf-8")), schema)
    defs = schema["$defs"]
    assert {f"describers_{n.replace('-', '_')}" for n in DESCRIBERS.names()} <= set(defs)
    gdino = defs["segmenter_gdino_sam2"]["properties"]
    assert gdino["box_threshold"] == {"default": 0.25, "title": "Box Threshold", "type": "number"}
    assert gdino["name"]["const"] == "gdino-sam2" and "device" not in gdino
    assert {"segmenter_" + n.replace("-", "_") for n in SEGMENTERS.names()} <= set(defs)
    default = tomllib.loads((profiles_dir() / "default.toml").read_text(encoding="utf-8"))
    for bad in (
        {**default, "segmentr": {}},
        {**default, "pipeline": {"keyframe_rate": "fast"}},
        {**default, "describers": [{"name": "ast", "top_k": "3"}]},
        {**default, "segmenter": {"name": "sam4"}},
        {**default, "translator": {**default["translator"], "fallback": {"name": "offline", "treshold": 1}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
