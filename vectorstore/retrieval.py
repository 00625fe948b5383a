"""Hybrid retrieval for one child: dense vectors and BM25, fused by reciprocal rank.

When all of a child's passages fit the context budget (``fits_budget``) the
caller uses them all, in date order: nothing is missed by ranking. Retrieval never crosses children:
the candidates are the child's own passages and the dense query is filtered
by ``child_id`` too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from assistant.schema import Passage
from vectorstore.embeddings import Embedder
from vectorstore.index import VectorIndex
from vectorstore.lexical import bm25_rank

CHARS_PER_TOKEN = 3.5


@dataclass(frozen=True)
class Selection:
    passages: list[Passage]
    mode: Literal["all", "retrieved"]
    total: int


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN) + 1


def fits_budget(passages: list[Passage], budget_tokens: int) -> bool:
    return sum(estimate_tokens(p.text) for p in passages) <= budget_tokens


def reciprocal_rank_fusion(rankings: list[list[str]], k: int = 60) -> list[str]:
    scores: dict[str, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] += 1.0 / (k + rank + 1)
    return sorted(scores, key=lambda item: (-scores[item], item))


class HybridRetriever:
    def __init__(self, embedder: Embedder, index: VectorIndex, budget_tokens: int, top_k: int, rrf_k: int):
        self.embedder = embedder
        self.index = index
        self.budget_tokens = budget_tokens
        self.top_k = top_k
        self.rrf_k = rrf_k
        self._query_vectors: dict[tuple[str, ...], list[list[float]]] = {}

    def query_vectors(self, queries: list[str]) -> list[list[float]]:
        """The category queries are the same for every child: embedded once per process, not per summary."""
        key = tuple(queries)
        if key not in self._query_vectors:
            self._query_vectors[key] = self.embedder.embed(queries)
        return self._query_vectors[key]

    def select(self, child_id: str, passages: list[Passage], queries: list[str]) -> Selection:
        """The best-ranked passages of ``child_id`` within the budget, in date order."""
        own = [p for p in passages if p.child_id == child_id]
        ranked = self.rank(child_id, own, queries)
        chosen: set[str] = set()
        used = 0
        by_id = {p.passage_id: p for p in own}
        for passage_id in ranked:
            cost = estimate_tokens(by_id[passage_id].text)
            if used + cost > self.budget_tokens:
                break
            chosen.add(passage_id)
            used += cost
        return Selection([p for p in own if p.passage_id in chosen], "retrieved", len(own))

    def rank(self, child_id: str, own: list[Passage], queries: list[str]) -> list[str]:
        by_id = {p.passage_id: p for p in own}
        dense = self.index.query(self.query_vectors(queries), child_id, min(self.top_k, len(own)))
        lexical = [
            [own[i].passage_id for i in ranking] for ranking in bm25_rank([p.text for p in own], queries, self.top_k)
        ]
        fused = reciprocal_rank_fusion([r for r in dense + lexical if r], self.rrf_k)
        return [pid for pid in fused if pid in by_id]
