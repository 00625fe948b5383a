"""Invented Swedish reports for benchmarks: sentences of the annotated training corpus recombined.

Deterministic (seeded per report), new report and child ids, never real persons: the corpus
itself is invented (eval/data/corpus/README.md).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path

from assistant.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "eval" / "data" / "corpus" / "train.jsonl"
REPORTERS = ["skola", "förskola", "hälso- och sjukvård", "polis", "socialtjänst", "privatperson", "anonym"]
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
FIRST_DATE = dt.date(2019, 1, 7)


def corpus_sentences(path: Path = CORPUS) -> list[str]:
    sentences: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        sentences += [s.strip() for s in SENTENCE_END.split(text) if len(s.strip()) > 20]
    return sentences


def invented_reports(child_id: str, count: int, sentences: list[str], seed: int) -> list[dict]:
    """``count`` reports about one child, a few weeks apart, 3 to 6 sentences each."""
    rng = random.Random(seed)  # noqa: S311 - invented benchmark data, not secrets
    start = FIRST_DATE + dt.timedelta(days=rng.randrange(0, 900))
    return [
        {
            "report_id": f"{child_id}-R{n + 1:02d}",
            "child_id": child_id,
            "date": (start + dt.timedelta(days=21 * n + rng.randrange(0, 14))).isoformat(),
            "reporter": rng.choice(REPORTERS),
            "text": " ".join(rng.sample(sentences, rng.randint(3, 6))),
        }
        for n in range(count)
    ]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    """Reports in the ingest format, one JSON object a line."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_generated(folder: Path, reports: int, per_child: int = 4, per_file: int = 500) -> list[Path]:
    """``reports`` invented reports, ``per_child`` for each child, in JSONL files of ``per_file`` reports."""
    folder.mkdir(parents=True, exist_ok=True)
    sentences = corpus_sentences()
    rows: list[dict] = []
    for child in range((reports + per_child - 1) // per_child):
        rows += invented_reports(f"G{child:05d}", per_child, sentences, seed=child)
    rows = rows[:reports]
    paths = []
    for start in range(0, len(rows), per_file):
        paths.append(write_jsonl(folder / f"generated-{start // per_file:03d}.jsonl", rows[start : start + per_file]))
    return paths
