"""Crash safety: ``assistant ingest`` killed with SIGKILL at seeded random points while it ingests
a batch, then restarted. The real CLI in a subprocess, real SQLite, Chroma and embeddings.

After every kill the SQLite store is consistent (no report without its passages, no passage
without its report, nothing twice); after the next complete run every report of the batch is
there exactly once with its own passages, and the Chroma ids are exactly the SQLite passage ids.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from assistant.passages import split_passages
from assistant.schema import Report
from assistant.settings import Settings

SEED = 7
KILLS = 3
FILES = 8
REPORTS_PER_FILE = 6
SENTENCES = [
    "Eleven kom till skolan med ett blåmärke på kinden.",
    "Mamma berättar att pappa skriker och kastar saker när han druckit.",
    "Barnet säger att hon inte vill gå hem efter skolan.",
    "Grannar har hört bråk och skrik från lägenheten flera kvällar.",
    "Förskolan uppger att pojken ofta är hungrig och trött på morgonen.",
    "Morfar stöttar familjen och hämtar barnen två dagar i veckan.",
]


def write_batch(folder: Path) -> list[dict]:
    """FILES jsonl files of REPORTS_PER_FILE small reports, several children, several passages each."""
    rng = random.Random(SEED)
    folder.mkdir()
    records = []
    for f in range(FILES):
        lines = []
        for r in range(REPORTS_PER_FILE):
            record = {
                "report_id": f"K{f}-R{r}",
                "child_id": f"K{(f * REPORTS_PER_FILE + r) % 9}",
                "date": f"2023-{1 + f:02d}-{10 + r:02d}",
                "reporter": rng.choice(["skola", "polis", "förskola", "anonym"]),
                "text": " ".join(rng.sample(SENTENCES, 3)) + f" Anmälan {f}.{r}.",
            }
            lines.append(json.dumps(record, ensure_ascii=False))
            records.append(record)
        (folder / f"batch-{f}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return records


def start_ingest(home: Path, folder: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "--home", str(home), "ingest", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def kill_after(process: subprocess.Popen, files_done: int, delay: float) -> int:
    """SIGKILL once ``files_done`` files are reported and ``delay`` seconds more have passed,
    i.e. somewhere inside the next file (reading, SQLite, embedding or Chroma). Returns files seen."""
    seen = 0
    while seen < files_done:
        line = process.stdout.readline()
        if not line:
            break
        seen += line.startswith("OK ")
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    return seen


def sqlite_state(home: Path) -> dict:
    with sqlite3.connect(Settings(home=home).db_path) as db:
        return {
            "reports": [r[0] for r in db.execute("SELECT report_id FROM reports")],
            "without_passages": db.execute(
                "SELECT COUNT(*) FROM reports r WHERE NOT EXISTS "
                "(SELECT 1 FROM passages p WHERE p.report_id = r.report_id)"
            ).fetchone()[0],
            "orphan_passages": db.execute(
                "SELECT COUNT(*) FROM passages p LEFT JOIN reports r USING (report_id) WHERE r.report_id IS NULL"
            ).fetchone()[0],
            "passages": {
                report_id: [(n, text) for n, text in rows]
                for report_id, rows in _group(
                    db.execute("SELECT report_id, n, text FROM passages ORDER BY report_id, n").fetchall()
                ).items()
            },
            "passage_ids": sorted(r[0] for r in db.execute("SELECT passage_id FROM passages")),
            "unindexed": db.execute("SELECT COUNT(*) FROM reports WHERE indexed = 0").fetchone()[0],
            "integrity": db.execute("PRAGMA integrity_check").fetchone()[0],
        }


def _group(rows: list[tuple]) -> dict[str, list[tuple]]:
    grouped: dict[str, list[tuple]] = {}
    for report_id, *rest in rows:
        grouped.setdefault(report_id, []).append(tuple(rest))
    return grouped


def chroma_ids(home: Path) -> list[str]:
    """Read in a fresh process: Chroma keeps one cached client per path inside a process."""
    settings = Settings(home=home)
    code = (
        "import chromadb, json, sys; from chromadb.config import Settings as S; "
        "c = chromadb.PersistentClient(path=sys.argv[1], settings=S(anonymized_telemetry=False)); "
        "print(json.dumps(c.get_collection(sys.argv[2]).get(include=[])['ids']))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(settings.chroma_path), settings.vectorstore.collection],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return sorted(json.loads(out.stdout))


def test_killed_ingest_leaves_a_consistent_store_and_a_rerun_completes_it(tmp_path):
    records = write_batch(tmp_path / "batch")
    home = tmp_path / "home"
    rng = random.Random(SEED)
    kills = []
    for _ in range(KILLS):
        files_done, delay = rng.randint(1, FILES - 2), rng.uniform(0.0, 0.4)
        seen = kill_after(start_ingest(home, tmp_path / "batch"), files_done, delay)
        kills.append((files_done, round(delay, 2), seen))
        if not Settings(home=home).db_path.exists():
            continue  # killed before the store was created
        state = sqlite_state(home)
        assert state["integrity"] == "ok"
        assert state["without_passages"] == 0 and state["orphan_passages"] == 0, kills
        assert len(state["reports"]) == len(set(state["reports"]))
        assert len(state["passage_ids"]) == len(set(state["passage_ids"]))
    print("kills (files before kill, delay s, files reported):", kills)

    final = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--home", str(home), "ingest", str(tmp_path / "batch")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert final.returncode == 0, final.stderr
    state = sqlite_state(home)
    assert sorted(state["reports"]) == sorted(r["report_id"] for r in records)
    assert state["unindexed"] == 0
    for record in records:
        expected = split_passages(Report(**record), Settings().ingest.max_passage_chars)
        assert state["passages"][record["report_id"]] == [(p.n, p.text) for p in expected]
    assert chroma_ids(home) == state["passage_ids"]
