"""Keeping secret values out of everything the kit itself prints or writes.

``no-secret-leak`` judges whether a *provider* shows its key; this module makes sure the
kit does not repeat a key it caught: pytest's report objects (captured sections, the
failure text, ``user_properties``), log output, warnings, and the files and lines the
``laios-conformance`` command prints.

Values shorter than :data:`MIN_SECRET_LENGTH` are not redacted: replacing ``test`` or
``abc`` in every path and word would wreck the output without protecting anything real
(the clause skips such keys for the same reason).
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

__all__ = [
    "CUT_KEY_LENGTH",
    "KeyForm",
    "base64_forms",
    "basic_credentials",
    "string_fields",
    "is_key_form",
    "key_form",
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "RedactingFilter",
    "RedactingFormatter",
    "redact",
    "redact_report",
    "without_auth_scheme",
    "redact_value",
    "redactable",
]

MIN_SECRET_LENGTH = 8
# The kit cuts long messages (an exception's text to 120 characters...), which can cut a key
# the provider put in one: a piece this long of a key's start or end is redacted too.
CUT_KEY_LENGTH = 12
REDACTED = "<REDACTED>"
_MAX_DEPTH = 12


def redactable(secrets: Iterable[str | None]) -> tuple[str, ...]:
    """The secrets worth replacing, longest first (a key that contains another goes whole)."""
    return _forms(tuple(secrets))


@functools.lru_cache(maxsize=64)
def _forms(secrets: tuple[str | None, ...]) -> tuple[str, ...]:
    found: set[str] = set()
    for secret in secrets:
        if isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH:
            found.update({secret, quote(secret, safe=""), quote(secret, safe="/")})  # as in a URL, too
            found.update(base64_forms(secret))  # as in HTTP Basic credentials an error or a server echoes
    return tuple(sorted(found, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret value replaced by ``<REDACTED>``, and what a message cut
    short left of one (its first or last :data:`CUT_KEY_LENGTH` characters or more)."""
    secrets = tuple(secrets)
    for secret in redactable(secrets):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for secret in redactable(secrets):
        if len(secret) > CUT_KEY_LENGTH:
            text = _cut_start_redacted(text, secret, REDACTED)
            if secret[-CUT_KEY_LENGTH:] in text:  # its end, read backwards
                text = _cut_start_redacted(text[::-1], secret[::-1], REDACTED[::-1])[::-1]
    return text


def _cut_start_redacted(text: str, secret: str, replacement: str) -> str:
    """``text`` with every run of ``secret``'s first characters (at least CUT_KEY_LENGTH) replaced."""
    head = secret[:CUT_KEY_LENGTH]
    kept: list[str] = []
    done = 0
    start = text.find(head)
    while start != -1:
        end = start + CUT_KEY_LENGTH
        while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
            end += 1
        kept += [text[done:start], replacement]
        done = end
        start = text.find(head, done)
    return "".join(kept) + text[done:]


def redact_value(value: Any, secrets: tuple[str, ...], depth: int = 0) -> Any:
    """A copy of ``value`` (str, or containers of them) with secrets replaced; other values as they are."""
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {redact_value(k, secrets, depth + 1): redact_value(v, secrets, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [redact_value(v, secrets, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def redact_report(report: Any, secrets: Iterable[str | None]) -> None:
    """Redact a pytest report in place: what the terminal, JUnit XML and xdist read from it."""
    found = redactable(secrets)
    if not found:
        return
    report.sections = [(title, redact(content, found)) for title, content in report.sections]
    report.user_properties = [(name, redact_value(value, found)) for name, value in report.user_properties]
    if isinstance(getattr(report, "wasxfail", None), str):
        report.wasxfail = redact(report.wasxfail, found)
    report.longrepr = _redact_repr(report.longrepr, found, 0)


def _redact_repr(value: Any, secrets: tuple[str, ...], depth: int) -> Any:
    """Strings inside pytest's failure representations (``ExceptionChainRepr`` and its parts),
    replaced in place so that the terminal still lays them out as pytest does."""
    if depth > _MAX_DEPTH or value is None:
        return value
    if isinstance(value, (str, list, tuple, dict)):
        if isinstance(value, list):
            value[:] = [_redact_repr(v, secrets, depth + 1) for v in value]
            return value
        if isinstance(value, tuple):
            return tuple(_redact_repr(v, secrets, depth + 1) for v in value)
        return redact_value(value, secrets)
    if type(value).__module__.startswith("_pytest") and hasattr(value, "__dict__"):
        for name, attribute in vars(value).items():
            setattr(value, name, _redact_repr(attribute, secrets, depth + 1))
        return value
    text = str(value)
    return redact(text, secrets) if any(s in text for s in secrets) else value


class RedactingFormatter(logging.Formatter):
    """Wraps a handler's formatter: the line it writes has secrets replaced, the record is untouched
    (a clause reading the same record must still see what the provider logged)."""

    def __init__(self, inner: logging.Formatter | None, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record), self.secrets)

    def __getattr__(self, name: str) -> Any:  # pytest tunes its own formatters (colours, width)
        return getattr(self.__dict__["inner"], name)


class RedactingFilter(logging.Filter):
    """For the kit's own loggers: a record the kit logs (the router's warning quoting a provider's
    exception) carries no secret, whoever ends up printing it."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message, self.secrets)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def base64_forms(secret: str) -> tuple[str, ...]:
    """What ``secret`` looks like inside any base64 text (HTTP Basic credentials, a logged
    token): one run of characters per alignment of its bytes, whatever precedes or follows it."""
    data = secret.encode("utf-8")
    forms = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode("ascii")
        first, end = -(-8 * shift // 6), 8 * (shift + len(data)) // 6  # the characters only it decides
        forms.add(encoded[first:end])
    return tuple(sorted(forms))


def basic_credentials(value: str) -> str:
    """``user:password`` of an ``Authorization: Basic ...`` value, else ''."""
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(encoded.strip(), validate=True).decode("utf-8", "replace")
    except (ValueError, binascii.Error):
        return ""


_AUTH_SCHEME = re.compile(r"(?i)^(?:bearer|basic|token)\s+")


def without_auth_scheme(value: str) -> str:
    """A credential header's value without its auth scheme (``Bearer``, ``Basic``, ``Token``):
    the credential itself."""
    return _AUTH_SCHEME.sub("", value.strip())


_SCHEMED_KEY = re.compile(r"(?i)(bearer|token) +" + re.escape(REDACTED))
KeyForm = str  # a header value carrying a key, the key written as REDACTED: "Bearer <REDACTED>"


def key_form(redacted: str) -> KeyForm:
    """How a header value that carried a key is written down, the key already replaced by
    ``REDACTED``: its auth scheme kept when the rest is the key alone (``Bearer <REDACTED>``),
    else ``REDACTED`` whole, so that nothing but a scheme word survives beside the key."""
    found = _SCHEMED_KEY.fullmatch(redacted.strip())
    return f"{found.group(1)} {REDACTED}" if found else REDACTED


def is_key_form(value: str) -> bool:
    """Whether a header value is already written down as :func:`key_form` writes it."""
    return value == REDACTED or _SCHEMED_KEY.fullmatch(value) is not None


def string_fields(document: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, value) of every string member of a JSON object, nested objects included
    (``auth.api_key``): where a request body may carry a key. Lists are not entered."""
    if not isinstance(document, dict):
        return
    for name, value in document.items():
        path = f"{prefix}{name}"
        if isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            yield from string_fields(value, f"{path}.")
