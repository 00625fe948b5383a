"""The settings that shape a result, stamped on every summary, export and eval result.

With the model's name and sha256, the prompt tag and the embedding model (fields
of ``Summary``), these are what a reader needs to know what produced a result.
"""

from __future__ import annotations

from assistant.settings import Settings

SettingValue = str | int | float | bool


def result_settings(settings: Settings) -> dict[str, SettingValue]:
    """The effective values that change what a summary says, under their settings names."""
    return {
        "llm.backend": settings.llm.backend,
        "llm.n_ctx": settings.llm.n_ctx,
        "llm.max_tokens": settings.llm.max_tokens,
        "llm.narrative_max_tokens": settings.llm.narrative_max_tokens,
        "llm.seed": settings.llm.seed,
        "extractor.mode": settings.extractor.mode,
        "extractor.parts": ",".join(settings.extractor.parts),
        "extractor.policy": settings.extractor.policy,
        "extractor.judge_threshold": settings.extractor.judge_threshold,
        "verification.fuzzy_threshold": settings.verification.fuzzy_threshold,
        "retrieval.context_budget_tokens": settings.retrieval.context_budget_tokens,
        "retrieval.top_k": settings.retrieval.top_k,
        "ingest.max_passage_chars": settings.ingest.max_passage_chars,
        "embedding.model": settings.embedding.model,
        "narrative": settings.narrative,
    }


def settings_line(values: dict[str, SettingValue]) -> str:
    """One line for a brief or a report: ``key=value, …``."""
    return ", ".join(f"{key}={value}" for key, value in values.items())
