"""Scrubbing that runs before an interaction is kept, so secrets never reach disk.

vcrpy runs ``before_record_request`` / ``before_record_response`` on every
interaction before it is stored in memory (and so before it is saved), on every
request it tries to match during replay, and again on interactions loaded from
a cassette. The scrubbers are therefore idempotent and deterministic: matching
compares a scrubbed live request with a scrubbed recorded one.

What is removed, and why:

* request headers that carry credentials or account ids (``REQUEST_HEADERS_DROPPED``, and
  any header whose name holds a credential's word), except that a header holding a key the
  kit knows (as it is, or inside HTTP Basic credentials) is kept with ``<REDACTED>`` for its
  whole value, or for the key alone after a ``Bearer``/``Token`` scheme (``Bearer
  <REDACTED>``): where and how the key went is what ``key-reaches-request`` compares a
  replay against (the live API accepted it so), and what it was never reaches disk;
  plus transport noise that only makes re-recordings diff (``content-length``,
  ``connection``, ``accept``, ``accept-encoding``, ``host``, ``user-agent``, the
  OpenAI/Anthropic SDKs' ``x-stainless-*`` headers describing the recorder's OS, CPU
  and runtime); matching ignores headers, so none of them is needed for replay;
* query parameters that carry keys (``QUERY_PARAMETERS_DROPPED``, e.g. Gemini's ``?key=``,
  and any parameter whose name holds a credential's word, as for headers: ``?token=``,
  Azure API Management's ``?subscription-key=``),
  except that one holding a key the kit knows keeps its name, with ``<REDACTED>`` for its
  value (replay's query matcher ignores such parameters, so older cassettes still match);
* every response header not in ``RESPONSE_HEADERS_KEPT``. Responses carry cookies,
  organisation/project ids, rate-limit counters, CDN routing and timing headers;
  none of it is needed for replay and most of it is noise for reviewers. What is
  kept: ``content-type`` (clients pick JSON vs SSE parsing from it),
  ``content-encoding`` (only left when vcrpy could not decode the body, and then
  replay needs it), ``location`` (redirects), ``retry-after``, ``retry-after-ms``
  and ``x-should-retry`` (SDK retry logic reads them), and the request ids
  ``x-request-id`` / ``request-id`` (harmless random ids that SDKs expose and
  that let reviewers correlate a recording with provider logs).
  ``content-length`` is dropped because redaction can change the body length.
* JSON body fields named as ``QUERY_PARAMETERS_DROPPED`` (``api_key``..., at any depth) that
  hold a key the kit does not know; one holding a known key reads ``<REDACTED>``, as below;
* in a form-encoded request body (an OAuth token request: ``client_secret``,
  ``refresh_token``, a signed JWT ``assertion``), the value of every field named as a
  credential, as for query parameters, or in ``FORM_CREDENTIAL_FIELDS``: ``<REDACTED>``;
* in a JSON response body, the credentials a token endpoint issues
  (``ISSUED_CREDENTIAL_FIELDS``: ``access_token``, ``refresh_token``, ``id_token``...);
* every occurrence of a known secret value, in header values, the URL (raw and
  percent-encoded), and request and response bodies, replaced by ``<REDACTED>``.
  Secrets shorter than ``MIN_SECRET_LENGTH`` are ignored: replacing short
  strings would mangle bodies, and real keys are long.

Response bodies are scrubbed after vcrpy's ``decode_compressed_response`` filter
has decompressed them, which is why the kit's config enables it: a key inside a
gzip body cannot be found, let alone replaced.

JSON request bodies are also rewritten in a stable pretty form (sorted keys,
two-space indent) so that cassettes diff line by line; matching uses the
``json_body`` matcher, which ignores key order and whitespace, so this cannot
change which interaction a request matches.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._redact import REDACTED, basic_credentials, is_key_form, key_form, redactable
from .lint import KEY_SHAPES

PLACEHOLDER = REDACTED  # the same mark as the kit's own redaction, which key forms are written with
MIN_SECRET_LENGTH = 8

REQUEST_HEADERS_DROPPED = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",
        "cookie",
    },
)
# A request header with one of these words in its name (split at - and _) is dropped too,
# whatever the API: Azure's ocp-apim-subscription-key, x-amz-security-token, x-custom-auth.
CREDENTIAL_WORDS = frozenset(
    {
        *("key", "apikey", "token", "bearer", "secret", "auth", "password", "credential", "credentials"),
        *("signature", "subscription", "session", "cookie"),
    }
)
REQUEST_NOISE_HEADERS = frozenset(
    {"content-length", "connection", "accept-encoding", "accept", "host", "user-agent"},
)
REQUEST_NOISE_PREFIXES = ("x-stainless-",)
RESPONSE_HEADERS_KEPT = frozenset(
    {
        "content-type",
        "content-encoding",
        "location",
        "retry-after",
        "retry-after-ms",
        "x-should-retry",
        "x-request-id",
        "request-id",
    },
)
RESPONSE_HEADERS_NEVER_KEPT = frozenset(
    {"set-cookie", "openai-organization", "openai-project", "anthropic-organization-id"},
)
QUERY_PARAMETERS_DROPPED = frozenset({"key", "api_key", "api-key", "apikey", "access_token"})
# Fields of an OAuth 2.0 token request (RFC 6749, RFC 7523) that are credentials though no
# credential's word names them; the others (client_secret, refresh_token...) are named so.
FORM_CREDENTIAL_FIELDS = frozenset({"assertion", "code", "code_verifier", "subject_token", "actor_token"})
# What a token endpoint issues, in the JSON of its response (RFC 6749 section 5.1, OpenID
# Connect's id_token): a client of Vertex AI or Azure OpenAI on OAuth records such a response.
ISSUED_CREDENTIAL_FIELDS = frozenset(
    {"access_token", "refresh_token", "id_token", "client_secret", "session_token", "secret_access_key"}
)

RequestHook = Callable[[Any], Any]
ResponseHook = Callable[[dict[str, Any]], dict[str, Any]]


def make_scrubbers(
    secrets: Iterable[str],
    *,
    keep_response_headers: Iterable[str] = (),
) -> tuple[RequestHook, ResponseHook]:
    """Return ``(before_record_request, before_record_response)`` for vcrpy."""
    redact = make_redactor(secrets)
    kept = (RESPONSE_HEADERS_KEPT | {h.lower() for h in keep_response_headers}) - RESPONSE_HEADERS_NEVER_KEPT

    def before_record_request(request: Any) -> Any:
        return scrub_request(request, redact)

    def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
        return scrub_response(response, redact, kept)

    return before_record_request, before_record_response


class Redactor:
    """Replaces every secret in a str or bytes value by ``PLACEHOLDER``; tells where one is."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.forms = redactable(secrets)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            for form in self.forms:
                value = value.replace(form, PLACEHOLDER)
        elif isinstance(value, (bytes, bytearray)):
            value = bytes(value)
            for form in self.forms:
                value = value.replace(form.encode("utf-8"), PLACEHOLDER.encode("utf-8"))
        return value

    def holds_secret(self, value: str) -> bool:
        """Whether a header value holds a secret, as it is or inside HTTP Basic credentials."""
        return any(form in candidate for candidate in (value, basic_credentials(value)) for form in self.forms)


def make_redactor(secrets: Iterable[str]) -> Redactor:
    """A function replacing every secret in a str or bytes value by ``PLACEHOLDER``."""
    return Redactor(secrets)


def redact_deep(value: Any, redact: Callable[[Any], Any]) -> Any:
    """Apply ``redact`` to every str/bytes inside dicts, lists and tuples."""
    if isinstance(value, dict):
        return {key: redact_deep(item, redact) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_deep(item, redact) for item in value)
    return redact(value)


def scrub_request(request: Any, redact: Redactor) -> Any:
    request = copy.deepcopy(request)
    form = _is_form(request.headers)
    request.headers = _scrubbed_headers(request.headers, redact)
    request.uri = redact(_scrub_key_parameters(request.uri, redact))
    request.body = body_as_sent(request.body)
    if isinstance(request.body, (str, bytes, bytearray)):
        request.body = _without_key_fields(redact(pretty_json(redact(request.body))))
        if form:
            request.body = _without_form_credentials(request.body)
    return request


def scrub_response(response: dict[str, Any], redact: Callable[[Any], Any], kept: frozenset[str]) -> dict[str, Any]:
    response = copy.deepcopy(response)
    headers = response.get("headers") or {}
    response["headers"] = {
        name: [redact(value) for value in _as_list(values)] for name, values in headers.items() if name.lower() in kept
    }
    body = response.get("body")
    if isinstance(body, dict) and "string" in body:
        body["string"] = _without_issued_credentials(redact(body["string"]))
    return response


def _is_form(headers: Any) -> bool:
    """Whether a request's headers say its body is form-encoded (as OAuth token requests are)."""
    return any(
        name.lower() == "content-type" and "x-www-form-urlencoded" in str(value).lower()
        for name, values in dict(headers).items()
        for value in _as_list(values)
    )


def _without_form_credentials(body: Any) -> Any:
    """A form body (``grant_type=refresh_token&client_secret=...&refresh_token=...``, an OAuth
    token request) with ``PLACEHOLDER`` for the value of every field named as a credential."""
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    except UnicodeDecodeError:
        return body
    pairs = parse_qsl(text, keep_blank_values=True)
    kept = [(name, PLACEHOLDER if _form_credential(name) else value) for name, value in pairs]
    if not pairs or kept == pairs:
        return body
    scrubbed = urlencode(kept, safe="<>")
    return scrubbed.encode("utf-8") if isinstance(body, (bytes, bytearray)) else scrubbed


def _form_credential(name: str) -> bool:
    lowered = name.lower()
    return _drop_query_parameter(lowered) or lowered in FORM_CREDENTIAL_FIELDS


def _without_issued_credentials(body: Any) -> Any:
    """A JSON response body with ``PLACEHOLDER`` for the credentials a token endpoint issues
    (``ISSUED_CREDENTIAL_FIELDS``, at any depth); any other body as it is."""
    try:
        doc = json.loads(body)
    except (ValueError, TypeError):
        return body
    scrubbed = _issued_credentials_replaced(doc)
    if scrubbed == doc:
        return body
    text = json.dumps(scrubbed, ensure_ascii=False)
    return text.encode("utf-8") if isinstance(body, (bytes, bytearray)) else text


def _issued_credentials_replaced(value: Any) -> Any:
    if isinstance(value, list):
        return [_issued_credentials_replaced(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        name: PLACEHOLDER
        if name.lower() in ISSUED_CREDENTIAL_FIELDS and isinstance(item, str)
        else _issued_credentials_replaced(item)
        for name, item in value.items()
    }


def body_as_sent(body: Any) -> Any:
    """A vcrpy request's body, as bytes where vcrpy kept the JSON document itself (its
    aiohttp stub records ``json=`` so), so that it is scrubbed and matched like any other.
    (A body vcrpy kept as a list of chunks reads back as an iterator, not a list.)"""
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode("utf-8")
    return body


def pretty_json(body: str | bytes) -> str | bytes:
    """Re-indent a JSON object or array body; leave anything else untouched."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if not isinstance(doc, (dict, list)):
        return body
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _scrubbed_headers(headers: dict[str, Any], redact: Redactor) -> dict[str, Any]:
    kept = {}
    for name, value in headers.items():
        if isinstance(value, str) and (is_key_form(value) or redact.holds_secret(value)):
            kept[name] = key_form(redact(value))  # where and how the key went, never what it was
        elif not _drop_request_header(name) and not any(_looks_like_a_credential(v) for v in _as_list(value)):
            kept[name] = redact(value)
    return kept


_SCHEMED_CREDENTIAL = re.compile(r"(?i)^\s*(?:bearer|basic|token)\s+\S{8,}")
_KEY_SHAPED = re.compile("|".join(f"(?:{pattern})" for _, pattern in KEY_SHAPES))


def _looks_like_a_credential(value: Any) -> bool:
    """A value that is a credential whatever its header is named (a key the kit was not told
    of, sent as ``x-client-bearer: Bearer sk-...``): an auth scheme and a token, or a key's shape."""
    return isinstance(value, str) and bool(_SCHEMED_CREDENTIAL.match(value) or _KEY_SHAPED.search(value))


def _drop_request_header(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered in REQUEST_HEADERS_DROPPED
        or _named_as_credential(lowered)
        or lowered in REQUEST_NOISE_HEADERS
        or lowered.startswith(REQUEST_NOISE_PREFIXES)
    )


def _without_key_fields(body: Any) -> Any:
    """A JSON body without the key fields (``api_key``..., at any depth: ``{"auth": {"api_key":
    ...}}`` too) that hold a key the kit does not know; one that held a known key already
    reads ``PLACEHOLDER`` and stays."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    kept = _key_fields_dropped(doc)
    return body if kept == doc else pretty_json(json.dumps(kept))


def _key_fields_dropped(value: Any) -> Any:
    if isinstance(value, list):
        return [_key_fields_dropped(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        name: _key_fields_dropped(item)
        for name, item in value.items()
        if not (name.lower() in QUERY_PARAMETERS_DROPPED and isinstance(item, str) and item != PLACEHOLDER)
    }


def _drop_query_parameter(name: str) -> bool:
    # Named as headers are: Azure API Management takes ?subscription-key=, others ?token=.
    lowered = name.lower()
    return lowered in QUERY_PARAMETERS_DROPPED or _named_as_credential(lowered)


def _named_as_credential(lowered: str) -> bool:
    """Whether a (lowercased) header or parameter name has a credential's word in it."""
    return not CREDENTIAL_WORDS.isdisjoint(re.split(r"[-_]", lowered))


def _scrub_key_parameters(uri: str, redact: Redactor) -> str:
    """``uri`` without its key parameters; one that holds a known key keeps its name, with
    ``PLACEHOLDER`` for its value (where the key went, as for headers)."""
    parts = urlsplit(uri)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = []
    for name, value in pairs:
        if not _drop_query_parameter(name):
            kept.append((name, value))
        elif value == PLACEHOLDER or redact.holds_secret(value):
            kept.append((name, PLACEHOLDER))
    if kept == pairs:
        return uri
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _as_list(values: Any) -> list[Any]:
    return list(values) if isinstance(values, (list, tuple)) else [values]
