"""Precision and recall of the pseudonymisation (assistant/redact.py) per kind of identifier.

    python -m eval.redaction eval/data/redaction/labelled.jsonl

Each line of the labelled file: ``text``, ``entities`` (``kind`` and the exact ``text`` of each
identifier, in order of appearance) and ``not`` (strings that must stay: dates, case numbers, amounts).
A gold identifier is found when one redaction of the same kind covers it whole (a partial cover leaks
the rest); a redaction is correct when it overlaps a gold identifier of its kind. ``leaks`` counts gold
identifiers not wholly covered by any redaction, whatever its kind: the figure that matters for privacy.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from assistant.redact import KINDS, Entity, find_entities
from eval.metrics import overlaps


@dataclass(frozen=True)
class Gold:
    kind: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Labelled:
    id: str
    text: str
    gold: list[Gold]
    keep: list[str]


@dataclass
class Counts:
    gold: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0


@dataclass
class Result:
    by_kind: dict[str, Counts]
    leaks: list[str]  # "<id>: <text>" of gold identifiers left (partly) readable
    kept_broken: list[str]  # "<id>: <text>" of must-stay strings that were redacted
    false_alarms: list[str]

    @property
    def total(self) -> Counts:
        return Counts(*(sum(getattr(c, f) for c in self.by_kind.values()) for f in Counts.__dataclass_fields__))


def load(path: Path) -> list[Labelled]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        gold, cursor = [], 0
        for entity in row["entities"]:
            start = row["text"].find(entity["text"], cursor)
            if start < 0:
                raise ValueError(f"{path}: line {number}: {entity['text']!r} not found in order in the text")
            gold.append(Gold(entity["kind"], start, start + len(entity["text"]), entity["text"]))
            cursor = start + len(entity["text"])
        items.append(Labelled(row.get("id", str(number)), row["text"], gold, row.get("not", [])))
    return items


def _covers(entity: Entity, gold: Gold) -> bool:
    return entity.start <= gold.start and gold.end <= entity.end


def score(items: list[Labelled]) -> Result:
    result = Result({kind: Counts() for kind in KINDS}, [], [], [])
    for item in items:
        predicted = find_entities(item.text)
        for gold in item.gold:
            counts = result.by_kind[gold.kind]
            counts.gold += 1
            counts.found += any(e.kind == gold.kind and _covers(e, gold) for e in predicted)
            if not any(_covers(e, gold) for e in predicted):
                result.leaks.append(f"{item.id}: {gold.text}")
        for entity in predicted:
            counts = result.by_kind[entity.kind]
            counts.predicted += 1
            if any(g.kind == entity.kind and overlaps(entity.start, entity.end, g.start, g.end) for g in item.gold):
                counts.correct += 1
            else:
                result.false_alarms.append(f"{item.id}: {entity.kind} {entity.text!r}")
        for keep in item.keep:
            at = item.text.find(keep)
            if any(overlaps(e.start, e.end, at, at + len(keep)) for e in predicted):
                result.kept_broken.append(f"{item.id}: {keep}")
    return result


def render(result: Result) -> str:
    lines = [f"{'kind':<18} {'gold':>5} {'pred':>5} {'precision':>9} {'recall':>7}"]
    for kind, c in [*result.by_kind.items(), ("ALL", result.total)]:
        lines.append(f"{kind:<18} {c.gold:>5} {c.predicted:>5} {c.precision:>9.3f} {c.recall:>7.3f}")
    lines.append(f"leaks (identifier not wholly covered): {len(result.leaks)}")
    lines.extend(f"  {leak}" for leak in result.leaks)
    lines.append(f"false alarms: {len(result.false_alarms)}")
    lines.extend(f"  {alarm}" for alarm in result.false_alarms)
    lines.append(f"must-stay strings redacted: {len(result.kept_broken)}")
    lines.extend(f"  {kept}" for kept in result.kept_broken)
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m eval.redaction LABELLED.jsonl", file=sys.stderr)
        return 2
    print(render(score(load(Path(argv[0])))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
