"""``laios-conformance clauses`` and ``explain``, in-process."""

from __future__ import annotations

import pytest

from laios_conformance._cli.catalog import cassette_clause_ids, normalise
from laios_conformance.cli import main
from laios_conformance.contract import catalogue


def test_clauses_lists_every_clause(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clauses"]) == 0
    lines = capsys.readouterr().out.splitlines()
    clauses = catalogue()
    assert len(lines) == len(clauses)
    for line, clause in zip(lines, clauses, strict=False):
        assert line.split()[:2] == [clause.id, clause.level]
        assert line.endswith(clause.summary)


@pytest.mark.parametrize(
    "spelling", ["returns-response", "returns_response", "test_returns_response", "Returns-Response"]
)
def test_explain_prints_the_docstring(capsys: pytest.CaptureFixture[str], spelling: str) -> None:
    clause = next(c for c in catalogue() if c.id == "returns-response")
    assert main(["explain", spelling]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("returns-response (must)")
    assert clause.doc in out and "**How to fix**" in out


def test_explain_unknown_clause_suggests_close_matches(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "raises_on_http"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "did you mean raises-on-http-error" in err


def test_normalise() -> None:
    assert {normalise(n) for n in ("test_no_secret_leak", "no_secret_leak", " no-secret-leak ")} == {"no-secret-leak"}


def test_cassette_clauses_are_those_with_the_vcr_mark() -> None:
    ids = cassette_clause_ids()
    assert {"returns-response", "no-secret-leak"} <= ids
    assert not {"timeout-set", "retry-bounded", "raises-on-http-error"} & ids
    assert ids <= {c.id for c in catalogue()}


def test_a_reader_that_stops_early_ends_the_listing_quietly() -> None:
    """``laios-conformance clauses | head -3``: no BrokenPipeError traceback, SIGPIPE's status.

    The pipe's reading end is closed before the command starts, so its first write fails
    whatever the timing (as when ``head`` has gone)."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        listing = subprocess.run(
            [sys.executable, "-m", "laios_conformance.cli", "clauses"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert (listing.returncode, listing.stderr) == (141, b"")
