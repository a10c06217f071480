"""JUnit XML written from a JSON verdict, for a gate that ran no pytest (``merge``).

One ``<testsuite>`` per provider, one ``<testcase>`` per clause: a failed clause holds a
``<failure>``, an errored one an ``<error>``, and any other status that is not ``passed``
(``skipped``, or a clause that did not run) a ``<skipped>``, its message the clause's own.
What cassette lint found in a recording's cassettes is a failed ``<testcase>`` each, in a
``cassette-lint`` suite of its own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from .table import headline

__all__ = ["verdict_junit"]

_ELEMENT = {"failed": "failure", "error": "error"}


def verdict_junit(data: dict[str, Any]) -> str:
    """The JUnit XML document for a JSON verdict."""
    root = ET.Element("testsuites", name="laios-conformance")
    for entry in data.get("providers", []):
        root.append(_suite(entry["provider"], entry.get("clauses", {}), str(data.get("kit_version", "?"))))
    if data.get("cassette_lint"):
        root.append(_lint_suite([str(finding) for finding in data["cassette_lint"]]))
    _count(root, root.findall("testsuite"))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(provider: str, clauses: dict[str, dict[str, Any]], kit_version: str) -> ET.Element:
    suite = ET.Element("testsuite", name=provider)
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="kit_version", value=kit_version)
    for clause_id, result in clauses.items():
        suite.append(_case(provider, clause_id, result))
    _count(suite, [suite])
    return suite


def _lint_suite(findings: list[str]) -> ET.Element:
    suite = ET.Element("testsuite", name="cassette-lint")
    for number, finding in enumerate(findings, 1):
        case = ET.SubElement(suite, "testcase", classname="cassette-lint", name=f"finding {number}", time="0")
        ET.SubElement(case, "failure", message=finding, type="cassette-lint").text = finding
    _count(suite, [suite])
    return suite


def _case(provider: str, clause_id: str, result: dict[str, Any]) -> ET.Element:
    case = ET.Element("testcase", classname=provider, name=clause_id, time="0")
    properties = ET.SubElement(case, "properties")
    ET.SubElement(properties, "property", name="level", value=str(result.get("level", "")))
    status, message = str(result.get("status", "")), str(result.get("message") or "")
    if status == "passed":
        return case
    tag = _ELEMENT.get(status, "skipped")
    outcome = ET.SubElement(case, tag, message=headline(message) or status, type=status)
    outcome.text = message or None
    return case


def _count(element: ET.Element, suites: list[ET.Element]) -> None:
    cases = [case for suite in suites for case in suite.iter("testcase")]
    element.set("tests", str(len(cases)))
    for tag, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        element.set(attribute, str(sum(case.find(tag) is not None for case in cases)))
