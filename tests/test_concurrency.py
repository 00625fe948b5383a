"""Several caseworkers at once: one Assistant and one loaded tiny model (llama-cpp-python, one
context, used under its lock) serve threads that summarise different children while another
thread ingests. The summaries equal those made one at a time, and no session sees another's
state. Real model, embeddings, Chroma and SQLite throughout."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from assistant.schema import Category, Polarity
from tests.test_ui_fixtures import KnownFinding, fixture_reports, make_summary
from ui.service import CaseDesk

CHILDREN = ["T2", "T3", "T5"]
EXTRA = [
    {
        "report_id": "T3-R1",
        "child_id": "T3",
        "date": "2023-06-01",
        "reporter": "anonym",
        "text": "Grannen hör skrik och slag från lägenheten. Pojken säger att mamma gråter ofta.",
    },
    {
        "report_id": "T5-R1",
        "child_id": "T5",
        "date": "2023-06-11",
        "reporter": "polis",
        "text": "Pappan greps efter att ha slagit mamman inför barnen.",
    },
]
NEW = {
    "report_id": "T4-R1",
    "child_id": "T4",
    "date": "2023-07-01",
    "reporter": "skola",
    "text": "Flickan har ett blåmärke på armen och säger att hon ramlade. Hon vill inte gå hem.",
}


def comparable(summary) -> dict:
    data = summary.model_dump(mode="json")
    data.pop("generated_at")
    return data


def prepared(make_assistant, tmp_path, name: str, fixture_file):
    assistant = make_assistant(tmp_path / name)
    assistant.settings.llm.narrative_max_tokens = 32
    extra = tmp_path / f"{name}-extra.jsonl"
    extra.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in EXTRA))
    assert not any(r.error for r in assistant.ingest([fixture_file, extra]))
    new = tmp_path / f"{name}-new.jsonl"
    new.write_text(json.dumps(NEW, ensure_ascii=False) + "\n")
    return assistant, new


def test_concurrent_summaries_and_ingest_equal_one_at_a_time(make_assistant, tmp_path, fixture_file):
    alone, new = prepared(make_assistant, tmp_path, "alone", fixture_file)
    expected = {child: comparable(alone.summarize(child).summary) for child in CHILDREN}
    assert any(expected[c]["indicators"] for c in CHILDREN), "nothing found: the comparison would mean little"
    [added] = alone.ingest([new])
    assert added.outcomes == {"T4-R1": "added"}

    shared, new = prepared(make_assistant, tmp_path, "shared", fixture_file)
    assert shared.llm.model() is alone.llm.model()  # one llama.cpp context for every thread
    start = threading.Barrier(len(CHILDREN) + 1)

    def summarize(child: str) -> dict:
        start.wait()
        return comparable(shared.summarize(child).summary)

    def ingest():
        start.wait()
        return shared.ingest([new])

    with ThreadPoolExecutor(max_workers=len(CHILDREN) + 1) as pool:
        summaries = {child: pool.submit(summarize, child) for child in CHILDREN}
        ingested = pool.submit(ingest)
        got = {child: future.result(timeout=900) for child, future in summaries.items()}
        [result] = ingested.result(timeout=900)

    assert result.error == "" and result.outcomes == {"T4-R1": "added"}
    for child in CHILDREN:
        assert got[child] == expected[child], child
        assert {r["report_id"].split("-")[0] for r in got[child]["reports"]} == {child}
    assert sorted(shared.index.all_ids()) == sorted(shared.store.passage_ids())
    assert [p.text for p in shared.store.passages_for("T4")] == [p.text for p in alone.store.passages_for("T4")]


def test_sessions_on_one_desk_keep_their_own_child_summary_and_corrections(tmp_path):
    """What ui/app.py keeps per session (the child and the summary in gr.State) comes back from
    the desk per call; the desk itself holds nothing of a session, so two sessions working at
    once through one desk, or through two desks on one home, never see each other's case."""
    from assistant.pipeline import Assistant
    from assistant.settings import Settings
    from assistant.store import Store
    from tests.test_ui_fixtures import passages_of

    home = tmp_path / "home"
    Store(Settings(home=home).db_path).upsert_reports([(r, passages_of([r])) for r in fixture_reports()])
    desk = CaseDesk(Assistant(Settings(home=home)))
    other_desk = CaseDesk(Assistant(Settings(home=home)))
    summaries = {
        "T1": make_summary(),
        "T2": make_summary(
            fixture_reports("T2"),
            [KnownFinding("är hungrig när han kommer på morgonen", Category.neglect, Polarity.affirmed)],
            narrative="Omar är ofta hungrig [1].",
        ),
    }
    desk_state = dict(vars(desk))
    start = threading.Barrier(2)

    def session(which: CaseDesk, child: str, user: str) -> dict:
        start.wait()
        which.record(summaries[child])
        case = which.open_case(child)
        which.correct(case.summary, 1, "reject", user)
        return {"case": which.open_case(child), "review": which.review(case.summary)}

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(session, desk, "T1", "Anna Andersson")
        second = pool.submit(session, other_desk, "T2", "Bo Berg")
        a, b = first.result(timeout=120), second.result(timeout=120)

    assert vars(desk) == desk_state  # nothing of a session was kept on the desk
    assert (a["case"].child_id, a["case"].summary.child_id) == ("T1", "T1")
    assert (b["case"].child_id, b["case"].summary.child_id) == ("T2", "T2")
    assert a["case"].summary == summaries["T1"] and b["case"].summary == summaries["T2"]
    assert {r.child_id for r in a["case"].reports} == {"T1"} and {r.child_id for r in b["case"].reports} == {"T2"}
    assert [i.correction.user for i in a["review"].items if i.correction] == ["Anna Andersson"]
    assert [i.correction.user for i in b["review"].items if i.correction] == ["Bo Berg"]
    assert desk.report_of("T1", "T2-R1") is None  # a session showing T1 cannot open T2's report
