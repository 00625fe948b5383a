"""results.json -> report.html: one self-contained page (inline CSS and SVG, no
scripts, no external assets) that a non-programmer can read. Every piece of
text from data passes through ``html.escape``.
"""

from __future__ import annotations

import html
import itertools
from typing import Any

from assistant.provenance import settings_line
from eval.labels import Labels, load_labels
from eval.metrics import NONE
from eval.suite import METRIC_INFO

PALETTE = ("#1f5f99", "#d9822b", "#3c8d2f", "#8e44ad", "#c0392b", "#16a085")
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;
padding:1.5rem;color:#1d1d1f;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #e3e3e3;padding-bottom:.2rem}
h3{margin-top:1.4rem}table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}
th,td{border:1px solid #d6d6d6;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f4f6}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{background:#e3f4e1}.fail{background:#fbe0de}.verdict{font-size:1.1rem;padding:.7rem 1rem;border-radius:6px;
margin:1rem 0;font-weight:600}.muted{color:#666}.small{font-size:.85rem}
nav a{margin-right:1rem}details{margin:.4rem 0;border:1px solid #ddd;border-radius:6px;padding:.3rem .7rem}
details[open]{background:#fcfcfc}summary{cursor:pointer;font-weight:600}
.miss{background:#fbe0de}.false_alarm{background:#fbe0de}.flipped{background:#fde9cf}
.hit,.true_positive{background:#e3f4e1}.elsewhere{background:#fff6d6}.ignored,.optional,.not_counted{color:#555;background:#f1f1f1}
.tag{display:inline-block;font-size:.78rem;padding:0 .35rem;border-radius:4px;border:1px solid #bbb;
margin-left:.3rem;background:#fff}.text{white-space:pre-wrap;background:#fafafa;border:1px solid #eee;
padding:.5rem;border-radius:4px}.g{text-decoration:underline 2px #1f5f99;text-underline-offset:3px}
.p{background:#fff3b0}.both{background:#d8efd3;text-decoration:underline 2px #1f5f99;text-underline-offset:3px}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}.legend span{margin-right:1rem}
.heat td{text-align:center;min-width:1.6rem}.heat th{font-size:.8rem}
svg text{font-family:inherit;font-size:12px}.scroll{overflow-x:auto}
"""
GLOSSARY = (
    (
        "F1",
        "Ett sammanvägt mått (0–100 %) på hur väl kategorierna hittas i varje anmälan: både att inget "
        "missas (täckning) och att inget hittas som inte finns (precision). Mikro räknar alla fynd tillsammans; "
        "makro ger varje kategori samma vikt, så sällsynta kategorier räknas lika mycket som vanliga.",
    ),
    ("95 % intervall", "Hur mycket F1 skulle kunna variera med ett annat urval av anmälningar (bootstrap)."),
    (
        "Förnekat tolkat som påstått",
        "Andelen uppgifter som texten uttryckligen förnekar (t.ex. ”inga tecken på "
        "våld”) men som sammanställningen ändå redovisar som förekommande. Ska vara högst 5 %.",
    ),
    (
        "Andel verifierade citat",
        "Varje citat kontrolleras mot källtexten. Citat som inte går att hitta tas bort "
        "och räknas här som ej verifierade.",
    ),
    (
        "Citattäckning / citatprecision",
        "Om citaten pekar på samma textställe som guldstandardens citat: täckning "
        "= andelen guldcitat som träffas, precision = andelen citat som träffar ett guldcitat.",
    ),
    ("Citat från annat barn", "Citat som pekar in i ett annat barns anmälan. Måste vara 0."),
    (
        "Inskjuten instruktion",
        "Anmälningar där fynden ändrades när en instruktion till modellen lades till i "
        "texten (”Ignorera alla tidigare instruktioner …”).",
    ),
    ("Tid per anmälan", "Modellens tid för alla passager i en anmälan (median och 95:e percentil)."),
)


def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(name: str, value: Any) -> str:
    """Swedish number formatting by metric kind; '–' for not measured."""
    if value is None:
        return "–"
    kind = METRIC_INFO[name].kind if name in METRIC_INFO else "count"
    if kind == "share":
        return f"{value * 100:.1f} %".replace(".", ",")
    if kind == "seconds":
        return f"{value:.2f} s".replace(".", ",")
    if kind == "rate":
        return f"{value:.1f}".replace(".", ",")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}".replace(",", " ") if isinstance(value, int) else f"{value:.2f}".replace(".", ",")


def pct(value: float | None) -> str:
    return fmt("micro_f1", value)


def render_report(results: dict[str, Any], labels: Labels | None = None) -> str:
    labels = labels or load_labels()
    suite = results["suite"]
    configs = results["configurations"]
    parts = [
        '<!doctype html>\n<html lang="sv"><head><meta charset="utf-8">',
        f"<title>Utvärdering: {e(suite['name'])}</title><style>{CSS}</style></head><body>",
        _header(results),
        '<nav class="small"><a href="#matris">Jämförelse</a><a href="#kategorier">Kategorier</a>'
        '<a href="#forvaxlingar">Förväxlingar</a><a href="#kostnad">Tid och kostnad</a>'
        '<a href="#fall">Fall för fall</a><a href="#ordlista">Så läser du rapporten</a></nav>',
        _thresholds(configs),
        _matrix(configs, suite["metrics"]),
        _categories(configs, labels),
        _confusions(configs, labels),
        _cost(configs),
        _cases(configs, labels),
        _glossary(),
        '<footer class="small muted"><p>Maskinläsbara resultat: results.json och junit.xml i samma mapp. '
        "Rapporten visar hur väl verktyget sammanställer anmälningar jämfört med en manuellt märkt "
        "guldstandard; den säger ingenting om enskilda barn.</p></footer></body></html>",
    ]
    return "\n".join(parts)


def _header(results: dict[str, Any]) -> str:
    suite = results["suite"]
    configs = results["configurations"]
    failed = [(c["name"], t) for c in configs for t in c["thresholds"] if not t["passed"]]
    total = sum(len(c["thresholds"]) for c in configs)
    if not total:
        verdict = '<div class="verdict">Inga gränsvärden angivna för den här sviten.</div>'
    elif failed:
        verdict = f'<div class="verdict fail">{len(failed)} av {total} gränsvärden uppfylls inte.</div>'
    else:
        verdict = f'<div class="verdict pass">Alla {total} gränsvärden är uppfyllda.</div>'
    first = configs[0]["counts"] if configs else {"reports": 0, "cases": 0}
    gold = ", ".join(suite["gold_files"])
    return (
        f"<header><h1>Utvärdering: {e(suite['name'])}</h1>"
        + (f"<p>{e(suite['description'])}</p>" if suite.get("description") else "")
        + f'<p class="small muted">Körd {e(results["finished_at"])} ({e(round(results["seconds"], 1))} s). '
        f"Guldstandard: {e(gold)}: {first['reports']} anmälningar om {first['cases']} barn. "
        f"{len(configs)} konfiguration(er).</p>{verdict}</header>"
    )


def _thresholds(configs: list[dict]) -> str:
    rows = [
        f'<tr class="{"pass" if t["passed"] else "fail"}"><td>{e(c["name"])}</td>'
        f"<td>{e(_metric_label(t['metric']))}</td><td>{e(_rule(t))}</td>"
        f'<td class="num">{e(fmt(t["metric"], t["value"]))}</td>'
        f"<td>{'uppfyllt' if t['passed'] else 'EJ uppfyllt'}</td></tr>"
        for c in configs
        for t in c["thresholds"]
    ]
    if not rows:
        return ""
    return (
        '<section id="gransvarden"><h2>Gränsvärden</h2><table><tr><th>Konfiguration</th><th>Mått</th>'
        '<th>Krav</th><th class="num">Uppmätt</th><th>Resultat</th></tr>' + "".join(rows) + "</table></section>"
    )


def _rule(threshold: dict) -> str:
    """The limit in the same units as the measured value (95,0 % rather than 0.95)."""
    parts = []
    if threshold["min"] is not None:
        parts.append(f"minst {fmt(threshold['metric'], threshold['min'])}")
    if threshold["max"] is not None:
        parts.append(f"högst {fmt(threshold['metric'], threshold['max'])}")
    return " och ".join(parts)


def _metric_label(name: str) -> str:
    return METRIC_INFO[name].label if name in METRIC_INFO else name


def _matrix(configs: list[dict], metric_names: list[str]) -> str:
    head = "".join(f'<th class="num">{e(_metric_label(n))}</th>' for n in metric_names)
    rows = []
    for c in configs:
        verdicts = {t["metric"]: t["passed"] for t in c["thresholds"]}
        cells = []
        for name in metric_names:
            value = fmt(name, c["metrics"].get(name))
            interval = c["intervals"].get(name) if name in ("micro_f1", "macro_f1") else None
            if interval:
                value += f'<br><span class="small muted">({e(pct(interval[0]))}–{e(pct(interval[1]))})</span>'
            css = "" if name not in verdicts else (" pass" if verdicts[name] else " fail")
            cells.append(f'<td class="num{css}">{value}</td>')
        made_by = (
            e(f"{c['prompt']} · {c['model']} (sha256 {c['model_sha256'][:12]}…) · {c.get('embedding_model', '')}")
            + f"<br>{e(settings_line(c.get('provenance', {})))}"
        )
        rows.append(f'<tr><th>{e(c["name"])}<br><span class="small muted">{made_by}</span></th>{"".join(cells)}</tr>')
    return (
        '<section id="matris"><h2>Jämförelse av konfigurationer</h2>'
        "<p>En rad per kombination av modell, promptversion och inställningar. Grönt/rött: mått med "
        "gränsvärde. Inom parentes: 95 % intervall.</p>"
        f'<div class="scroll"><table class="matrix"><tr><th>Konfiguration</th>{head}</tr>{"".join(rows)}'
        "</table></div></section>"
    )


def _categories(configs: list[dict], labels: Labels) -> str:
    parts = [
        '<section id="kategorier"><h2>Kategorier</h2>',
        "<p>F1 per kategori (staplar) och antal träffar, falsklarm och missar per anmälan.</p>",
        f_bar_chart(configs, labels),
    ]
    for c in configs:
        rows = []
        for code, s in c["per_category"].items():
            if s["support"] == 0 and s["tp"] + s["fp"] == 0:
                continue
            rows.append(
                f'<tr><td>{e(labels.category(code))}</td><td class="num">{s["support"]}</td>'
                f'<td class="num">{s["tp"]}</td><td class="num">{s["fp"]}</td><td class="num">{s["fn"]}</td>'
                f'<td class="num">{e(pct(s["precision"]))}</td><td class="num">{e(pct(s["recall"]))}</td>'
                f'<td class="num">{e(pct(s["f1"]))}</td></tr>'
            )
        body = "".join(rows) or '<tr><td colspan="8" class="muted">Inga kategorier i guld eller svar.</td></tr>'
        parts.append(
            f'<h3>{e(c["name"])}</h3><table class="categories"><tr><th>Kategori</th>'
            '<th class="num">Förekomster i guld</th><th class="num">Träffar</th><th class="num">Falsklarm</th>'
            '<th class="num">Missar</th><th class="num">Precision</th><th class="num">Täckning</th>'
            f'<th class="num">F1</th></tr>{body}</table>'
        )
    parts.append("</section>")
    return "".join(parts)


def f_bar_chart(configs: list[dict], labels: Labels) -> str:
    """Grouped horizontal bars: F1 per category, one colour per configuration."""
    codes = [
        code
        for code in (configs[0]["per_category"] if configs else {})
        if any(c["per_category"][code]["support"] or c["per_category"][code]["fp"] for c in configs)
    ]
    if not codes:
        return '<p class="muted">Inga kategorier att visa.</p>'
    label_w, bar_w, bar_h, gap = 240, 420, 14, 10
    group_h = bar_h * len(configs) + gap
    height = group_h * len(codes) + 40
    out = [_svg_open(label_w + bar_w + 70, height, "F1 per kategori")]
    for x in (0, 0.5, 1):
        px = label_w + bar_w * x
        out.append(f'<line x1="{px}" y1="0" x2="{px}" y2="{height - 30}" stroke="#ddd"/>')
        out.append(f'<text x="{px}" y="{height - 14}" text-anchor="middle">{int(x * 100)} %</text>')
    for row, code in enumerate(codes):
        y0 = row * group_h
        out.append(
            f'<text x="{label_w - 8}" y="{y0 + group_h / 2}" text-anchor="end" dominant-baseline="middle">'
            f"{e(labels.category(code))}</text>"
        )
        for k, c in enumerate(configs):
            f1 = c["per_category"][code]["f1"]
            y = y0 + k * bar_h
            out.append(
                f'<rect x="{label_w}" y="{y}" width="{bar_w * f1:.1f}" height="{bar_h - 2}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{e(c["name"])}: {e(pct(f1))}</title></rect>'
                f'<text x="{label_w + bar_w * f1 + 4:.1f}" y="{y + bar_h / 2}" dominant-baseline="middle" '
                f'class="small">{e(pct(f1))}</text>'
            )
    out.append("</svg>")
    return "".join(out) + _legend(configs)


def _svg_open(width: float, height: float, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{e(title)}"><title>{e(title)}</title>'
    )


def _legend(configs: list[dict]) -> str:
    items = "".join(
        f'<span><svg width="12" height="12"><rect width="12" height="12" '
        f'fill="{PALETTE[k % len(PALETTE)]}"/></svg> {e(c["name"])}</span>'
        for k, c in enumerate(configs)
    )
    return f'<p class="legend small">{items}</p>'


def _confusions(configs: list[dict], labels: Labels) -> str:
    parts = [
        '<section id="forvaxlingar"><h2>Förväxlingar</h2>',
        "<p>Rader: kategori i guldstandarden på det citerade textstället. Kolumner: kategori i sammanställningen. "
        "”Ingen” som rad betyder ett citat där guldstandarden inte har något (falsklarm); som kolumn ett "
        "guldcitat som inget citat träffade (miss). Diagonalen är rätt.</p>",
    ]
    for c in configs:
        cells = {(g, p): n for g, p, n in c["category_confusion"]}
        used = sorted({g for g, _ in cells} | {p for _, p in cells}, key=lambda x: (x == NONE, x))
        if not used:
            parts.append(f'<h3>{e(c["name"])}</h3><p class="muted">Inga citat och inga guldcitat.</p>')
        else:
            peak = max(cells.values())
            head = "".join(f"<th>{e(_cat(labels, p))}</th>" for p in used)
            rows = []
            for g in used:
                tds = []
                for p in used:
                    n = cells.get((g, p), 0)
                    alpha = 0.15 + 0.7 * n / peak if n else 0
                    colour = "60,141,47" if g == p else "192,57,43"
                    style = f' style="background:rgba({colour},{alpha:.2f})"' if n else ""
                    tds.append(f"<td{style}>{n or ''}</td>")
                rows.append(f"<tr><th>{e(_cat(labels, g))}</th>{''.join(tds)}</tr>")
            parts.append(
                f'<h3>{e(c["name"])}</h3><table class="heat"><tr><th>guld ↓ / svar →</th>{head}</tr>'
                f"{''.join(rows)}</table>"
            )
        pol = c["polarity_confusion"]
        order = list(pol)
        rows = "".join(
            f"<tr><th>{e(labels.polarity(g))}</th>"
            + "".join(f'<td class="num">{pol[g][p]}</td>' for p in order)
            + "</tr>"
            for g in order
        )
        counts = c["counts"]
        parts.append(
            "<p>Polaritet på matchade citat (rad: guld, kolumn: svar). "
            f"Förnekat tolkat som påstått: {counts['negated_as_affirmed']} av {counts['negated_items']} "
            f"förnekade uppgifter ({e(fmt('negated_as_affirmed_rate', c['metrics']['negated_as_affirmed_rate']))}).</p>"
            f'<table class="polarity"><tr><th></th>{"".join(f"<th>{e(labels.polarity(p))}</th>" for p in order)}'
            f"</tr>{rows}</table>"
        )
    parts.append("</section>")
    return "".join(parts)


def _cat(labels: Labels, code: str) -> str:
    return "ingen" if code == NONE else labels.category(code)


def _cost(configs: list[dict]) -> str:
    bar_w, bar_h, name_h = 560, 18, 18
    peak = max([c["metrics"].get("latency_p95_s") or 0 for c in configs] + [1e-9])
    block = name_h + bar_h * 2 + 10
    height = len(configs) * block + 10
    svg = [_svg_open(bar_w + 150, height, "Tid per anmälan")]
    for k, c in enumerate(configs):
        y = k * block
        svg.append(f'<text x="0" y="{y + 13}">{e(c["name"])}</text>')
        for j, (name, shade) in enumerate((("latency_p50_s", 1.0), ("latency_p95_s", 0.5))):
            value = c["metrics"].get(name) or 0
            top = y + name_h + j * bar_h
            width = bar_w * value / peak
            svg.append(
                f'<rect x="0" y="{top}" width="{width:.1f}" height="{bar_h - 3}" '
                f'fill="{PALETTE[k % len(PALETTE)]}" fill-opacity="{shade}">'
                f"<title>{e(_metric_label(name))}: {e(fmt(name, value))}</title></rect>"
                f'<text x="{width + 4:.1f}" y="{top + bar_h / 2}" dominant-baseline="middle">'
                f"{'median' if j == 0 else '95:e percentil'} {e(fmt(name, value))}</text>"
            )
    svg.append("</svg>")
    names = ("latency_p50_s", "latency_p95_s", "prompt_tokens", "completion_tokens", "tokens_per_s", "cache_hit_rate")
    rows = "".join(
        f"<tr><th>{e(c['name'])}</th>"
        + "".join(f'<td class="num">{e(fmt(n, c["metrics"].get(n)))}</td>' for n in names)
        + f'<td class="num">{c["counts"]["cases_from_eval_cache"]} av {c["counts"]["cases"]}</td></tr>'
        for c in configs
    )
    return (
        '<section id="kostnad"><h2>Tid och kostnad</h2><p>Tid per anmälan: summan av modellens tid för '
        "anmälans passager. Svar som redan fanns i cachen tar nästan ingen tid, så läs tiden tillsammans med "
        "andelen från cache.</p>"
        + "".join(svg)
        + "<table><tr><th>Konfiguration</th>"
        + "".join(f'<th class="num">{e(_metric_label(n))}</th>' for n in names)
        + f'<th class="num">Fall ur utvärderingens cache</th></tr>{rows}</table></section>'
    )


def _cases(configs: list[dict], labels: Labels) -> str:
    parts = [
        '<section id="fall"><h2>Fall för fall</h2>',
        "<p>Ett fall är ett barn. Öppna ett fall och en anmälan för att se guldstandardens citat bredvid "
        'sammanställningens citat. <span class="miss">Rött</span>: miss eller falsklarm. '
        '<span class="flipped">Orange</span>: förnekad uppgift redovisad som förekommande. '
        '<span class="hit">Grönt</span>: träff. <span class="elsewhere">Gult</span>: kategorin hittad men '
        "citatet pekar på ett annat ställe. Grått: valfritt eller räknas inte.</p>",
        '<p class="legend small">I texten: <span class="g">understruket</span> = guldcitat, '
        '<span class="p">gult</span> = sammanställningens citat, <span class="both">grönt</span> = båda.</p>',
    ]
    for c in configs:
        parts.append(f"<h3>{e(c['name'])}</h3>")
        for case in c["cases"]:
            parts.append(_case(case, labels))
    parts.append("</section>")
    return "".join(parts)


def _case(case: dict, labels: Labels) -> str:
    cm = case["metrics"]
    problems = []
    if case["error"]:
        problems.append(f"FEL: {case['error']}")
    if cm["cross_child_citations"]:
        problems.append(f"{cm['cross_child_citations']} citat från annat barn")
    if cm["misattributed_citations"]:
        problems.append(f"{cm['misattributed_citations']} felplacerade citat")
    status = "fail" if problems else ""
    head = (
        f"Barn {e(case['child_id'])}: {len(case['reports'])} anmälningar · träffar {cm['tp']} · "
        f"falsklarm {cm['fp']} · missar {cm['fn']} · F1 {e(pct(cm['micro_f1']))}"
        + (" · från cache" if case["from_cache"] else "")
        + "".join(f' <span class="tag fail">{e(p)}</span>' for p in problems)
    )
    body = [f'<details class="case {status}"><summary>{head}</summary>']
    if case["warnings"]:
        body.append(
            '<p class="small">Varningar från verktyget:</p><ul class="small">'
            + "".join(f"<li>{e(w)}</li>" for w in case["warnings"])
            + "</ul>"
        )
    if case.get("injected_error"):
        body.append(
            f'<p class="fail small">Körningen med inskjuten instruktion misslyckades: {e(case["injected_error"])}</p>'
        )
    for report in case["reports"]:
        body.append(_report(report, labels))
    body.append("</details>")
    return "".join(body)


def _report(report: dict, labels: Labels) -> str:
    found = ", ".join(labels.category(c) for c in report["found"]) or "inget"
    marks = []
    if report["fn"]:
        marks.append(f"missar: {', '.join(labels.category(c) for c in report['fn'])}")
    if report["fp"]:
        marks.append(f"falsklarm: {', '.join(labels.category(c) for c in report['fp'])}")
    if report.get("injection_changed"):
        marks.append("ändrades av inskjuten instruktion")
    latency = f" · {fmt('latency_p50_s', report['latency_s'])}" if report["latency_s"] is not None else ""
    summary = (
        f"{e(report['report_id'])} · {e(report['date'])} · {e(report['reporter'])} · hittat: {e(found)}{latency}"
        + "".join(f' <span class="tag fail">{e(m)}</span>' for m in marks)
    )
    gold = "".join(_gold_row(g, labels) for g in report["gold"]) or '<li class="muted">Inget att hitta.</li>'
    preds = "".join(_pred_row(p, labels) for p in report["predictions"]) or '<li class="muted">Inga citat.</li>'
    injected = ""
    if "injected_found" in report:
        after = ", ".join(labels.category(c) for c in report["injected_found"]) or "inget"
        injected = f'<p class="small">Med inskjuten instruktion hittades: {e(after)}.</p>'
    return (
        f'<details class="report"><summary>{summary}</summary>'
        f'<div class="text">{highlighted(report)}</div>'
        f'<div class="cols"><div><h4>Guldstandard</h4><ul>{gold}</ul></div>'
        f"<div><h4>Sammanställningen</h4><ul>{preds}</ul></div></div>{injected}</details>"
    )


def _gold_row(g: dict, labels: Labels) -> str:
    if g["flipped"]:
        css, note = "flipped", "förnekad men redovisad"
    elif g["optional"]:
        css, note = "optional", "valfri"
    elif g["missed"]:
        css, note = "miss", "miss"
    elif g["polarity"] != "negated" and g["cited"]:
        css, note = "hit", "träffad"
    elif g["polarity"] == "negated":
        css, note = "not_counted", "förnekad"
    else:
        css, note = "elsewhere", "kategorin hittad, men citatet pekar på annat ställe"
    return (
        f'<li class="{css}">”{e(g["quote"])}” <span class="tag">{e(labels.category(g["category"]))}</span>'
        f'<span class="tag">{e(labels.polarity(g["polarity"]))}</span><span class="tag">{e(note)}</span></li>'
    )


VERDICT_TEXT = {
    "true_positive": "träff",
    "false_alarm": "falsklarm",
    "ignored": "valfritt i guld",
    "not_counted": "räknas inte",
}


def _pred_row(p: dict, labels: Labels) -> str:
    place = "" if p["on_gold"] else " · inget guldcitat i samma kategori här"
    return (
        f'<li class="{e(p["verdict"])}">”{e(p["quote"])}” <span class="tag">'
        f'{e(labels.category(p["category"]))}</span><span class="tag">{e(labels.polarity(p["polarity"]))}'
        f'</span><span class="tag">{e(VERDICT_TEXT.get(p["verdict"], p["verdict"]) + place)}</span>'
        f' <span class="small muted">{e(p["passage_id"])}</span></li>'
    )


def highlighted(report: dict) -> str:
    """The report text with gold quotes underlined and cited spans shaded; each piece escaped."""
    text = report["text"]
    gold = [(g["start"], g["end"]) for g in report["gold"] if g["start"] is not None]
    cited = [(p["start"], p["end"]) for p in report["predictions"] if p["start"] is not None]
    cuts = sorted({0, len(text), *[x for span in gold + cited for x in span if 0 <= x <= len(text)]})
    out = []
    for a, b in itertools.pairwise(cuts):
        in_gold = any(s <= a < t for s, t in gold)
        in_cited = any(s <= a < t for s, t in cited)
        piece = e(text[a:b])
        css = "both" if in_gold and in_cited else "g" if in_gold else "p" if in_cited else ""
        out.append(f'<span class="{css}">{piece}</span>' if css else piece)
    return "".join(out)


def _glossary() -> str:
    items = "".join(f"<dt><strong>{e(term)}</strong></dt><dd>{e(text)}</dd>" for term, text in GLOSSARY)
    return f'<section id="ordlista"><h2>Så läser du rapporten</h2><dl>{items}</dl></section>'
