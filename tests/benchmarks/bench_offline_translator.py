"""Precision and recall of the `offline` translator on the labelled AudioSet labels and captions in
tests/data/offline_translation_labels.tsv (real all-MiniLM-L6-v2 embeddings), and its time per text.
Run: `python -m tests.benchmarks --only offline_translator`."""

from __future__ import annotations

import sys
import time

from tests.benchmarks._common import Figures, machine


def main(quick: bool = False) -> list[dict]:
    import torch

    from avs_studio.openavs.translators.offline import OfflineTranslator
    from tests.helpers.offline_eval import evaluate, load_cases

    torch.set_num_threads(1)
    emit = Figures("offline_translator", machine("CPU, all-MiniLM-L6-v2"))
    cases = load_cases()
    for embeddings in (True, False):
        tr = OfflineTranslator(device="cpu", embeddings=embeddings)
        how = "keywords + embeddings" if embeddings else "keywords only"
        t = time.perf_counter()
        scores = evaluate(tr, cases)
        per_text = (time.perf_counter() - t) * 1000 / len(cases)
        for kind in ("label", "caption", "all"):
            s = scores[kind]
            emit(f"{how}: precision, {kind} ({s.tp + s.fp} answered)", s.precision, "ratio", ">= 0.92")
            emit(f"{how}: recall, {kind} ({s.tp + s.fn} expected)", s.recall, "ratio", ">= 0.95")
        emit(f"{how}: time per text", per_text)
        if embeddings and not quick:
            for text, predicted, expected in scores["all"].mistakes:
                print(f"  mistake: {text!r} -> {predicted} (expected: {expected or 'nothing'})")
    return emit.rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
