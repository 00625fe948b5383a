"""Passage embeddings with sentence-transformers, loaded from local files only."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from assistant.errors import UserError
from assistant.settings import EmbeddingSettings


def model_folder(settings: EmbeddingSettings) -> Path:
    """The folder holding the sentence-transformers files: a path, or inside a PyPI package."""
    if settings.path:
        return Path(settings.path)
    try:
        dist = importlib.metadata.distribution(settings.package)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(f"embedding package '{settings.package}' is not installed; run 'make setup'") from None
    configs = [f for f in dist.files or [] if f.name == "modules.json" or f.name == "config_sentence_transformers.json"]
    if not configs:
        raise UserError(f"package '{settings.package}' carries no sentence-transformers model")
    return Path(dist.locate_file(configs[0])).parent


class Embedder:
    """Turns passages into vectors; ``name`` and ``dim`` are recorded in the index."""

    def __init__(self, settings: EmbeddingSettings):
        from sentence_transformers import SentenceTransformer

        self.name = settings.model
        self.batch_size = settings.batch_size
        self._model = SentenceTransformer(str(model_folder(settings)), device="cpu", local_files_only=True)
        self.dim = int(self._model.get_embedding_dimension())

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()
