"""Provenance shown where results leave the tool: the meeting brief, the CLI Markdown and the
eval report name the model and sha256, the embedding model, the prompt and the settings."""

from __future__ import annotations

from assistant.export import build_brief
from assistant.export import to_markdown as brief_markdown
from assistant.feedback import review_summary
from assistant.provenance import result_settings
from assistant.render import to_markdown
from assistant.settings import Settings
from assistant.taxonomy import load_taxonomy
from eval.report import _matrix
from tests.test_ui_fixtures import make_summary


def stamped_summary():
    settings = Settings()
    settings.extractor.mode = "judge"
    settings.extractor.judge_threshold = 0.7
    settings.verification.fuzzy_threshold = 85.0
    return make_summary().model_copy(update={"settings": result_settings(settings)})


def test_result_settings_follow_the_effective_settings():
    values = stamped_summary().settings
    assert values["extractor.mode"] == "judge" and values["extractor.judge_threshold"] == 0.7
    assert values["verification.fuzzy_threshold"] == 85.0 and values["llm.n_ctx"] == Settings().llm.n_ctx
    assert values["extractor.parts"] == "lexicon,classifier"


def test_brief_and_markdown_show_provenance():
    taxonomy = load_taxonomy()
    summary = stamped_summary()
    brief = build_brief(review_summary(summary, {}, taxonomy), taxonomy)
    facts = dict(brief.facts)
    assert facts["Inbäddningsmodell"] == "all-MiniLM-L6-v2"
    assert (
        "extractor.mode=judge" in facts["Inställningar"]
        and "verification.fuzzy_threshold=85.0" in facts["Inställningar"]
    )
    assert "extractor.judge_threshold=0.7" in brief_markdown(brief).replace("\\", "")  # unescape Markdown

    text = to_markdown(summary, taxonomy)
    assert "sha256 abababababab" in text and "inbäddningsmodell all-MiniLM-L6-v2" in text
    assert "extractor.mode=judge" in text


def test_eval_matrix_shows_model_embedding_and_settings():
    config = {
        "name": "judge",
        "prompt": "extract.v1#abc",
        "model": "smollm2-135m-instruct-q4",
        "model_sha256": "b179c9523d0e6a0f98",
        "embedding_model": "all-MiniLM-L6-v2",
        "provenance": {"extractor.mode": "judge", "verification.fuzzy_threshold": 90.0},
        "metrics": {},
        "intervals": {},
        "thresholds": [],
    }
    html = _matrix([config], [])
    assert "smollm2-135m-instruct-q4 (sha256 b179c9523d0e…)" in html and "all-MiniLM-L6-v2" in html
    assert "extractor.mode=judge, verification.fuzzy_threshold=90.0" in html
