"""AST, CLAP and Whisper describers end to end on tiny random models of the real architectures,
loaded through the same loaders as downloaded weights."""

from __future__ import annotations

import re

import numpy as np
import pytest

from avs_studio.openavs import weights
from avs_studio.openavs.describers import ast, clap, whisper  # noqa: F401  (registers the stages)
from avs_studio.openavs.describers.clap import BUILTIN_VOCABULARY, load_vocabulary
from avs_studio.openavs.registry import DESCRIBERS
from avs_studio.openavs.tiny import AUDIO_LABELS
from avs_studio.openavs.types import AudioDescriber


def make(name, tiny_models, family=None, **params):
    return DESCRIBERS.create(name, model="", path=str(tiny_models[family or name]), device="cpu", **params)


def test_ast_labels_top_k_and_threshold(tiny_models, audio_segments):
    d = make("ast", tiny_models, top_k=2, threshold=0.0)
    assert isinstance(d, AudioDescriber) and d.name == "ast"
    out = d.describe(audio_segments, 16000)
    assert len(out) == len(audio_segments)
    probs = d.scores(audio_segments, 16000)
    assert probs.shape == (5, len(AUDIO_LABELS))
    for text, p in zip(out, probs):
        labels = text.split("; ")
        assert len(labels) == 2 and set(labels) <= set(AUDIO_LABELS)
        assert labels == [AUDIO_LABELS[i] for i in np.argsort(-p)[:2]]  # best first
    assert make("ast", tiny_models, threshold=1.01).describe(audio_segments, 16000) == [""] * 5
    # labels holding commas keep their boundaries: "; " between labels
    every = make("ast", tiny_models, top_k=len(AUDIO_LABELS), threshold=0.0).describe(audio_segments, 16000)
    assert any("," in label for label in AUDIO_LABELS)
    assert all(sorted(t.split("; ")) == sorted(AUDIO_LABELS) for t in every)


def test_ast_batch_equals_single(tiny_models, audio_segments):
    d = make("ast", tiny_models, batch_size=8)
    batch = d.scores(audio_segments, 16000)
    single = np.concatenate([d.scores([s], 16000) for s in audio_segments])
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_ast_input_forms(tiny_models, audio_segments):
    d = make("ast", tiny_models, threshold=0.0)
    tone = audio_segments[1]
    stereo = np.stack([tone, tone])
    np.testing.assert_allclose(d.scores([stereo], 16000), d.scores([tone], 16000), atol=1e-6)
    at_48k = np.repeat(tone, 3)  # same tone at 48 kHz (sample-and-hold), resampled to 16 kHz
    assert d.scores([at_48k], 48000).shape == (1, len(AUDIO_LABELS))
    assert d.describe([np.zeros(0, np.float32), tone], 16000)[0] == ""


def test_clap_zero_shot_over_vocabulary(tiny_models, audio_segments, tmp_path):
    vocab = tmp_path / "sources.txt"
    vocab.write_text("# comment\nguitar | acoustic guitar | strum |\ndog | puppy | bark\n-music\n\npiano\n")
    assert load_vocabulary(vocab) == ["guitar", "dog", "music", "piano"]
    d = make("clap", tiny_models, vocabulary=str(vocab), top_k=2, min_prob=0.0)
    out = d.describe(audio_segments, 16000)
    probs = d.scores(audio_segments, 16000)
    assert probs.shape == (5, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    for text, p in zip(out, probs):
        assert text.split("; ") == [d.vocabulary[i] for i in np.argsort(-p)[:2]]
    single = np.concatenate([d.scores([s], 16000) for s in audio_segments])
    np.testing.assert_allclose(probs, single, atol=1e-5)
    assert (
        make("clap", tiny_models, vocabulary=str(vocab), min_prob=0.9).describe(audio_segments, 16000)
        == [""] * 5
    )


def test_clap_default_vocabulary_is_shipped_file():
    v = load_vocabulary()
    assert len(v) > len(BUILTIN_VOCABULARY) and "guitar" in v and all("|" not in w for w in v)


def test_whisper_skips_silence_without_running_whisper(tiny_models, audio_segments, monkeypatch):
    import whisper as openai_whisper

    calls = []
    real = openai_whisper.decode
    monkeypatch.setattr(openai_whisper, "decode", lambda *a, **k: calls.append(1) or real(*a, **k))
    d = make("whisper", tiny_models)
    silence = [np.zeros(16000, np.float32), np.zeros(8000, np.float32)]
    assert d.describe(silence, 16000) == ["", ""]
    assert calls == [] and d.decoded_segments == 0


def test_whisper_transcribes_only_speech_segments(tiny_models, audio_segments):
    d = make("whisper", tiny_models, language="en", max_tokens=8)
    loud = {1, 3}  # a stand-in VAD: these segments "have speech"
    d.vad = lambda a: any(np.array_equal(a, audio_segments[i]) for i in loud)
    out = d.describe(audio_segments, 16000)
    assert d.decoded_segments == 2
    for i, text in enumerate(out):
        if i in loud:
            assert text == "" or re.fullmatch(r'speech: "[^"]+"', text)
        else:
            assert text == ""


def test_silero_vad_says_no_speech_on_silence():
    has_speech = whisper.silero_speech()
    assert has_speech(np.zeros(16000, np.float32)) is False
    assert has_speech(np.zeros(100, np.float32)) is False


def test_missing_weights_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path))
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    with pytest.raises(weights.ModelMissingError) as err:
        DESCRIBERS.create("ast", device="cpu")
    assert err.value.command == "avs-studio models download ast-audioset"
    assert {"config.json", "model.safetensors"} <= set(err.value.files)
    with pytest.raises(weights.ModelMissingError, match="small.pt"):
        DESCRIBERS.create("whisper", device="cpu")


def test_load_errors_name_the_path(tmp_path):
    with pytest.raises(weights.ModelError, match=str(tmp_path)):
        ast.load_ast(tmp_path)
    with pytest.raises(weights.ModelError, match="is not a file"):
        whisper.load_whisper(tmp_path / "none.pt")


@pytest.mark.parametrize("family", ["audio-lm", "audio-flamingo3"])
def test_audio_lm_prompts_batching_and_answers(tiny_models, audio_segments, family):
    """Tiny random Qwen2-Audio and Audio Flamingo 3 (real audio-language architectures) through the
    generic adapter, with the paper's three prompts (prompt consistency)."""
    from avs_studio.openavs.describers import audio_lm
    from avs_studio.openavs.describers.audio_lm import PAPER_PROMPTS, build_prompts

    weights.forget_loaded()
    d = make("audio-lm", tiny_models, family=family, prompts=PAPER_PROMPTS, max_new_tokens=4)
    assert d.name == "audio-lm" and isinstance(d, audio_lm.AudioLmDescriber) and d.rate == 16000
    assert PAPER_PROMPTS == ["generate audio caption", "this is a sound of", "generate metadata"]
    prompts = build_prompts(d.processor, PAPER_PROMPTS, 2)
    assert len(prompts) == 6
    assert [p.count(d.processor.audio_token) for p in prompts] == [1] * 6
    assert all(PAPER_PROMPTS[i % 3] in p for i, p in enumerate(prompts))
    segs = audio_segments[:3] + [np.zeros(0, np.float32)]
    out = d.describe(segs, 16000)
    assert len(out) == 4 and out[3] == ""
    assert all(len(t.split(" | ")) == 3 and all(t.split(" | ")) for t in out[:3])
    assert out[:3] == [d.describe([s], 16000)[0] for s in segs[:3]]  # left-padded batch = one at a time
    one = make(
        "audio-lm", tiny_models, family=family, max_new_tokens=4
    )  # default: the paper's caption prompt
    assert one.prompts == ["generate audio caption"] and " | " not in one.describe(segs[:1], 16000)[0]
    with pytest.raises(ValueError, match="`prompts` must be a list"):
        make("audio-lm", tiny_models, family=family, prompts="generate audio caption")


def test_whisper_language_setting(tiny_models):
    from avs_studio.openavs.describers.whisper import DEFAULT_LANGUAGE, whisper_language

    assert DEFAULT_LANGUAGE == "en" and make("whisper", tiny_models).language == "en"
    assert whisper_language("English") == "en" and whisper_language("de") == "de"
    assert whisper_language("auto") is None and make("whisper", tiny_models, language="auto").language is None
    with pytest.raises(ValueError, match="unknown language 'klingon'.*auto"):
        make("whisper", tiny_models, language="klingon")


def test_clap_loads_the_pytorch_bin_the_hub_repo_has_and_refuses_pickled_code(tiny_models, tmp_path):
    import os
    import shutil

    import torch

    folder = tiny_models["clap"]
    assert (folder / "pytorch_model.bin").is_file() and not (folder / "model.safetensors").exists()
    model, _ = clap.load_clap(folder)
    saved = torch.load(folder / "pytorch_model.bin", weights_only=True)
    assert torch.equal(model.state_dict()["logit_scale_a"], saved["logit_scale_a"])
    evil = tmp_path / "evil"
    shutil.copytree(folder, evil)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"logit_scale_a": Payload()}, evil / "pytorch_model.bin")
    with pytest.raises(weights.ModelError, match="holds more than tensors"):
        clap.load_clap(evil)
    assert not marker.exists()


def test_clap_listens_at_48_khz(tiny_models):
    d = make("clap", tiny_models)
    assert d.rate == 48000 and make("ast", tiny_models).rate == 16000
