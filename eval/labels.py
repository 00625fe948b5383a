"""Swedish names for categories and polarities, from the project's taxonomy when it
loads, else the codes themselves: a report must render even when the taxonomy does not."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.errors import UserError
from assistant.schema import Category, Polarity

POLARITY_FALLBACK = {"affirmed": "påstått", "hedged": "osäkert/i andra hand", "negated": "förnekat"}


@dataclass(frozen=True)
class Labels:
    categories: dict[str, str]
    polarities: dict[str, str]
    violence: frozenset[str]  # categories in the violence and conflict group

    def category(self, code: str) -> str:
        return self.categories.get(code, code)

    def polarity(self, code: str) -> str:
        return self.polarities.get(code, code)


def load_labels() -> Labels:
    try:
        from assistant.taxonomy import load_taxonomy

        taxonomy = load_taxonomy()
        categories = {c.value: str(taxonomy.label(c)) for c in Category}
        polarities = {p.value: str(taxonomy.polarity_label(p)) for p in Polarity}
        violence = frozenset(c.value for c, info in taxonomy.categories.items() if info.group == "violence")
        return Labels(categories, polarities, violence)
    except (ImportError, AttributeError, KeyError, ValueError, OSError, UserError):
        codes = [c.value for c in Category]
        return Labels({c: c for c in codes}, dict(POLARITY_FALLBACK), frozenset(codes[:10]))
