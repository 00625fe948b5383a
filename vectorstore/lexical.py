"""BM25 with a Swedish stemmer: carries retrieval where the English embedding model is weak."""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[0-9a-zåäöéü]+", re.IGNORECASE)
STOPWORDS = frozenset(
    "och i att det som en på är av för med till den har de inte om ett han men hon var jag sig från "
    "vi så kan man när år säger under också efter eller nu sin där vid mot ska skulle kommer ut får "
    "finns vara hade alla andra mycket än här då sedan över bara vad in blir upp även vilket dem "
    "detta dessa hans hennes deras sina sitt min mitt mina".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("swedish")


def tokenize(text: str) -> list[str]:
    words = [w.lower() for w in WORD.findall(text)]
    return _stemmer().stemWords([w for w in words if w not in STOPWORDS])


def bm25_rank(documents: list[str], queries: list[str], k: int) -> list[list[int]]:
    """Indices of the best ``k`` documents for each query (documents with no shared term left out)."""
    import bm25s
    import numpy as np

    if not documents:
        return [[] for _ in queries]
    corpus = [tokenize(d) or ["_"] for d in documents]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    ranked: list[list[int]] = []
    for query in queries:
        tokens = [t for t in tokenize(query) if t in retriever.vocab_dict]
        if not tokens:
            ranked.append([])
            continue
        scores = retriever.get_scores(tokens)
        order = np.argsort(-scores)[:k]
        ranked.append([int(i) for i in order if scores[i] > 0])
    return ranked
