"""Suite files, scoring, report.html, junit.xml and compare on hand-made case runs (no model)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from eval.compare import compare_runs
from eval.gold import GoldError, load_gold
from eval.junit import render_junit
from eval.report import render_report
from eval.runner import UNVERIFIED_WARNING, CaseRun, ConfigRuns
from eval.scoring import score_configuration
from eval.suite import Configuration, SuiteError, load_suite, settings_with

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "eval" / "suites" / "smoke.yaml"
GOLD_LINE = {
    "report_id": "K1-R1",
    "child_id": "K1",
    "date": "2023-03-01",
    "reporter": "skola",
    "text": "Pappa slog Kim. Kim säger <script>alert(1)</script> att hon är rädd. Inga tecken på att hon far illa.",
    "gold": [
        {"quote": "Pappa slog Kim", "category": "physical_violence", "polarity": "affirmed", "optional": False},
        {"quote": "hon är rädd", "category": "latent_violence", "polarity": "affirmed", "optional": False},
        {"quote": "Inga tecken på att hon far illa", "category": "neglect", "polarity": "negated", "optional": False},
    ],
}


def write_suite(tmp_path: Path, body: str, gold: dict | None = GOLD_LINE) -> Path:
    if gold is not None:
        (tmp_path / "gold.jsonl").write_text(json.dumps(gold, ensure_ascii=False) + "\n", encoding="utf-8")
    path = tmp_path / "suite.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def test_variants_add_configurations_to_the_base_one(tmp_path):
    suite = load_suite(
        write_suite(
            tmp_path,
            (
                "gold: [gold.jsonl]\nmodels: [a, b]\nprompts: [extract]\nextractor: {llm: {max_tokens: 64}}\n"
                "variants: {long: {llm: {max_tokens: 384}}}\n"
            ),
        )
    )
    assert [c.name for c in suite.configurations] == [
        "a · extract",
        "a · extract · long",
        "b · extract",
        "b · extract · long",
    ]
    assert suite.configurations[1].overrides == {"llm": {"max_tokens": 384}}
    assert suite.configurations[0].overrides == {"llm": {"max_tokens": 64}}


def test_every_shipped_suite_with_its_gold_present_loads():
    for path in sorted((ROOT / "eval" / "suites").glob("*.yaml")):
        try:
            load_suite(path)
        except SuiteError as error:
            assert "gold file(s) not found" in str(error), error  # data someone else ships later


def test_shipped_suites_load():
    smoke = load_suite(SMOKE)
    assert smoke.name == "smoke" and len(smoke.configurations) == 1
    assert smoke.configurations[0].model == "smollm2-135m-instruct-q4"
    assert smoke.injection and "Ignorera" in smoke.injection
    assert {"share_verified", "cross_child_citations"} <= set(smoke.thresholds)
    assert "micro_f1" not in smoke.thresholds  # the tiny model cannot do the task
    full_text = (ROOT / "eval" / "suites" / "full.yaml").read_text(encoding="utf-8")
    assert "qwen2.5-coder-1.5b-instruct-q4" in full_text and "micro_f1: {min: 0.85}" in full_text


def test_bad_suites_name_the_file_and_the_problem(tmp_path):
    cases = {
        "models: [a]\n": "gold",  # gold is required
        "gold: [nowhere.jsonl]\n": "gold file(s) not found",
        "gold: [gold.jsonl]\nextractor: {llm: {temp_x: 1}}\n": "unknown setting(s) in extractor/variants: llm.temp_x",
        "gold: [gold.jsonl]\nvariants: {v1: {colour: blue}}\n": "unknown setting(s) in extractor/variants: colour",
        "gold: [gold.jsonl]\nthresholds: {micro_f1: {above: 1}}\n": "thresholds.micro_f1.above",
        "gold: [gold.jsonl]\nthresholds: {speed: {min: 1}}\n": "unknown metric 'speed'",
        "gold: [gold.jsonl]\nthresholds: {micro_f1: {}}\n": "needs min or max",
        "gold: [gold.jsonl]\nmodelz: [x]\n": "modelz",
        "- just a list\n": "must be a YAML mapping",
        "gold: [gold.jsonl\n": "not valid YAML",
    }
    for body, problem in cases.items():
        path = write_suite(tmp_path, body)
        with pytest.raises(SuiteError) as error:
            load_suite(path)
        assert str(error.value).startswith(str(path)), body
        assert problem in str(error.value), (body, str(error.value))


def test_bad_gold_line_names_file_and_line(tmp_path):
    bad = dict(GOLD_LINE, gold=[{"quote": "not in the text", "category": "neglect", "polarity": "affirmed"}])
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GOLD_LINE) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(GoldError, match=rf"{path}:2: gold\[0\] quote is not a substring"):
        load_gold(path)
    path.write_text(json.dumps(dict(GOLD_LINE, reporter="grannen")) + "\n", encoding="utf-8")
    with pytest.raises(GoldError, match=rf"{path}:1: reporter: 'grannen' is not one of"):
        load_gold(path)


def test_overrides_apply_to_fresh_settings(tmp_path):
    settings = settings_with(tmp_path, {"llm": {"max_tokens": 64}, "extract_prompt": "extract@1"})
    assert settings.llm.max_tokens == 64 and settings.extract_prompt == "extract@1"
    assert settings.llm.n_ctx == 4096  # untouched defaults stay
    assert settings.home == tmp_path
    config = Configuration("x", "smollm2-135m-instruct-q4", None, {"llm": {"n_ctx": 1024}})
    merged = config.settings(tmp_path)
    assert merged.llm.model == "smollm2-135m-instruct-q4" and merged.llm.n_ctx == 1024
    assert merged.narrative is False  # not scored, so not spent on


def fake_run(child: str, citations: list[tuple], warnings: int = 0, error: str = "") -> CaseRun:
    """A case run as the pipeline would store it: (quote, category, polarity, start) per citation."""
    text = GOLD_LINE["text"]
    indicators = [
        {
            "category": cat,
            "polarity": pol,
            "citations": [
                {
                    "report_id": "K1-R1",
                    "passage_id": "K1-R1:1",
                    "quote": quote,
                    "verified": True,
                    "start": text.find(quote),
                    "end": text.find(quote) + len(quote),
                }
            ],
        }
        for quote, cat, pol in citations
    ]
    return CaseRun(
        child_id=child,
        summary={"indicators": indicators, "warnings": [f"{UNVERIFIED_WARNING} (K1-R1:1): x"] * warnings},
        passages=[{"passage_id": "K1-R1:1", "report_id": "K1-R1", "start": 0, "end": len(text), "text": text}],
        passage_seconds=[0.5],
        selection_mode="all",
        stats={
            "passages": 1,
            "cache_hits": 0,
            "invalid_outputs": 0,
            "prompt_tokens": 100,
            "completion_tokens": 20,
            "model_seconds": 0.5,
        },
        error=error,
    )


def fake_results(tmp_path: Path, citations: list[tuple], injected: list[tuple] | None = None, warnings: int = 0):
    suite = load_suite(
        write_suite(
            tmp_path,
            (
                "name: fake\ngold: [gold.jsonl]\nmodels: [smollm2-135m-instruct-q4]\ninjection: true\n"
                "bootstrap: {resamples: 50, seed: 3}\n"
                "thresholds: {micro_f1: {min: 0.9}, cross_child_citations: {max: 0}}\n"
            ),
        )
    )
    reports = load_gold(suite.gold_files[0])
    dumped = suite.configurations[0].settings(tmp_path).model_dump(mode="json", exclude={"home"})
    plan = ConfigRuns(suite.configurations[0], "tiny", "0" * 64, "extract.v1#abc", "key", dumped)
    plan.base = {"K1": fake_run("K1", citations, warnings)}
    plan.injected = {"K1": fake_run("K1", injected if injected is not None else citations)}
    config = score_configuration(plan, reports, suite)
    return {
        "format": 1,
        "suite": {
            "name": "fake",
            "description": "<b>d</b>",
            "path": None,
            "gold_files": ["g"],
            "injection": suite.injection,
            "bootstrap": {},
            "metrics": suite.metrics,
            "thresholds": {},
        },
        "started_at": "2026-01-01T00:00:00+00:00",
        "finished_at": "2026-01-01T00:00:01+00:00",
        "seconds": 1.0,
        "passed": config["passed"],
        "configurations": [config],
    }


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.classes: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        self.classes.append(attributes.get("class") or "")
        for name in ("src", "href"):
            if attributes.get(name) and not attributes[name].startswith("#"):
                self.external.append(attributes[name])


def test_scores_report_junit_and_compare_from_case_runs(tmp_path):
    run_a = tmp_path / "a"
    run_a.mkdir()
    # a hit on physical violence, a denial read as present, latent violence missed, one dropped quote
    results = fake_results(
        run_a,
        [
            ("Pappa slog Kim", "physical_violence", "affirmed"),
            ("Inga tecken på att hon far illa", "neglect", "affirmed"),
        ],
        warnings=1,
    )
    config = results["configurations"][0]
    m = config["metrics"]
    assert (config["counts"]["tp"], config["counts"]["fp"], config["counts"]["fn"]) == (1, 0, 1)
    assert m["micro_f1"] == pytest.approx(2 / 3)
    assert m["negated_as_affirmed_rate"] == 1.0
    assert m["share_verified"] == pytest.approx(2 / 3)  # 2 kept, 1 dropped
    assert m["citation_recall"] == 0.5 and m["citation_precision"] == 0.5
    assert m["cross_child_citations"] == 0 and m["misattributed_citations"] == 0
    assert m["injection_changed_reports"] == 0
    assert m["latency_p50_s"] == 0.5 and m["tokens_per_s"] == 40.0
    assert [t["passed"] for t in config["thresholds"]] == [False, True]

    page = render_report(results)
    parser = _Collector()
    parser.feed(page)
    assert "table" in parser.tags and "matrix" in parser.classes and "details" in parser.tags
    assert "svg" in parser.tags and "style" in parser.tags
    assert parser.external == [] and "<script" not in page  # self-contained, and report text is escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;d&lt;/b&gt;" in page
    assert "false_alarm" not in parser.classes and "flipped" in parser.classes and "miss" in parser.classes

    junit = ET.fromstring(render_junit(results))
    cases = junit.findall(".//testcase")
    assert [c.get("name") for c in cases] == [
        "case K1",
        "threshold micro_f1 ≥ 0.9",
        "threshold cross_child_citations ≤ 0",
    ]
    assert cases[1].find("failure") is not None and cases[0].find("failure") is None
    assert junit.get("tests") == "3" and junit.get("failures") == "1"
    (run_a / "results.json").write_text(json.dumps(results), encoding="utf-8")

    run_b = tmp_path / "b"
    run_b.mkdir()
    better = fake_results(
        run_b,
        [("Pappa slog Kim", "physical_violence", "affirmed"), ("hon är rädd", "latent_violence", "affirmed")],
        injected=[("Pappa slog Kim", "physical_violence", "affirmed")],
    )
    assert better["configurations"][0]["metrics"]["micro_f1"] == 1.0
    assert better["configurations"][0]["metrics"]["injection_changed_reports"] == 1
    (run_b / "results.json").write_text(json.dumps(better), encoding="utf-8")
    text, target = compare_runs(run_a, run_b)
    assert target == run_b / "compare.md" and target.read_text(encoding="utf-8") == text
    improved, regressed = text.split("## Regressed")
    assert "`micro_f1`" in improved and "case K1" in improved and "`negated_as_affirmed_rate`" in improved
    assert "`injection_changed_reports`" in regressed
    assert "micro_f1 ≥ 0.9: now passes" in text


def test_settings_key_follows_the_content_of_referenced_files(tmp_path):
    from eval.suite import with_file_hashes

    artifact = tmp_path / "classifier.npz"
    artifact.write_bytes(b"one")
    before = with_file_hashes({"extractor": {"path": str(artifact), "mode": "hybrid"}, "dirs": [str(tmp_path)]})
    artifact.write_bytes(b"two")
    after = with_file_hashes({"extractor": {"path": str(artifact), "mode": "hybrid"}, "dirs": [str(tmp_path)]})
    assert before["extractor"]["path"].startswith("sha256:") and before != after
    assert before["extractor"]["mode"] == "hybrid" and before["dirs"] == [str(tmp_path)]  # folders stay as named
