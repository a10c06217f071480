"""``verdict_markdown`` and ``verdict_badge`` on small hand-written verdicts."""

from __future__ import annotations

import jsonschema

from laios_conformance.report import (
    MESSAGE_LIMIT,
    Verdict,
    must_counts,
    verdict_badge,
    verdict_from_dict,
    verdict_markdown,
    verdict_schema,
)


def verdict(*providers: tuple[str, dict]) -> dict:
    return {
        "kit_version": "9.9.9",
        "providers": [
            {
                "provider": name,
                "clauses": {cid: {"status": s, "level": lvl, "message": m} for cid, (s, lvl, m) in c.items()},
            }
            for name, c in providers
        ],
    }


GOOD = {"returns-response": ("passed", "must", ""), "retry-bounded": ("passed", "should", "1 attempt")}
MUST_FAILS = {
    "returns-response": ("failed", "must", "returns-response: 1 case(s) failed:\n  - content ''"),
    "retry-bounded": ("passed", "should", ""),
}
SHOULD_FAILS = {"returns-response": ("passed", "must", ""), "retry-bounded": ("failed", "should", "6 attempts")}


def test_badge_all_passing() -> None:
    data = verdict(("a:A", GOOD), ("b:B", GOOD))
    assert verdict_badge(data) == {
        "schemaVersion": 1,
        "label": "conformance",
        "message": "2/2 must",
        "color": "brightgreen",
    }


def test_badge_colours() -> None:
    assert verdict_badge(verdict(("a:A", GOOD), ("b:B", MUST_FAILS))) == {
        "schemaVersion": 1,
        "label": "conformance",
        "message": "1/2 must",
        "color": "red",
    }
    assert verdict_badge(verdict(("a:A", SHOULD_FAILS)))["color"] == "yellow"
    assert verdict_badge(verdict(("a:A", SHOULD_FAILS)))["message"] == "1/1 must"
    skipped = {"returns-response": ("skipped", "must", "no cassette"), "timeout-set": ("passed", "must", "")}
    assert verdict_badge(verdict(("a:A", skipped))) == {
        "schemaVersion": 1,
        "label": "conformance",
        "message": "1/2 must",
        "color": "yellow",
    }
    errored = {"returns-response": ("error", "must", "x")}
    assert verdict_badge(verdict(("a:A", errored)))["color"] == "red"
    assert verdict_badge({"kit_version": "1", "providers": []})["color"] == "lightgrey"


def test_must_counts_span_providers() -> None:
    assert must_counts(verdict(("a:A", GOOD), ("b:B", MUST_FAILS), ("c:C", SHOULD_FAILS))) == (2, 3)


def test_markdown_passing() -> None:
    text = verdict_markdown(verdict(("pkg.mod:Client", GOOD)))
    lines = text.splitlines()
    assert lines[0] == "# LAIOS conformance"
    assert "✅ **gate passed**: 1/1 must clauses passed" in text
    assert "| clause | level | `pkg.mod:Client` |" in lines
    assert "| `returns-response` | must | ✅ passed |" in lines
    assert "| `retry-bounded` | should | ✅ passed |" in lines
    assert "## Failures" not in text and "❌" not in text
    assert "9.9.9" in text


def test_markdown_failures_section() -> None:
    text = verdict_markdown(verdict(("a:A", GOOD), ("b|weird:B", MUST_FAILS)))
    assert "❌ **gate failed**" in text and "`returns-response`" in text
    assert "| `returns-response` | must | ✅ passed | ❌ failed |" in text
    assert "`b\\|weird:B`" in text  # a pipe would split the table cell
    failures = text.split("## Failures", 1)[1]
    assert "### `returns-response` (must, failed)" in failures
    assert "```text\nreturns-response: 1 case(s) failed:\n  - content ''\n```" in failures


def test_markdown_should_failure_gates_only_when_strict() -> None:
    data = verdict(("a:A", SHOULD_FAILS))
    assert "✅ **gate passed**" in verdict_markdown(data)
    strict = verdict_markdown(data, strict=True)
    assert "❌ **gate failed**" in strict and "strict" in strict
    assert "### `retry-bounded` (should, failed)" in verdict_markdown(data)  # listed either way


def test_markdown_fence_outgrows_backticks_in_the_message() -> None:
    data = verdict(("a:A", {"returns-response": ("error", "must", "got ```json\n{}\n``` back")}))
    assert "````text\ngot ```json\n{}\n``` back\n````" in verdict_markdown(data)


def test_verdict_from_dict_round_trips() -> None:
    data = verdict_from_dict(verdict(("a:A", MUST_FAILS), ("b:B", GOOD))).to_dict("9.9.9")
    jsonschema.validate(data, verdict_schema())
    rebuilt = verdict_from_dict(data)
    assert rebuilt.to_dict("9.9.9") == data
    assert rebuilt.gate_failures(strict=False) == [("a:A", "returns-response")]
    assert data["verdict"] == "failed" and data["gate_reason"] == "failing: returns-response [a:A]"


def _failing(exception: dict | None) -> dict:
    return {"status": "failed", "level": "must", "message": "x", "evidence": None, "exception": exception}


VALIDATION = {"type": "ValidationError", "message": "2 validation errors for LLMResponse", "where": "p.py:9"}


def test_root_causes_need_three_clauses_with_the_same_exception() -> None:
    other = dict(VALIDATION, message="1 validation error for LLMResponse")
    clauses = {"a-one": _failing(VALIDATION), "a-two": _failing(VALIDATION), "a-three": _failing(other)}
    data = {"kit_version": "9", "providers": [{"provider": "m:P", "clauses": clauses}]}
    assert verdict_from_dict(data).root_causes() == []  # two of one, one of another: no pattern
    clauses["a-four"] = _failing(VALIDATION)
    clauses["a-five"] = {**_failing(VALIDATION), "status": "skipped"}  # only failures and errors count
    (cause,) = verdict_from_dict(data).root_causes()
    assert cause.clauses == ["a-one", "a-two", "a-four"]
    assert cause.line == (
        "likely root cause: ValidationError: 2 validation errors for LLMResponse (raised at p.py:9) "
        "explains 3 clauses of m:P: a-one, a-two, a-four"
    )
    written = verdict_from_dict(data).to_dict("9")
    jsonschema.validate(written, verdict_schema())
    assert written["root_causes"][0]["line"] == cause.line
    markdown = verdict_markdown(written)
    assert markdown.index("likely root cause") < markdown.index("| clause |")


def test_not_run_gates_unless_partial_is_allowed() -> None:
    clauses = {
        "returns-response": ("passed", "must", ""),
        "stream-join": ("not-run", "must", "deselected by -k, -m or --deselect"),
        "retry-bounded": ("not-run", "should", "deselected by -k, -m or --deselect"),
    }
    data = verdict(("m:P", clauses))
    gate = verdict_from_dict(data).gate()
    assert gate.result == "failed" and gate.not_run == [("m:P", "stream-join")]  # should clauses gate only if strict
    assert gate.reason().startswith(
        "not run: 1 gating clause(s) for P (deselected by -k, -m or --deselect): stream-join"
    )
    assert verdict_badge(data)["color"] == "red"
    partial = dict(data, allow_partial=True)
    assert verdict_from_dict(partial).gate().result == "partial"
    assert verdict_badge(partial) == {
        "schemaVersion": 1,
        "label": "conformance",
        "message": "partial: 1/2 must",
        "color": "yellow",
    }
    assert verdict_from_dict(dict(partial, strict=True)).gate().not_run == [
        ("m:P", "stream-join"),
        ("m:P", "retry-bounded"),
    ]


def test_the_gate_line_names_providers_by_class_unless_two_share_a_class_name() -> None:
    gate = verdict_from_dict(
        verdict(("a.m:Client", GOOD), ("b.m:Client", MUST_FAILS), ("c.m:Other", MUST_FAILS))
    ).gate()
    assert gate.reason() == "failing: returns-response [b.m:Client], returns-response [c.m:Other]"
    assert (
        verdict_from_dict(verdict(("b.m:Client", MUST_FAILS))).gate().reason() == "failing: returns-response [Client]"
    )


def test_markdown_names_the_clauses_the_kit_could_not_judge() -> None:
    not_judged = {
        **GOOD,
        "stream-join": ("skipped", "must", "not judged: unknown wire format: no decoder recognises the response"),
        "key-reaches-request": ("skipped", "must", "not applicable: the provider takes no api_key"),
        "retry-bounded": ("skipped", "should", "not judged: the kit cannot say"),  # not gating without --strict
    }
    text = verdict_markdown(verdict(("a:A", not_judged)))
    assert "✅ **gate passed**: 1/3 must clauses passed; not judged: 1 gating clause(s) for a:A, skipped " in text
    assert text.split("\n\n")[1].endswith("(each message says why): stream-join")
    assert verdict_from_dict(verdict(("a:A", GOOD))).gate_line() == "gate: passed"


def test_a_long_message_is_kept_whole_and_an_enormous_one_says_what_it_left_out() -> None:
    """A clause listing dozens of failed cases keeps every one in the verdict; only a message
    beyond ``MESSAGE_LIMIT`` (a provider's enormous exception text) is cut, and says so."""
    cases = "no-secret-leak: 60 case(s) failed:\n" + "".join(
        f"  - case {i}: stdout/stderr contains the API key\n" for i in range(60)
    )
    enormous = "x" * (MESSAGE_LIMIT + 123)
    found = Verdict()
    found.add("a:A", "no-secret-leak", "must", "failed", cases)
    found.add("a:A", "returns-response", "must", "failed", enormous)
    assert len(cases) > 2000 and found.providers["a:A"]["no-secret-leak"].message == cases
    cut = found.providers["a:A"]["returns-response"].message
    assert cut.startswith("x" * MESSAGE_LIMIT + "... (123 more characters: ")
    assert "x" * (MESSAGE_LIMIT + 1) not in cut
