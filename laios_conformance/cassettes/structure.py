"""What a parsed document must look like to be a cassette the kit can replay.

Shared by the loader (a clause errors with one line instead of a traceback, or a wrong
verdict) and the linter (which reports the same problem as a finding). Bodies must be
text: every API the kit judges answers in JSON, SSE or NDJSON, and a ``!!binary`` body
would reach the provider as bytes it cannot decode, a failure that is the cassette's,
not the provider's. So must a success's body not be empty: the APIs answer something, and
an empty answer would fail the provider for the cassette's fault.
"""

from __future__ import annotations

from typing import Any


def cassette_problem(document: Any) -> str | None:
    """Why ``document`` is not a replayable cassette, in a few words, or None when it is one."""
    if not isinstance(document, dict):
        return f"not a cassette: the top level is {_kind(document)}, not a mapping with 'interactions'"
    interactions = document.get("interactions")
    if not isinstance(interactions, list):
        return f"not a cassette: 'interactions' is {_kind(interactions)}, not a list"
    for index, interaction in enumerate(interactions):
        problem = _interaction_problem(interaction)
        if problem:
            return f"interaction {index}: {problem}"
    return None


def _interaction_problem(interaction: Any) -> str | None:
    if not isinstance(interaction, dict):
        return f"is {_kind(interaction)}, not a mapping with 'request' and 'response'"
    request, response = interaction.get("request"), interaction.get("response")
    if not isinstance(request, dict):
        return f"'request' is {_kind(request)}, not a mapping"
    if not isinstance(response, dict):
        return f"'response' is {_kind(response)}, not a mapping"
    for field in ("method", "uri"):
        if not isinstance(request.get(field), str):
            return f"request '{field}' is {_kind(request.get(field))}, not text"
    if not isinstance(request.get("headers", {}), dict):
        return "request 'headers' is not a mapping"
    if not isinstance(request.get("body"), (str, type(None))):
        return f"the request body is {_kind(request.get('body'))}, not text"
    return _response_problem(response, request["method"])


def _response_problem(response: dict[str, Any], method: str) -> str | None:
    status, headers, body = response.get("status"), response.get("headers"), response.get("body")
    if not isinstance(status, dict) or not isinstance(status.get("code"), int) or isinstance(status.get("code"), bool):
        return "the response has no integer status code"
    if not isinstance(headers, dict):
        return "the response has no headers mapping"
    if not isinstance(body, dict) or "string" not in body:
        return "the response has no body 'string'"
    if not isinstance(body["string"], str):
        return f"the response body is {_kind(body['string'])}, not text"
    code = status["code"]
    if 200 <= code < 300 and code not in _NO_BODY_STATUSES and method.upper() != "HEAD" and not body["string"].strip():
        # replayed, it would reach the provider as an answer, and its failure would be blamed on the provider
        return f"the response is a success (HTTP {code}) with an empty body: cut short, or emptied by hand"
    return None


_NO_BODY_STATUSES = frozenset({204, 205})


def _kind(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "binary (!!binary)"
    if value is None:
        return "missing"
    names = {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), f"a {type(value).__name__}")
