"""The passage classifier on a GGUF model's own hidden states (issue 3): trained by
`assistant train --features llm`, used by the extractor, its probabilities cached per passage.

The tiny real model (SmolLM2-135M) stands in for the default 1.5B one: its features are too
weak for the task, but loading, pooling, standardising, caching and refusing are the same."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.classifier import RECIPES, TrainedClassifier
from assistant.errors import UserError
from assistant.hidden_states import FeatureCache, HiddenStateEncoder, encoder_name, layers_at
from assistant.models import Registry
from assistant.pipeline import Assistant
from assistant.schema import Category, Polarity
from assistant.settings import Settings
from eval.gold import load_gold_files
from tests.conftest import TINY_MODEL, make_passage, tiny_settings

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ROOT / "eval" / "data" / "corpus" / "train.jsonl"


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("classifier-llm")
    out, cache = folder / "classifier-llm.npz", folder / "features.sqlite"
    command = [sys.executable, "-m", "assistant.cli", "--home", str(folder / "home"), "train", "--gold", str(TRAIN)]
    result = subprocess.run(
        [*command, "--features", "llm", "--model", TINY_MODEL, "--feature-cache", str(cache), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    return out, cache, result.stdout


def tiny_registry() -> Registry:
    settings = Settings()
    return Registry.load(settings.llm.registry, settings.llm.models_dir)


def train_texts(limit: int) -> list[str]:
    return [p.text for report in load_gold_files([TRAIN]) for p, _ in report.labelled_passages(400)][:limit]


def test_train_records_the_encoder_its_scaling_and_stricter_thresholds(trained):
    out, _, stdout = trained
    classifier = TrainedClassifier.load(out)
    sha = tiny_registry().entry(TINY_MODEL).sha256
    assert classifier.features == "llm"
    assert classifier.encoder_model == TINY_MODEL
    assert classifier.layers == layers_at(tiny_registry(), TINY_MODEL, RECIPES["llm"].depths)
    assert classifier.context == RECIPES["llm"].context is True
    assert classifier.embedding_model == encoder_name(TINY_MODEL, sha, classifier.layers, context=True) in stdout
    assert classifier.mean.shape == classifier.scale.shape == (classifier.dim,)
    assert (classifier.scale > 0).all()
    # cross-validated thresholds start at 0.2; the llm recipe adds its shift on top
    assert classifier.thresholds.min() >= 0.2 + RECIPES["llm"].threshold_shift - 1e-9
    # a found category is cited at the cross-validated best itself, without the shift
    assert np.allclose(classifier.thresholds - classifier.citation_thresholds, RECIPES["llm"].threshold_shift)
    assert len(classifier.categories) >= 10
    # the train split is too small for the recipe's network: the trainer says so
    assert classifier.hidden_weights is None and RECIPES["llm"].hidden
    assert "en regression per kategori" in stdout and "nätverket kräver minst" in stdout


def test_cached_vectors_are_those_the_model_gives(trained):
    out, cache, _ = trained
    texts = train_texts(12)
    layers = TrainedClassifier.load(out).layers
    cached = HiddenStateEncoder(tiny_registry(), TINY_MODEL, 2, FeatureCache(cache), layers=layers)
    from_cache = np.asarray(cached.embed(texts))
    assert cached.passes == 0, "training stored every passage's vector"
    fresh = HiddenStateEncoder(tiny_registry(), TINY_MODEL, 2, layers=layers)
    computed = np.asarray(fresh.embed(texts[:3]))
    assert fresh.passes == 3 and not fresh.shares_weights
    assert computed.shape == (3, TrainedClassifier.load(trained[0]).dim) and np.isfinite(computed).all()
    assert np.allclose(from_cache[:3], computed, rtol=1e-3, atol=1e-3)
    in_reports = HiddenStateEncoder(tiny_registry(), TINY_MODEL, 2, FeatureCache(cache), layers=layers, context=True)
    in_reports.embed_passages([p for report in load_gold_files([TRAIN])[:3] for p, _ in report.labelled_passages(400)])
    assert in_reports.passes == 0, "training stored every passage's vector in its report too"


def test_an_interrupted_reading_keeps_the_vectors_it_stored(tmp_path, monkeypatch):
    """Reading thousands of passages takes hours: a training stopped half way (here: the model's run
    raises on its second lot, after the first was stored) must not have to read them again."""
    monkeypatch.setattr("assistant.hidden_states.STORE_EVERY", 2)
    texts = train_texts(5)
    layers = layers_at(tiny_registry(), TINY_MODEL, RECIPES["llm"].depths)
    cache = tmp_path / "features.sqlite"
    stopped = HiddenStateEncoder(tiny_registry(), TINY_MODEL, 2, FeatureCache(cache), layers=layers)
    real_run, runs = stopped._run, []

    def run_then_stop(chunk: list[str]) -> list[np.ndarray]:
        runs.append(chunk)
        if len(runs) == 2:
            raise KeyboardInterrupt  # stands in for Ctrl-C or a killed job
        return real_run(chunk)

    stopped._run = run_then_stop
    with pytest.raises(KeyboardInterrupt):
        stopped.embed(texts)
    assert runs[0] == texts[:2]
    resumed = HiddenStateEncoder(tiny_registry(), TINY_MODEL, 2, FeatureCache(cache), layers=layers)
    vectors = np.asarray(resumed.embed(texts))
    assert resumed.passes == 3, "only the passages after the first stored lot were read again"
    assert np.allclose(vectors, HiddenStateEncoder(tiny_registry(), TINY_MODEL, 2, layers=layers).embed(texts))


def test_a_passage_is_also_read_inside_its_report():
    """The model reads left to right, so a report's first passage reads the same inside it as alone,
    which pins the pooled tokens to the right passage; a later one reads differently after another
    opening, and the average of both readings is its vector."""
    layers = layers_at(tiny_registry(), TINY_MODEL, RECIPES["llm"].depths)
    alone = HiddenStateEncoder(tiny_registry(), TINY_MODEL, 2, layers=layers)
    in_report = HiddenStateEncoder(tiny_registry(), TINY_MODEL, 2, layers=layers, context=True)
    assert in_report.name == alone.name + "+report"
    first, later = "Pappa slog mamma i köket i går kväll.", "Han gjorde det igen när Lisa såg på."
    other_first = "Lisa berättar att hon fick en guldstjärna i skolan."
    by_itself = np.asarray(alone.embed([first, later]))
    reports = [(first, "R1", 1), (later, "R1", 2), (other_first, "R2", 1), (later, "R2", 2)]
    read = np.asarray(in_report.embed_passages([make_passage(*spec) for spec in reports]))
    assert np.allclose(read[0], by_itself[0], rtol=1e-3, atol=1e-3)
    assert not np.allclose(read[1], by_itself[1], rtol=0.05)
    assert not np.allclose(read[1], read[3], rtol=0.05), "another report, another reading"
    again = np.asarray(in_report.embed_passages([make_passage(later, "R1", 2), make_passage(first, "R1", 1)]))
    assert np.allclose(again[::-1], read[:2], rtol=1e-4, atol=1e-4), (
        "read in the report's order, whatever the order given"
    )


def test_a_found_category_is_cited_in_every_passage_of_the_report_that_carries_it(
    trained, tiny_llm, embedder, tmp_path
):
    """The rule on known probabilities: they are put in the extractor's cache (the real store), so the
    encoder is not asked. A category is found in a report where a passage reaches ``thresholds``; it
    is then cited in every passage of that report reaching the lower ``citation_thresholds``."""
    settings = tiny_settings(tmp_path / "home")
    settings.extractor.classifier_path = trained[0]
    extractor = Assistant(settings, llm=tiny_llm, embedder=embedder).classifier_extractor
    categories = extractor.classifier.categories
    physical, neglect = categories.index(Category.physical_violence), categories.index(Category.neglect)
    extractor.classifier.thresholds = np.full(len(categories), 0.7)
    extractor.classifier.citation_thresholds = np.full(len(categories), 0.4)
    passages = [
        make_passage("Pappa slog Lisa med en sko.", "R1", 1),
        make_passage("Lisa var ledsen i skolan dagen efter.", "R1", 2),
        make_passage("Pappa bestrider detta.", "R1", 3),
        make_passage("Pappa skrek åt Lisa i hallen.", "R2", 1),
        make_passage("Kylen var tom och Lisa hade inte ätit.", "R2", 2),
    ]
    given = {("R1", 1): 0.9, ("R1", 2): 0.5, ("R1", 3): 0.6, ("R2", 1): 0.6, ("R2", 2): 0.3}
    for passage in passages:
        row = [0.0] * len(categories)
        row[physical] = given[(passage.report_id, passage.n)]
        row[neglect] = 0.8 if passage.report_id == "R2" else 0.0
        report = tuple(p.text for p in passages if p.report_id == passage.report_id)
        extractor.store.cache(extractor.cache_key(passage, report), "classify", row, "C1")
    findings, _ = extractor.extract(passages, {})
    assert {(f.passage_id, f.category, f.polarity) for f in findings} == {
        ("R1:1", Category.physical_violence, Polarity.affirmed),
        ("R1:2", Category.physical_violence, Polarity.affirmed),
        ("R1:3", Category.physical_violence, Polarity.negated),
        ("R2:1", Category.neglect, Polarity.affirmed),
        ("R2:2", Category.neglect, Polarity.affirmed),
    }, "R2 has no passage at 0.7 for physical violence, so its 0.6 is not cited; a denial is not a finding"
    assert all(f.quote == next(p.text for p in passages if p.passage_id == f.passage_id) for f in findings)
    assert extractor.encoder.passes == 0


def test_layers_are_read_from_the_model_pass_and_averaged(tiny_llm):
    """Each layer's residual stream is its own (the eval callback hands over the node asked for), the
    pass stopped after the deepest one still gives the shallower ones, and a set is their mean."""
    import llama_cpp

    n_layer = llama_cpp.llama_model_n_layer(tiny_llm.llama.model)
    assert layers_at(tiny_registry(), TINY_MODEL, (0.5, 1.0)) == (round(n_layer / 2), n_layer - 1)
    texts = train_texts(3)
    low, high = n_layer // 2, n_layer // 2 + 3

    def vectors(layers: tuple[int, ...]) -> np.ndarray:
        return np.asarray(HiddenStateEncoder(tiny_registry(), TINY_MODEL, 2, layers=layers).embed(texts))

    alone_low, alone_high, both, final = vectors((low,)), vectors((high,)), vectors((high, low)), vectors(())
    assert not np.allclose(alone_low, alone_high, rtol=0.05) and not np.allclose(alone_high, final, rtol=0.05)
    assert np.allclose(both, (alone_low + alone_high) / 2, rtol=1e-4, atol=1e-4)


def test_a_layer_the_model_does_not_have_is_refused_by_name():
    encoder = HiddenStateEncoder(tiny_registry(), TINY_MODEL, 2, layers=(2, 999))
    with pytest.raises(UserError, match=rf"{TINY_MODEL} gave no float32 output of layer\(s\) \[999\]"):
        encoder.embed(train_texts(1))


def test_the_classifier_fires_on_passages_like_those_it_learnt(trained, tiny_llm, embedder, tmp_path):
    out, cache, _ = trained
    settings = tiny_settings(tmp_path / "home")
    settings.extractor.classifier_path = out
    layers = TrainedClassifier.load(out).layers
    encoder = HiddenStateEncoder(tiny_registry(), TINY_MODEL, 2, FeatureCache(cache), layers=layers, context=True)
    encoders = {encoder.name: encoder}
    assistant = Assistant(settings, llm=tiny_llm, embedder=embedder, feature_encoders=encoders)
    extractor = assistant.classifier_extractor
    every = [(p, labels) for r in load_gold_files([TRAIN]) for p, labels in r.labelled_passages(400)]
    probabilities = extractor.probabilities([p for p, _ in every])  # whole reports: each passage is read in its own
    categories = extractor.classifier.categories
    labelled = [(row, labels) for row, (_, labels) in zip(probabilities, every, strict=True) if labels]
    hits = sum(
        row[categories.index(c)] >= extractor.classifier.thresholds[categories.index(c)]
        for row, labels in labelled
        for c in labels
        if c in categories
    )
    assert hits >= len(labelled) // 4
    assert extractor.encoder is encoder and encoder.passes == 0, "the training passages' vectors came from the cache"


def test_a_classifier_file_from_before_report_reading_loads_as_reading_passages_alone(trained, tmp_path):
    with np.load(trained[0]) as data:
        older = {key: data[key] for key in data.files if key != "context"}
    np.savez(tmp_path / "older.npz", **older)
    assert TrainedClassifier.load(trained[0]).context
    assert not TrainedClassifier.load(tmp_path / "older.npz").context


def test_summaries_cache_the_probabilities_so_a_second_costs_no_model_pass(
    trained, tiny_llm, embedder, fixture_file, tmp_path
):
    out, _, _ = trained
    encoders: dict = {}

    def assistant() -> Assistant:
        settings = tiny_settings(tmp_path / "home")
        settings.extractor.mode = "hybrid"
        settings.extractor.parts = ["lexicon", "classifier"]
        settings.extractor.classifier_path = out
        settings.narrative = False
        return Assistant(settings, llm=tiny_llm, embedder=embedder, feature_encoders=encoders)

    first = assistant()
    first.ingest([fixture_file])
    summary = first.summarize("T1").summary
    encoder = encoders[TrainedClassifier.load(out).embedding_model]
    passes = encoder.passes
    assert passes > 0
    assert encoder.shares_weights, "the generator is the same file: its weights are read, not loaded again"
    with sqlite3.connect(first.settings.db_path) as db:
        rows = db.execute("SELECT child_id FROM analyses WHERE kind = 'classify'").fetchall()
    assert rows and {r[0] for r in rows} == {"T1"}, "cached per passage, tagged with its child for erasure"
    again = assistant().summarize("T1").summary
    assert encoder.passes == passes
    assert again.indicators == summary.indicators
    assert "classifier (llm)" in summary.prompt_version


def test_a_classifier_trained_on_another_model_file_is_refused(trained, tiny_llm, embedder, tmp_path):
    out, _, _ = trained
    classifier = TrainedClassifier.load(out)
    classifier.embedding_model = encoder_name(TINY_MODEL, "0" * 64)
    stale = tmp_path / "stale.npz"
    classifier.save(stale)
    settings = tiny_settings(tmp_path / "home")
    settings.extractor.classifier_path = stale
    with pytest.raises(UserError, match="retrain"):
        _ = Assistant(settings, llm=tiny_llm, embedder=embedder).classifier_extractor


def test_a_classifier_whose_model_left_the_registry_is_refused_with_advice(trained, tiny_llm, embedder, tmp_path):
    out, _, _ = trained
    classifier = TrainedClassifier.load(out)
    classifier.encoder_model = "borttagen-modell"
    orphan = tmp_path / "orphan.npz"
    classifier.save(orphan)
    settings = tiny_settings(tmp_path / "home")
    settings.extractor.classifier_path = orphan
    with pytest.raises(UserError, match=r"borttagen-modell.*assistant train --features llm"):
        _ = Assistant(settings, llm=tiny_llm, embedder=embedder).classifier_extractor


def test_an_unreadable_classifier_file_is_refused_by_name(tmp_path):
    broken = tmp_path / "classifier-llm.npz"
    broken.write_bytes(b"PK\x03\x04 inte en klassificerare")
    with pytest.raises(UserError, match=r"classifier-llm\.npz is not a classifier written by 'assistant train'"):
        TrainedClassifier.load(broken)
    partial = tmp_path / "partial.npz"
    np.savez(partial, weights=np.zeros((1, 2)))
    with pytest.raises(UserError, match=r"partial\.npz is not a classifier.*KeyError"):
        TrainedClassifier.load(partial)
