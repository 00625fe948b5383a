"""Citation verification: nothing unverified is shown as fact.

A citation holds when it names a passage of this child that the extractor was
given, and its quote occurs in that passage: exactly, or after normalising
case, whitespace and punctuation, or fuzzily with rapidfuzz's partial ratio at
or above ``threshold`` (0-100; default 90, set in settings.verification).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from assistant.redact import source_offset
from assistant.schema import Citation, Finding, Passage

MIN_QUOTE_CHARS = 3
_KEEP = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True)
class Verdict:
    finding: Finding
    citation: Citation
    reason: str = ""  # why it failed; empty when verified


def normalise(text: str) -> tuple[str, list[int]]:
    """Lower-case word characters with single spaces, and each kept character's index in ``text``."""
    chars: list[str] = []
    index: list[int] = []
    text = unicodedata.normalize("NFC", text)
    for i, ch in enumerate(text):
        if _KEEP.match(ch):
            chars.append(ch.lower())
            index.append(i)
        elif chars and chars[-1] != " ":
            chars.append(" ")
            index.append(i)
    while chars and chars[-1] == " ":
        chars.pop()
        index.pop()
    return "".join(chars), index


def locate(quote: str, passage_text: str, threshold: float) -> tuple[int, int, float] | None:
    """Offsets of ``quote`` within ``passage_text`` and a match score (100 = exact), or None."""
    exact = passage_text.find(quote)
    if exact >= 0 and quote.strip():
        return exact, exact + len(quote), 100.0
    norm_quote, _ = normalise(quote)
    norm_text, index = normalise(passage_text)
    if len(norm_quote) < MIN_QUOTE_CHARS or not norm_text:
        return None
    at = norm_text.find(norm_quote)
    if at >= 0:
        return index[at], index[at + len(norm_quote) - 1] + 1, 99.0
    alignment = fuzz.partial_ratio_alignment(norm_quote, norm_text, score_cutoff=threshold)
    if alignment is None or alignment.score < threshold:
        return None
    return index[alignment.dest_start], index[alignment.dest_end - 1] + 1, float(alignment.score)


def verify(findings: list[Finding], given: dict[str, Passage], child_id: str, threshold: float) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for finding in findings:
        passage = given.get(finding.passage_id)
        citation = Citation(
            report_id=passage.report_id if passage else finding.passage_id.rsplit(":", 1)[0],
            passage_id=finding.passage_id,
            quote=finding.quote,
            verified=False,
        )
        if passage is None:
            verdicts.append(Verdict(finding, citation, "cites a passage the model was not given"))
            continue
        if passage.child_id != child_id:
            verdicts.append(Verdict(finding, citation, f"cites a passage of another child ({passage.child_id})"))
            continue
        found = locate(finding.quote, passage.text, threshold)
        if found is None:
            verdicts.append(Verdict(finding, citation, "quote not found in the cited passage"))
            continue
        start, end, score = found
        verified = citation.model_copy(
            update={
                "verified": True,
                "quote": passage.text[start:end],
                "start": source_offset(passage, start, "start"),
                "end": source_offset(passage, end, "end"),
                "match_score": score,
            }
        )
        verdicts.append(Verdict(finding, verified))
    return verdicts
