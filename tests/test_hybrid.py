"""How the default extractor combines the lexicon with the classifier (union).

The lexicon is the real one. The classifier is a stand-in that proposes fixed findings: the test is
about the combination policy, which must hold whatever a trained classifier proposes."""

from __future__ import annotations

import datetime as dt

from assistant.extract import ExtractionStats, HybridExtractor, LexiconExtractor
from assistant.schema import Actor, Category, Finding, Passage, Polarity
from assistant.taxonomy import load_taxonomy
from tests.conftest import make_passage

TEXT = "Han berättar att pappa slog honom med en sko i går. Efteråt satt han ensam på trappan och grät länge."


class ProposingClassifier:
    """Proposes the whole passage for each given category, as ClassifierExtractor does."""

    tag = "classifier (stand-in)"

    def __init__(self, categories: list[Category]):
        self.categories = categories

    def extract(self, passages, previous, progress=None):
        findings = [
            Finding(
                passage_id=p.passage_id,
                category=c,
                polarity=Polarity.affirmed,
                quote=p.text,
                method="classifier",
                confidence=0.9,
            )
            for p in passages
            for c in self.categories
        ]
        return findings, ExtractionStats(passages=len(passages))


def passage() -> Passage:
    return make_passage(TEXT, "H1-R1", child_id="H1", date=dt.date(2024, 5, 2))


def test_the_lexicon_finding_stands_where_both_find_the_category_and_the_classifier_adds_the_rest():
    lexicon = LexiconExtractor(load_taxonomy())
    alone, _ = lexicon.extract([passage()], {})
    physical = [f for f in alone if f.category == Category.physical_violence]
    assert physical and physical[0].actor == Actor.father and len(physical[0].quote) < len(TEXT)

    classifier = ProposingClassifier([Category.physical_violence, Category.latent_violence])
    findings, _ = HybridExtractor(None, [lexicon, classifier], "union").extract([passage()], {})
    by_category = {f.category: f for f in findings}
    assert by_category[Category.physical_violence].model_dump() == physical[0].model_dump(), (
        "the lexicon's finding, with its actor and clause, not the classifier's whole passage"
    )
    added = by_category[Category.latent_violence]
    assert added.method == "classifier" and added.quote == TEXT
    assert len([f for f in findings if f.category == Category.physical_violence]) == len(physical)
