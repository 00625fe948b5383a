"""Pseudonymisation through the real pipeline: tiny GGUF model, MiniLM, Chroma and SQLite in a temp home.

The LLM is the real loaded model wrapped in a recorder that keeps every message list it is sent and
then lets the model answer; nothing is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from assistant.schema import Finding
from assistant.verify import verify

PERSONNUMMER = "19850315-1238"
PHONE = "070-123 45 67"
EMAIL = "mamma.lind@example.se"
ADDRESS = "Björkvägen 3 B"
SECRETS = [PERSONNUMMER, "850315-1238", "8503151238", PHONE, "0701234567", EMAIL, ADDRESS, "Björkvägen"]

REPORTS = [
    {
        "report_id": "P1-R1",
        "child_id": "P1",
        "date": "2023-09-04",
        "reporter": "skola",
        "text": (
            f"Elsa ({PERSONNUMMER}) berättade att pappa slog henne i ansiktet hemma på {ADDRESS}. "
            f"Hon hade ett blåmärke på kinden. Mamma nås på {PHONE} och {EMAIL}."
        ),
    },
    {
        "report_id": "P1-R2",
        "child_id": "P1",
        "date": "2024-01-20",
        "reporter": "polis",
        "text": (
            f"Polisen kallades till {ADDRESS} efter bråk. Pappan hade slagit mamman och Elsa såg på. "
            f"Mamman ringde från 0701234567 och uppgav Elsas personnummer 850315-1238."
        ),
    },
]


class RecordingLLM:
    """The real model, recording every prompt it is given before it answers."""

    def __init__(self, real):
        self.real = real
        self.prompts: list[str] = []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def _record(self, messages: list[dict]) -> None:
        self.prompts.append(json.dumps(messages, ensure_ascii=False))

    def complete_json(self, messages, schema, max_tokens):
        self._record(messages)
        return self.real.complete_json(messages, schema, max_tokens)

    def stream(self, messages, max_tokens):
        self._record(messages)
        return self.real.stream(messages, max_tokens)

    def score_choices(self, messages, choices):
        self._record(messages)
        return self.real.score_choices(messages, choices)


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def write_reports(path: Path) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in REPORTS) + "\n", encoding="utf-8")
    return path


def test_models_and_index_see_only_placeholders(make_assistant, tiny_llm, tmp_path, monkeypatch):
    from assistant.pipeline import Assistant
    from vectorstore import retrieval

    probe = make_assistant()
    recorder = RecordingLLM(tiny_llm)
    assistant = Assistant(probe.settings, llm=recorder, embedder=probe.embedder)
    [result] = assistant.ingest([write_reports(tmp_path / "reports.jsonl")])
    assert result.error == "" and set(result.outcomes.values()) == {"added"}

    # The report store keeps the original text for the authorised source view.
    assert PERSONNUMMER in assistant.store.report("P1-R1").text
    assert "0701234567" in assistant.store.report("P1-R2").text

    passages = assistant.store.passages_for("P1")
    joined = "\n".join(p.text for p in passages)
    assert leaked(joined) == []
    for placeholder in ("[PERSONNUMMER-1]", "[ADRESS-1]", "[TELEFON-1]", "[E-POST-1]"):
        assert placeholder in joined
    assert joined.count("[PERSONNUMMER-1]") == 2 and "[PERSONNUMMER-2]" not in joined  # one child, one number
    assert joined.count("[TELEFON-1]") == 2 and "[TELEFON-2]" not in joined

    # Chroma: no stored byte carries the originals; the vectors are those of the pseudonymised passages.
    for file in assistant.settings.chroma_path.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert not [s for s in SECRETS if s.encode() in data], file
    stored = assistant.index._collection.get(include=["documents", "embeddings"])
    assert leaked(json.dumps(stored["documents"], ensure_ascii=False)) == []
    by_id = dict(zip(stored["ids"], stored["embeddings"], strict=True))
    with_phone = next(p for p in passages if "[TELEFON-1]" in p.text)
    original = assistant.store.report(with_phone.report_id).text[with_phone.start : with_phone.end]
    assert PHONE in original or "0701234567" in original
    [seen, unseen] = assistant.embedder.embed([with_phone.text, original])
    assert np.allclose(by_id[with_phone.passage_id], seen, atol=1e-5)
    assert not np.allclose(by_id[with_phone.passage_id], unseen, atol=1e-3)

    # BM25: the corpus it ranks is the pseudonymised passages.
    corpora: list[list[str]] = []
    real_bm25 = retrieval.bm25_rank

    def recording_bm25(documents, queries, k):
        corpora.append(list(documents))
        return real_bm25(documents, queries, k)

    monkeypatch.setattr(retrieval, "bm25_rank", recording_bm25)
    ranked = assistant.retriever.rank("P1", passages, assistant.category_queries())
    assert ranked and corpora and leaked("\n".join(corpora[0])) == [] and "[ADRESS-1]" in "\n".join(corpora[0])

    # Every prompt, from the judge and the narrative, carries placeholders only.
    run = assistant.summarize("P1")
    assert recorder.prompts, "the model was never asked"
    assert [leaked(p) for p in recorder.prompts if leaked(p)] == []
    assert any("[" in p and "-1]" in p for p in recorder.prompts), "no prompt contained an identifier's passage"

    summary = run.summary
    assert summary.indicators and summary.narrative
    assert all(c.verified for i in summary.indicators for c in i.citations)
    assert leaked(summary.model_dump_json()) == []
    for indicator in summary.indicators:
        for citation in indicator.citations:
            report_text = assistant.store.report(citation.report_id).text
            assert citation.start is not None and report_text[citation.start : citation.end]

    # Cached analyses hold no originals, and are keyed on the text the model saw: a second run asks nothing.
    rows = assistant.store._rows("SELECT result FROM analyses")
    assert rows and leaked("\n".join(r["result"] for r in rows)) == []
    asked = len(recorder.prompts)
    assistant.summarize("P1")
    assert len(recorder.prompts) == asked


def test_a_quote_over_a_placeholder_maps_back_to_the_original(make_assistant, tmp_path):
    assistant = make_assistant()
    assistant.ingest([write_reports(tmp_path / "reports.jsonl")])
    passage = next(p for p in assistant.store.passages_for("P1") if "[TELEFON-1] och [E-POST-1]" in p.text)
    finding = Finding(
        passage_id=passage.passage_id,
        category="protective_factor",
        polarity="affirmed",
        quote="Mamma nås på [TELEFON-1] och [E-POST-1]",
    )
    [verdict] = verify([finding], {passage.passage_id: passage}, "P1", 90.0)
    text = assistant.store.report("P1-R1").text
    assert verdict.citation.verified
    assert text[verdict.citation.start : verdict.citation.end] == f"Mamma nås på {PHONE} och {EMAIL}"


def test_an_older_store_is_recut_when_pseudonymisation_is_switched_on(make_assistant, tmp_path):
    home = tmp_path / "home"
    plain = make_assistant(home, ingest={"pseudonymise": False})
    plain.ingest([write_reports(tmp_path / "reports.jsonl")])
    assert PHONE in "\n".join(p.text for p in plain.store.passages_for("P1"))
    plain.store.cache("stale", "extract", {"quote": PHONE})

    switched = make_assistant(home)
    assert switched.recut() == 2
    passages = switched.store.passages_for("P1")
    assert leaked("\n".join(p.text for p in passages)) == [] and switched.store.counts()["analyses"] == 0
    assert sorted(switched.index.all_ids()) == sorted(p.passage_id for p in passages)
    assert switched.recut() == 0
