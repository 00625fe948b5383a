"""Typed records passed between the pipeline steps.

files -> Report -> Passage -> (index) -> Candidate passages -> Finding (raw model
output) -> Indicator with verified Citations -> Summary.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field


class Category(StrEnum):
    physical_violence = "physical_violence"
    psychological_violence = "psychological_violence"
    sexual_abuse = "sexual_abuse"
    material_violence = "material_violence"
    economic_abuse = "economic_abuse"
    latent_violence = "latent_violence"
    neglect = "neglect"
    witnessed_violence = "witnessed_violence"
    honour_violence = "honour_violence"
    parental_conflict = "parental_conflict"
    parental_substance_abuse = "parental_substance_abuse"
    parental_mental_illness = "parental_mental_illness"
    child_risk_behaviour = "child_risk_behaviour"
    protective_factor = "protective_factor"


class Polarity(StrEnum):
    affirmed = "affirmed"
    hedged = "hedged"
    negated = "negated"


class Actor(StrEnum):
    mother = "mother"
    father = "father"
    step_parent = "step_parent"
    sibling = "sibling"
    relative = "relative"
    other = "other"
    unknown = "unknown"


class Victim(StrEnum):
    child = "child"
    sibling = "sibling"
    parent = "parent"
    other = "other"


class Source(StrEnum):
    child = "child"
    reporter = "reporter"
    second_hand = "second_hand"


REPORTER_CATEGORIES = (
    "skola",
    "förskola",
    "hälso- och sjukvård",
    "polis",
    "socialtjänst",
    "annan myndighet",
    "privatperson",
    "anonym",
    "okänd",
)


class Report(BaseModel):
    report_id: str
    child_id: str
    date: dt.date
    reporter: str
    text: str
    source_file: str = ""


class Redaction(BaseModel):
    """A placeholder in a passage's text (``start``/``end``) and the span of the report it replaces."""

    kind: str
    start: int
    end: int
    source_start: int
    source_end: int


class Passage(BaseModel):
    """A sentence or two of one report, with offsets into the report text.

    With pseudonymisation on (``assistant.redact``) the text carries placeholders; ``redactions`` maps them back.
    """

    passage_id: str  # "<report_id>:<n>"
    report_id: str
    child_id: str
    n: int
    start: int
    end: int
    text: str
    date: dt.date
    reporter: str
    redactions: list[Redaction] = Field(default_factory=list)


class Finding(BaseModel):
    """One indicator as an extractor proposes it for one passage, before verification."""

    passage_id: str
    category: Category
    polarity: Polarity
    actor: Actor = Actor.unknown
    victim: Victim = Victim.child
    source: Source = Source.reporter
    quote: str
    method: str = "llm"  # which extractor produced it: llm, lexicon, classifier, hybrid
    confidence: float | None = None


class Citation(BaseModel):
    report_id: str
    passage_id: str
    quote: str
    verified: bool
    start: int | None = None  # character offsets of the quote in the report text
    end: int | None = None
    match_score: float | None = None


class Indicator(BaseModel):
    category: Category
    label: str
    polarity: Polarity
    actor: Actor
    victim: Victim
    source: Source
    date: dt.date
    description: str
    citations: list[Citation]
    method: str = "llm"


class CategorySummary(BaseModel):
    category: Category
    label: str
    count: int
    first_date: dt.date
    last_date: dt.date
    actors: list[Actor]
    polarities: dict[str, int]


class ReportRef(BaseModel):
    report_id: str
    date: dt.date
    reporter: str
    categories: list[Category] = Field(default_factory=list)


class ModelRef(BaseModel):
    name: str
    sha256: str


class Summary(BaseModel):
    child_id: str
    generated_at: dt.datetime
    model: ModelRef
    prompt_version: str
    embedding_model: str = ""
    settings: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="the settings that shaped it (assistant.provenance.result_settings)"
    )
    reports: list[ReportRef]
    indicators: list[Indicator]
    categories: list[CategorySummary] = Field(default_factory=list)
    escalation: list[str] = Field(default_factory=list)
    narrative: str = ""
    warnings: list[str] = Field(default_factory=list)
    notice: str = ""
