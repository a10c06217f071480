"""Clauses on secrets: the provider's API key never shows up where people can read it."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ..clauses import clause
from ..seam import Fault
from ._support import Cases, answer_with, call_generate, error_reply, exception_chain, observed, require_traffic

MIN_SECRET_LENGTH = 8  # as the kit's redaction (laios_conformance._redact): shorter ones are not hunted
_NOISY_LOGGERS = ("httpx", "httpcore", "openai", "anthropic", "ollama", "urllib3")


@contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record, at DEBUG and up, from any logger, while the block runs."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler, root = Keep(logging.DEBUG), logging.getLogger()
    loggers = [root, *(logging.getLogger(name) for name in _NOISY_LOGGERS)]
    levels = [logger.level for logger in loggers]
    root.addHandler(handler)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        for logger, level in zip(loggers, levels, strict=False):
            logger.setLevel(level)


def _log_text(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info:
        text += "".join(traceback.format_exception(*record.exc_info))
    return text


@clause("no-secret-leak", "must")
@pytest.mark.vcr
def test_no_secret_leak(
    provider: Any, laios_provider_spec: Any, vcr_cassette_dir: str, request: pytest.FixtureRequest
) -> None:
    """The API key appears in no exception text, repr, log record or file the kit writes.

    **Why**: exception texts end up in CI logs, bug reports and LAIOS's own error strings;
    a key in any of them is a leaked key.

    **Checks**: the key the kit passed (a fake ``sk-...`` canary, or the values of your secret
    arguments) in ``repr``/``str`` of the provider; in ``str``/``repr`` and tracebacks of every
    exception raised on HTTP 401, 500, a connection error and a malformed body (with chained
    causes); in every log record at DEBUG and up during a successful and a failing call;
    in the provider's cassettes.

    **Not applicable when**: the provider takes no ``api_key`` and no constructor argument
    holds a secret (one whose name says so, such as ``token`` or ``*_key``, or one named with
    ``--laios-secret-kwargs``). Skipped, never judged, when a secret is shorter than 8
    characters: so short a value turns up in ordinary text, and could not be hunted reliably.

    **How to fix**: keep the key out of ``__repr__`` and messages (show a prefix at most); do
    not log request headers or URLs that carry it.
    """
    secrets = [s for s in laios_provider_spec.secrets if s]
    if not secrets:
        pytest.skip("not applicable: the provider takes no api_key and no argument named as a secret")
    short = [s for s in secrets if len(s) < MIN_SECRET_LENGTH]
    if short:
        pytest.skip(
            f"cannot judge: a secret argument is shorter than {MIN_SECRET_LENGTH} characters, too short to "
            "hunt for reliably (it turns up in ordinary text); judge with a key of realistic length"
        )
    request.getfixturevalue("cassette")
    cases = Cases()

    def check(where: str, text: str) -> None:
        if any(secret in text for secret in secrets):
            cases.fail(where, "contains the API key")

    check("repr(provider)", repr(provider))
    check("str(provider)", str(provider))
    failures = {
        "HTTP 401": lambda seen: error_reply(seen, 401),
        "HTTP 500": lambda seen: error_reply(seen, 500),
        "connect error": lambda seen: Fault.CONNECT_ERROR,
    }
    with captured_logs() as records:
        with observed() as traffic:
            call_generate(provider)
        require_traffic(traffic, "generate()")
        for label, reply in failures.items():
            with observed(answer_with(reply)):
                try:
                    call_generate(provider)
                except Exception as exc:
                    for link in exception_chain(exc):
                        check(f"exception on {label} ({type(link).__name__})", f"{link}\n{link!r}\n{link.args!r}")
                    check(f"traceback on {label}", "".join(traceback.format_exception(exc)))
    for record in records:
        check(f"log record from {record.name!r} at {record.levelname}", _log_text(record))
    for path in Path(vcr_cassette_dir).glob("*"):
        if path.is_file():
            check(f"cassette {path.name}", path.read_text(encoding="utf-8", errors="replace"))
    cases.conclude()
