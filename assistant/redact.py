"""Pseudonymisation: direct identifiers become stable placeholders before anything reaches a model or the index.

What is replaced: personnummer and samordningsnummer (with or without century, with '-', '+' or no
separator; a failing Luhn check is still replaced, a typo does not make a number anonymous), Swedish phone
numbers (national, +46, 0046, spaces, dashes), e-mail addresses, street addresses with a number
(``Storgatan 12``, ``Björkvägen 3 B``, ``Lilla Torget 4, lgh 1102``) and postnummer (``123 45``, ``SE-123 45``,
``12345 Malmö``). Names are not: a name list or a tagger is another job, so the placeholders lower the risk,
they do not make a report anonymous.

Where: ``pseudonymised_passages`` cuts a report into passages from its pseudonymised text, so the one way
through the data carries placeholders from the passage on: SQLite passages, Chroma vectors, BM25, every
prompt, the cache keys (the passage text the model saw) and citation verification (quotes are checked against
that same text). The original text stays only in the report row of the store.

The source view shows the original: a caseworker who opens a report is authorised to read it, and a
placeholder where the phone number was would not help a decision. Each passage therefore keeps its offsets
in the original report and its ``redactions`` (placeholder spans with the original spans they stand for);
``source_offset`` maps an offset in the pseudonymised passage back, so a verified quote is highlighted in the
original text. The quote itself stays the pseudonymised text the model cited, as in summaries and exports.

Placeholders are numbered per child and kind (``[TELEFON-2]``): the same number written another way
(``070-123 45 67``, ``+46 70 123 45 67``) gets the same placeholder in all of that child's reports. The store
keeps the numbering as hashes of the normalised values, never the values themselves.

Regular expressions, not a library: the one Swedish personnummer package on PyPI validates a given string but
does not find numbers in text, and a failing check must not change the outcome here; Luhn is a few lines.
Measured on ``eval/data/redaction/labelled.jsonl`` with ``python -m eval.redaction`` (README).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from assistant.passages import split_passages
from assistant.schema import Passage, Redaction, Report

VERSION = "redact.v1"  # stored with each report; a change re-cuts the passages of older reports

Kind = Literal["PERSONNUMMER", "SAMORDNINGSNUMMER", "TELEFON", "E-POST", "ADRESS", "POSTNUMMER"]
KINDS: tuple[Kind, ...] = ("PERSONNUMMER", "SAMORDNINGSNUMMER", "TELEFON", "E-POST", "ADRESS", "POSTNUMMER")


@dataclass(frozen=True)
class Entity:
    kind: Kind
    start: int
    end: int
    text: str
    key: str  # the normalised value: one person's number written two ways has one key
    valid: bool = True  # personnummer: passes the date and Luhn checks (replaced either way)


# --- finding -------------------------------------------------------------------------------------

_NOT_BEFORE = r"(?<![\w+\-/.@])"
_NOT_AFTER = r"(?![\w@]|[-/.]\d)"

ID_NUMBER = re.compile(
    _NOT_BEFORE + r"(?P<century>1[89]|20)?(?P<date>\d{6})(?P<sep>[-+ ]?)(?P<tail>\d{4})" + _NOT_AFTER
)
ID_CONTEXT = re.compile(r"(?i)(person|pnr|p-nr|samordning|född|f\.\s*\d|identitet)[\w.-]*\W{0,3}$")

PHONE = re.compile(
    _NOT_BEFORE
    + r"(?P<prefix>(?:\+|00)46[\s-]?(?:\(0\)[\s-]?)?|\(?0)"
    + r"(?P<number>\d{1,4}\)?(?:(?:\s|-|\s-\s)?\(?\d{1,4}\)?){1,5})"
    + _NOT_AFTER
)
PHONE_GROUPS = re.compile(r"\d+")
DATE_OR_CASE = re.compile(r"\d{4}-\d{2,4}(-\d{2})?|\d{2}-\d{2}-\d{4}")  # '2023-0456', '03-04-2024': not phones

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")

_STREET_SUFFIXES = (
    "gatan gata vägen väg gränd gränden torget torg allén allé backen backe stigen stig plan planen leden led "
    "platsen gången slingan promenaden kajen esplanaden höjden liden ringen strand stranden kroken vägen "
    "ängen gårdsväg parken"
).split()
_NAME = r"[A-ZÅÄÖÉ][a-zåäöéü]+"
_SUFFIX_FORMS = {w.capitalize() for w in _STREET_SUFFIXES} | set(_STREET_SUFFIXES)
_SUFFIX = "(?:" + "|".join(sorted(_SUFFIX_FORMS, key=len, reverse=True)) + ")"
_STREET_PREFIX = r"(?:Norra|Södra|Östra|Västra|Stora|Lilla|Gamla|Nya|Övre|Nedre|Yttre|Inre|Sankt|S:t)"
# Written in lower case only the unambiguous kinds: 'storgatan 12', but not 'omvägen 3 gånger'.
_LOWER_STREET = r"[a-zåäö]{2,}(?:gatan|gränd|torget|allén)"
_NOT_A_PLACE = (
    r"(?!(?:På|I|Vid|Mot|Till|Från|Han|Hon|Hen|De|Det|Den|Vi|Ni|Jag|Och|Men|Om|Bor|Som|Där|Adress|Adressen)\s)"
)
ADDRESS = re.compile(
    r"(?<![\w])"
    + _NOT_A_PLACE
    + rf"(?:(?:{_STREET_PREFIX}[\s-])?[A-ZÅÄÖÉ][a-zåäöéü]*{_SUFFIX}|{_NAME}\s{_SUFFIX}|{_LOWER_STREET})"
    + r"\s\d{1,4}(?:\s?-\s?\d{1,4})?(?:\s?[A-H](?![\wåäö]))?"
    + r"(?:,?\s(?:lgh|lägenhet)\.?\s?\d{3,4})?"
    + r"(?:,?\s\d\s?(?:tr|trappor)\.?(?![\wåäö]))?"
    + r"(?![\wåäö])"
)

POSTCODE = re.compile(
    r"(?<![\w\-+/.:])(?:SE?-?\s?[1-9]\d{2}\s?\d{2}"
    r"|[1-9]\d{2}\s\d{2}(?!\s?(?:kr|kronor|sek|st|år|%|procent)\b)"
    r"|[1-9]\d{4}(?=\s+[A-ZÅÄÖ][a-zåäö]+))"
    r"(?![\w\-/.,:]\d|\d|[\-:]\w)"
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(digits):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _id_numbers(text: str) -> Iterator[Entity]:
    for m in ID_NUMBER.finditer(text):
        date, tail = m["date"], m["tail"]
        month, day = int(date[2:4]), int(date[4:6])
        coordination = 61 <= day <= 91
        if not (1 <= month <= 12 and (1 <= day <= 31 or coordination)):
            continue
        phone_like = m["sep"] in ("", " ") and not m["century"] and date.startswith("0")
        if phone_like and not ID_CONTEXT.search(text[max(0, m.start() - 40) : m.start()]):
            continue  # '0701234567' is a phone number unless the text says otherwise
        key = date + tail
        kind: Kind = "SAMORDNINGSNUMMER" if coordination else "PERSONNUMMER"
        yield Entity(kind, m.start(), m.end(), m.group(), key, luhn_ok(key))


def _phones(text: str) -> Iterator[Entity]:
    for m in PHONE.finditer(text):
        groups = list(PHONE_GROUPS.finditer(m["number"]))
        international = "46" in m["prefix"]
        national = ""
        while groups:  # drop trailing groups that belong to the next words ("070-123 45 67 12 gånger")
            digits = "".join(g.group() for g in groups)
            national = digits[1:] if international and digits.startswith("0") else digits
            if 7 <= len(national) <= 9:
                break
            groups.pop()
        if not groups:
            continue
        end = m.start("number") + groups[-1].end()
        if not international and DATE_OR_CASE.fullmatch(text[m.start() : end]):
            continue
        yield Entity("TELEFON", m.start(), end, text[m.start() : end], "0" + national)


def _emails(text: str) -> Iterator[Entity]:
    for m in EMAIL.finditer(text):
        yield Entity("E-POST", m.start(), m.end(), m.group(), m.group().lower())


def _addresses(text: str) -> Iterator[Entity]:
    for m in ADDRESS.finditer(text):
        yield Entity("ADRESS", m.start(), m.end(), m.group(), re.sub(r"[\W_]+", "", m.group().lower()))


def _postcodes(text: str) -> Iterator[Entity]:
    for m in POSTCODE.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        yield Entity("POSTNUMMER", m.start(), m.end(), m.group(), digits)


# Earlier finders win an overlap: an e-mail's digits are not a phone, a phone's '123 45' is not a postnummer.
FINDERS: tuple[Callable[[str], Iterator[Entity]], ...] = (_emails, _id_numbers, _phones, _addresses, _postcodes)


def find_entities(text: str) -> list[Entity]:
    """Every identifier in ``text``, in order, none overlapping another."""
    taken: list[Entity] = []
    for finder in FINDERS:
        for entity in finder(text):
            if not any(entity.start < t.end and t.start < entity.end for t in taken):
                taken.append(entity)
    return sorted(taken, key=lambda e: e.start)


# --- replacing -----------------------------------------------------------------------------------


def value_digest(kind: str, key: str) -> str:
    return hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()


@dataclass
class Pseudonyms:
    """One child's numbering: (kind, digest of the normalised value) -> n, growing as new values appear."""

    known: dict[tuple[str, str], int] = field(default_factory=dict)
    added: dict[tuple[str, str], int] = field(default_factory=dict)

    def placeholder(self, entity: Entity) -> str:
        slot = (entity.kind, value_digest(entity.kind, entity.key))
        number = self.known.get(slot)
        if number is None:
            number = 1 + sum(1 for kind, _ in self.known if kind == entity.kind)
            self.known[slot] = self.added[slot] = number
        return f"[{entity.kind}-{number}]"


@dataclass(frozen=True)
class Pseudonymised:
    text: str
    redactions: list[Redaction]  # source_start/source_end index the original text


def pseudonymise(text: str, pseudonyms: Pseudonyms) -> Pseudonymised:
    out: list[str] = []
    redactions: list[Redaction] = []
    cursor = length = 0
    for entity in find_entities(text):
        out.append(text[cursor : entity.start])
        length += entity.start - cursor
        placeholder = pseudonyms.placeholder(entity)
        out.append(placeholder)
        redactions.append(
            Redaction(
                kind=entity.kind,
                start=length,
                end=length + len(placeholder),
                source_start=entity.start,
                source_end=entity.end,
            )
        )
        length += len(placeholder)
        cursor = entity.end
    out.append(text[cursor:])
    return Pseudonymised("".join(out), redactions)


def to_source(offset: int, redactions: list[Redaction], side: Literal["start", "end"], base: int = 0) -> int:
    """An offset in pseudonymised text as an offset in the original; inside a placeholder it snaps outward."""
    source = base + offset
    for r in redactions:
        if offset <= r.start:
            break
        if offset < r.end:
            return r.source_start if side == "start" else r.source_end
        source = r.source_end + (offset - r.end)
    return source


def source_offset(passage: Passage, offset: int, side: Literal["start", "end"]) -> int:
    """Where ``offset`` in ``passage.text`` lies in the original report text."""
    return to_source(offset, passage.redactions, side, passage.start)


def pseudonymised_passages(report: Report, max_chars: int, pseudonyms: Pseudonyms) -> list[Passage]:
    """Passages cut from the pseudonymised report, with offsets into the original report text."""
    done = pseudonymise(report.text, pseudonyms)
    passages = split_passages(report.model_copy(update={"text": done.text}), max_chars)
    result = []
    for p in passages:
        inside = [r for r in done.redactions if p.start <= r.start and r.end <= p.end]
        start = to_source(p.start, done.redactions, "start")
        local = [r.model_copy(update={"start": r.start - p.start, "end": r.end - p.start}) for r in inside]
        result.append(
            p.model_copy(update={"start": start, "end": to_source(p.end, done.redactions, "end"), "redactions": local})
        )
    return result
