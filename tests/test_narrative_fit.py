"""The narrative prompt fits the model's context however many indicators a child has.

Found by the benchmark: with the classifier in the default extractor a 20-report child had
enough cited passages to make a 5,882-token narrative prompt for a 4,096-token context, and
llama.cpp refused it. Counted here with the real tokenizers of both registry models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.models import Registry
from assistant.narrative import NarrativeWriter
from assistant.prompts import load_prompt
from assistant.settings import Settings
from eval.gold import load_gold_files
from tests.conftest import TINY_MODEL

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = "qwen2.5-coder-1.5b-instruct-q4"


def sentences(count: int) -> list[str]:
    texts = [r.text for r in load_gold_files([ROOT / "eval" / "data" / "corpus" / "train.jsonl"])]
    return [t[:400] for t in texts][:count]


def many_items(count: int) -> list[dict]:
    polarities = ["affirmed", "hedged", "negated"]
    return [
        {
            "number": n,
            "date": f"20{20 + n % 5}-0{1 + n % 9}-1{n % 10}",
            "reporter": "skola",
            "label": "Fysiskt våld",
            "polarity": polarities[n % 3],
            "polarity_value": polarities[n % 3],
            "actor": "",
            "quote": quote,
        }
        for n, quote in enumerate(sentences(count), start=1)
    ]


def tokens_of(model: str, messages: list[dict]) -> int:
    import llama_cpp

    settings = Settings()
    registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
    path = registry.file_path(registry.entry(model))
    if not path.exists():
        pytest.skip(f"{model} is not fetched here (make model)")
    vocabulary = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return len(vocabulary.tokenize(turns.encode("utf-8"), add_bos=False, special=True))


@pytest.mark.parametrize("model", [TINY_MODEL, DEFAULT_MODEL])
def test_the_items_given_to_the_narrative_fit_the_context_by_the_real_tokenizer(model, tmp_path):
    from assistant.store import Store

    settings = Settings(home=tmp_path)
    prompt = load_prompt(settings.prompts_dir, settings.narrative_prompt)
    writer = NarrativeWriter(llm=None, prompt=prompt, store=Store(tmp_path / "s.sqlite3"), max_tokens=300)
    items = many_items(60)
    everything = writer._messages("C1", items)
    assert tokens_of(model, everything) > 4096, "the case this guards against"

    kept = writer.fitting("C1", items, 4096)
    assert 0 < len(kept) < len(items)
    assert tokens_of(model, writer._messages("C1", kept)) <= 4096 - 300
    assert all(len(item["quote"]) <= 200 for item in kept)
    numbers = {item["number"] for item in kept}
    assert {n: items[n - 1]["quote"][:50] for n in numbers} == {i["number"]: i["quote"][:50] for i in kept}
    left_out = [i for i in items if i["number"] not in numbers]
    assert all(i["polarity_value"] == "negated" for i in left_out) or all(
        i["polarity_value"] != "negated" for i in items if i["number"] in numbers
    ), "denials are left out before anything else"
    assert json.dumps(kept, ensure_ascii=False)  # plain data, cacheable


def test_a_child_with_more_indicators_than_fit_gets_a_narrative_and_a_note(make_assistant, tmp_path):
    reports = tmp_path / "many.jsonl"
    lines = [
        {
            "report_id": f"M1-R{n}",
            "child_id": "M1",
            "date": f"2023-{1 + n % 12:02d}-{1 + n:02d}",
            "reporter": "skola",
            "text": f"Elsa berättade att pappa slog henne med en sko den {n} mars. Hon var rädd för att gå hem. "
            "Mamma dricker alkohol varje kväll enligt grannen.",
        }
        for n in range(1, 25)
    ]
    reports.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    assistant = make_assistant()
    assistant.settings.extractor.mode = "lexicon"
    assistant.settings.llm.n_ctx = 1400  # as if the model's context were small: the list must be cut
    assert not any(r.error for r in assistant.ingest([reports]))
    summary = assistant.summarize("M1").summary
    assert len(summary.indicators) > 30
    assert any("bygger på" in w and f"av {len(summary.indicators)} uppgifter" in w for w in summary.warnings)
    assert summary.narrative
