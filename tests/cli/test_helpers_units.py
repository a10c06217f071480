"""Small pure pieces of the command: pytest's error line, its output filter, the table cells."""

from __future__ import annotations

from laios_conformance._cli.check import usage_message, without_section
from laios_conformance._cli.table import headline, short_names
from laios_conformance.cli import split_pytest_args


def test_usage_message_is_one_line() -> None:
    assert usage_message("ERROR: --laios-provider 'x' has no ':'\n\n") == "--laios-provider 'x' has no ':'"
    argparse_error = (
        "ERROR: usage: laios-conformance [options] [file_or_dir] [file_or_dir] [...]\n"
        "laios-conformance: error: unrecognized arguments: --nope\n  inifile: None\n  rootdir: /x\n"
    )
    assert usage_message(argparse_error) == "pytest: unrecognized arguments: --nope"
    conftest = (
        "ImportError while loading conftest '/x/conftest.py'.\n/x/conftest.py:1: in <module>\nE   ImportError: no foo\n"
    )
    assert usage_message(conftest) == "ImportError: no foo"
    assert usage_message("") == "pytest reported a usage error"


def test_without_section_drops_only_that_section() -> None:
    text = (
        "F.\n=== FAILURES ===\nboom\n=== LAIOS conformance ===\ntable\ngate: FAILED\n"
        "=== short test summary info ===\nFAILED x\n"
    )
    assert (
        without_section(text, "LAIOS conformance")
        == "F.\n=== FAILURES ===\nboom\n=== short test summary info ===\nFAILED x"
    )


def test_headline() -> None:
    assert headline("one\ntwo") == "one"
    assert (
        headline("clause: 2 case(s) failed:\n  - HTTP 503: six\n  - other")
        == "clause: 2 case(s) failed: - HTTP 503: six"
    )
    assert headline("x" * 500).endswith("…") and len(headline("x" * 500)) == 200
    assert headline("") == ""


def test_short_names() -> None:
    assert short_names(["a.b:One", "c:Two"]) == ["One", "Two"]
    assert short_names(["a:One", "b:One"]) == ["a:One", "b:One"]


def test_split_pytest_args() -> None:
    assert split_pytest_args(["check", "a:B", "--", "-k", "x", "--", "y"]) == (["check", "a:B"], ["-k", "x", "--", "y"])
    assert split_pytest_args(["clauses"]) == (["clauses"], [])
