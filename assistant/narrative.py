"""The short narrative: written by the LLM from verified indicators only.

Every sentence must cite at least one indicator number that exists; sentences
that do not are removed, and when none survive a plain narrative built from
the category counts stands in, with a warning. The model never sees raw reports here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection

from assistant.llm import LLM
from assistant.prompts import Prompt
from assistant.schema import CategorySummary, Indicator
from assistant.store import Store
from assistant.taxonomy import Taxonomy

MARKER = re.compile(r"\[(\d+)\]")
QUOTE_CHARS = 200  # a classifier cites a whole passage; the narrative needs only its gist
CHARS_PER_TOKEN = 2.2  # measured on Swedish report text: Qwen2.5 3.0, SmolLM2 2.4 characters a token
POLARITY_KEPT_FIRST = {"negated": 0, "hedged": 1, "affirmed": 2}  # what the narrative gives up first
SENTENCE = re.compile(r"[^.!?]*[.!?]?(?:\s*\[\d+\])*", re.UNICODE)


def narrative_items(indicators: list[Indicator], reporters: dict[str, str], taxonomy: Taxonomy) -> list[dict]:
    return [
        {
            "number": number,
            "date": ind.date.isoformat(),
            "reporter": reporters.get(ind.citations[0].report_id, ""),
            "label": ind.label,
            "polarity": taxonomy.polarity_label(ind.polarity),
            "polarity_value": ind.polarity.value,
            "actor": taxonomy.actor_label(ind.actor) if ind.actor.value != "unknown" else "",
            "quote": ind.citations[0].quote,
        }
        for number, ind in enumerate(indicators, start=1)
    ]


def fit_items(items: list[dict], render, context_tokens: int) -> list[dict]:
    """The items whose prompt, ``render(items)``, fits ``context_tokens`` by a cautious estimate.

    Quotes are cut to ``QUOTE_CHARS``; then denials, then second-hand accounts, each oldest first,
    are left out until the prompt fits. Items keep the numbers of the summary's list, so the
    narrative's citations still point at the right indicators.
    """
    shortened = [{**item, "quote": _shorten(item["quote"])} for item in items]
    kept = list(shortened)
    leave_out = sorted(shortened, key=lambda i: (POLARITY_KEPT_FIRST.get(i["polarity_value"], 2), i["date"]))
    while kept and len(render(kept)) / CHARS_PER_TOKEN > context_tokens:
        kept.remove(leave_out.pop(0))
    return kept


def _shorten(quote: str) -> str:
    return quote if len(quote) <= QUOTE_CHARS else quote[: QUOTE_CHARS - 1].rsplit(" ", 1)[0] + " …"


ECHO = re.compile(r"\[\d+\]\s*\d{4}-\d{2}-\d{2},|^\s*Uppgifter:", re.MULTILINE)


def echoes_input(text: str) -> bool:
    """A small model sometimes copies the numbered list back instead of writing prose."""
    return bool(ECHO.search(text))


def keep_cited_sentences(text: str, numbers: Collection[int]) -> tuple[str, int]:
    """Sentences citing only the numbers the model was given; returns the text and how many were dropped."""
    kept: list[str] = []
    dropped = 0
    for sentence in (s.strip() for s in SENTENCE.findall(text)):
        if not sentence:
            continue
        cited = [int(n) for n in MARKER.findall(sentence)]
        if cited and all(n in numbers for n in cited):
            kept.append(sentence)
        else:
            dropped += 1
    return " ".join(kept), dropped


def fallback_narrative(categories: list[CategorySummary], indicators: list[Indicator]) -> str:
    sentences = []
    for summary in categories:
        numbers = [str(n) for n, ind in enumerate(indicators, start=1) if ind.category == summary.category]
        markers = "".join(f"[{n}]" for n in numbers[:6])
        if summary.count:
            span = f"mellan {summary.first_date} och {summary.last_date}"
            sentences.append(f"{summary.label}: {summary.count} uppgift(er) {span} {markers}.")
        else:
            sentences.append(f"{summary.label}: endast uppgifter som förnekas eller inte bekräftats {markers}.")
    return " ".join(sentences)


class NarrativeWriter:
    def __init__(self, llm: LLM, prompt: Prompt, store: Store, max_tokens: int):
        self.llm = llm
        self.prompt = prompt
        self.store = store
        self.max_tokens = max_tokens

    def cache_key(self, child_id: str, items: list[dict]) -> str:
        material = json.dumps(["narrative", child_id, items, self.llm.ref.sha256, self.prompt.tag], ensure_ascii=False)
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def fitting(self, child_id: str, items: list[dict], context_tokens: int) -> list[dict]:
        """The items that fit the model's context with room for the answer (``fit_items``)."""
        return fit_items(
            items,
            lambda chosen: json.dumps(self._messages(child_id, chosen), ensure_ascii=False),
            context_tokens - self.max_tokens,
        )

    def _messages(self, child_id: str, items: list[dict]) -> list[dict]:
        return self.prompt.messages({}, {"child_id": child_id, "items": items})

    def write(self, child_id: str, items: list[dict], on_text=None) -> str:
        """The raw narrative (cached); ``on_text`` receives the growing text while it streams."""
        if not items:
            return ""
        key = self.cache_key(child_id, items)
        cached = self.store.cached(key)
        if cached is not None:
            return str(cached)
        messages = self._messages(child_id, items)
        text = ""
        for piece in self.llm.stream(messages, self.max_tokens):
            text += piece
            if on_text:
                on_text(text)
        self.store.cache(key, "narrative", text, child_id)
        return text
