"""The whole path with real parts: the tiny GGUF model through llama-cpp-python,
MiniLM embeddings, a persistent Chroma collection and SQLite, in a temp home."""

from __future__ import annotations

import json

import pytest

from assistant.errors import UserError
from assistant.extract import parse_output
from assistant.pipeline import previous_sentences
from assistant.schema import Category, Finding, Polarity


def test_ingest_is_idempotent(make_assistant, fixture_file):
    assistant = make_assistant()
    [first] = assistant.ingest([fixture_file])
    assert first.error == "" and set(first.outcomes.values()) == {"added"}
    counts = assistant.store.counts()
    vectors = sorted(assistant.index.all_ids())
    [second] = assistant.ingest([fixture_file])
    assert set(second.outcomes.values()) == {"unchanged"}
    assert assistant.store.counts() == counts
    assert sorted(assistant.index.all_ids()) == vectors == sorted(assistant.store.passage_ids())


def test_changed_text_replaces_report_passages_and_vectors(make_assistant, fixture_file, tmp_path):
    assistant = make_assistant()
    assistant.ingest([fixture_file])
    assert len(assistant.store.passages_of_report("T1-R1")) >= 2
    changed = tmp_path / "changed.jsonl"
    changed.write_text(
        json.dumps(
            {
                "report_id": "T1-R1",
                "child_id": "T1",
                "date": "2022-03-14",
                "reporter": "skola",
                "text": "Rättad anmälan: Elsa har inte berättat något om våld.",
            },
            ensure_ascii=False,
        )
    )
    [result] = assistant.ingest([changed])
    assert result.outcomes == {"T1-R1": "replaced"}
    passages = assistant.store.passages_of_report("T1-R1")
    assert [p.text for p in passages] == ["Rättad anmälan: Elsa har inte berättat något om våld."]
    assert sorted(assistant.index.ids_for_report("T1-R1")) == ["T1-R1:1"]
    assert sorted(assistant.index.all_ids()) == sorted(assistant.store.passage_ids())


def test_bad_file_among_good_ones(make_assistant, fixture_file, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"report_id": "X1", "child_id": "X", "date": "2023-02-30", "reporter": "skola", "text": "t"}\n')
    good = tmp_path / "good.md"
    good.write_text("---\nreport_id: G1\nchild_id: G\ndate: 2024-02-01\nreporter: anonym\n---\nPappa skriker ofta.\n")
    assistant = make_assistant()
    results = {r.path: r for r in assistant.ingest([fixture_file, bad, good])}
    assert results[str(bad)].error.startswith(f"{bad}: line 1: date:")
    assert results[str(good)].outcomes == {"G1": "added"}
    assert {c.child_id for c in assistant.store.children()} == {"T1", "T2", "G"}
    assert assistant.store.report("X1") is None


def test_report_id_cannot_move_to_another_child(make_assistant, fixture_file, tmp_path):
    assistant = make_assistant()
    assistant.ingest([fixture_file])
    before = assistant.store.counts()
    moved = tmp_path / "moved.jsonl"
    moved.write_text(
        json.dumps({"report_id": "T3-R1", "child_id": "T3", "date": "2023-01-01", "reporter": "skola", "text": "Ny."})
        + "\n"
        + json.dumps({"report_id": "T1-R1", "child_id": "T2", "date": "2023-01-01", "reporter": "skola", "text": "x"})
    )
    [result] = assistant.ingest([moved])
    assert "already belongs to child T1" in result.error
    assert assistant.store.counts() == before  # the whole file is refused, nothing half-written
    assert assistant.store.report("T3-R1") is None


def test_summary_cites_only_verified_passages_of_its_child_and_is_cached(make_assistant, fixture_file):
    assistant = make_assistant()
    assistant.ingest([fixture_file])
    first = assistant.summarize("T1")
    summary = first.summary
    assert first.stats.model_calls > 0 and first.stats.passages > 0
    t1_passages = {p.passage_id: p for p in assistant.store.passages_for("T1")}
    assert {r.report_id for r in summary.reports} == {"T1-R1", "T1-R2"}
    for indicator in summary.indicators:
        for citation in indicator.citations:
            assert citation.verified
            assert citation.passage_id in t1_passages
            assert citation.quote in t1_passages[citation.passage_id].text
    assert summary.model.name == "smollm2-135m-instruct-q4" and len(summary.model.sha256) == 64
    assert summary.prompt_version.startswith("judge.v1#") and "lexicon" in summary.prompt_version
    assert "beslut" in summary.notice

    second = assistant.summarize("T1")
    assert second.stats.model_calls == 0
    assert second.stats.cache_hits == first.stats.model_calls
    assert second.summary.indicators == summary.indicators


def test_retrieval_never_crosses_children(make_assistant, fixture_file):
    assistant = make_assistant()
    assistant.settings.retrieval.context_budget_tokens = 30  # force ranked retrieval
    assistant.ingest([fixture_file])
    passages = assistant.store.passages_for("T1")
    selection = assistant.select("T1", passages)
    assert selection.mode == "retrieved" and selection.passages
    assert {p.child_id for p in selection.passages} == {"T1"}
    dense = assistant.index.query(assistant.embedder.embed(["pojken är hungrig och smutsig"]), "T1", 10)
    assert dense[0] and all(pid.startswith("T1-") for pid in dense[0])


def test_unknown_child_is_a_user_error(make_assistant, fixture_file):
    assistant = make_assistant()
    assistant.ingest([fixture_file])
    with pytest.raises(UserError, match="no reports for child 'NOPE'"):
        assistant.summarize("NOPE")


def test_model_output_is_validated_against_the_schema(make_assistant, fixture_file):
    with pytest.raises(ValueError, match="does not match the schema"):
        parse_output('{"indicators": [{"quote": "x", "category": "arson", "polarity": "affirmed"}]}')
    with pytest.raises(ValueError):
        parse_output('{"indicators": "none"')
    # The real tiny model writing JSON under the grammar: each answer is validated again;
    # one that fails (the grammar can fall back, max_tokens can cut it) is recorded, never shown.
    assistant = make_assistant()
    assistant.settings.extractor.mode = "llm"
    assistant.settings.narrative = False
    assistant.ingest([fixture_file])
    run = assistant.summarize("T2")
    assert run.stats.model_calls == run.stats.passages > 0
    passages = assistant.store.passages_for("T2")
    previous = previous_sentences(passages)
    for passage in passages:
        answer = assistant.store.cached(
            assistant.llm_extractor.cache_key(passage, previous.get(passage.passage_id, ""))
        )
        assert answer is not None
        if answer["valid"]:
            assert all(Category(i["category"]) for i in answer["indicators"])
        else:
            assert passage.passage_id in run.stats.invalid_passages
            assert any(passage.passage_id in w and "formatet" in w for w in run.summary.warnings)
            assert all(i.citations[0].passage_id != passage.passage_id for i in run.summary.indicators)


def test_unverifiable_findings_never_reach_the_summary(make_assistant, fixture_file, monkeypatch):
    """The model is bypassed here (no model can be made to fabricate on cue): the extractor
    returns fabricated and cross-child findings, and the real pipeline must drop them."""
    from assistant.extract import ExtractionStats

    assistant = make_assistant()
    assistant.ingest([fixture_file])
    fabricated = [
        Finding(
            passage_id="T1-R1:1",
            category=Category.sexual_abuse,
            polarity=Polarity.affirmed,
            quote="pappa visade porr för henne",
        ),
        Finding(passage_id="T2-R1:1", category=Category.neglect, polarity=Polarity.affirmed, quote="smutsiga kläder"),
        Finding(
            passage_id="T1-R2:1",
            category=Category.witnessed_violence,
            polarity=Polarity.affirmed,
            quote="Polis kallades till bostaden",
        ),
    ]
    monkeypatch.setattr(
        assistant.extractor, "extract", lambda passages, previous, progress=None: (fabricated, ExtractionStats())
    )
    assistant.settings.narrative = False
    summary = assistant.summarize("T1").summary
    assert [(i.category, i.citations[0].passage_id) for i in summary.indicators] == [
        (Category.witnessed_violence, "T1-R2:1")
    ]
    assert any("T1-R1:1" in w and "quote not found" in w for w in summary.warnings)
    assert any("T2-R1:1" in w and "not given" in w for w in summary.warnings)
