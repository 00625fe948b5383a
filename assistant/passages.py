"""Reports -> passages: a sentence or two each, with stable ids and offsets.

Ids are ``<report_id>:<n>``; ``report.text[start:end] == passage.text`` always
holds here, so a citation can be highlighted in the original report. Pseudonymised
passages (``assistant.redact``) keep these offsets and map their placeholders back.
"""

from __future__ import annotations

import re

from assistant.schema import Passage, Report

# Abbreviations after which a full stop does not end a sentence.
ABBREVIATIONS = {
    "bl.a",
    "t.ex",
    "d.v.s",
    "dvs",
    "m.m",
    "o.s.v",
    "osv",
    "kl",
    "ca",
    "f.d",
    "s.k",
    "p.g.a",
    "pga",
    "t.o.m",
    "fr.o.m",
    "o.d",
    "resp",
    "ev",
    "jfr",
    "nr",
    "tel",
    "mfl",
    "m.fl",
    "st",
    "e.d",
    "f.n",
    "inkl",
    "exkl",
    "enl",
    "ang",
    "avd",
    "tfn",
    "obs",
    "dr",
    "mr",
    "vs",
    "ung",
    "mån",
    "tis",
    "ons",
    "tor",
    "fre",
    "lör",
    "sön",
    "jan",
    "feb",
    "mar",
    "apr",
    "aug",
    "sep",
    "sept",
    "okt",
    "nov",
    "dec",
}
SENTENCE_END = re.compile(r"[.!?…]+[\"'”»)]*(?=\s)|\n\s*\n|\n(?=\s*[-•*]\s)|\n")
MIN_SENTENCE_CHARS = 40


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of sentences; newlines end sentences, abbreviations do not."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in SENTENCE_END.finditer(text):
        end = match.end()
        if match.group().startswith(".") and _ends_with_abbreviation(text[start : match.start()]):
            continue
        if match.group().startswith(".") and _is_number_dot(text, match.start()):
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    return [s for s in (_strip(text, a, b) for a, b in spans) if s[1] > s[0]]


def _ends_with_abbreviation(before: str) -> bool:
    word = re.search(r"(\S+)$", before)
    return bool(word) and word.group(1).lower().lstrip("(\"'") in ABBREVIATIONS


def _is_number_dot(text: str, dot: int) -> bool:
    """'kl. 14.30' and '3. ' in numbered lists are not sentence ends when a digit follows the space."""
    following = text[dot + 1 : dot + 3]
    return dot > 0 and text[dot - 1].isdigit() and following[:1] == " " and following[1:2].isdigit()


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_passages(report: Report, max_chars: int = 400) -> list[Passage]:
    """Group sentences into passages: a short sentence joins its neighbour, up to ``max_chars``."""
    groups: list[tuple[int, int]] = []
    for start, end in split_sentences(report.text):
        if groups:
            g_start, g_end = groups[-1]
            same_paragraph = "\n\n" not in report.text[g_end:start]
            short = (g_end - g_start) < MIN_SENTENCE_CHARS or (end - start) < MIN_SENTENCE_CHARS
            if same_paragraph and short and end - g_start <= max_chars:
                groups[-1] = (g_start, end)
                continue
        groups.append((start, end))
    return [
        Passage(
            passage_id=f"{report.report_id}:{n}",
            report_id=report.report_id,
            child_id=report.child_id,
            n=n,
            start=start,
            end=end,
            text=report.text[start:end],
            date=report.date,
            reporter=report.reporter,
        )
        for n, (start, end) in enumerate(groups, start=1)
    ]


def by_report(passages: list[Passage]) -> dict[str, list[Passage]]:
    """The passages grouped by report, each report's in reading order (its context for the classifier)."""
    reports: dict[str, list[Passage]] = {}
    for passage in sorted(passages, key=lambda p: p.n):
        reports.setdefault(passage.report_id, []).append(passage)
    return reports
