"""Validate gold-annotated report files (JSONL) against the format in TAXONOMY.md.

Usage:
    python3 eval/data/validate_gold.py FILE [FILE ...]
    python3 eval/data/validate_gold.py --stats FILE [FILE ...]

Each FILE holds one report object per line:
    {"report_id", "child_id", "date", "reporter", "text", "gold": [
        {"quote", "category", "polarity", "optional"}, ...]}

Errors are printed as ``FILE:LINE: problem`` and make the exit status 1.
Warnings (``FILE:LINE: warning: ...``) do not change the exit status unless
``--strict`` is given. Checks across files: report ids are unique over all
files, and a child id appears in one file only (files are splits).

``--stats`` also prints Markdown tables: reports, children and gold items per
category and polarity for each file, plus the share of non-negated quotes that
contain an obvious cue word (a rough measure of how much the data paraphrases).

Standard library only, so it runs without the project's virtual environment.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

CATEGORIES = (
    "physical_violence",
    "psychological_violence",
    "sexual_abuse",
    "material_violence",
    "economic_abuse",
    "latent_violence",
    "neglect",
    "witnessed_violence",
    "honour_violence",
    "parental_conflict",
    "parental_substance_abuse",
    "parental_mental_illness",
    "child_risk_behaviour",
    "protective_factor",
)
VIOLENCE_CATEGORIES = CATEGORIES[:10]
POLARITIES = ("affirmed", "hedged", "negated")
REPORTERS = (
    "skola",
    "förskola",
    "hälso- och sjukvård",
    "polis",
    "socialtjänst",
    "annan myndighet",
    "privatperson",
    "anonym",
    "okänd",
)
# Optional attributes a later version of the gold may carry (TAXONOMY.md).
ACTORS = ("mother", "father", "step_parent", "sibling", "relative", "other", "unknown")
VICTIMS = ("child", "sibling", "parent", "other")
SOURCES = ("child", "reporter", "second_hand")
OPTIONAL_ATTRIBUTES = {"actor": ACTORS, "victim": VICTIMS, "source": SOURCES}

REPORT_FIELDS = {
    "report_id": str,
    "child_id": str,
    "date": str,
    "reporter": str,
    "text": str,
    "gold": list,
}
KNOWN_REPORT_FIELDS = set(REPORT_FIELDS) | {"source_file"}
GOLD_FIELDS = {"quote": str, "category": str, "polarity": str, "optional": bool}
KNOWN_GOLD_FIELDS = set(GOLD_FIELDS) | set(OPTIONAL_ATTRIBUTES)

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MIN_QUOTE_WORDS = 3
MAX_QUOTE_WORDS = 25

# Obvious cue words, lower case, matched as substrings of the lower-cased quote.
# Illustrative (taken from TAXONOMY.md's cue column plus close inflections);
# used only for the --stats paraphrase measure, never for validation.
# fmt: off
CUE_STEMS = (
    "slog", "slagit", "slår", "örfil", "luggade", "knuff", "sparka", "stryptag",
    "strypgrepp", "tagit hårt", "blåmärk", "misshand", "våld",
    "hotar", "hotade", "hotat", "hot ", "döda", "skrik", "skrek", "kallar henne",
    "låst in", "låste in", "inlåst", "får inte träffa",
    "underlivet", "tafsa", "porr", "nakenbild", "sexuali", "övergrepp",
    "slog sönder", "slagit sönder", "kastade saker", "hål i väggen", "förstör",
    "barnbidrag", "kontrollerar pengarna",
    "rädd", "vågar inte", "gömmer sig", "gömde sig", "går på tå",
    "vill inte till umgäng",
    "hungrig", "utan frukost", "smutsig", "frånvaro", "hämtas inte",
    "ensam hemma", "utebliv", "karies",
    "var hemma när", "hörde bråket", "såg när", "polis kallades",
    "pojkvän", "bevakas", "giftas bort", "gifta sig", "hemlandet", "rykte",
    "heder",
    "vårdnadstvist", "överlämning", "kontaktförbud", "polisanmälan", "polisanmäl",
    "berusad", "påverkad", "alkohol", "narkotika", "lvm", "full ",
    "förvirrad", "psykos", "psykotisk", "inlagd", "medicin", "suicid",
    "skär sig", "skadar sig", "självskad", "rymmer", "rymt", "kriminal",
    "stöttar", "trivs i skolan", "god närvaro", "samarbetar", "behandling",
)
# fmt: on


class Checker:
    def __init__(self) -> None:
        self.errors = 0
        self.warnings = 0
        self.report_ids: dict[str, str] = {}
        self.child_files: dict[str, str] = {}
        self.shared_children: set[tuple[str, str]] = set()
        self.records: dict[str, list[dict]] = defaultdict(list)

    def error(self, where: str, problem: str) -> None:
        self.errors += 1
        print(f"{where}: {problem}")

    def warn(self, where: str, problem: str) -> None:
        self.warnings += 1
        print(f"{where}: warning: {problem}")

    def check_file(self, path: Path) -> None:
        name = str(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            self.error(f"{name}:0", f"cannot read file: {exc}")
            return
        if not lines:
            self.warn(f"{name}:0", "file is empty")
        for number, line in enumerate(lines, start=1):
            where = f"{name}:{number}"
            if not line.strip():
                self.error(where, "blank line (JSONL must contain one report object per line)")
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                self.error(where, f"invalid JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(record, dict):
                self.error(where, "line is not a JSON object")
                continue
            if self.check_record(where, name, record):
                self.records[name].append(record)

    def check_record(self, where: str, name: str, record: dict) -> bool:
        ok = True
        for field, kind in REPORT_FIELDS.items():
            if field not in record:
                self.error(where, f"missing field '{field}'")
                ok = False
            elif not isinstance(record[field], kind):
                self.error(where, f"field '{field}' must be {kind.__name__}")
                ok = False
            elif kind is str and not record[field].strip():
                self.error(where, f"field '{field}' is empty")
                ok = False
        for field in sorted(set(record) - KNOWN_REPORT_FIELDS):
            self.warn(where, f"unknown field '{field}'")
        if not ok:
            return False

        report_id, child_id = record["report_id"], record["child_id"]
        where = f"{where} ({report_id})"
        if not report_id.startswith(child_id + "-"):
            self.error(where, f"report_id '{report_id}' does not start with child_id '{child_id}-'")
        if report_id in self.report_ids:
            self.error(where, f"duplicate report_id, first seen in {self.report_ids[report_id]}")
        else:
            self.report_ids[report_id] = where
        first_file = self.child_files.setdefault(child_id, name)
        if first_file != name and (child_id, name) not in self.shared_children:
            self.shared_children.add((child_id, name))
            self.error(where, f"child_id '{child_id}' also occurs in {first_file} (splits must not share children)")

        date = record["date"]
        if not ISO_DATE.match(date):
            self.error(where, f"date '{date}' is not ISO YYYY-MM-DD")
        else:
            try:
                dt.date.fromisoformat(date)
            except ValueError:
                self.error(where, f"date '{date}' is not a valid calendar date")
        if record["reporter"] not in REPORTERS:
            self.error(where, f"reporter '{record['reporter']}' not in {list(REPORTERS)}")

        text = record["text"]
        seen: set[tuple[str, str]] = set()
        for index, item in enumerate(record["gold"]):
            self.check_gold(f"{where} gold[{index}]", text, item, seen)
        return True

    def check_gold(self, where: str, text: str, item: object, seen: set[tuple[str, str]]) -> None:
        if not isinstance(item, dict):
            self.error(where, "gold item is not an object")
            return
        ok = True
        for field, kind in GOLD_FIELDS.items():
            if field not in item:
                self.error(where, f"missing field '{field}'")
                ok = False
            elif not isinstance(item[field], kind):
                self.error(where, f"field '{field}' must be {kind.__name__}")
                ok = False
        for field in sorted(set(item) - KNOWN_GOLD_FIELDS):
            self.warn(where, f"unknown field '{field}'")
        for field, allowed in OPTIONAL_ATTRIBUTES.items():
            if field in item and item[field] not in allowed:
                self.error(where, f"{field} '{item[field]}' not in {list(allowed)}")
        category, polarity = item.get("category"), item.get("polarity")
        if isinstance(category, str) and category not in CATEGORIES:
            self.error(where, f"unknown category '{category}'")
        if isinstance(polarity, str) and polarity not in POLARITIES:
            self.error(where, f"unknown polarity '{polarity}'")
        quote = item.get("quote")
        if not isinstance(quote, str):
            return
        if not quote.strip():
            self.error(where, "quote is empty")
            return
        if quote not in text:
            hint = ""
            if quote.lower() in text.lower():
                hint = " (matches only when case is ignored)"
            elif " ".join(quote.split()) in " ".join(text.split()):
                hint = " (matches only when whitespace is normalised)"
            self.error(where, f"quote is not an exact substring of text{hint}: {quote!r}")
        elif text.count(quote) > 1:
            self.warn(where, f"quote occurs {text.count(quote)} times in text: {quote!r}")
        if "\n" in quote:
            self.error(where, f"quote spans a line break: {quote!r}")
        if quote != quote.strip():
            self.error(where, f"quote has leading or trailing whitespace: {quote!r}")
        words = len(quote.split())
        if words < MIN_QUOTE_WORDS or words > MAX_QUOTE_WORDS:
            self.warn(where, f"quote has {words} words (expected {MIN_QUOTE_WORDS}-{MAX_QUOTE_WORDS}): {quote!r}")
        key = (quote, str(category))
        if ok and key in seen:
            self.error(where, f"duplicate gold item for category '{category}': {quote!r}")
        seen.add(key)


def has_cue(quote: str) -> bool:
    lowered = quote.lower() + " "
    return any(stem in lowered for stem in CUE_STEMS)


def print_stats(records: dict[str, list[dict]]) -> None:
    names = list(records)
    short = [Path(name).name for name in names]
    columns = [*short, "total"]
    per_file = {name: records[name] for name in names}
    everything = [record for name in names for record in records[name]]

    def items(recs: list[dict]) -> list[dict]:
        return [item for record in recs for item in record["gold"]]

    print("| | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    rows = {
        "reports": lambda recs: str(len(recs)),
        "children": lambda recs: str(len({r["child_id"] for r in recs})),
        "reports with gold []": lambda recs: str(sum(1 for r in recs if not r["gold"])),
        "gold items (optional)": lambda recs: f"{len(items(recs))} ({sum(i['optional'] for i in items(recs))})",
    }
    for label, cell in rows.items():
        cells = [cell(per_file[name]) for name in names] + [cell(everything)]
        print(f"| {label} | " + " | ".join(cells) + " |")

    print()
    print("Gold items per category; a cell reads all (negated, optional).")
    print()
    print("| category | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for category in CATEGORIES:
        cells = []
        for recs in [*per_file.values(), everything]:
            cat_items = [i for i in items(recs) if i["category"] == category]
            negated = sum(1 for i in cat_items if i["polarity"] == "negated")
            optional = sum(1 for i in cat_items if i["optional"])
            cells.append(f"{len(cat_items)} ({negated}, {optional})")
        print(f"| {category} | " + " | ".join(cells) + " |")

    print()
    print("| polarity | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for polarity in POLARITIES:
        cells = []
        for recs in [*per_file.values(), everything]:
            all_items = items(recs)
            count = sum(1 for i in all_items if i["polarity"] == polarity)
            share = 100 * count / len(all_items) if all_items else 0.0
            cells.append(f"{count} ({share:.0f} %)")
        print(f"| {polarity} | " + " | ".join(cells) + " |")

    print()
    flagged = [i for i in items(everything) if i["polarity"] != "negated"]
    cued = Counter(has_cue(i["quote"]) for i in flagged)
    violence = [i for i in flagged if i["category"] in VIOLENCE_CATEGORIES]
    cued_violence = sum(1 for i in violence if has_cue(i["quote"]))
    if flagged:
        print(
            f"Non-negated items whose quote contains an obvious cue word: {cued[True]} of "
            f"{len(flagged)} ({100 * cued[True] / len(flagged):.0f} %); violence and conflict "
            f"categories only: {cued_violence} of {len(violence)} "
            f"({100 * cued_violence / max(len(violence), 1):.0f} %)."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="JSONL files to check")
    parser.add_argument("--stats", action="store_true", help="print count tables (Markdown)")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    args = parser.parse_args(argv)

    checker = Checker()
    for path in args.files:
        checker.check_file(path)
    failed = checker.errors > 0 or (args.strict and checker.warnings > 0)
    sys.stdout.flush()
    print(
        f"{len(checker.report_ids)} reports checked in {len(args.files)} file(s): "
        f"{checker.errors} error(s), {checker.warnings} warning(s)",
        file=sys.stderr,
    )
    if args.stats and checker.errors:
        print("no statistics: fix the errors first", file=sys.stderr)
    elif args.stats and checker.records:
        print_stats(checker.records)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
