"""Precision and recall of a prompt translator on tests/data/offline_translation_labels.tsv (labelled AudioSet
labels and captions): each text is one single-frame clip; a predicted phrase is right when it is one of the
expected objects (or one of its "a/b" alternatives)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "offline_translation_labels.tsv"
DESCRIBER = {"label": "ast", "caption": "audio-lm"}  # which describer would have written the text


@dataclass
class Case:
    kind: str
    text: str
    expected: list[set[str]]  # one set of acceptable phrases per expected object


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    mistakes: list[tuple[str, list[str], str]] = field(default_factory=list)  # text, predicted, expected

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_cases(path: Path = DATA) -> list[Case]:
    rows = [r for r in path.read_text(encoding="utf-8").splitlines() if r.strip() and not r.startswith("#")]
    out = []
    for row in csv.DictReader(rows, delimiter="\t"):
        expected = [set(alt.strip() for alt in obj.split("/")) for obj in (row["expected"] or "").split(",")]
        out.append(Case(row["kind"], row["text"], [e for e in expected if e != {""}]))
    return out


def evaluate(translator, cases: list[Case]) -> dict[str, Score]:
    """Scores per kind ("label", "caption") and "all"."""
    scores = {"label": Score(), "caption": Score(), "all": Score()}
    for case in cases:
        predicted = translator.translate([{DESCRIBER[case.kind]: case.text}]).phrases[0]
        open_ = list(case.expected)
        tp = fp = 0
        for p in predicted:
            hit = next((e for e in open_ if p in e), None)
            if hit is None:
                fp += 1
            else:
                open_.remove(hit)
                tp += 1
        for s in (scores[case.kind], scores["all"]):
            s.tp, s.fp, s.fn = s.tp + tp, s.fp + fp, s.fn + len(open_)
            if fp or open_:
                s.mistakes.append(
                    (case.text, predicted, ", ".join("/".join(sorted(e)) for e in case.expected))
                )
    return scores
