"""The indicator taxonomy as data: load, validate and look up taxonomy.yaml.

Prompts, the lexicon, the UI and evaluation all read this one file, so a code,
label, definition or cue changes in one place. Loading fails early, naming the
file and the entry, because a silently missing category would look like "no
findings" to a caseworker.

The compact cue syntax is documented at the top of taxonomy.yaml; it is
translated here (not in the lexicon) so that a bad cue is reported when the
file is loaded, not when the first passage happens to reach it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.schema import Actor, Category, Polarity, Source, Victim

DEFAULT_TAXONOMY_PATH = Path(__file__).with_name("taxonomy.yaml")

GAP_WORDS = 3  # how many words "..." in a cue may skip
_GAP = rf"(?:\s+[\w'’-]+){{0,{GAP_WORDS}}}?"  # lazy: the shortest stretch wins
_GAP_MARK = "..."
_RAW_PREFIX = "re:"


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be used; the message names the file and the entry."""


class CuePatternError(ValueError):
    """A cue that does not follow the compact syntax described in taxonomy.yaml."""


# --- cue pattern syntax --------------------------------------------------------


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split on a separator outside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise CuePatternError(f"unbalanced ')': {text!r}")
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise CuePatternError(f"unbalanced '(': {text!r}")
    parts.append("".join(current))
    return parts


def _closing_paren(text: str, open_index: int) -> int:
    depth = 0
    for index in range(open_index, len(text)):
        if text[index] == "(":
            depth += 1
        elif text[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise CuePatternError(f"unbalanced '(': {text!r}")


def _group_to_regex(inner: str, cue: str) -> str:
    options = [_phrase_to_regex(option, cue, allow_empty=True) for option in _split_top_level(inner, "|")]
    return "(?:" + "|".join(options) + ")"


def _word_to_regex(token: str, cue: str) -> str:
    """One space-free token: literal letters, '*' for any word ending, inline '(a|b)' and '(a|b)?'."""
    out, i = [], 0
    while i < len(token):
        char = token[i]
        if char == "(":
            close = _closing_paren(token, i)
            out.append(_group_to_regex(token[i + 1 : close], cue))
            i = close + 1
            if i < len(token) and token[i] == "?":
                out.append("?")
                i += 1
            continue
        if char == "*":
            out.append(r"\w*")
        elif char == "?":
            raise CuePatternError(f"'?' may only follow a group '( )': {cue!r}")
        elif char == "|":
            raise CuePatternError(f"misplaced '|': {cue!r}")
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _phrase_to_regex(phrase: str, cue: str, allow_empty: bool = False) -> str:
    """Words separated by spaces, where a word may be '...', an optional '(a|b)?' or a plain word."""
    tokens = [t for t in _split_top_level(phrase.strip(), " ") if t]
    if not tokens:
        if allow_empty:
            return ""
        raise CuePatternError(f"empty alternative in cue {cue!r}")
    out: list[str] = []
    need_separator = False  # whether the next required word needs leading whitespace
    required = 0
    for index, token in enumerate(tokens):
        if token == _GAP_MARK:
            if not need_separator or index == len(tokens) - 1 or tokens[index + 1] == _GAP_MARK:
                raise CuePatternError(f"'...' must stand between two words: {cue!r}")
            out.append(_GAP)
            continue
        optional = token.startswith("(") and token.endswith(")?") and _closing_paren(token, 0) == len(token) - 2
        body = _group_to_regex(token[1:-2], cue) if optional else _word_to_regex(token, cue)
        if optional:
            out.append(rf"(?:\s+{body})?" if need_separator else rf"(?:{body}\s+)?")
            continue
        if need_separator:
            out.append(r"\s+")
        out.append(body)
        need_separator = True
        required += 1
    if not required:
        raise CuePatternError(f"cue has no required word: {cue!r}")
    return "".join(out)


def cue_regexes(cue: str) -> list[str]:
    """Translate one cue of the compact syntax into regex alternatives (without word boundaries).

    Raises CuePatternError for a cue that breaks the syntax or a raw 're:' cue that does not compile.
    """
    cue = cue.strip()
    if not cue:
        raise CuePatternError("empty cue")
    if cue.startswith(_RAW_PREFIX):
        body = cue[len(_RAW_PREFIX) :].strip()
        try:
            re.compile(body)
        except re.error as error:
            raise CuePatternError(f"raw regex does not compile ({error}): {cue!r}") from error
        return [body]
    regexes = [_phrase_to_regex(alternative, cue) for alternative in _split_top_level(cue, "|")]
    for regex in regexes:
        try:
            re.compile(regex)
        except re.error as error:  # pragma: no cover - the translator only emits valid regexes
            raise CuePatternError(f"cue does not compile ({error}): {cue!r}") from error
    return regexes


def cue_alternatives(cues: Iterable[str]) -> list[str]:
    """All regex alternatives of several cues, longest first, so a longer cue wins at the same position."""
    seen: dict[str, None] = {}
    for cue in cues:
        for regex in cue_regexes(cue):
            seen.setdefault(regex, None)
    return sorted(seen, key=len, reverse=True)


def compile_cues(cues: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any of the cues as whole words; None for no cues."""
    alternatives = cue_alternatives(cues)
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def _first_form(text: str) -> str:
    """Replace every group by its first option and drop optional groups and syntax."""
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "(":
            close = _closing_paren(text, i)
            optional = close + 1 < len(text) and text[close + 1] == "?"
            if not optional:
                out.append(_first_form(_split_top_level(text[i + 1 : close], "|")[0]))
            i = close + (2 if optional else 1)
            continue
        if char not in "*?":
            out.append(char)
        i += 1
    return "".join(out)


def plain_cue(cue: str) -> str:
    """A readable first form of a cue, for prompts and search queries: syntax removed."""
    if cue.startswith(_RAW_PREFIX):
        return re.sub(r"[^\w ]+", " ", cue[len(_RAW_PREFIX) :]).split(" ")[0]
    first = _first_form(_split_top_level(cue, "|")[0]).replace("...", " ")
    return " ".join(first.split())


# --- models --------------------------------------------------------------------

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class CategoryInfo(BaseModel):
    """One indicator category: what a prompt shows, what the lexicon matches."""

    model_config = _FROZEN

    code: Category
    label: str = Field(min_length=1)
    group: Literal["violence", "context"]
    definition: str = Field(min_length=1)
    cues: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)  # a hit overlapping one of these is not this category
    actor_from_cue: bool = False  # the person named inside the cue is the actor ("rädd för pappa")

    @property
    def plain_cues(self) -> list[str]:
        """Cues without pattern syntax, for prompts and retrieval queries."""
        return [p for p in dict.fromkeys(plain_cue(c) for c in self.cues) if p]


class ScopedCues(BaseModel):
    """Polarity cues by how far they reach (see taxonomy.yaml)."""

    model_config = _FROZEN

    clause: list[str] = Field(default_factory=list)
    near: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return [*self.clause, *self.near, *self.after]


class LabelledCues(BaseModel):
    model_config = _FROZEN

    label: str = Field(min_length=1)
    cues: list[str] = Field(default_factory=list)


class SourceCues(BaseModel):
    """Words and phrases that tell whose words a passage reports."""

    model_config = _FROZEN

    labels: dict[Source, str]
    speech_verbs: list[str]
    denial_verbs: list[str]
    hearsay: list[str]
    according_to: list[str]
    reporter_words: list[str]
    child_words: list[str]
    speaker_pronouns: list[str]
    impersonal: list[str]
    skip_words: list[str]


class Taxonomy(BaseModel):
    """The loaded taxonomy file. Hashable by identity so compiled lexicons can be cached per taxonomy."""

    model_config = _FROZEN

    path: str
    version: int
    categories: dict[Category, CategoryInfo]
    polarity_labels: dict[Polarity, str]
    negation: ScopedCues
    hedge: ScopedCues
    actors: dict[Actor, LabelledCues]
    victims: dict[Victim, LabelledCues]
    sources: SourceCues

    def __hash__(self) -> int:
        return id(self)

    def label(self, category: Category | str) -> str:
        return self.categories[Category(category)].label

    def definition(self, category: Category | str) -> str:
        return self.categories[Category(category)].definition

    @property
    def violence_categories(self) -> list[Category]:
        """The indicators the summary exists for, in file order."""
        return [c for c, info in self.categories.items() if info.group == "violence"]

    @property
    def context_categories(self) -> list[Category]:
        return [c for c, info in self.categories.items() if info.group == "context"]

    def polarity_label(self, polarity: Polarity | str) -> str:
        return self.polarity_labels[Polarity(polarity)]

    def actor_label(self, actor: Actor | str) -> str:
        return self.actors[Actor(actor)].label

    def victim_label(self, victim: Victim | str) -> str:
        return self.victims[Victim(victim)].label

    def source_label(self, source: Source | str) -> str:
        return self.sources.labels[Source(source)]

    @property
    def negation_cues(self) -> list[str]:
        return self.negation.all

    @property
    def hedge_cues(self) -> list[str]:
        return self.hedge.all

    @property
    def actor_cues(self) -> dict[Actor, list[str]]:
        return {actor: entry.cues for actor, entry in self.actors.items()}


# --- loading -------------------------------------------------------------------


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Load and validate a taxonomy file (default: the one beside this module); cached per path."""
    return _load_cached(Path(path or DEFAULT_TAXONOMY_PATH).resolve())


@functools.lru_cache(maxsize=16)
def _load_cached(path: Path) -> Taxonomy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TaxonomyError(f"{path}: cannot read taxonomy file: {error}") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise TaxonomyError(f"{path}: not valid YAML: {error}") from error
    return parse_taxonomy(data, path)


def _fail(path: Path | str, where: str, problem: str) -> TaxonomyError:
    return TaxonomyError(f"{path}: {where}: {problem}")


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    return f"{location}: {first['msg']}" if location else first["msg"]


def _check_cues(path: Path | str, where: str, cues: Iterable[str]) -> None:
    for cue in cues:
        if not isinstance(cue, str):
            raise _fail(path, where, f"cue {cue!r} is not a string")
        try:
            cue_regexes(cue)
        except CuePatternError as error:
            raise _fail(path, where, f"bad cue: {error}") from error


def _parse_categories(raw: Any, path: Path | str) -> dict[Category, CategoryInfo]:
    if not isinstance(raw, list):
        raise _fail(path, "categories", "must be a list of entries with a 'code'")
    known = {c.value for c in Category}
    parsed: dict[Category, CategoryInfo] = {}
    for index, entry in enumerate(raw):
        where = f"categories[{index}]"
        if not isinstance(entry, dict) or "code" not in entry:
            raise _fail(path, where, "entry must be a mapping with a 'code'")
        code = entry["code"]
        if code not in known:
            raise _fail(path, where, f"unknown category code {code!r}; known codes: {', '.join(sorted(known))}")
        where = f"{where} ({code})"
        if Category(code) in parsed:
            raise _fail(path, where, "duplicate category code")
        try:
            info = CategoryInfo.model_validate(entry)
        except ValidationError as error:
            raise _fail(path, where, _first_error(error)) from error
        _check_cues(path, f"{where} cues", info.cues)
        _check_cues(path, f"{where} exclude", info.exclude)
        parsed[info.code] = info
    missing = [c.value for c in Category if c not in parsed]
    if missing:
        raise _fail(path, "categories", f"missing entries for: {', '.join(missing)}")
    return parsed


def _require_mapping(raw: Any, path: Path | str, where: str) -> dict:
    if not isinstance(raw, dict):
        raise _fail(path, where, "must be a mapping")
    return raw


def _check_keys(raw: dict, enum: type, path: Path | str, where: str) -> None:
    known = {member.value for member in enum}
    unknown = sorted(str(key) for key in raw if key not in known)
    if unknown:
        raise _fail(path, where, f"unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    missing = sorted(known - set(raw))
    if missing:
        raise _fail(path, where, f"missing entries for: {', '.join(missing)}")


def parse_taxonomy(data: Any, path: Path | str = "<taxonomy>") -> Taxonomy:
    """Validate parsed YAML; every error names the file and the entry."""
    data = _require_mapping(data, path, "top level")
    expected = {"version", "categories", "polarity", "actors", "victims", "sources"}
    unknown = sorted(set(data) - expected)
    if unknown:
        raise _fail(path, "top level", f"unknown key(s): {', '.join(map(str, unknown))}")
    absent = sorted(expected - set(data))
    if absent:
        raise _fail(path, "top level", f"missing key(s): {', '.join(absent)}")

    categories = _parse_categories(data["categories"], path)
    polarity = _require_mapping(data["polarity"], path, "polarity")
    stray = sorted(set(polarity) - {"labels", "negation", "hedge"})
    if stray:
        raise _fail(path, "polarity", f"unknown key(s): {', '.join(map(str, stray))}")
    labels = _require_mapping(polarity.get("labels"), path, "polarity.labels")
    _check_keys(labels, Polarity, path, "polarity.labels")
    for key in ("negation", "hedge"):
        scoped = _require_mapping(polarity.get(key), path, f"polarity.{key}")
        for scope, cues in scoped.items():
            _check_cues(path, f"polarity.{key}.{scope}", cues or [])
    actors = _require_mapping(data["actors"], path, "actors")
    _check_keys(actors, Actor, path, "actors")
    victims = _require_mapping(data["victims"], path, "victims")
    _check_keys(victims, Victim, path, "victims")
    for section, entries in (("actors", actors), ("victims", victims)):
        for key, entry in entries.items():
            _check_cues(
                path, f"{section}.{key}.cues", _require_mapping(entry, path, f"{section}.{key}").get("cues") or []
            )
    sources = _require_mapping(data["sources"], path, "sources")
    _check_keys(_require_mapping(sources.get("labels"), path, "sources.labels"), Source, path, "sources.labels")
    for key, cues in sources.items():
        if key != "labels" and isinstance(cues, list):
            _check_cues(path, f"sources.{key}", cues)

    try:
        return Taxonomy(
            path=str(path),
            version=data["version"],
            categories=categories,
            polarity_labels=labels,
            negation=polarity["negation"],
            hedge=polarity["hedge"],
            actors=actors,
            victims=victims,
            sources=sources,
        )
    except ValidationError as error:
        raise _fail(path, "taxonomy", _first_error(error)) from error
