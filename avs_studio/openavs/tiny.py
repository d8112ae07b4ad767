"""Tiny random-weight versions of the REAL model architectures, written to disk in the same format as
the published weights, so tests and the `tiny-random` profile load them through the same loaders.

Outputs are meaningless (random weights); shapes, formats and code paths are the real ones.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from avs_studio.atomic import atomic_open

SEED = 1234
# Words the tiny tokenizers know (tests use these phrases); anything else becomes [UNK].
WORDS = (
    "a an the of and is in on to sound this person man woman child dog cat bird car guitar piano violin "
    "drum drums speech music singing engine water baby helicopter train keyboard microphone"
).split()
AUDIO_LABELS = [
    "Speech",
    "Music",
    "Guitar",
    "Dog",
    "Piano",
    "Vehicle horn, car horn, honking",
    "Bird",
    "Singing",
]
# The one-layer text transformer of the tiny GroundingDINO, CLAP and audio-LM models.
TINY_TEXT = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}


def _seeded() -> torch.Generator:
    torch.manual_seed(SEED)
    return torch.Generator().manual_seed(SEED)


def _save_torch(obj: dict, path: Path) -> Path:
    """torch.save to path atomically (temp file + rename), creating the folder."""
    with atomic_open(path, "wb") as f:
        torch.save(obj, f)
    return path


def _as_pytorch_bin(folder: Path) -> None:
    """Replace a saved model.safetensors by pytorch_model.bin (torch.save of the same tensors), the format
    of repos that publish no safetensors file."""
    from safetensors.torch import load_file

    st = folder / "model.safetensors"
    _save_torch(load_file(st), folder / "pytorch_model.bin")
    st.unlink()


def _wordpiece_tokenizer(folder: Path):
    from transformers import BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "?", "!", *WORDS]
    vf = folder / "vocab.txt"
    vf.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    ids = {w: i for i, w in enumerate(vocab)}
    return BertTokenizerFast(vocab=ids, do_lower_case=True), len(vocab)


def grounding_dino_model(backbone, text, tokenizer, image_processor: dict | None = None, **config):
    """(GroundingDinoForObjectDetection, GroundingDinoProcessor), random weights, from a Swin backbone config,
    a BERT text config, a tokenizer and GroundingDinoConfig / image-processor options."""
    from transformers import (
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
    )

    cfg = GroundingDinoConfig(backbone_config=backbone, use_timm_backbone=False, text_config=text, **config)
    model = GroundingDinoForObjectDetection(cfg).eval()
    improc = GroundingDinoImageProcessor(**(image_processor or {}))
    return model, GroundingDinoProcessor(image_processor=improc, tokenizer=tokenizer)


def build_grounding_dino(folder: Path) -> Path:
    from transformers import BertConfig, SwinConfig

    _seeded()
    tok, vocab_size = _wordpiece_tokenizer(folder)
    backbone = SwinConfig(
        image_size=128,
        patch_size=4,
        embed_dim=16,
        depths=[1, 1, 1, 1],
        num_heads=[1, 1, 2, 2],
        window_size=4,
        out_features=["stage2", "stage3", "stage4"],
    )
    text = BertConfig(vocab_size=vocab_size, max_position_embeddings=64, **TINY_TEXT)
    model, processor = grounding_dino_model(
        backbone,
        text,
        tok,
        image_processor={"size": {"shortest_edge": 96, "longest_edge": 160}},
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,  # 1 breaks the bbox_embed weight tying in transformers
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        num_queries=30,
        max_text_len=32,
        num_feature_levels=4,
        encoder_n_points=2,
        decoder_n_points=2,
    )
    processor.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


TINY_SAM = {
    "img_size": 128,
    "embed_dim": 32,
    "depth": 2,
    "num_heads": 2,
    "global_attn_indexes": [1],
    "window_size": 4,
    "prompt_embed_dim": 32,
    "mlp_dim": 64,
    "decoder_heads": 2,
    "iou_head_hidden_dim": 32,
}


def build_sam(folder: Path) -> Path:
    from avs_studio.openavs.segmenters.sam import build_sam_model

    _seeded()
    model = build_sam_model(TINY_SAM)
    return _save_torch({"sam_config": dict(TINY_SAM), "model": model.state_dict()}, folder / "tiny_sam.pth")


def build_sam2(folder: Path) -> Path:
    from transformers import (
        Sam2Config,
        Sam2HieraDetConfig,
        Sam2ImageProcessor,
        Sam2MaskDecoderConfig,
        Sam2Model,
        Sam2Processor,
        Sam2PromptEncoderConfig,
        Sam2VisionConfig,
    )

    _seeded()
    size = 128
    backbone = Sam2HieraDetConfig(
        hidden_size=16,
        image_size=[size, size],
        blocks_per_stage=[1, 1, 2, 1],  # the global block must not open a pooling stage
        embed_dim_per_stage=[16, 32, 64, 128],
        num_attention_heads_per_stage=[1, 1, 2, 2],
        window_size_per_stage=[4, 4, 4, 4],
        global_attention_blocks=[3],
        window_positional_embedding_background_size=[2, 2],
    )
    vision = Sam2VisionConfig(
        backbone_config=backbone,
        backbone_channel_list=[128, 64, 32, 16],
        backbone_feature_sizes=[[size // 4, size // 4], [size // 8, size // 8], [size // 16, size // 16]],
        fpn_hidden_size=32,
    )
    cfg = Sam2Config(
        vision_config=vision,
        prompt_encoder_config=Sam2PromptEncoderConfig(hidden_size=32, image_size=size, patch_size=16),
        mask_decoder_config=Sam2MaskDecoderConfig(
            hidden_size=32, mlp_dim=64, num_attention_heads=2, iou_head_hidden_dim=32
        ),
    )
    model = Sam2Model(cfg).eval()
    improc = Sam2ImageProcessor(size={"height": size, "width": size})
    Sam2Processor(image_processor=improc).save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


def build_ast(folder: Path) -> Path:
    from transformers import ASTConfig, ASTFeatureExtractor, ASTForAudioClassification

    _seeded()
    frames = 128  # 1.28 s of 10 ms frames (the real model uses 1024)
    cfg = ASTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_length=frames,
        num_mel_bins=128,
        id2label=dict(enumerate(AUDIO_LABELS)),
        label2id={name: i for i, name in enumerate(AUDIO_LABELS)},
    )
    ASTForAudioClassification(cfg).eval().save_pretrained(folder)
    ASTFeatureExtractor(max_length=frames, num_mel_bins=128).save_pretrained(folder)
    return folder


def _bpe_tokenizer(folder: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import RobertaTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator([" ".join(WORDS), *WORDS, "the sound of a dog"], trainer=trainer)
    tk.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    fast = RobertaTokenizerFast(
        tokenizer_object=tk,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )
    return fast, tk.get_vocab_size()


def build_clap(folder: Path) -> Path:
    from transformers import (
        ClapAudioConfig,
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapProcessor,
        ClapTextConfig,
    )

    _seeded()
    tok, vocab_size = _bpe_tokenizer(folder)
    text = ClapTextConfig(vocab_size=vocab_size, max_position_embeddings=40, projection_dim=16, **TINY_TEXT)
    audio = ClapAudioConfig(
        spec_size=64,  # with 16 mel bins: freq_ratio 4, so up to 256 frames (2.5 s at 48 kHz, hop 480)
        window_size=4,
        num_mel_bins=16,
        patch_embeds_hidden_size=16,
        hidden_size=32,
        depths=[1, 1],
        num_attention_heads=[1, 2],
        projection_dim=16,
        enable_fusion=False,
    )
    cfg = ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=16)
    ClapModel(cfg).eval().save_pretrained(folder)
    _as_pytorch_bin(folder)  # as laion/clap-htsat-unfused publishes it
    fe = ClapFeatureExtractor(feature_size=16, sampling_rate=48000, max_length_s=2, hop_length=480)
    ClapProcessor(feature_extractor=fe, tokenizer=tok).save_pretrained(folder)
    return folder


def _audio_lm_tokenizer(folder: Path, audio_tokens: dict[str, str]):
    """The tiny byte-level BPE tokenizer with Qwen chat specials and an audio-LM's audio tokens."""
    from tokenizers import AddedToken
    from transformers import PreTrainedTokenizerFast

    roberta, _ = _bpe_tokenizer(folder)
    tk = roberta.backend_tokenizer
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", *audio_tokens.values()]
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    tk.post_processor = None
    return PreTrainedTokenizerFast(
        tokenizer_object=tk,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<unk>",
        extra_special_tokens=dict(audio_tokens),
    )


def _tiny_qwen2(tok):
    from transformers import Qwen2Config

    return Qwen2Config(
        vocab_size=len(tok), **TINY_TEXT, num_key_value_heads=1, max_position_embeddings=512,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )  # fmt: skip


def _save_lm(model, processor, tok, folder: Path) -> Path:
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


AUDIO_SECONDS = 2  # the tiny audio-LMs' audio window (the real ones: 30 s)
TINY_AUDIO_ENCODER = {
    "num_mel_bins": 128, "encoder_layers": 1, "encoder_attention_heads": 2, "encoder_ffn_dim": 64, "d_model": 32,
    "max_source_positions": AUDIO_SECONDS * 50,
}  # fmt: skip


def build_audio_lm(folder: Path) -> Path:
    """Tiny Qwen2-Audio (Whisper-style audio encoder + Qwen2 decoder) with a 2 s audio window."""
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioEncoderConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        WhisperFeatureExtractor,
    )

    _seeded()
    tok = _audio_lm_tokenizer(
        folder,
        {"audio_token": "<|AUDIO|>", "audio_bos_token": "<|audio_bos|>", "audio_eos_token": "<|audio_eos|>"},
    )
    fe = WhisperFeatureExtractor(feature_size=128, chunk_length=AUDIO_SECONDS)
    cfg = Qwen2AudioConfig(
        audio_config=Qwen2AudioEncoderConfig(**TINY_AUDIO_ENCODER),
        text_config=_tiny_qwen2(tok),
        audio_token_id=tok.convert_tokens_to_ids("<|AUDIO|>"),
    )
    model = Qwen2AudioForConditionalGeneration(cfg).eval()
    return _save_lm(model, Qwen2AudioProcessor(feature_extractor=fe, tokenizer=tok), tok, folder)


# Audio Flamingo 3's chat format (Qwen2.5 turns; the processor expands <sound> into the audio's tokens).
AF3_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'audio' %}<sound>{% elif c['type'] == 'text' %}"
    "{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_audio_flamingo3(folder: Path) -> Path:
    """Tiny Audio Flamingo 3 (Whisper-style encoder, projector, Qwen2 decoder) with a 2 s audio window."""
    from transformers import (
        AudioFlamingo3Config,
        AudioFlamingo3EncoderConfig,
        AudioFlamingo3ForConditionalGeneration,
        AudioFlamingo3Processor,
        WhisperFeatureExtractor,
    )

    _seeded()
    tok = _audio_lm_tokenizer(folder, {"audio_token": "<sound>"})
    fe = WhisperFeatureExtractor(feature_size=128, chunk_length=AUDIO_SECONDS)
    cfg = AudioFlamingo3Config(
        audio_config=AudioFlamingo3EncoderConfig(**TINY_AUDIO_ENCODER),
        text_config=_tiny_qwen2(tok),
        audio_token_id=tok.convert_tokens_to_ids("<sound>"),
    )
    model = AudioFlamingo3ForConditionalGeneration(cfg).eval()
    proc = AudioFlamingo3Processor(feature_extractor=fe, tokenizer=tok, chat_template=AF3_TEMPLATE)
    return _save_lm(model, proc, tok, folder)


def build_whisper(folder: Path) -> Path:
    from whisper.model import ModelDimensions, Whisper

    _seeded()
    dims = ModelDimensions(
        n_mels=80,
        n_audio_ctx=1500,
        n_audio_state=32,
        n_audio_head=2,
        n_audio_layer=1,
        n_vocab=51865,
        n_text_ctx=64,
        n_text_state=32,
        n_text_head=2,
        n_text_layer=1,
    )
    model = Whisper(dims)
    # TextDecoder.positional_embedding is torch.empty: initialise it (see ENVIRONMENT.md).
    torch.nn.init.normal_(model.decoder.positional_embedding, std=0.01)
    state = {"dims": asdict(dims), "model_state_dict": model.state_dict()}
    return _save_torch(state, folder / "tiny_whisper.pt")


def build_sam3(folder: Path) -> Path:
    """Tiny SAM 3 (avs_studio.openavs.tiny_sam3)."""
    from avs_studio.openavs.tiny_sam3 import build_tiny_sam3

    return build_tiny_sam3(folder)


CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_chat(folder: Path) -> Path:
    """Tiny Qwen2 chat model (byte-level BPE tokenizer trained on prompt-like text, a chat template) for
    the hf-chat translator; its answers are random text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    _seeded()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    valid = '{"frames": [{"frame": 1, "objects": ["Guitar"]}, {"frame": 2, "objects": []}]}'
    tok.train_from_iterator(
        [valid, "Frame 1: ast guitar strumming; speech man dog", '{"frames": []}'] * 20, trainer
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE
    )
    fast.save_pretrained(folder)
    cfg = Qwen2Config(
        vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
        eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
    )  # fmt: skip
    Qwen2ForCausalLM(cfg).save_pretrained(folder)
    return folder


BUILDERS = {
    "grounding-dino": build_grounding_dino,
    "sam": build_sam,
    "sam2": build_sam2,
    "sam3": build_sam3,
    "ast": build_ast,
    "clap": build_clap,
    "whisper": build_whisper,
    "audio-lm": build_audio_lm,
    "audio-flamingo3": build_audio_flamingo3,
    "chat": build_chat,
}


def build(family: str, folder: str | Path) -> Path:
    """Write the tiny random model of `family` into folder; returns what its loader takes."""
    return BUILDERS[family](Path(folder))


def save_tiny_models(folder: str | Path, families: list[str] | None = None) -> dict[str, Path]:
    """Write every tiny model under folder/<family>; returns family -> loader path."""
    root = Path(folder)
    return {fam: build(fam, root / fam) for fam in (families or list(BUILDERS))}
