"""The kit's cassette serializer (registered under vcrpy's name ``yaml``): readable YAML that round-trips exactly.

vcrpy hands a serializer ``{"version": 1, "interactions": [...]}`` (plus
``"metadata"`` when a cassette has some) with bodies already decoded to ``str``
where they are valid UTF-8, and expects the same shape back from
``deserialize``; it ignores any other top-level key. Differences from vcrpy's
own YAML serializer:

* multi-line strings (SSE streams, NDJSON, pretty JSON) use the literal block
  style ``|`` so that a re-recording diffs line by line;
* non-ASCII text is written as is, not escaped;
* a top-level ``recorded_at`` (UTC date) is stamped each time the cassette is
  written; vcrpy ignores it on load, :func:`cassette_recorded_at` reads it;
* keys keep a reading order (method, uri, headers, body) instead of being sorted;
* long one-line strings are never folded, so a change in a body is a change in
  one line rather than a re-flow of everything after it.

A literal block cannot hold every string: YAML folds ``\\r``, ``\\x85`` and
friends into ``\\n``, and strips trailing spaces. Such strings get a
double-quoted scalar instead, and ``serialize`` re-parses what it wrote and
falls back to quoted scalars everywhere if anything would not come back
identical, so a cassette never changes a byte of a body. The pure-Python
PyYAML emitter and loader are used, not libyaml, so output is the same on
every machine.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import pickle
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from .._redact import is_key_form, string_fields
from .limits import BoundedLoader, CassetteRefused, check_file
from .scrub import PLACEHOLDER

NAME = "yaml"
RECORDED_AT = "recorded_at"
LINE_WIDTH = 1 << 30

_REQUEST_ORDER = ("method", "uri", "headers", "body")
_RESPONSE_ORDER = ("status", "headers", "body")
_SPECIAL = "[\x85\u2028\u2029\ufeff]"
_NOT_LITERAL = re.compile(f"[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010fffe]|{_SPECIAL}")
_NEEDS_ESCAPES = re.compile(f"[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010fffe]|{_SPECIAL}")
_TRAILING_BLANK = re.compile(r"[ \t]$", re.MULTILINE)


class _Loader(BoundedLoader):
    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """A date the calendar lacks (``recorded_at: 2026-13-45``, edited by hand) is named with
        its place in the file; PyYAML raises a bare ``ValueError`` that names neither."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as error:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is no date ({error})", node.start_mark
            ) from error


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


class _Dumper(yaml.SafeDumper):
    literal = True

    def ignore_aliases(self, data: Any) -> bool:
        return True


class _QuotedDumper(_Dumper):
    literal = False


def _represent_str(dumper: _Dumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=_style(text, dumper.literal))


def _style(text: str, literal: bool) -> str | None:
    if literal and literal_safe(text):
        return "|"
    if _NEEDS_ESCAPES.search(text):
        return '"'
    return None


_Dumper.add_representer(str, _represent_str)


def literal_safe(text: str) -> bool:
    """Whether a literal block scalar reproduces ``text`` exactly."""
    return "\n" in text and not _NOT_LITERAL.search(text) and not _TRAILING_BLANK.search(text)


def serialize(cassette_dict: dict[str, Any]) -> str:
    document = _document(cassette_dict, today())
    text = _dump(document, _Dumper)
    if _load(text) != document:
        text = _dump(document, _QuotedDumper)
    return text


def deserialize(cassette_string: str) -> Any:
    """The cassette document; vcrpy checks its shape (a mapping with ``interactions``)."""
    return _load(cassette_string)


def today() -> _dt.date:
    return _dt.datetime.now(_dt.timezone.utc).date()


def cassette_recorded_at(path: str | Path) -> _dt.date | None:
    """The ``recorded_at`` date of a cassette file, or None if it has none or can't be read."""
    document = _read_document(path)
    value = document.get(RECORDED_AT) if isinstance(document, dict) else None
    return _as_date(value)


def _read_document(path: str | Path) -> Any:
    """The parsed cassette file, within the size and alias bounds, or None if it can't be read."""
    try:
        check_file(Path(path))
        return _load(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, CassetteRefused, yaml.YAMLError):
        return None


def recorded_key_places(paths: Iterable[str | Path]) -> dict[str, set[str]]:
    """Where the recorded requests carried a key the kit knew, each place with the forms it
    was written in: ``header:<name>`` (``<REDACTED>``, or ``Bearer <REDACTED>`` with its
    scheme), ``query:<name>`` and ``body:<field>`` (``<REDACTED>``). Empty for cassettes
    recorded without a key, or before the kit kept the place."""
    places: dict[str, set[str]] = {}
    for request in _recorded_requests(paths):
        for place, form in _key_places_of(request):
            places.setdefault(place, set()).add(form)
    return places


def recorded_request_headers(paths: Iterable[str | Path]) -> dict[str, set[str]]:
    """The values each request header (by lower-case name) had in the recorded requests that
    kept it. Credentials and noise (``user-agent``...) were dropped when recording."""
    headers: dict[str, set[str]] = {}
    for request in _recorded_requests(paths):
        kept = request.get("headers")
        for name, values in kept.items() if isinstance(kept, dict) else []:
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, str):
                    headers.setdefault(str(name).lower(), set()).add(value)
    return headers


def _recorded_requests(paths: Iterable[str | Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        document = _read_document(path)
        interactions = document.get("interactions") if isinstance(document, dict) else None
        for interaction in interactions if isinstance(interactions, list) else []:
            request = interaction.get("request") if isinstance(interaction, dict) else None
            if isinstance(request, dict):
                yield request


def _key_places_of(request: dict[str, Any]) -> set[tuple[str, str]]:
    headers = request.get("headers")
    found = {
        (f"header:{name.lower()}", value)
        for name, values in (headers.items() if isinstance(headers, dict) else [])
        for value in (values if isinstance(values, list) else [values])
        if isinstance(value, str) and is_key_form(value)
    }
    uri = request.get("uri")
    if isinstance(uri, str):
        query = parse_qsl(urlsplit(uri).query, keep_blank_values=True)
        found |= {(f"query:{name}", value) for name, value in query if value == PLACEHOLDER}
    body = request.get("body")
    body = body.get("string") if isinstance(body, dict) else body
    try:
        fields = json.loads(body) if isinstance(body, (str, bytes)) else None
    except ValueError:
        fields = None
    found |= {(f"body:{path}", value) for path, value in string_fields(fields) if value == PLACEHOLDER}
    return found


def _as_date(value: Any) -> _dt.date | None:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _document(cassette_dict: dict[str, Any], recorded_at: _dt.date) -> dict[str, Any]:
    document: dict[str, Any] = {RECORDED_AT: recorded_at}
    for key, value in cassette_dict.items():
        if key not in (RECORDED_AT, "interactions"):
            document[key] = value
    document["interactions"] = [_interaction(i) for i in cassette_dict.get("interactions", [])]
    return {key: _listify(value) for key, value in document.items()}


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _listify(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_listify(item) for item in value]
    return value


def _interaction(interaction: dict[str, Any]) -> dict[str, Any]:
    ordered = dict(interaction)
    ordered["request"] = _ordered(_plain_request(interaction["request"]), _REQUEST_ORDER)
    ordered["response"] = _ordered(interaction["response"], _RESPONSE_ORDER)
    return ordered


def _plain_request(request: dict[str, Any]) -> dict[str, Any]:
    body: Any = request.get("body")
    if hasattr(body, "getvalue"):
        body = body.getvalue()
    elif isinstance(body, (list, tuple)):
        body = b"".join(part.encode("utf-8") if isinstance(part, str) else bytes(part) for part in body)
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            body = bytes(body)
    return {**request, "body": body}


def _ordered(mapping: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    first = {key: mapping[key] for key in order if key in mapping}
    return {**first, **{key: value for key, value in mapping.items() if key not in first}}


def _dump(document: dict[str, Any], dumper: type[_Dumper]) -> str:
    return yaml.dump(
        document,
        Dumper=dumper,
        sort_keys=False,
        allow_unicode=True,
        width=LINE_WIDTH,
        default_flow_style=False,
    )


_CACHED_TEXT_LIMIT = 1 << 20  # bytes of YAML; larger cassettes are parsed each time


def _load(text: str) -> Any:
    """The parsed document, a fresh copy each time (vcrpy converts bodies in place).

    One run reads each cassette several times (the corruption check, ``recorded_at``,
    vcrpy's own load), and the pure-Python loader is the slow part of reading; the
    document of a given text is parsed once and copied from a pickle after that.
    """
    if len(text) > _CACHED_TEXT_LIMIT:
        return yaml.load(text, Loader=_Loader)
    return pickle.loads(_parsed(text))


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> bytes:
    return pickle.dumps(yaml.load(text, Loader=_Loader), protocol=pickle.HIGHEST_PROTOCOL)
