"""`hf-chat` translator: a tiny random Qwen2 chat model saved to disk and loaded like a user's download."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from avs_studio.openavs import TRANSLATORS, TranslationError

VALID = '{"frames": [{"frame": 1, "objects": ["Guitar"]}, {"frame": 2, "objects": []}]}'


@pytest.fixture(scope="module")
def tiny_chat_model(tmp_path_factory):
    """Byte-level BPE tokenizer with a chat template + random Qwen2ForCausalLM, saved offline."""
    from avs_studio.openavs import tiny

    return tiny.build("chat", tmp_path_factory.mktemp("tiny-chat"))


DESCRIPTIONS = [{"ast": "Guitar; Strum"}, {"ast": "Silence"}]


def test_random_model_output_is_retried_then_reported(tiny_chat_model):
    tr = TRANSLATORS.create("hf-chat", path=str(tiny_chat_model), device="cpu", max_new_tokens=12, retries=1)
    calls = []
    real_generate = tr.model.generate

    def counting_generate(**kw):
        calls.append(kw["input_ids"].shape[1])
        return real_generate(**kw)

    tr.model.generate = counting_generate
    with pytest.raises(TranslationError) as info:
        tr.translate(DESCRIPTIONS)
    assert info.value.attempts == 2 and len(calls) == 2
    assert calls[1] > calls[0]  # the retry carries the bad answer and the validation error
    assert info.value.translator == "hf-chat" and "Frame 2:" in info.value.prompt


def test_valid_generation_is_parsed(tiny_chat_model):
    tr = TRANSLATORS.create("hf-chat", path=str(tiny_chat_model), device="cpu")
    seen = {}

    def fake_generate(input_ids, attention_mask=None, **kw):
        seen["prompt"] = tr.tokenizer.decode(input_ids[0])
        answer = torch.tensor([tr.tokenizer.encode(VALID) + [tr.tokenizer.eos_token_id]])
        return torch.cat([input_ids, answer], dim=1)

    tr.model.generate = fake_generate
    t = tr.translate(DESCRIPTIONS)
    assert t.phrases == [["guitar"], []] and t.attempts == 1
    assert json.loads(t.raw) == json.loads(VALID)
    assert seen["prompt"].startswith("<|im_start|>system\n") and seen["prompt"].endswith(
        "<|im_start|>assistant\n"
    )
    assert "Frame 1:" in seen["prompt"] and "Guitar; Strum" in seen["prompt"]


def test_missing_model_folder_is_a_clear_error(tmp_path):
    from avs_studio.openavs import ModelError

    with pytest.raises(ModelError, match="does not exist"):
        TRANSLATORS.create("hf-chat", path=str(tmp_path / "nothing"), device="cpu")
    with pytest.raises(TranslationError, match="needs `path`"):
        TRANSLATORS.create("hf-chat", device="cpu")


def test_parallel_prompts_meet_in_one_left_padded_generate(tiny_chat_model):
    tr = TRANSLATORS.create("hf-chat", path=str(tiny_chat_model), device="cpu", max_new_tokens=8, parallel=3)
    assert tr.parallel == 3
    conversations = [
        [{"role": "user", "content": text}]
        for text in ('{"frames": []}', "Frame 1: ast guitar strumming; speech man dog", VALID)
    ]
    alone = [tr.generate([c])[0] for c in conversations]
    batches: list[int] = []
    real_generate = tr.model.generate
    first_running = threading.Event()

    def gated_generate(**kw):
        batches.append(kw["input_ids"].shape[0])
        if len(batches) == 1:  # hold the model until the two other prompts wait for it
            first_running.set()
            deadline = time.monotonic() + 10
            while len(tr._batcher._queue) < 2 and time.monotonic() < deadline:
                time.sleep(0.005)
        return real_generate(**kw)

    tr.model.generate = gated_generate
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(tr.chat, conversations[0])
        assert first_running.wait(10)
        rest = [pool.submit(tr.chat, c) for c in conversations[1:]]
        answers = [first.result()] + [r.result() for r in rest]
    assert batches == [1, 2]  # the first prompt alone, the two that queued meanwhile together
    assert answers == alone  # left padding: each row answers exactly as it would alone
    assert len(set(alone)) > 1  # the prompts do give different answers, so a mix-up would show


def test_a_failing_batch_reaches_every_caller_in_it():
    from avs_studio.openavs.translators.hf_chat import Batcher

    def run(items):
        if "bad" in items:
            raise RuntimeError("out of memory")
        return [i.upper() for i in items]

    batcher = Batcher(run, size=4)
    assert batcher("ok") == "OK"
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher("bad")
    assert batcher("again") == "AGAIN"  # the batcher is usable after a failure
