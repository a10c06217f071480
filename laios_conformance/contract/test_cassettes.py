"""Clauses on the cassettes themselves: a verdict replayed from stale recordings says so."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ..clauses import clause
from ._support import Cases, skip_not_judged


@clause("cassettes-fresh", "should")
def test_cassettes_fresh(cassette_age_limit: int | None, recorded_cassettes: list[tuple[str, Any]]) -> None:
    """The provider's cassettes were recorded within ``--laios-max-cassette-age`` days.

    **Why**: the kit's own requirement: live APIs change (new fields, new error shapes,
    retired models); a provider that passes on year-old recordings may fail against
    today's API.

    **Not applicable when**: ``--laios-max-cassette-age`` is not given. Not judged when the
    provider has no cassettes (nothing was recorded to be stale). A date in the future
    fails: it was not written by a recording.

    **How to fix**: re-record against the live API:
    ``pytest --laios-provider=... --record-mode=rewrite``, review the diff, commit it.
    """
    max_age = cassette_age_limit
    if max_age is None:
        pytest.skip("not applicable: no --laios-max-cassette-age given")
    if not recorded_cassettes:
        skip_not_judged("the provider has no cassettes, so none can be stale")
    today = dt.datetime.now(dt.timezone.utc).date()
    cases = Cases()
    for name, recorded in recorded_cassettes:
        if recorded is None:
            cases.fail(name, "has no recording date (recorded_at)")
        elif recorded > today:
            cases.fail(name, f"recorded {recorded}, a date in the future: not one a recording wrote")
        elif (today - recorded).days > max_age:
            cases.fail(name, f"recorded {recorded} ({(today - recorded).days} days ago, limit {max_age})")
    cases.conclude()
