"""CPU time of each model-backed OpenAVS stage per 5-frame clip, on the tiny random models.

The tiny models measure the code around the models (pre/post-processing, batching, caching), not model
speed; real-size GPU timings come from tests/benchmarks/gpu_openavs.py. Run:
`python -m tests.benchmarks.bench_openavs_models [--quick]`.
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np

from tests.benchmarks._common import Figures, machine, median_ms


def main(quick: bool = False) -> list[dict]:
    import torch

    from avs_studio.openavs import tiny, weights
    from avs_studio.openavs.describers import ast, audio_lm, clap, whisper  # noqa: F401
    from avs_studio.openavs.registry import DESCRIBERS, POINT_SEGMENTERS, SEGMENTERS, TRANSLATORS
    from avs_studio.openavs.segmenters import gdino, sam, sam2, sam3  # noqa: F401
    from avs_studio.openavs.translators import hf_chat  # noqa: F401

    torch.set_num_threads(1)  # steadier figures on a shared 2-core machine
    emit = Figures("openavs_models", machine("CPU, tiny random models"))
    repeat = 3 if quick else 7

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (224, 224, 3), dtype=np.uint8) for _ in range(5)]
    phrases = [["guitar", "man"]] * 5
    segments = [rng.normal(0, 0.1, 16000).astype(np.float32) for _ in range(5)]
    with tempfile.TemporaryDirectory(prefix="bench_openavs_") as tmp:
        t = time.perf_counter()
        paths = tiny.save_tiny_models(tmp)
        emit("build + save all tiny models", (time.perf_counter() - t) * 1000)
        weights.forget_loaded()

        for name, fam, params in [
            ("ast", "ast", {}),
            ("clap", "clap", {"min_prob": 0.0}),
            ("whisper", "whisper", {"max_tokens": 8}),
            ("audio-lm", "audio-lm", {"max_new_tokens": 8}),
            ("audio-lm", "audio-flamingo3", {"max_new_tokens": 8}),
        ]:
            d = DESCRIBERS.create(name, model="", path=str(paths[fam]), device="cpu", **params)
            if name == "whisper":
                d.vad = lambda a: True  # time the transcription itself, as if every second had speech
            weights.forget_loaded()
            emit(
                f"describe {name if name == fam else fam}, 5 x 1 s (batched)",
                median_ms(lambda d=d: d.describe(segments, 16000), repeat),
            )
            if name == "ast":
                emit(
                    "describe ast, 5 x 1 s (one at a time)",
                    median_ms(lambda d=d: [d.describe([s], 16000) for s in segments], repeat),
                )
        vad = whisper.silero_speech()
        emit("silero-vad, 5 x 1 s", median_ms(lambda: [vad(s) for s in segments], repeat))

        for name, fam in [("gdino-sam", "sam"), ("gdino-sam2", "sam2")]:
            weights.forget_loaded()
            seg = SEGMENTERS.create(
                name,
                detector="",
                detector_path=str(paths["grounding-dino"]),
                sam="",
                sam_path=str(paths[fam]),
                box_threshold=0.0,
                text_threshold=0.0,
                max_boxes=2,
                device="cpu",
            )
            emit(
                f"{name}, 5 frames batched (no cache)",
                median_ms(lambda s=seg: s.segment(frames, phrases), repeat),
            )
            emit(
                f"{name}, 5 frames one at a time",
                median_ms(lambda s=seg: [s.segment([f], [p]) for f, p in zip(frames, phrases)], repeat),
            )
            keys = [f"v:{i}" for i in range(5)]
            seg.segment(frames, phrases, keys)
            emit(
                f"{name}, 5 frames, embeddings cached",
                median_ms(lambda s=seg, k=keys: s.segment(frames, phrases, k), repeat),
            )
            point = POINT_SEGMENTERS.create(fam, model="", path=str(paths[fam]), device="cpu")
            emit(
                f"point {fam}: one click on a cached frame",
                median_ms(
                    lambda p=point: p.predict("v:0", frames[0], np.array([[100.0, 100.0]]), np.array([1])),
                    repeat,
                ),
            )

        # SAM 3: the clip's frames and phrases batched versus one frame at a time (same code, `batched`)
        weights.forget_loaded()
        for batched in (True, False):
            seg = SEGMENTERS.create(
                "sam3", model=None, path=str(paths["sam3"]), threshold=0.0, mask_threshold=0.5,
                batched=batched, device="cpu",
            )  # fmt: skip
            emit(
                f"sam3, 5 frames x 2 phrases, {'batched' if batched else 'frame at a time'}",
                median_ms(lambda s=seg: s.segment(frames, phrases), repeat),
            )

        # 4 clips' prompts: one left-padded generate (parallel = 4) versus one clip at a time
        chat = TRANSLATORS.create(
            "hf-chat", path=str(paths["chat"]), device="cpu", max_new_tokens=32, parallel=4
        )
        from avs_studio.openavs.translators.base import SYSTEM_PROMPT, build_prompt

        prompts = [
            [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": build_prompt(d)}]
            for d in ([{"ast": f"Guitar; Strum {i}"}] * (i + 2) for i in range(4))
        ]
        one = median_ms(lambda: [chat.generate([p]) for p in prompts], repeat)
        batched = median_ms(lambda: chat.generate(prompts), repeat)
        emit("hf-chat, 4 clip prompts one at a time (32 tokens)", one)
        emit("hf-chat, 4 clip prompts in one batch (32 tokens)", batched)
        emit("hf-chat batching speed-up", one / batched, "x")
    return emit.rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
