"""The shared clip prompt, answer validation, retries, and the `openai` translator against a local server."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from avs_studio.openavs import TRANSLATORS, TranslationError, TranslatorConnectionError
from avs_studio.openavs.translators import (
    build_prompt,
    llm_configured,
    llm_settings,
    parse_answer,
    read_answer,
)
from avs_studio.openavs.translators.base import translate_with_retries
from avs_studio.openavs.translators.openai_chat import OpenAIChatTranslator
from tests.unit.openavs.fake_llm import FakeLLM, answer, free_port

DESCRIPTIONS = [
    {"ast": "Speech; Male speech, man speaking", "whisper": 'speech: "hello there"'},
    {"ast": "Guitar; Strum", "whisper": ""},
    {"ast": "", "whisper": ""},
]


def test_prompt_tags_every_frame_and_describer():
    prompt = build_prompt(DESCRIPTIONS)
    assert "3 frames" in prompt
    for i in (1, 2, 3):
        assert f"Frame {i}:" in prompt
    assert "ast (audio event tags): Speech; Male speech, man speaking" in prompt
    assert 'whisper (speech transcript): speech: "hello there"' in prompt
    assert "(silence: no describer heard anything)" in prompt
    assert prompt.index("Frame 1:") < prompt.index("Guitar; Strum") < prompt.index("Frame 3:")
    assert '"frames"' in prompt and "exactly 3" in prompt


def test_parse_answer_normalises_and_dedupes():
    raw = "```json\n" + answer([[" The Guitar ", "guitar", "A  Man."], [], ["dog"]]) + "\n```"
    assert parse_answer(raw, 3) == [["guitar", "man"], [], ["dog"]]
    wrapped = "Sure! " + answer([["car"]]) + " Hope this helps."
    assert parse_answer(wrapped, 1) == [["car"]]


@pytest.mark.parametrize(
    "raw, problem",
    [
        ("no json here", "no JSON object"),
        ("{not json}", "not valid JSON"),
        ('{"objects": []}', '"frames" list'),
        ('{"frames": "guitar"}', '"frames" list'),
    ],
)
def test_read_answer_rejects_answers_with_nothing_usable(raw, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(")):
        read_answer(raw, 3)


FRAME = '{{"frame": {}, "objects": {}}}'


@pytest.mark.parametrize(
    "raw, phrases, missing, note",
    [
        # too few frames: the missing one is padded with no object
        (answer([["a"], ["b"]]), [["a"], ["b"], []], [3], "frame(s) 3 missing"),
        # numbered wrongly: taken in order
        ('{"frames": [' + ", ".join(FRAME.format(n, "[]") for n in (1, 3, 3)) + "]}", [[], [], []], [],
         "not numbered 1 to 3"),
        # numbers as strings, in another order: matched by number
        ('{"frames": [' + FRAME.format('"3"', '["dog"]') + ", " + FRAME.format('"1"', '["cat"]') + ", "
         + FRAME.format(2, "[]") + "]}", [["cat"], [], ["dog"]], [], ""),
        # a string where a list is expected; null; a list of one non-string
        ('{"frames": [' + FRAME.format(1, '"guitar, man"') + ", " + FRAME.format(2, "null") + ", "
         + FRAME.format(3, '[3, "dog", {"x": 1}]') + "]}", [["guitar", "man"], [], ["dog"]], [],
         '"objects" was a string'),
        # an over-long phrase is dropped, the rest kept
        (answer([["x" * 80, "drum"], [], []]), [["drum"], [], []], [], "not a short noun phrase"),
        # a bare list of lists, with an extra frame
        ('[["guitar"], [], ["dog"], ["cat"]]', [["guitar"], [], ["dog"]], [], "taken as the \"frames\" list"),
        # prose around JSON with a trailing comma and single quotes
        ("Sure! {'frames': [{'frame': 1, 'objects': ['Guitar']}, {'frame': 2, 'objects': []},"
         " {'frame': 3, 'objects': []},]} Hope this helps.", [["guitar"], [], []], [], "surrounding text"),
        # broken JSON (cut off): the entries that parse on their own
        ('{"frames": [' + FRAME.format(1, '["man"]') + ", " + FRAME.format(2, '["guitar"]') + ', {"frame": 3, "obj',
         [["man"], ["guitar"], []], [3], "the JSON was broken; 2 frame entries"),
        # objects of a wrong type: that frame is missing
        ('{"frames": [' + FRAME.format(1, "5") + ", " + FRAME.format(2, "[]") + ", " + FRAME.format(3, "[]") + "]}",
         [[], [], []], [1], '"objects" was int'),
    ],
)  # fmt: skip
def test_read_answer_salvages_what_is_usable(raw, phrases, missing, note):
    got = read_answer(raw, 3)
    assert got.phrases == phrases and got.missing == missing
    assert not note or any(note in n for n in got.notes), got.notes
    assert got.complete == (not missing)


def test_retry_feeds_back_the_problem_then_salvages_or_raises():
    seen: list[list[dict]] = []
    answers = iter(["nonsense", answer([["guitar"]] * 3)])

    def chat(messages):
        seen.append(messages)
        return next(answers)

    t = translate_with_retries(chat, DESCRIPTIONS, translator="t", retries=2)
    assert t.attempts == 2 and t.phrases == [["guitar"]] * 3 and not t.as_dict().get("salvaged")
    assert t.history == ["nonsense", answer([["guitar"]] * 3)]
    assert seen[1][-2] == {"role": "assistant", "content": "nonsense"}
    assert "no JSON object" in seen[1][-1]["content"]

    # frames missing every time: retried, then the most complete answer is used, padded
    partial = iter([answer([["man"]]), answer([["man"], ["dog"]]), "prose only"])
    t = translate_with_retries(lambda m: next(partial), DESCRIPTIONS, translator="t", retries=2)
    assert t.phrases == [["man"], ["dog"], []] and t.raw == answer([["man"], ["dog"]]) and t.attempts == 3
    d = t.as_dict()
    assert d["salvaged"] is True and any("frame(s) 3 missing" in r for r in d["repairs"])

    # a minor repair is not worth a retry
    calls = []
    t = translate_with_retries(
        lambda m: calls.append(m) or answer([["a guitar"], "dog", []]),
        DESCRIPTIONS,
        translator="t",
        retries=2,
    )
    assert len(calls) == 1 and t.phrases == [["guitar"], ["dog"], []] and t.as_dict()["repairs"]

    with pytest.raises(TranslationError) as info:
        translate_with_retries(lambda m: "I cannot tell.", DESCRIPTIONS, translator="t", retries=1)
    assert info.value.attempts == 2 and info.value.raw == "I cannot tell."
    assert "no usable answer" in str(info.value) and info.value.prompt == build_prompt(DESCRIPTIONS)


def test_settings_come_from_params_then_env():
    env = {"AVS_STUDIO_LLM_BASE_URL": "http://h:1/v1", "AVS_STUDIO_LLM_MODEL": "m", "OPENAI_API_KEY": "k"}
    assert llm_settings({}, env) == {"base_url": "http://h:1/v1", "model": "m", "api_key": "k"}
    assert llm_settings({"model": "p"}, env)["model"] == "p"
    assert llm_configured({}, env) and not llm_configured({}, {})


def test_openai_valid_answer(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeLLM([answer([["man"], ["guitar", "Man"], []])]) as server:
        tr = TRANSLATORS.create("openai", base_url=server.url, model="local-model", http_retries=0)
        t = tr.translate(DESCRIPTIONS)
    assert t.phrases == [["man"], ["guitar", "man"], []]
    assert t.attempts == 1 and t.translator == "openai"
    assert json.loads(t.raw)["frames"][1]["objects"] == ["guitar", "Man"]
    body = server.requests[0]
    assert server.paths == ["/v1/chat/completions"]
    assert body["model"] == "local-model" and body["temperature"] == 0
    assert body["messages"][0]["role"] == "system"
    assert body["messages"][1]["content"] == build_prompt(DESCRIPTIONS) == t.prompt


def test_openai_malformed_then_valid():
    with FakeLLM(["I think it is a guitar", answer([["man"], ["guitar"], []])]) as server:
        t = OpenAIChatTranslator(base_url=server.url, model="m", http_retries=0).translate(DESCRIPTIONS)
    assert t.attempts == 2 and t.phrases == [["man"], ["guitar"], []]
    assert t.history[0] == "I think it is a guitar"
    assert t.as_dict()["history"] == t.history
    second = server.requests[1]["messages"]
    assert second[-2]["content"] == "I think it is a guitar" and "could not be used" in second[-1]["content"]


def test_openai_always_short_answers_are_padded():
    with FakeLLM([answer([["man"]])]) as server:  # one frame for a three-frame clip, every time
        tr = OpenAIChatTranslator(base_url=server.url, model="m", retries=2, http_retries=0)
        t = tr.translate(DESCRIPTIONS)
    assert len(server.requests) == 3 and t.attempts == 3
    assert t.phrases == [["man"], [], []] and t.as_dict()["salvaged"] is True
    assert "exactly 3" in server.requests[1]["messages"][-1]["content"]


def test_openai_always_prose_raises_translation_error():
    with FakeLLM(["I think it is a guitar."]) as server:
        tr = OpenAIChatTranslator(base_url=server.url, model="m", retries=1, http_retries=0)
        with pytest.raises(TranslationError) as info:
            tr.translate(DESCRIPTIONS)
    assert not isinstance(info.value, TranslatorConnectionError)
    assert len(server.requests) == 2 and info.value.raw == "I think it is a guitar."


def test_openai_timeout_names_url_and_setting():
    with FakeLLM([answer([[]] * 3)], delay=2.0) as server:
        tr = OpenAIChatTranslator(base_url=server.url, model="m", timeout=0.3, http_retries=0)
        with pytest.raises(TranslatorConnectionError) as info:
            tr.translate(DESCRIPTIONS)
    msg = str(info.value)
    assert server.url in msg and "0.3 s" in msg and "timeout" in msg


def test_openai_refused_connection_names_url_and_setting():
    url = f"http://127.0.0.1:{free_port()}/v1"
    tr = OpenAIChatTranslator(base_url=url, model="m", timeout=2, http_retries=0)
    with pytest.raises(TranslatorConnectionError) as info:
        tr.translate(DESCRIPTIONS)
    assert url in str(info.value) and "AVS_STUDIO_LLM_BASE_URL" in str(info.value)
    assert isinstance(info.value, TranslationError)


def test_openai_http_error_names_model():
    with FakeLLM([""], status=404) as server:
        tr = OpenAIChatTranslator(base_url=server.url, model="nope", http_retries=0)
        with pytest.raises(TranslatorConnectionError, match="HTTP 404.*'nope'.*AVS_STUDIO_LLM_MODEL"):
            tr.translate(DESCRIPTIONS)


def test_openai_asks_for_the_answer_schema_and_falls_back_to_plain_mode():
    good = answer([["man"], [], []])
    with FakeLLM([good]) as server:
        t = OpenAIChatTranslator(base_url=server.url, model="m", http_retries=0).translate(DESCRIPTIONS)
    fmt = server.requests[0]["response_format"]
    assert t.phrases == [["man"], [], []] and fmt["type"] == "json_schema"
    frames = fmt["json_schema"]["schema"]["properties"]["frames"]
    assert frames["minItems"] == frames["maxItems"] == 3 and fmt["json_schema"]["strict"] is True
    with FakeLLM([good], refuse_format=True) as server:
        tr = OpenAIChatTranslator(base_url=server.url, model="m", http_retries=0)
        assert tr.translate(DESCRIPTIONS).phrases == [["man"], [], []]
        assert tr.translate(DESCRIPTIONS).phrases == [["man"], [], []]
    # refused once, then plain mode for the rest of the run
    assert ["response_format" in r for r in server.requests] == [True, False, False]
    assert tr.schema_refused
    with FakeLLM([good], refuse_format=True) as server:  # "json_schema" insists: the refusal is an error
        tr = OpenAIChatTranslator(
            base_url=server.url, model="m", http_retries=0, response_format="json_schema"
        )
        with pytest.raises(TranslationError, match="HTTP 400") as info:
            tr.translate(DESCRIPTIONS)
        assert not isinstance(info.value, TranslatorConnectionError)
        tr = OpenAIChatTranslator(base_url=server.url, model="m", http_retries=0, response_format="text")
        assert tr.translate(DESCRIPTIONS).phrases == [["man"], [], []]
    with pytest.raises(TranslationError, match="response_format"):
        OpenAIChatTranslator(base_url=server.url, model="m", response_format="xml")


def test_openai_server_error_is_this_clips_failure_not_the_endpoints():
    with FakeLLM([""], status=500) as server:
        tr = OpenAIChatTranslator(base_url=server.url, model="m", http_retries=0)
        with pytest.raises(TranslationError, match="HTTP 500") as info:
            tr.translate(DESCRIPTIONS)
    assert not isinstance(info.value, TranslatorConnectionError)


def test_openai_needs_a_model_for_a_local_endpoint(monkeypatch):
    monkeypatch.delenv("AVS_STUDIO_LLM_MODEL", raising=False)
    with pytest.raises(TranslationError, match="AVS_STUDIO_LLM_MODEL"):
        OpenAIChatTranslator(base_url="http://127.0.0.1:9/v1")
    for key in ("AVS_STUDIO_LLM_API_KEY", "OPENAI_API_KEY", "AVS_STUDIO_LLM_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(TranslationError, match="OPENAI_API_KEY"):
        OpenAIChatTranslator()


def test_openai_parallel_prompts_share_one_client():
    with pytest.raises(TranslationError, match="`parallel`.*1 or more"):
        OpenAIChatTranslator(base_url="http://127.0.0.1:9/v1", model="m", parallel=0)
    with FakeLLM([answer([[], ["guitar"], []])], delay=0.2) as server:
        tr = OpenAIChatTranslator(base_url=server.url, model="m", http_retries=0, parallel=4)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: tr.translate(DESCRIPTIONS), range(4)))
    assert [r.phrases for r in results] == [[[], ["guitar"], []]] * 4
    assert server.max_in_flight == 4 and tr.parallel == 4


def test_keyword_translator_uses_the_same_prompt_and_validation():
    t = TRANSLATORS.create("keyword", keywords={"guitar": "Guitar", "speech": "man"}).translate(DESCRIPTIONS)
    assert t.phrases == [["man"], ["guitar"], []]
    assert t.prompt == build_prompt(DESCRIPTIONS) and parse_answer(t.raw, 3) == t.phrases


# ---------------------------------------------------------------- the answer's model is the schema sent


def _objects_of(schema: dict) -> list[dict]:
    found, stack = [], [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "object":
                found.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def test_the_response_format_is_the_answer_models_json_schema():
    from pydantic import ValidationError

    from avs_studio.openavs.translators.schema import ClipAnswer, answer_model, answer_schema

    for n in (1, 3, 7):
        fmt = answer_schema(n)
        assert fmt["json_schema"]["schema"] == answer_model(n).model_json_schema()
        frames = fmt["json_schema"]["schema"]["properties"]["frames"]
        assert frames["minItems"] == frames["maxItems"] == n
    objects = _objects_of(answer_schema(3)["json_schema"]["schema"])
    assert len(objects) == 2  # the answer and a frame: strict structured output needs both closed
    for node in objects:
        assert node["additionalProperties"] is False and set(node["required"]) == set(node["properties"])
    with FakeLLM([answer([["man"], [], []])]) as server:
        OpenAIChatTranslator(base_url=server.url, model="m", http_retries=0).translate(DESCRIPTIONS)
    sent = server.requests[0]["response_format"]["json_schema"]["schema"]
    assert sent == answer_model(3).model_json_schema()
    assert issubclass(answer_model(3), ClipAnswer)
    good = {"frames": [{"frame": 1, "objects": ["dog"]}, {"frame": 2, "objects": []}]}
    assert answer_model(2).model_validate(good).frames[0].objects == ["dog"]
    for bad in (
        {"frames": [{"frame": 2, "objects": []}, {"frame": 1, "objects": []}]},  # not 1..n in order
        {"frames": [{"frame": 1, "objects": []}]},  # one entry short
        {"frames": [{"frame": 1, "objects": "dog"}, {"frame": 2, "objects": []}]},
        {"frames": [{"frame": 1, "objects": [], "why": "x"}, {"frame": 2, "objects": []}]},
    ):
        with pytest.raises(ValidationError):
            answer_model(2).model_validate(bad)


def test_a_salvaged_answer_fits_the_schema_it_was_asked_for():
    jsonschema = pytest.importorskip("jsonschema")
    from avs_studio.openavs.translators.schema import answer_schema

    schema = answer_schema(3)["json_schema"]["schema"]
    for raw in (
        '[["Guitar"], "a dog", null, ["x"]]',
        "Here: {'frames': [{'frame': '2', 'objects': 'man; drum'},]}",
        '{"frames": {"1": ["A cat"], "3": [5, "the bird"]}}',
    ):
        got = read_answer(raw, 3)
        rebuilt = {"frames": [{"frame": i + 1, "objects": p} for i, p in enumerate(got.phrases)]}
        jsonschema.validate(rebuilt, schema)
        assert got.notes  # each needed repairs, and says which
