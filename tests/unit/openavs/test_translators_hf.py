"""`hf-chat` translator: a tiny random Qwen2 chat model saved to disk and loaded like a user's download."""

from __future__ import annotations

import json

import pytest
import torch

from avs_studio.openavs import TRANSLATORS, TranslationError

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
VALID = '{"frames": [{"frame": 1, "objects": ["Guitar"]}, {"frame": 2, "objects": []}]}'


@pytest.fixture(scope="module")
def tiny_chat_model(tmp_path_factory):
    """Byte-level BPE tokenizer with a chat template + random Qwen2ForCausalLM, saved offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    folder = tmp_path_factory.mktemp("tiny-chat")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    corpus = [VALID, "Frame 1: ast guitar strumming; speech man dog", '{"frames": []}'] * 20
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE
    )
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
        eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
    )  # fmt: skip
    Qwen2ForCausalLM(cfg).save_pretrained(folder)
    return folder


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
