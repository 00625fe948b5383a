"""Citation verification, with hand-made findings (no model needed)."""

from __future__ import annotations

import datetime as dt

from assistant.schema import Category, Finding, Passage, Polarity
from assistant.verify import locate, normalise, verify


def passage(pid: str, child: str, text: str, start: int = 100) -> Passage:
    return Passage(
        passage_id=pid,
        report_id=pid.split(":")[0],
        child_id=child,
        n=1,
        start=start,
        end=start + len(text),
        text=text,
        date=dt.date(2023, 1, 1),
        reporter="polis",
    )


def finding(pid: str, quote: str) -> Finding:
    return Finding(passage_id=pid, category=Category.physical_violence, polarity=Polarity.affirmed, quote=quote)


A = passage("A-R1:1", "A", "Elsa berättar att pappa slog henne, hårt, i ansiktet.")
B = passage("B-R1:1", "B", "Omar säger att storebror sparkade honom.")
GIVEN = {A.passage_id: A}


def test_exact_quote_is_verified_with_report_offsets():
    [v] = verify([finding(A.passage_id, "pappa slog henne")], GIVEN, "A", 90)
    assert v.citation.verified and v.citation.match_score == 100
    assert (v.citation.start, v.citation.end) == (100 + A.text.index("pappa"), 100 + A.text.index("pappa") + 16)


def test_case_whitespace_and_punctuation_are_forgiven_and_the_source_text_is_shown():
    [v] = verify([finding(A.passage_id, "Pappa slog  henne hårt i ansiktet")], GIVEN, "A", 90)
    assert v.citation.verified
    assert v.citation.quote == "pappa slog henne, hårt, i ansiktet"


def test_fabricated_quote_is_rejected():
    [v] = verify([finding(A.passage_id, "mamma hotade att döda henne")], GIVEN, "A", 90)
    assert not v.citation.verified and v.reason == "quote not found in the cited passage"


def test_passage_of_another_child_is_rejected_even_if_given():
    [v] = verify([finding(B.passage_id, "storebror sparkade honom")], {**GIVEN, B.passage_id: B}, "A", 90)
    assert not v.citation.verified and "another child" in v.reason


def test_passage_not_given_is_rejected():
    [v] = verify([finding("A-R9:4", "pappa slog henne")], GIVEN, "A", 90)
    assert not v.citation.verified and "not given" in v.reason


def test_fuzzy_threshold_decides_near_misses():
    near = "pappa slg henne hårt"  # one letter lost
    assert locate(near, A.text, 85) is not None
    assert locate(near, A.text, 99) is None


def test_normalise_maps_back_to_original_offsets():
    text = "A,  b!C"
    norm, index = normalise(text)
    assert norm == "a b c"
    assert [text[i] for i in index] == ["A", ",", "b", "!", "C"]


def test_a_narrative_that_copies_the_numbered_list_is_recognised():
    from assistant.narrative import echoes_input, keep_cited_sentences

    copied = 'Barn: D01\nUppgifter:\n[1] 2021-09-14, förskola: Försummelse (bekräftad uppgift). Citat: "x"'
    prose = "Förskolan beskrev 2021 att Elsa ofta var hungrig [1]. Senare uppgav mamman hot [2][3]."
    assert echoes_input(copied)
    assert not echoes_input(prose)
    assert keep_cited_sentences(prose + " En mening utan källa.", {1, 2, 3}) == (prose, 1)
    assert keep_cited_sentences("Något hände [4].", {1, 2, 3}) == ("", 1)
    assert keep_cited_sentences("Något hände [2].", {1, 3}) == ("", 1), "a number the model was not given"
