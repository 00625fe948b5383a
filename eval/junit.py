"""results.json -> junit.xml, so CI shows one test per case and per threshold.

A case fails when its run raised an error or broke a guarantee that holds for
any model (a citation into another child's report, a quote not in its passage);
a threshold testcase fails when the measured value misses the limit.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


def case_problems(case: dict[str, Any]) -> list[str]:
    metrics = case["metrics"]
    problems = [f"error: {case['error']}"] if case["error"] else []
    if metrics["cross_child_citations"]:
        problems.append(f"{metrics['cross_child_citations']} citation(s) into another child's report")
    if metrics["misattributed_citations"]:
        problems.append(f"{metrics['misattributed_citations']} citation(s) whose quote is not in the cited passage")
    return problems


def render_junit(results: dict[str, Any]) -> str:
    suite_name = results["suite"]["name"]
    root = ET.Element("testsuites", name=f"eval {suite_name}")
    total_tests = total_failures = total_errors = 0
    for config in results["configurations"]:
        classname = f"eval.{suite_name}.{config['name']}"
        suite = ET.SubElement(root, "testsuite", name=f"{suite_name} · {config['name']}")
        tests = failures = errors = 0
        for case in config["cases"]:
            tests += 1
            m = case["metrics"]
            element = ET.SubElement(suite, "testcase", classname=classname, name=f"case {case['child_id']}")
            problems = case_problems(case)
            if case["error"]:
                errors += 1
                ET.SubElement(element, "error", message=case["error"][:500]).text = case["error"]
            elif problems:
                failures += 1
                ET.SubElement(element, "failure", message="; ".join(problems)).text = "\n".join(problems)
            ET.SubElement(element, "system-out").text = (
                f"tp={m['tp']} fp={m['fp']} fn={m['fn']} micro_f1={m['micro_f1']:.3f} "
                f"unverified={m['unverified_citations']} invalid_outputs={m['schema_invalid_outputs']}"
            )
        for threshold in config["thresholds"]:
            tests += 1
            element = ET.SubElement(
                suite, "testcase", classname=classname, name=f"threshold {threshold['metric']} {threshold['rule']}"
            )
            measured = "not measured" if threshold["value"] is None else f"{threshold['value']:.4g}"
            if not threshold["passed"]:
                failures += 1
                message = f"{threshold['metric']} = {measured}, required {threshold['rule']}"
                ET.SubElement(element, "failure", message=message).text = message
            else:
                ET.SubElement(element, "system-out").text = f"{threshold['metric']} = {measured}"
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        total_tests += tests
        total_failures += failures
        total_errors += errors
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", str(total_errors))
    root.set("time", f"{results['seconds']:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
