"""The taxonomy file: complete, consistent with TAXONOMY.md, and strict about mistakes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from assistant.schema import Actor, Category, Polarity, Source, Victim
from assistant.taxonomy import (
    DEFAULT_TAXONOMY_PATH,
    CuePatternError,
    TaxonomyError,
    compile_cues,
    cue_regexes,
    load_taxonomy,
    plain_cue,
)

# Labels exactly as in /shared/TAXONOMY.md, in its order.
EXPECTED_LABELS = {
    Category.physical_violence: "Fysiskt våld",
    Category.psychological_violence: "Psykiskt våld",
    Category.sexual_abuse: "Sexuella övergrepp",
    Category.material_violence: "Materiellt våld",
    Category.economic_abuse: "Ekonomiskt våld",
    Category.latent_violence: "Latent våld / rädsla",
    Category.neglect: "Försummelse / omsorgssvikt",
    Category.witnessed_violence: "Barn som upplever våld",
    Category.honour_violence: "Hedersrelaterat våld och förtryck",
    Category.parental_conflict: "Konflikt mellan vårdnadshavare",
    Category.parental_substance_abuse: "Förälders missbruk",
    Category.parental_mental_illness: "Förälders psykiska ohälsa",
    Category.child_risk_behaviour: "Barnets eget riskbeteende",
    Category.protective_factor: "Skyddsfaktor",
}


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


@pytest.fixture()
def raw() -> dict:
    return yaml.safe_load(DEFAULT_TAXONOMY_PATH.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict, name: str = "taxonomy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_every_category_has_one_entry_with_the_documented_label(taxonomy):
    assert list(taxonomy.categories) == list(Category)
    assert {c: taxonomy.label(c) for c in Category} == EXPECTED_LABELS


def test_first_ten_are_violence_and_last_four_context(taxonomy):
    assert taxonomy.violence_categories == list(Category)[:10]
    assert taxonomy.context_categories == list(Category)[10:]
    assert taxonomy.categories[Category.neglect].group == "violence"


def test_definitions_are_short_swedish_and_say_what_does_not_count(taxonomy):
    for info in taxonomy.categories.values():
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", info.definition.strip()) if s]
        assert 1 <= len(sentences) <= 3, info.code
        assert "Räknas inte" in info.definition, info.code
        assert len(info.cues) >= 8, f"{info.code} needs a generous cue list"


def test_labels_for_polarity_actor_victim_and_source(taxonomy):
    assert taxonomy.polarity_label(Polarity.affirmed) == "bekräftad uppgift"
    assert taxonomy.polarity_label("hedged") == "uppgift i andra hand"
    assert taxonomy.polarity_label(Polarity.negated) == "förnekas"
    assert taxonomy.actor_label(Actor.father) == "pappa"
    assert taxonomy.actor_label("mother") == "mamma"
    assert all(taxonomy.actor_label(a) for a in Actor)
    assert all(taxonomy.victim_label(v) for v in Victim)
    assert taxonomy.source_label(Source.child) == "barnets egna ord"
    assert all(taxonomy.source_label(s) for s in Source)


def test_vocabularies_hold_the_documented_cues(taxonomy):
    negation = compile_cues(taxonomy.negation_cues)
    for phrase in (
        "inga tecken på",
        "ingen oro för",
        "förnekar",
        "tillbakavisar",
        "kunde inte bekräftas",
        "inte längre",
        "aldrig",
        "nekar till",
    ):
        assert negation.search(phrase), phrase
    hedge = compile_cues(taxonomy.hedge_cues)
    for phrase in (
        "uppges",
        "ska ha slagit",
        "enligt uppgift",
        "misstänks",
        "påstås",
        "rykten",
        "oklart om",
        "eventuellt",
    ):
        assert hedge.search(phrase), phrase
    fathers = compile_cues(taxonomy.actor_cues[Actor.father])
    assert all(fathers.fullmatch(word) for word in ("pappa", "far", "fadern", "Pappan"))
    assert not fathers.search("barnet far illa")
    step_parents = compile_cues(taxonomy.actor_cues[Actor.step_parent])
    assert all(step_parents.fullmatch(word) for word in ("styvpappa", "bonuspappan", "mammas sambo", "pojkvännen"))
    assert compile_cues(taxonomy.actor_cues[Actor.relative]).fullmatch("morfar")
    assert compile_cues(taxonomy.actor_cues[Actor.sibling]).fullmatch("storebror")
    assert taxonomy.actor_cues[Actor.unknown] == []
    assert "enligt" in taxonomy.sources.according_to


def test_load_is_cached_per_path(taxonomy):
    assert load_taxonomy() is taxonomy
    assert load_taxonomy(DEFAULT_TAXONOMY_PATH) is taxonomy


def test_plain_cues_drop_the_pattern_syntax(taxonomy):
    assert plain_cue("slå|slår|slog") == "slå"
    assert plain_cue("(tog|tagit) ... hårt (i|om)") == "tog hårt i"
    assert plain_cue("knuff*") == "knuff"
    assert plain_cue("kall* (henne|honom)? dum") == "kall dum"
    for info in taxonomy.categories.values():
        assert info.plain_cues
        assert not any(ch in cue for cue in info.plain_cues for ch in "|()*?")


@pytest.mark.parametrize(
    ("cue", "matches", "misses"),
    [
        ("slå|slog|slagit|slår", ["slog", "Slagit", "SLÅR"], ["slagsmål", "anslog"]),
        ("knuff*", ["knuffade", "knuffat", "knuff"], ["puffade"]),
        ("(tog|tagit) henne", ["tog henne", "tagit\nhenne"], ["tog honom"]),
        ("kall* (henne|honom)? dum", ["kallar dum", "kallade henne dum"], ["kallar henne snäll"]),
        ("märke(n)? på", ["märke på", "märken på"], ["märkena på"]),
        ("rädd ... pappa", ["rädd pappa", "rädd för sin pappa"], ["rädd för alla fem hundar och pappa"]),
        ("re:far(?!\\s+illa)", ["far slog"], ["far illa"]),
        ("bvc-besök", ["BVC-besök"], ["BVCbesök"]),
    ],
)
def test_cue_syntax(cue, matches, misses):
    pattern = compile_cues([cue])
    for text in matches:
        assert pattern.fullmatch(text) or pattern.search(text), (cue, text)
    for text in misses:
        assert not pattern.search(text), (cue, text)


@pytest.mark.parametrize("bad", ["(slog|slagit", "slog)", "... slog", "slog ...", "slog?", "(a|b)?", "re:(", ""])
def test_bad_cue_syntax_is_rejected(bad):
    with pytest.raises(CuePatternError):
        cue_regexes(bad)


def test_unknown_category_code_names_the_file_and_the_code(tmp_path, raw):
    raw["categories"][3]["code"] = "spiritual_violence"
    path = write(tmp_path, raw, "broken_taxonomy.yaml")
    with pytest.raises(TaxonomyError) as error:
        load_taxonomy(path)
    message = str(error.value)
    assert str(path) in message
    assert "spiritual_violence" in message
    assert "categories[3]" in message


def test_missing_category_names_the_file_and_the_category(tmp_path, raw):
    raw["categories"] = [c for c in raw["categories"] if c["code"] != "economic_abuse"]
    path = write(tmp_path, raw)
    with pytest.raises(TaxonomyError, match=r"missing entries for: economic_abuse") as error:
        load_taxonomy(path)
    assert str(path) in str(error.value)


def test_duplicate_category_is_rejected(tmp_path, raw):
    raw["categories"].append(dict(raw["categories"][0]))
    with pytest.raises(TaxonomyError, match="duplicate category code"):
        load_taxonomy(write(tmp_path, raw))


def test_bad_cue_names_the_file_the_category_and_the_cue(tmp_path, raw):
    raw["categories"][0]["cues"].append("(slog|slagit")
    path = write(tmp_path, raw)
    with pytest.raises(TaxonomyError) as error:
        load_taxonomy(path)
    message = str(error.value)
    assert str(path) in message and "physical_violence" in message and "(slog|slagit" in message


def test_wrong_group_and_unknown_field_are_rejected(tmp_path, raw):
    raw["categories"][0]["group"] = "violent"
    with pytest.raises(TaxonomyError, match=r"physical_violence.*group"):
        load_taxonomy(write(tmp_path, raw, "a.yaml"))
    raw["categories"][0]["group"] = "violence"
    raw["categories"][0]["colour"] = "red"
    with pytest.raises(TaxonomyError, match="colour"):
        load_taxonomy(write(tmp_path, raw, "b.yaml"))


def test_unknown_actor_and_missing_polarity_label_are_rejected(tmp_path, raw):
    raw["actors"]["uncle"] = {"label": "farbror", "cues": []}
    with pytest.raises(TaxonomyError, match=r"actors: unknown key\(s\) uncle"):
        load_taxonomy(write(tmp_path, raw, "a.yaml"))
    del raw["actors"]["uncle"]
    del raw["polarity"]["labels"]["hedged"]
    with pytest.raises(TaxonomyError, match=r"polarity.labels: missing entries for: hedged"):
        load_taxonomy(write(tmp_path, raw, "b.yaml"))


def test_unreadable_and_invalid_yaml_name_the_file(tmp_path):
    missing = tmp_path / "nowhere.yaml"
    with pytest.raises(TaxonomyError, match=r"nowhere\.yaml"):
        load_taxonomy(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("categories: [\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"broken\.yaml: not valid YAML"):
        load_taxonomy(broken)
