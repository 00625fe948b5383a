"""Passage embeddings from a local sentence-transformers model, run by torch or ONNX Runtime (``embedding.backend``)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np

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


def embedding_name(settings: EmbeddingSettings) -> str:
    """The name recorded in the index and the classifier: another backend's vectors differ, so it differs."""
    if settings.backend == "torch":
        return settings.model
    from vectorstore.onnx_embedding import variant

    return f"{settings.model}+{variant(settings)}"


class TorchEncoder:
    """sentence-transformers on torch, in batches of ``embedding.batch_size``."""

    def __init__(self, folder: Path, settings: EmbeddingSettings):
        from sentence_transformers import SentenceTransformer

        self.batch_size = settings.batch_size
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.dim = int(self._model.get_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)


class Embedder:
    """Turns passages into unit vectors; ``name`` and ``dim`` are recorded in the index."""

    def __init__(self, settings: EmbeddingSettings):
        from vectorstore.onnx_embedding import OnnxEncoder

        self.name = embedding_name(settings)
        encoder = TorchEncoder if settings.backend == "torch" else OnnxEncoder
        self._encoder = encoder(model_folder(settings), settings)
        self.dim = self._encoder.dim

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._encoder.encode(texts).tolist()

    def embed_passages(self, passages: list) -> list[list[float]]:
        """The classifier's interface (``assistant.classifier.Encoder``): each passage on its own."""
        return self.embed([p.text for p in passages])
