from __future__ import annotations

import datetime as dt

from assistant.passages import split_passages, split_sentences
from assistant.schema import Report


def report(text: str) -> Report:
    return Report(report_id="R9", child_id="C9", date=dt.date(2024, 1, 2), reporter="skola", text=text)


def test_abbreviations_and_times_do_not_end_sentences():
    text = "Mötet hölls kl. 14.30 med bl.a. mamma och t.ex. skolkuratorn. Pappan kom inte."
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == [
        "Mötet hölls kl. 14.30 med bl.a. mamma och t.ex. skolkuratorn.",
        "Pappan kom inte.",
    ]


def test_passages_keep_offsets_into_the_report():
    text = "  Elsa berättar att pappa slog henne i ansiktet igår kväll.\n\nHon var rädd. Hon grät.  "
    passages = split_passages(report(text))
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text
    assert [p.passage_id for p in passages] == [f"R9:{n}" for n in range(1, len(passages) + 1)]
    assert passages[-1].text == "Hon var rädd. Hon grät."  # two short sentences join


def test_same_text_gives_same_passages():
    text = "Första meningen är här och den är ganska lång. Andra meningen följer efter den första."
    assert split_passages(report(text)) == split_passages(report(text))


def test_long_sentences_stay_separate():
    sentence = "Detta är en lång mening som beskriver vad som hände i hemmet under kvällen. "
    passages = split_passages(report(sentence * 3))
    assert len(passages) == 3
