"""Swedish lexicon and rule tagger for indicator cues.

Why: a fast, explainable pass that needs no model. It finds the cue words of
taxonomy.yaml in a text and reads, by simple Swedish rules, whether the cue is
affirmed, hedged or negated, who did it, to whom, and whose words they are.
It serves as candidate selection, as a baseline in evaluation and as a
cross-check of the LLM. A hit is a reason to read a passage, never proof.

Rules in brief (details in taxonomy.yaml):
- a clause ends at . ; : ! ? and at "men"; a sentence at . ! ? and line breaks;
- negation and hedge cues reach forward to the end of their clause ("clause"),
  a few words ahead or directly behind ("near"), or back ("after");
- the actor is the nearest person word before the cue in its clause, else the
  subject after an inverted verb ("Enligt grannen skriker pappan"), the agent of
  a passive ("slagen av pappa"), or the person named in the cue;
- the source is the child inside quotes or when the child tells, second hand
  after "enligt X", when another person tells, or on hearsay; else the reporter;
- a first name takes the role the text gives it ("fadern Johan", "Elsa (8 år)");
  any other capitalised name is taken to be the child.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property

from assistant.schema import Actor, Category, Finding, Polarity, Source, Victim
from assistant.taxonomy import Taxonomy, cue_alternatives, load_taxonomy

NEAR_WORDS = 3  # a "near" polarity cue reaches this many words ahead
AFTER_WORDS = 6  # an "after" polarity cue reaches this many words back
FOLLOWER_WORDS = 2  # an inverted subject stands at most this many words after the verb
VICTIM_WORDS = 3  # the victim is looked for this many words after the cue
SPEAKER_WORDS = 3  # how far back from a speech verb the speaker is looked for

_WORD_START = re.compile(r"\w+")
_LAST_TOKEN = re.compile(r"(\w+(?:\.\w+)*)$")
_ABBREVIATIONS = frozenset(
    "t.ex bl.a m.m o.s.v osv etc f.d p.g.a pga s.k resp nr tel jfr ev st kl ca dvs d.v.s fr.o.m t.o.m mm".split()
)
_SENTENCE_BOUNDARY = re.compile(
    r"(?P<stop>[.!?…]+[\"'”’»)\]]*)(?=\s|$)"
    r"|(?P<para>\n[ \t]*\n\s*)"
    r"|(?P<line>\n(?=[ \t]*(?:[-•*–]\s|\d+[.)]\s|[A-ZÅÄÖ])))"
)
_CLAUSE_BREAK = re.compile(r"[;:](?=\s|[\"'”“’‘«»]|$)|,?\s+men(?=\s)", re.IGNORECASE)
_SOURCE_BREAK = re.compile(r";|,?\s+men(?=\s)", re.IGNORECASE)
_QUOTE = re.compile(
    r"\"[^\"\n]{1,600}\"|“[^”\n]{1,600}”|”[^”\n]{1,600}”|„[^“”\n]{1,600}[“”]|«[^»\n]{1,600}»|»[^»\n]{1,600}»"
    r"|‘[^’\n]{1,600}’|(?<!\w)'[^'\n]{1,600}'(?!\w)|(?<!\w)’[^’\n]{1,600}’(?!\w)"
)
_CHILD_WITH_AGE = re.compile(r"(?<!\w)([A-ZÅÄÖ][a-zåäöéü]+)\s*(?:\(|,)\s*\d{1,2}\s*(?:år|mån)")
_SUBJECT_PRONOUNS = frozenset({"han", "hon", "hen", "de", "dom", "jag", "vi", "du", "ni", "man"})
_PASSIVE_AUXILIARIES = frozenset({"blivit", "blev", "blir", "bli", "utsatt", "utsatts", "utsattes", "utsätts"})
_LINKING_WORDS = frozenset(
    {"och", "men", "eller", "när", "då", "eftersom", "som", "att", "medan", "innan", "efter", "sedan"}
)
_STATE_VERBS = frozenset({"är", "var", "varit"})
_NOUN_PHRASE_FILLERS = frozenset(
    "en ett flera några många stora små tydliga synliga gamla nya färska blå blått blåa gula röda lila".split()
)
_POSSESSION_VERBS = frozenset({"har", "hade", "haft", "fått", "fick", "visar", "visade", "uppvisar", "uppvisade"})
_PARTICIPLE_ENDINGS = ("ad", "ade", "at", "en", "et", "na", "tt")
_PASSIVE_ENDINGS = ("ades", "ts")
_AGENT_PREPOSITION = "av"
_ACTOR_TO_VICTIM = {
    Actor.mother: Victim.parent,
    Actor.father: Victim.parent,
    Actor.step_parent: Victim.parent,
    Actor.sibling: Victim.sibling,
    Actor.relative: Victim.other,
    Actor.other: Victim.other,
}
_CARERS = frozenset({Actor.mother, Actor.father, Actor.step_parent})
_CARER_CATEGORIES = frozenset({Category.parental_substance_abuse, Category.parental_mental_illness})


@dataclass(frozen=True, slots=True)
class LexiconHit:
    """One cue found in a text, with offsets into that text."""

    category: Category
    polarity: Polarity
    actor: Actor
    victim: Victim
    source: Source
    start: int
    end: int
    cue: str
    sentence_start: int
    sentence_end: int
    confidence: float
    polarity_cue: str | None = None  # the negation or hedge words that decided the polarity

    def to_finding(self, passage_id: str) -> Finding:
        """The hit as an extractor's Finding (quote = the cue, an exact substring of the passage)."""
        return Finding(
            passage_id=passage_id,
            category=self.category,
            polarity=self.polarity,
            actor=self.actor,
            victim=self.victim,
            source=self.source,
            quote=self.cue,
            method="lexicon",
            confidence=self.confidence,
        )


@dataclass(frozen=True, slots=True)
class _CategoryMatcher:
    category: Category
    actor_from_cue: bool
    passive_possible: bool  # "är slagen": a participle may make the person before it the victim


@dataclass(frozen=True, slots=True)
class _Mention:
    """A person word in the text: an actor, a victim or both."""

    start: int
    end: int
    actor: Actor | None
    victim: Victim
    genitive: bool


Match = tuple[int, int, str]  # start, end, tag


def _leading_literals(regex: str) -> set[str] | None:
    """The literal texts every match of a translated cue starts with; None when that is not known."""
    options = _split_regex_options(regex)
    if len(options) > 1:  # a raw 're:' cue may alternate at the top level
        found = [_leading_literals(option) for option in options]
        return set().union(*found) if all(found) else None
    if regex.startswith("(?:"):
        close = _group_end(regex)
        quantifier = regex[close + 1 : close + 2]
        if quantifier == "?":  # an optional part: the match starts with it or with what follows
            inside, rest = _leading_literals(regex[3:close]), _leading_literals(regex[close + 2 :])
            return inside | rest if inside and rest else None
        if quantifier in ("*", "{"):
            return None
        literals: set[str] = set()
        for option in _split_regex_options(regex[3:close]):
            found = _leading_literals(option) if option else None
            if not found:
                return None
            literals |= found
        return literals
    letters = re.match(r"[^\W_]+", regex)
    if letters is None:
        return None
    literal = letters.group()
    if regex[len(literal) : len(literal) + 1] in ("?", "*", "{"):
        literal = literal[:-1]
    return {literal.lower()} if literal else None


def _group_end(regex: str) -> int:
    """Index of the ')' closing the group that opens the regex."""
    depth, escaped = 0, False
    for index, char in enumerate(regex):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
    return len(regex) - 1


def _split_regex_options(body: str) -> list[str]:
    options, depth, current, escaped = [], 0, [], False
    for char in body:
        if escaped:
            current.append(char)
            escaped = False
            continue
        if char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "|" and depth == 0:
            options.append("".join(current))
            current = []
        else:
            current.append(char)
    options.append("".join(current))
    return options


class _Scanner:
    """Many cue sets matched in one pass over the word starts of a text.

    Why: one big alternation per category makes Python's regex engine try every
    cue at every word; here each word only tries the cues that can start with
    its first letters, which is an order of magnitude faster on long texts.
    Within a set, matches do not overlap and the longest match at a word wins.
    """

    KEY_LENGTH = 3

    def __init__(self, sets: dict[str, list[tuple[str, str]]]):
        grouped: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
        for set_name, alternatives in sets.items():
            for regex, tag in alternatives:
                literals = _leading_literals(regex)
                keys = {literal[: self.KEY_LENGTH] for literal in literals} if literals else {None}
                for key in keys:
                    grouped.setdefault((set_name, key), []).append((regex, tag))
        self._tags: dict[str, str] = {}
        self._table: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}
        for (set_name, key), alternatives in grouped.items():
            alternatives = sorted(set(alternatives), key=lambda item: len(item[0]), reverse=True)
            parts = []
            for regex, tag in alternatives:
                name = f"g{len(self._tags)}"
                self._tags[name] = tag
                parts.append(f"(?P<{name}>{regex})")
            pattern = re.compile("(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)
            self._table.setdefault(key, []).append((set_name, pattern))
        self._always = tuple(self._table.pop(None, []))
        self._by_head: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {}  # memo of _entries
        self.set_names = tuple(sets)

    def _entries(self, head: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
        """The patterns a word starting with `head` can start; memoised per head."""
        entries = self._by_head.get(head)
        if entries is None:
            table = self._table
            entries = (*table.get(head, ()), *table.get(head[:2], ()), *table.get(head[:1], ()), *self._always)
            self._by_head[head] = entries
        return entries

    def scan(self, text: str, word_starts: list[int]) -> dict[str, list[Match]]:
        found: dict[str, list[Match]] = {name: [] for name in self.set_names}
        last_end: dict[str, int] = dict.fromkeys(self.set_names, -1)
        tags, size = self._tags, self.KEY_LENGTH
        lowered = text.lower()
        if len(lowered) != len(text):  # a rare letter whose lower case is longer: look up word by word
            lowered = None
        by_head = self._by_head
        for position in word_starts:
            head = lowered[position : position + size] if lowered else text[position : position + size].lower()
            entries = by_head.get(head)
            if entries is None:
                entries = self._entries(head)
            best: dict[str, re.Match[str]] | None = None
            for set_name, pattern in entries:
                if position < last_end[set_name]:
                    continue
                match = pattern.match(text, position)
                if match is None:
                    continue
                if best is None:
                    best = {}
                if set_name not in best or match.end() > best[set_name].end():
                    best[set_name] = match
            if best:
                for set_name, match in best.items():
                    found[set_name].append((position, match.end(), tags[match.lastgroup]))
                    last_end[set_name] = match.end()
        return found


def _alternatives(cues: list[str], tag: str = "") -> list[tuple[str, str]]:
    return [(regex, tag) for regex in cue_alternatives(cues)]


def _word_set_pattern(cues: list[str]) -> re.Pattern[str] | None:
    alternatives = cue_alternatives(cues)
    return re.compile("(?:" + "|".join(alternatives) + ")", re.IGNORECASE) if alternatives else None


_SCOPES = ("clause", "near", "after")


class Lexicon:
    """Precompiled patterns of one taxonomy; build once, tag many texts."""

    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy
        self._matchers = {
            info.code.value: _CategoryMatcher(
                category=info.code,
                actor_from_cue=info.actor_from_cue,
                passive_possible=info.group == "violence",
            )
            for info in taxonomy.categories.values()
        }
        self._categories = _Scanner(
            {info.code.value: _alternatives(info.cues) for info in taxonomy.categories.values()}
        )
        sources = taxonomy.sources
        context_sets = {
            f"exclude:{info.code.value}": _alternatives(info.exclude) for info in taxonomy.categories.values()
        }
        for kind, scoped in (("negation", taxonomy.negation), ("hedge", taxonomy.hedge)):
            for scope in _SCOPES:
                context_sets[f"{kind}:{scope}"] = _alternatives(getattr(scoped, scope))
        people = [alt for actor, e in taxonomy.actors.items() for alt in _alternatives(e.cues, f"a:{actor.value}")]
        people += [alt for victim, e in taxonomy.victims.items() for alt in _alternatives(e.cues, f"v:{victim.value}")]
        context_sets["person"] = people
        context_sets["speech"] = _alternatives(sources.speech_verbs, "speech") + _alternatives(
            sources.denial_verbs, "denial"
        )
        context_sets["hearsay"] = _alternatives(sources.hearsay)
        context_sets["according"] = _alternatives(sources.according_to)
        self._context = _Scanner(context_sets)
        self.reporter_words = _word_set_pattern(sources.reporter_words)
        self.child_words = _word_set_pattern(sources.child_words)
        self.speaker_pronouns = _word_set_pattern(sources.speaker_pronouns)
        self.impersonal_words = _word_set_pattern(sources.impersonal)
        self.skip_words = _word_set_pattern(sources.skip_words)

    def clause_polarity(self, text: str) -> Polarity:
        """What a text without a cue of its own says by its clause-wide words: negated where a denial
        stands in it ("bestrider detta", "inget som tyder på", "stämmer inte"), hedged where a hedge
        does ("uppges", "kanske"), else affirmed. The near-scope words ("inte", "ingen") are left out:
        they deny the word beside them, not the clause ("hon vågar inte gå hem")."""
        context = self._context.scan(text, [m.start() for m in _WORD_START.finditer(text)])
        if context["negation:clause"] or context["negation:after"]:
            return Polarity.negated
        if context["hedge:clause"] or context["hedge:after"]:
            return Polarity.hedged
        return Polarity.affirmed

    def tag(self, text: str) -> list[LexiconHit]:
        """All indicator cues in text, in text order."""
        words = [m.span() for m in _WORD_START.finditer(text)]
        starts = [start for start, _ in words]
        found = self._categories.scan(text, starts)
        if not any(found.values()):
            return []
        context = self._context.scan(text, starts)
        raw: list[tuple[int, int, _CategoryMatcher]] = []
        for code, matches in found.items():
            vetoes = context[f"exclude:{code}"]
            matcher = self._matchers[code]
            raw.extend(
                (start, end, matcher)
                for start, end, _ in matches
                if not any(s < end and start < e for s, e, _ in vetoes)
            )
        if not raw:
            return []
        raw.sort(key=lambda hit: (hit[0], -hit[1]))
        analysis = _Analysis(text, self, [(start, end) for start, end, _ in raw], context, words)
        return [analysis.hit(start, end, matcher) for start, end, matcher in raw]


def _overlaps(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in others)


class _Analysis:
    """Everything about one text that the hits share, computed once and only when needed."""

    def __init__(
        self,
        text: str,
        lexicon: Lexicon,
        cue_spans: list[tuple[int, int]],
        context: dict[str, list[Match]],
        words: list[tuple[int, int]],
    ):
        self.text = text
        self.lexicon = lexicon
        self.cue_spans = cue_spans
        self.context = context
        self.words = words
        self._word_starts = [start for start, _ in words]

    def spans(self, set_name: str) -> list[tuple[int, int]]:
        return [(start, end) for start, end, _ in self.context[set_name]]

    # --- structure -------------------------------------------------------------

    @cached_property
    def sentences(self) -> list[tuple[int, int]]:
        spans, start = [], 0
        for match in _SENTENCE_BOUNDARY.finditer(self.text):
            if match.group("stop") and not self._ends_sentence(match):
                continue
            spans.append((start, match.end()))
            start = match.end()
        spans.append((start, len(self.text)))
        return [self._trim(s, e) for s, e in spans if self.text[s:e].strip()]

    def _ends_sentence(self, match: re.Match[str]) -> bool:
        rest = self.text[match.end() :].lstrip()
        if rest and rest[0].islower():
            return False
        if match.group("stop").startswith(".") and len(match.group("stop")) == 1:
            before = _LAST_TOKEN.search(self.text, max(0, match.start() - 20), match.start())
            if before and (before.group(1).lower() in _ABBREVIATIONS or len(before.group(1)) == 1):
                return False
        return True

    def _trim(self, start: int, end: int) -> tuple[int, int]:
        while start < end and self.text[start].isspace():
            start += 1
        while end > start and self.text[end - 1].isspace():
            end -= 1
        return start, end

    @cached_property
    def _sentence_starts(self) -> list[int]:
        return [start for start, _ in self.sentences]

    def sentence_at(self, position: int) -> tuple[int, int]:
        index = max(bisect_right(self._sentence_starts, position) - 1, 0)
        return self.sentences[index] if self.sentences else (0, len(self.text))

    @cached_property
    def _clause_breaks(self) -> tuple[list[int], list[int]]:
        spans = [m.span() for m in _CLAUSE_BREAK.finditer(self.text)]
        return [s for s, _ in spans], [e for _, e in spans]

    @cached_property
    def _source_breaks(self) -> tuple[list[int], list[int]]:
        spans = [m.span() for m in _SOURCE_BREAK.finditer(self.text)]
        return [s for s, _ in spans], [e for _, e in spans]

    @staticmethod
    def _segment(breaks: tuple[list[int], list[int]], start: int, end: int, within: tuple[int, int]) -> tuple[int, int]:
        """The stretch between the nearest breaks around [start, end), inside `within`."""
        break_starts, break_ends = breaks
        index = bisect_right(break_ends, start) - 1
        left = max(within[0], break_ends[index]) if index >= 0 else within[0]
        index = bisect_left(break_starts, end)
        right = min(within[1], break_starts[index]) if index < len(break_starts) else within[1]
        return left, right

    def clause_of(self, start: int, end: int, sentence: tuple[int, int]) -> tuple[int, int]:
        return self._segment(self._clause_breaks, start, end, sentence)

    def source_segment_of(self, start: int, end: int, sentence: tuple[int, int]) -> tuple[int, int]:
        return self._segment(self._source_breaks, start, end, sentence)

    def words_between(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        return bisect_left(self._word_starts, end) - bisect_left(self._word_starts, start)

    def word_index_at(self, position: int) -> int:
        return bisect_right(self._word_starts, position) - 1

    @cached_property
    def quotes(self) -> list[tuple[int, int]]:
        return [m.span() for m in _QUOTE.finditer(self.text)]

    # --- polarity ---------------------------------------------------------------

    def _polarity_spans(self, set_name: str, blockers: list[tuple[int, int]]) -> list[tuple[int, int]]:
        blockers = self.cue_spans + blockers
        return [span for span in self.spans(set_name) if not _overlaps(span, blockers)]

    @cached_property
    def _hedge_spans(self) -> tuple[list, ...]:
        """Hedges, except where a clause negation covers them ("ingen oro för att")."""
        return tuple(self._polarity_spans(f"hedge:{scope}", self.spans("negation:clause")) for scope in _SCOPES)

    @cached_property
    def _negation_spans(self) -> tuple[list, ...]:
        """Negations; a near or trailing one inside a hedge ("kan inte uteslutas") is part of the hedge."""
        hedges = [span for spans in self._hedge_spans for span in spans]
        clause = self._polarity_spans("negation:clause", [])
        return (clause, *(self._polarity_spans(f"negation:{scope}", hedges) for scope in _SCOPES[1:]))

    def _scoped_cue(self, scoped: tuple[list, list, list], start: int, end: int, clause: tuple[int, int]):
        clause_spans, near_spans, after_spans = scoped
        for s, e in clause_spans:
            if clause[0] <= s and e <= start:
                return s, e
        for s, e in near_spans:
            if clause[0] <= s and e <= start and self.words_between(e, start) <= NEAR_WORDS:
                return s, e
            if s >= end and e <= clause[1] and not self.text[end:s].strip():
                return s, e
        for s, e in after_spans:
            if s >= end and e <= clause[1] and self.words_between(end, s) <= AFTER_WORDS:
                return s, e
        return None

    # --- people -----------------------------------------------------------------

    @cached_property
    def _vocabulary_mentions(self) -> list[_Mention]:
        found = []
        for start, end, tag in self.context["person"]:
            kind, value = tag.split(":", 1)
            actor = Actor(value) if kind == "a" else None
            victim = _ACTOR_TO_VICTIM.get(actor, Victim.other) if actor else Victim(value)
            word = self.text[start:end]
            genitive = actor is not None and " " not in word and word.lower().endswith("s")
            found.append(_Mention(start, end, actor, victim, genitive))
        return found

    @cached_property
    def _name_roles(self) -> dict[str, tuple[Actor | None, Victim]]:
        """Roles of first names the text introduces: "fadern Johan", "dottern Elsa", "Elsa (8 år)"."""
        roles: dict[str, tuple[Actor | None, Victim]] = {}
        cue_ends = {end for _, end in self.cue_spans}
        for mention in self._vocabulary_mentions:
            if self.text[: mention.start].rstrip() and len(self.text[: mention.start].rstrip()) in cue_ends:
                continue  # "slog pappan Elsa": an inverted subject and its object, not "fadern Johan"
            following = self._next_words(mention.end, 1, skip=False)
            if not following or self.text[mention.end : following[0][0]].strip():
                continue
            name = self.text[following[0][0] : following[0][1]]
            known = self._covering(self._vocabulary_mentions, self._vocabulary_starts, following[0][0])
            if not _looks_like_name(name) or known is not None:
                continue
            if mention.actor is not None and not mention.genitive:
                roles.setdefault(name, (mention.actor, mention.victim))
            elif self._is(self.lexicon.child_words, (mention.start, mention.end)):
                roles.setdefault(name, (None, Victim.child))
        for match in _CHILD_WITH_AGE.finditer(self.text):
            roles.setdefault(match.group(1), (None, Victim.child))
        return roles

    @cached_property
    def mentions(self) -> list[_Mention]:
        """Person words of the vocabulary, and every use of a name whose role the text gave."""
        found = list(self._vocabulary_mentions)
        if self._name_roles:
            names = "|".join(re.escape(name) for name in sorted(self._name_roles, key=len, reverse=True))
            for match in re.finditer(rf"(?<!\w)({names})(s?)(?!\w)", self.text):
                if any(m.start < match.end() and match.start() < m.end for m in self._vocabulary_mentions):
                    continue
                actor, victim = self._name_roles[match.group(1)]
                found.append(_Mention(match.start(), match.end(), actor, victim, bool(match.group(2))))
            found.sort(key=lambda mention: mention.start)
        return found

    @cached_property
    def _speech(self) -> list[tuple[int, int, bool]]:
        return [(start, end, tag == "denial") for start, end, tag in self.context["speech"]]

    def _next_words(self, position: int, limit: int, skip: bool = True) -> list[tuple[int, int]]:
        """Up to `limit` words from position on, passing over skip words (har, också ...)."""
        index = bisect_left(self._word_starts, position)
        found: list[tuple[int, int]] = []
        while index < len(self.words) and len(found) < limit:
            span = self.words[index]
            if not (skip and self._is(self.lexicon.skip_words, span)):
                found.append(span)
            index += 1
        return found

    def _previous_words(self, position: int, limit: int, floor: int, skip: bool = True) -> list[tuple[int, int]]:
        index = bisect_left(self._word_starts, position) - 1
        found: list[tuple[int, int]] = []
        while index >= 0 and len(found) < limit and self.words[index][0] >= floor:
            span = self.words[index]
            if not (skip and self._is(self.lexicon.skip_words, span)):
                found.append(span)
            index -= 1
        return found

    def _is(self, pattern: re.Pattern[str] | None, span: tuple[int, int]) -> bool:
        return pattern is not None and pattern.fullmatch(self.text, span[0], span[1]) is not None

    @staticmethod
    def _covering(mentions: list[_Mention], starts: list[int], position: int) -> _Mention | None:
        index = bisect_right(starts, position) - 1
        if index >= 0 and position < mentions[index].end:
            return mentions[index]
        return None

    @cached_property
    def _mention_starts(self) -> list[int]:
        return [mention.start for mention in self.mentions]

    @cached_property
    def _vocabulary_starts(self) -> list[int]:
        return [mention.start for mention in self._vocabulary_mentions]

    def _mention_at(self, span: tuple[int, int]) -> _Mention | None:
        """The person word (vocabulary word or introduced name) at span."""
        return self._covering(self.mentions, self._mention_starts, span[0])

    @cached_property
    def _speaker_mentions(self) -> frozenset[int]:
        """Starts of person words that introduce reported speech ("mamman berättar"): sources, not actors."""
        speakers = set()
        for start, _, denial in self._speech:
            if denial:
                continue
            for span in self._previous_words(start, 1, 0):
                mention = self._mention_at(span)
                if mention is not None:
                    speakers.add(mention.start)
        return frozenset(speakers)

    @cached_property
    def _according_mentions(self) -> frozenset[int]:
        """Starts of person words after "enligt": sources, not actors."""
        starts = set()
        for _, end in self.spans("according"):
            for span in self._next_words(end, 2, skip=False):
                mention = self._mention_at(span)
                if mention is not None:
                    starts.add(mention.start)
        return frozenset(starts)

    def _candidate(self, mention: _Mention) -> bool:
        return (
            mention.actor is not None
            and not mention.genitive
            and mention.start not in self._speaker_mentions
            and mention.start not in self._according_mentions
        )

    def _is_passive(self, start: int, end: int, clause: tuple[int, int]) -> bool:
        """Passive ("blev slagen") or an injury someone has ("hade en rodnad"): the person before is the victim."""
        first_word = self.text[start:end].split()[0].lower()
        if first_word.endswith(_PASSIVE_ENDINGS):
            return True
        if not first_word.endswith("t"):  # "har slagit" is active; "har (flera) blåmärken" is not
            for s, e in self._previous_words(start, 4, clause[0], skip=False):
                word = self.text[s:e].lower()
                if word in _POSSESSION_VERBS:
                    return True
                if word not in _NOUN_PHRASE_FILLERS:
                    break
        for span in self._previous_words(start, 2, clause[0]):
            word = self.text[span[0] : span[1]].lower()
            if (word in _PASSIVE_AUXILIARIES or word in _STATE_VERBS) and first_word.endswith(_PARTICIPLE_ENDINGS):
                return True
        return False

    def _subject_before(self, start: int, clause: tuple[int, int], sentence: tuple[int, int]) -> bool:
        """Whether a subject (pronoun, name, child word) stands before the cue: then a person after it is the object."""
        before = self._previous_words(start, 1, clause[0])
        if not before:
            return False
        span = before[0]
        if self._is(self.lexicon.speaker_pronouns, span) or self._is(self.lexicon.child_words, span):
            return True
        if self.text[span[0] : span[1]].lower() in _SUBJECT_PRONOUNS:
            return True
        word = self.text[span[0] : span[1]]
        return _looks_like_name(word) and span[0] != sentence[0] and self._mention_at(span) is None

    def _agent(self, end: int, clause: tuple[int, int]) -> _Mention | None:
        """The "av X" after a passive cue."""
        for span in self._next_words(end, 4, skip=False):
            if span[0] >= clause[1]:
                break
            if self.text[span[0] : span[1]].lower() == _AGENT_PREPOSITION:
                for mention in self.mentions:
                    if span[1] <= mention.start < clause[1] and self.words_between(span[1], mention.start) <= 2:
                        return mention if mention.actor is not None else None
                return None
        return None

    def people(
        self, start: int, end: int, clause: tuple[int, int], sentence: tuple[int, int], matcher: _CategoryMatcher
    ):
        """(actor, victim) of the cue at [start, end)."""
        in_clause = [m for m in self.mentions if clause[0] <= m.start < clause[1]]
        inside = [m for m in in_clause if start <= m.start < end and m.actor is not None and not m.genitive]
        chosen: _Mention | None = None
        if matcher.passive_possible and self._is_passive(start, end, clause):
            chosen = self._agent(end, clause)
            before = [m for m in in_clause if m.end <= start]
            victim = before[-1].victim if before else Victim.child
            return (chosen.actor if chosen else Actor.unknown), victim
        if matcher.actor_from_cue and inside:
            chosen = inside[0]
        if chosen is None:
            preceding = [m for m in in_clause if m.end <= start and self._candidate(m)]
            chosen = preceding[-1] if preceding else None
        if chosen is None and not self._subject_before(start, clause, sentence):
            following = [
                m
                for m in in_clause
                if m.start >= end and self._candidate(m) and self.words_between(end, m.start) <= FOLLOWER_WORDS - 1
            ]
            chosen = following[0] if following else None
        if chosen is None and inside:
            chosen = inside[0]
        if chosen is None:
            earlier = [m for m in self.mentions if sentence[0] <= m.start and m.end <= clause[0] and self._candidate(m)]
            chosen = earlier[-1] if earlier else None
        return (chosen.actor if chosen else Actor.unknown), self._victim(start, end, clause, chosen)

    def _victim(self, start: int, end: int, clause: tuple[int, int], actor: _Mention | None) -> Victim:
        """The first person word in or just after the cue; the child unless another person is named."""
        limit = clause[1]
        for span in self._next_words(end, VICTIM_WORDS + 1, skip=False):
            if self.text[span[0] : span[1]].lower() in _LINKING_WORDS:
                limit = min(limit, span[0])
                break
        for mention in self.mentions:
            if mention.start < start or mention.start >= limit or mention is actor or mention.genitive:
                continue
            if self.words_between(end, mention.start) > VICTIM_WORDS:
                break
            if self._after_agent_preposition(mention):
                continue
            return mention.victim
        return Victim.child

    def _after_agent_preposition(self, mention: _Mention) -> bool:
        index = self.word_index_at(mention.start) - 1
        if index < 0:
            return False
        span = self.words[index]
        return self.text[span[0] : span[1]].lower() == _AGENT_PREPOSITION

    # --- source -----------------------------------------------------------------

    def _classify_word(self, span: tuple[int, int], denial: bool) -> Source | str | None:
        """Source for one word naming a speaker; "name" for a capitalised unknown word; None if unknown."""
        mention = self._mention_at(span)
        lexicon = self.lexicon
        if mention is not None and mention.actor is not None:
            return Source.second_hand
        if self._is(lexicon.reporter_words, span):
            return Source.reporter
        if self._is(lexicon.impersonal_words, span):
            return Source.second_hand
        if self._is(lexicon.speaker_pronouns, span):
            return Source.second_hand if denial else Source.child
        if self._is(lexicon.child_words, span):
            return Source.child
        if mention is not None:
            return Source.second_hand if mention.victim is not Victim.child else Source.child
        if _looks_like_name(self.text[span[0] : span[1]]):
            return "name"
        return None

    def _speaker(
        self, verb_start: int, verb_end: int, denial: bool, sentence: tuple[int, int], inverted: bool = False
    ) -> Source:
        before = self._previous_words(verb_start, 1, sentence[0])
        after = [
            span
            for span in self._next_words(verb_end, 1)
            if span[0] < sentence[1] and not self.text[verb_end : span[0]].strip()
        ]
        before_kind = self._classify_word(before[0], denial) if before else None
        after_kind = self._classify_word(after[0], denial) if after else None
        if inverted:  # ", säger Elsa": the speaker follows the verb
            before_kind, after_kind = after_kind, None
        if isinstance(before_kind, Source):
            return before_kind
        if isinstance(after_kind, Source):
            return after_kind
        if after_kind == "name" or before_kind == "name":
            return Source.child
        return self._sentence_subject(sentence, denial)

    def _sentence_subject(self, sentence: tuple[int, int], denial: bool) -> Source:
        """Fallback for "Elsa ... och berättar" or "Idag ringde mamma och berättade": who opens the sentence."""
        kinds = [
            self._classify_word(span, denial)
            for span in self._next_words(sentence[0], SPEAKER_WORDS)
            if span[0] < sentence[1]
        ]
        for kind in kinds:
            if isinstance(kind, Source):
                return kind
        return Source.child if "name" in kinds else Source.second_hand

    def _according_source(self, segment: tuple[int, int], sentence: tuple[int, int]) -> Source | None:
        for start, end in self.spans("according"):
            if not (segment[0] <= start < segment[1]):
                continue
            words = [span for span in self._next_words(end, 3, skip=False) if span[0] < sentence[1]]
            for index, span in enumerate(words):
                kind = self._classify_word(span, False)
                if kind is None:
                    continue
                next_known = index + 1 < len(words) and self._classify_word(words[index + 1], False)
                if kind == "name" and self.text[span[0] : span[1]].endswith("s") and next_known:
                    continue  # "enligt Elsas mamma": the genitive names whose mother
                return Source.child if kind == "name" else kind
        return None  # "enligt LOB", "enligt rutin": not a person

    def source(self, start: int, end: int, sentence: tuple[int, int]) -> Source:
        for quote_start, quote_end in self.quotes:
            if quote_start <= start and end <= quote_end:
                return self._quote_source(quote_start, quote_end)
        segment = self.source_segment_of(start, end, sentence)
        according = self._according_source(segment, sentence)
        if according is not None:
            return according
        before = [v for v in self._speech if segment[0] <= v[0] and v[1] <= start]
        if before:
            verb_start, verb_end, denial = before[-1]
            return self._speaker(verb_start, verb_end, denial, sentence)
        after = [
            v
            for v in self._speech
            if end <= v[0] and v[1] <= segment[1] and self.text[end : v[0]].rstrip().endswith(",")
        ]
        if after:
            verb_start, verb_end, denial = after[0]
            return self._speaker(verb_start, verb_end, denial, sentence, inverted=True)
        if any(segment[0] <= s and e <= segment[1] for s, e in self.spans("hearsay")):
            return Source.second_hand
        return Source.reporter

    def _quote_source(self, quote_start: int, quote_end: int) -> Source:
        """Quoted words are the child's unless a speech verb names someone else."""
        sentence = self.sentence_at(quote_start)
        before = [v for v in self._speech if sentence[0] <= v[0] and v[1] <= quote_start]
        if before:
            verb_start, verb_end, denial = before[-1]
            kind = self._speaker(verb_start, verb_end, denial, sentence)
            return kind if kind is not Source.second_hand or self._names_person(verb_start, sentence) else Source.child
        tail = self.text[quote_end : quote_end + 40]
        match = re.match(r"\s*,?\s*", tail)
        offset = quote_end + (match.end() if match else 0)
        after = [v for v in self._speech if v[0] == offset]
        if after:
            verb_start, verb_end, denial = after[0]
            return self._speaker(verb_start, verb_end, denial, self.sentence_at(offset), inverted=True)
        return Source.child

    def _names_person(self, verb_start: int, sentence: tuple[int, int]) -> bool:
        before = self._previous_words(verb_start, 1, sentence[0])
        return bool(before) and self._mention_at(before[0]) is not None

    # --- hits -------------------------------------------------------------------

    def hit(self, start: int, end: int, matcher: _CategoryMatcher) -> LexiconHit:
        sentence = self.sentence_at(start)
        clause = self.clause_of(start, end, sentence)
        source = self.source(start, end, sentence)
        negation = self._scoped_cue(self._negation_spans, start, end, clause)
        hedge = None if negation else self._scoped_cue(self._hedge_spans, start, end, clause)
        if negation:
            polarity, decided_by = Polarity.negated, negation
        elif hedge:
            polarity, decided_by = Polarity.hedged, hedge
        else:
            polarity, decided_by = (Polarity.hedged if source is Source.second_hand else Polarity.affirmed), None
        actor, victim = self.people(start, end, clause, sentence, matcher)
        cue = self.text[start:end]
        return LexiconHit(
            category=matcher.category,
            polarity=polarity,
            actor=actor,
            victim=victim,
            source=source,
            start=start,
            end=end,
            cue=cue,
            sentence_start=sentence[0],
            sentence_end=sentence[1],
            confidence=_confidence(cue, matcher.category, actor),
            polarity_cue=self.text[decided_by[0] : decided_by[1]] if decided_by else None,
        )


def _looks_like_name(word: str) -> bool:
    """A capitalised word that is not an acronym (LOB, BVC)."""
    return word[:1].isupper() and (len(word) == 1 or word[1:].islower())


def _confidence(cue: str, category: Category, actor: Actor) -> float:
    """A ranking score, not a calibrated probability: longer cues are more specific."""
    words = len(cue.split())
    score = 0.55 if words == 1 else 0.7 if words == 2 else 0.8
    if category in _CARER_CATEGORIES:
        score += 0.1 if actor in _CARERS else -0.1
    return round(score, 2)


@functools.lru_cache(maxsize=8)
def lexicon_for(taxonomy: Taxonomy) -> Lexicon:
    """The compiled lexicon of a taxonomy, built once per taxonomy object."""
    return Lexicon(taxonomy)


@functools.cache
def default_lexicon() -> Lexicon:
    """The lexicon of the taxonomy beside this package (skips path resolution on every call)."""
    return lexicon_for(load_taxonomy())


def tag(text: str, taxonomy: Taxonomy | None = None) -> list[LexiconHit]:
    """All indicator cues in text with polarity, actor, victim and source (default taxonomy if none given)."""
    lexicon = default_lexicon() if taxonomy is None else lexicon_for(taxonomy)
    return lexicon.tag(text)
