"""Clauses on secrets: the provider's API key never shows up where people can read it."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import re
import secrets as token_source
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import pytest

from .._redact import REDACTED, base64_forms, basic_credentials, key_form, string_fields, without_auth_scheme
from ..clauses import clause, note
from ..seam import STAND_IN_TOKEN, Fault, Reply, Seen
from ._support import (
    Cases,
    answer_with,
    call_generate,
    call_stream,
    error_reply,
    error_reply_saying,
    error_status,
    observed,
    requests_of_each_call,
    require_traffic,
    skip_not_judged,
    stream_flag,
)

MIN_SECRET_LENGTH = 8  # as the kit's redaction (laios_conformance._redact): shorter ones are not hunted


@contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record from every logger at every level (DEBUG included) while the block runs.

    Loggers that do not propagate, have their own level, are disabled, or are created during
    the block are all seen: the records are taken where every logger handles them, after the
    logger's own filters (one that redacts the record, or drops it, counts). They are
    kept from the usual handlers, so a leaked key is not repeated in pytest's captured logs.
    vcrpy's records are left out: vcrpy is the kit's replay machinery, not the provider's
    (it logs each request's URL, key parameter included, as it replays it).
    """
    records: list[logging.LogRecord] = []

    def keep(logger: logging.Logger, record: logging.LogRecord) -> None:
        if _is_replay_machinery(record.name):
            return
        try:  # the logger's own filters first, as Logger.handle runs them: a redacting one counts
            passed: Any = logger.filter(record)
        except Exception:
            passed = True
        if passed:
            records.append(passed if isinstance(passed, logging.LogRecord) else record)

    with (
        mock.patch.object(logging.Logger, "isEnabledFor", lambda logger, level: True),
        mock.patch.object(logging.Logger, "handle", keep),
    ):
        yield records


def _is_replay_machinery(logger_name: str) -> bool:
    return logger_name == "vcr" or logger_name.startswith("vcr.")


@contextmanager
def captured_output() -> Iterator[list[str]]:
    """What is written to stdout and stderr while the block runs, at file-descriptor level.

    ``print`` (through ``sys.stdout``/``sys.stderr``) and writes straight to descriptors 1
    and 2 (C extensions, ``os.write``) both count. The text is kept from the terminal.
    """
    written: list[str] = []
    streams = sys.stdout, sys.stderr
    for stream in filter(None, (*streams, sys.__stdout__, sys.__stderr__)):
        with contextlib.suppress(Exception):
            stream.flush()
    text = io.StringIO()
    with tempfile.TemporaryFile() as sink:
        saved = [os.dup(fd) for fd in (1, 2)]
        try:
            for fd in (1, 2):
                os.dup2(sink.fileno(), fd)
            sys.stdout = sys.stderr = text
            yield written
        finally:
            sys.stdout, sys.stderr = streams
            for stream in filter(None, (sys.__stdout__, sys.__stderr__)):
                with contextlib.suppress(Exception):
                    stream.flush()
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            written += [text.getvalue(), sink.read().decode("utf-8", "replace")]


def _log_text(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a provider's malformed log call must not hide the rest of the record
        text = f"{record.msg!r} {record.args!r}"
    if record.exc_info and record.exc_info[1] is not None:
        text += "".join(traceback.format_exception(record.exc_info[1]))
    return text


def whole_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every one linked to it through ``__cause__`` and ``__context__``."""
    pending, seen = [exc], set()
    while pending:
        link = pending.pop()
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        pending += [e for e in (link.__cause__, link.__context__) if e is not None]


def exception_texts(exc: BaseException) -> str:
    """Everything a log line, a bug report or a debugger shows of an exception and its chain."""
    texts = ["".join(traceback.format_exception(exc))]
    for link in whole_chain(exc):
        texts += [str(link), repr(link), repr(link.args), repr(getattr(link, "__notes__", ""))]
        with contextlib.suppress(Exception):
            texts.append(repr(vars(link)))
    return "\n".join(texts)


@clause("no-secret-leak", "must")
@pytest.mark.vcr
def test_no_secret_leak(
    provider: Any, laios_provider_spec: Any, vcr_cassette_dir: str, request: pytest.FixtureRequest
) -> None:
    """The API key appears in no exception, repr, log record, warning, output or file the kit sees.

    **Why**: exception texts end up in CI logs, bug reports and LAIOS's own error strings;
    a key in any of them is a leaked key.

    **Checks**: the key the kit passed (a fake ``sk-...`` canary, or the values of your secret
    arguments), as it is or base64-encoded (as in HTTP Basic credentials), in ``repr``/``str``
    of the provider and of its response; in the whole chain of every exception raised on
    every error status the other clauses answer with (400, 401, 403, 404, 422, 429, 500,
    502, 503, 529), a 401 whose error message repeats the key the request carried (as
    LiteLLM's proxy answers a key it does not know), a connection error and a 200 whose
    body is cut in half
    (``str``, ``repr``, ``args``, attributes, ``__cause__`` and ``__context__``,
    tracebacks); in the same for ``generate_stream()`` answered with those statuses, a
    connection error and its recorded stream cut in half; in every log record of every
    logger at every level, DEBUG included; in every warning; in anything written to stdout
    or stderr, also straight to file descriptors 1 and 2,
    during a successful call, a consumed stream and the failing calls; in ``repr``/``str`` of
    the provider again after those calls; in the provider's cassettes. A leak is reported
    by where it was found, never by repeating the key. A call that raises on the recorded
    answer has its exception hunted too, and leaves the clause not judged: it never reached
    what a successful call logs, prints or returns.

    **Not applicable when**: the provider takes no ``api_key``, no constructor argument
    holds a secret (one whose name says so, such as ``token`` or ``*_key``, or one named with
    ``--laios-secret-kwargs``), and ``--laios-secret-env`` names no environment variable it
    reads a key from. Skipped, never judged, when a secret is shorter than 8
    characters: so short a value turns up in ordinary text, and could not be hunted reliably.

    **How to fix**: keep the key out of ``__repr__`` and messages (show a prefix at most),
    also out of what ``__repr__`` shows once calls have run (headers kept from a request),
    also where a server's error message repeats it (replace it in the message); do
    not log or print request headers or URLs that carry it, at any level; on aiohttp, check
    ``response.status`` and raise your own exception rather than catch a ``ClientResponseError``
    (it keeps the request's headers, and any exception raised while handling it keeps it).
    """
    secrets = [s for s in laios_provider_spec.secrets if s]
    if not secrets:
        skip_without_key(provider, "the provider takes no api_key and no argument named as a secret")
    short = [s for s in secrets if len(s) < MIN_SECRET_LENGTH]
    if short:
        pytest.skip(
            f"cannot judge: a secret argument is shorter than {MIN_SECRET_LENGTH} characters, too short to "
            "hunt for reliably (it turns up in ordinary text); judge with a key of realistic length"
        )
    request.getfixturevalue("cassette")
    cases = Cases()
    forms = [*secrets, *(form for secret in secrets for form in base64_forms(secret))]  # as in Basic credentials

    def check(where: str, text: str, hint: str = "") -> None:
        if any(form in text for form in forms):
            cases.fail(where, "contains the API key" + hint)

    check("repr(provider)", repr(provider))
    check("str(provider)", str(provider))
    recorded: dict[bool, Reply] = {}  # the recorded answer, whole (False) and streamed (True)

    def keep(seen: Seen, upstream: Any) -> Reply:
        reply: Reply = upstream()
        recorded.setdefault(bool(stream_flag(seen)), reply)
        return reply

    def malformed(seen: Seen) -> Reply:
        return _cut_in_half(recorded.get(bool(stream_flag(seen))) or next(iter(recorded.values())))

    failures: dict[str, Any] = {f"HTTP {status}": error_status(status) for status in LEAK_STATUSES}
    failures[ECHOED_KEY_CASE] = functools.partial(_echoing_the_key, secrets=secrets)
    failures |= {"connect error": lambda seen: Fault.CONNECT_ERROR, "a malformed body": malformed}
    with (
        captured_logs() as records,
        warnings.catch_warnings(record=True) as caught,
        captured_output() as written,
    ):
        warnings.simplefilter("always")
        with observed(keep) as traffic:
            response = _answer_of(call_generate, provider, "generate()", check, cases)
        if cases.failures:  # a key in what generate() raised is a leak, whether or not it sent a request
            cases.conclude()
        require_traffic(traffic, "generate()")
        with observed(keep):
            _answer_of(call_stream, provider, "generate_stream()", check, cases)
        if response is not None:
            check("repr(response)", repr(response))
            check("str(response)", str(response))
        # generate_stream() too: a stream path of its own checks the status and raises its own errors
        for call, run, prefix in (
            ("generate()", call_generate, ""),
            ("generate_stream()", call_stream, "generate_stream() "),
        ):
            if call in cases.unjudged:  # it raised on the recorded answer: its errors would say nothing more
                continue
            for label, reply in failures.items():
                with observed(answer_with(reply), virtual_time=True, during=f"{call} answered with {label}"):
                    try:
                        run(provider)
                    except Exception as exc:
                        where = f"{prefix}exception on {label} ({type(exc).__name__} or its chain)"
                        check(where, exception_texts(exc), _request_info_hint(exc, forms))
    # a provider may keep what it sent (lazily built headers, the last request) and show it
    check("repr(provider) after its calls", repr(provider))
    check("str(provider) after its calls", str(provider))
    for record in records:
        check(f"log record from {record.name!r} at {record.levelname}", _log_text(record))
    for warning in caught:
        check(f"warning {warning.category.__name__} from {Path(warning.filename).name}", str(warning.message))
    check("stdout/stderr", "".join(written))
    for path in Path(vcr_cassette_dir).glob("*"):
        if path.is_file():
            check(f"cassette {path.name}", path.read_text(encoding="utf-8", errors="replace"))
    cases.conclude()


def _cut_in_half(reply: Reply) -> Reply:
    """A recorded answer with its body cut in half: a 200 no reader can use (a whole body's
    JSON broken off, a stream ended inside an event)."""
    kind = reply.headers.get("content-type", "application/json")  # Reply keeps header names in lower case
    return Reply(body=reply.body[: max(1, len(reply.body) // 2)], headers={"content-type": kind})


# Every status the other clauses answer with: a provider may word each one's error its own way.
LEAK_STATUSES = (400, 401, 403, 404, 422, 429, 500, 502, 503, 529)
ECHOED_KEY_CASE = "HTTP 401 whose message repeats the key sent (as LiteLLM's proxy answers)"


def _echoing_the_key(seen: Seen, secrets: list[str]) -> Reply:
    """A 401 whose error message repeats the key the request carried, worded as LiteLLM's
    proxy words it; the protocol's usual 401 where its decoder cannot write a message."""
    sent = " ".join([seen.url, *seen.headers.values()])
    key = next((secret for secret in secrets if secret in sent), secrets[0])
    message = f"Authentication Error, Invalid proxy server token passed. Received API Key = {key}"
    return error_reply_saying(seen, 401, message) or error_reply(seen, 401)


def _answer_of(call: Any, provider: Any, name: str, check: Any, cases: Cases) -> Any:
    """What ``call`` answers to the recorded answer; None when it raised, which is hunted for
    the key and leaves that call's path not judged (it never reached what a successful call
    logs, prints or returns)."""
    try:
        return call(provider)
    except Exception as exc:
        check(f"{name} exception on the recorded answer ({type(exc).__name__} or its chain)", exception_texts(exc))
        cases.cannot_judge(
            name,
            f"it raised {type(exc).__name__} on the recorded answer, so what it does with a successful answer "
            "was not judged; fix that error first (its own clauses say more)",
        )
        return None


def _request_info_hint(exc: BaseException, forms: list[str]) -> str:
    """Where the key is when it is in an aiohttp error's ``request_info``, which its ``repr`` shows."""
    for link in whole_chain(exc):
        if any(form in repr(getattr(link, "request_info", "")) for form in forms):
            return (
                f" (aiohttp's {type(link).__name__} keeps the request's headers, the key among them, in its "
                "request_info, which its repr shows; an exception raised while handling it keeps it as "
                "__context__, even `from None`: check response.status and raise your own instead of "
                "raise_for_status())"
            )
    return ""


@clause("key-reaches-request", "must")
def test_key_reaches_request(
    provider: Any,
    laios_provider_spec: Any,
    recorded_key_places: dict[str, set[str]],
    provider_built_with: Any,
    request: pytest.FixtureRequest,
) -> None:
    """Every request carries the API key the provider was given, in the same place each time.

    **Why**: replayed cassettes do not match on credentials, so a provider that never sends
    its key, or sends another one (a stale environment variable), passes every other clause
    and then fails against the live API with a 401. LAIOS providers take ``api_key`` at
    construction, as LAIOS's guide shows.

    **Checks**: on every request of ``generate()`` and of ``generate_stream()``, the key the
    kit gave (the canary, or your ``$ENV`` value) appears in a header (as it is, or inside
    HTTP Basic credentials), in the query string or as a field of the JSON body (nested too),
    under the same name each time; read at the seam before anything is scrubbed. And
    wherever the provider's cassettes say the recorded requests carried it (the header,
    query parameter or body field that the live API accepted, kept with ``<REDACTED>`` for
    its value, or ``Bearer <REDACTED>`` with its scheme), it must still be there, in that
    form: replay does not match on credentials, so a key moved to another header, or sent
    without its ``Bearer``, would otherwise pass here and meet a 401 live. And once another
    instance has been built with another key, the first still sends its own.

    **Not applicable when**: the kit knows no key for the provider (it takes no
    ``api_key``, none came from ``$ENV`` and ``--laios-secret-env`` names none, such as a
    local Ollama).

    **How to fix**: send the ``api_key`` you were given on every request (``Authorization:
    Bearer <key>``, ``x-api-key``, ...); do not read another key from the environment when
    one was passed; keep the key on the instance, not on a client or class that all instances
    share. If the API really moved the key, record the cassettes again.
    """
    secrets = [s for s in laios_provider_spec.secrets if s]
    if not secrets:
        skip_without_key(provider, "the kit knows no API key for this provider (no api_key, none from $ENV)")
    cases = Cases()
    places: dict[str, set[str]] = {}
    forms: dict[str, set[str]] = {}  # header -> how its values carried the key ("Bearer <REDACTED>")
    for name, traffic in requests_of_each_call(provider, 400):
        for seen in traffic.seen:
            found = key_places(seen, secrets)
            for place in found:
                forms.setdefault(place, set()).update(_key_forms(seen, place, secrets))
            if not found:
                cases.fail(
                    name,
                    f"the request to {seen.url.split('?')[0]} carries the key in no header, query parameter "
                    "or body field",
                )
            places[name] = places.get(name, set()) | found
    where = [frozenset(p) for p in places.values() if p]
    if len(set(where)) > 1:
        cases.fail("same place", "the key moves: " + "; ".join(f"{n} in {sorted(p)}" for n, p in places.items()))
    sent = set().union(*where) if where else set()
    if not recorded_key_places:
        note(request, "no cassette of the provider keeps where its key went, so the place was not compared")
    elif where and set(recorded_key_places) - sent:
        cases.fail(
            "the recorded place",
            f"the cassettes' requests carried the key in {sorted(recorded_key_places)}, which the live API "
            f"accepted; the provider now sends it in {sorted(sent)}",
        )
    elif where:
        _compare_forms(cases, recorded_key_places, forms)
    if where and "api_key" in laios_provider_spec.kwargs:
        _judge_key_kept(cases, provider, provider_built_with, secrets)
    cases.conclude()


OTHER_INSTANCE_CASE = "after another instance was built with another key"


def _judge_key_kept(cases: Cases, provider: Any, build: Any, secrets: list[str]) -> None:
    """The provider's requests after another instance of its class was built with another
    key (a router holding two of one class, for two services or two accounts)."""
    other = f"sk-laios-other-{token_source.token_hex(16)}"
    try:
        build(api_key=other)
    except Exception as exc:  # what the other instance cannot be built with is not this clause's
        cases.cannot_judge(OTHER_INSTANCE_CASE, f"building it raised {type(exc).__name__}")
        return
    for name, traffic in requests_of_each_call(provider, 400):
        if any(key_places(seen, [other]) and not key_places(seen, secrets) for seen in traffic.seen):
            cases.fail(
                OTHER_INSTANCE_CASE,
                f"{name}() sent the other instance's key: the instances share where the key is kept (a "
                "module-level client whose headers each constructor sets, a class attribute); keep it on the instance",
            )
            return
    cases.ok(OTHER_INSTANCE_CASE)


def _compare_forms(cases: Cases, recorded: dict[str, set[str]], sent: dict[str, set[str]]) -> None:
    """Each header the recording shows with a scheme (``Bearer <REDACTED>``) still carries
    the key in a recorded form: ``Authorization: <key>`` without ``Bearer`` is a 401."""
    for place, recorded_forms in sorted(recorded.items()):
        if recorded_forms <= {REDACTED}:  # no scheme was kept: the place alone is compared
            continue
        if {f.lower() for f in sent.get(place, set())} - {f.lower() for f in recorded_forms}:
            cases.fail(
                "the recorded form",
                f"the cassettes' requests carried the key in {place} as {sorted(recorded_forms)}, which the "
                f"live API accepted; the provider now sends {sorted(sent[place])} (the key written as {REDACTED})",
            )


def _key_forms(seen: Any, place: str, secrets: list[str]) -> set[str]:
    """How a request's header at ``place`` carries the key, as the cassettes write it."""
    kind, _, name = place.partition(":")
    if kind != "header":
        return {REDACTED}
    values = [value for header, value in seen.headers.items() if header.lower() == name]
    written = []
    for value in values:
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        written.append(key_form(value))
    return set(written)


def skip_without_key(provider: Any, why: str) -> NoReturn:
    """Skip a secret clause; when the provider's requests carry a credential all the same (the
    value of an environment variable, or one read from a file or a keyring), the clause is
    not judged instead, saying where it went (never the value) and how to have it judged."""
    traffic = _generate_traffic(provider)
    sent = _environment_keys_sent(traffic)
    if sent:
        names = sorted({name for name, _ in sent})
        places = ", ".join(f"${name} in {place}" for name, place in sorted(sent))
        skip_not_judged(
            f"{why}, yet its requests carry a key the kit was not told about ({places}); pass "
            f"{SECRET_ENV} {','.join(names)} to have it judged, and scrubbed by value when recording"
        )
    unnamed = _credentials_sent(traffic)
    if unnamed:
        skip_not_judged(
            f"{why}, yet its requests carry a credential the kit was not told about (in {', '.join(unnamed)}); "
            f"to have it judged, put that key in an environment variable and name it with {SECRET_ENV}"
        )
    pytest.skip(f"not applicable: {why} (name an environment variable it reads its key from with {SECRET_ENV})")


def _generate_traffic(provider: Any) -> list[Seen]:
    """The requests of one generate() answered with HTTP 400 (none if it could not be made)."""
    try:
        _, traffic = next(requests_of_each_call(provider, 400))
    except Exception:  # nothing seen, or the call went wrong: no hint, the skip stands
        return []
    return traffic.seen


def _environment_keys_sent(traffic: list[Seen]) -> set[tuple[str, str]]:
    """(variable, place) for each environment variable whose value a request carries where a
    key goes (a header, query parameter or body field named for credentials)."""
    values = {value: name for name, value in os.environ.items() if len(value) >= MIN_SECRET_LENGTH}
    return {
        (name, place)
        for seen in traffic
        for value, name in values.items()
        for place in key_places(seen, [value])
        if _CREDENTIAL_NAME.search(place.partition(":")[2])
    }


def _credentials_sent(traffic: list[Seen]) -> list[str]:
    """Where the requests carry a credential of realistic length in a header or query parameter
    named for one (``header:authorization``...): not a recorded ``<REDACTED>`` nor the kit's
    stand-in OAuth token."""
    places = set()
    for seen in traffic:
        named = [(f"header:{name.lower()}", value) for name, value in seen.headers.items()]
        named += [(f"query:{name}", value) for name, value in parse_qsl(urlsplit(seen.url).query)]
        for place, value in named:
            credential = without_auth_scheme(str(value))
            if (
                _CREDENTIAL_NAME.search(place.partition(":")[2])
                and len(credential) >= MIN_SECRET_LENGTH
                and REDACTED not in credential
                and credential != STAND_IN_TOKEN
            ):
                places.add(place)
    return sorted(places)


SECRET_ENV = "--laios-secret-env"
_CREDENTIAL_NAME = re.compile(r"(?i)key|token|auth|secret|credential|password|signature|subscription")


def key_places(seen: Any, secrets: list[str]) -> set[str]:
    """Where a request holds a key: headers (``header:<name>``, also inside HTTP Basic
    credentials), query parameters (``query:<name>``) and the JSON body (``body:<field>``,
    ``body:auth.api_key`` for a nested one)."""
    found = {
        f"header:{name.lower()}"
        for name, value in seen.headers.items()
        if any(s in value or s in basic_credentials(value) for s in secrets)
    }
    query = parse_qsl(urlsplit(seen.url).query, keep_blank_values=True)
    found |= {f"query:{name}" for name, value in query if any(s in value for s in secrets)}
    found |= {f"body:{path}" for path, value in string_fields(seen.json) if value in secrets}
    return found
