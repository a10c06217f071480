"""What every wire-format decoder offers, and the machinery the built-in ones share.

A decoder reads a recorded HTTP response body (bytes) of one API family and answers:
which text did the assistant send, is the stream complete, did it carry an error; and it
writes variants of that body: the same response with another text, a stream missing its
end marker, a stream broken by an in-stream error, an error body for an HTTP status.

Streamed bodies are sequences of *events*. Two framings exist among the built-in
families: server-sent events (``_sse``) and newline-delimited JSON (``_ndjson``). Both
parse into :class:`Event` records that keep the byte span of every event, so variants
can be produced by splicing the original bytes instead of re-serialising them.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, NamedTuple
from urllib.parse import urlsplit

Path = list[str | int]  # keys and list positions leading to a value in a decoded JSON object

__all__ = ["ErrorShape", "Event", "WireError", "WireFormat", "count", "endpoint_family", "laios_usage", "split_text"]


class WireError(ValueError):
    """A body that cannot be read as the wire format it was handed to."""


class ErrorShape(NamedTuple):
    """An error response in a shape that some servers of a protocol send besides its usual
    one, such as a FastAPI server's ``{"detail": ...}`` among OpenAI-compatible servers."""

    label: str  # which servers send it, and where its message is
    status: int
    body: bytes
    content_type: str


class Event(NamedTuple):
    """One event of a streamed body, with its position in the body.

    ``start``/``end`` delimit the whole event including its terminator (for SSE, the
    blank line that dispatches it). ``data`` is the payload text (SSE ``data:`` lines
    joined with ``\\n``; the NDJSON line without its line break), or ``None`` for an event
    without payload, such as a block of SSE comments. ``data_spans`` are the byte spans
    of the payload's lines. ``complete`` is false for an event cut off by end of input.
    """

    start: int
    end: int
    name: str
    data: str | None
    data_spans: tuple[tuple[int, int], ...]
    complete: bool

    @property
    def payload(self) -> str:
        """``data`` of an event known to carry one (every event that decoded to an object)."""
        if self.data is None:
            raise WireError(f"the event at byte {self.start} carries no payload")
        return self.data


def decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError(f"body is not UTF-8: {exc}") from None


def load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise WireError(f"not JSON: {exc}") from None


def load_object(body: bytes) -> dict[str, Any]:
    obj = load_json(decode_utf8(body))
    if not isinstance(obj, dict):
        raise WireError("body is not a JSON object")
    return obj


def render(body: bytes, event: Event, data: str) -> bytes:
    """The event's bytes with its payload replaced by ``data``."""
    lines = data.split("\n")
    if len(lines) > len(event.data_spans):
        raise WireError("a new payload cannot have more lines than the event had")
    # JSON ignores the line breaks that empty lines add, so a shorter payload pads out.
    lines += [""] * (len(event.data_spans) - len(lines))
    out, cursor = [], event.start
    for (start, end), line in zip(event.data_spans, lines, strict=False):
        out += [body[cursor:start], line.encode("utf-8")]
        cursor = end
    out.append(body[cursor : event.end])
    return b"".join(out)


def splice(body: bytes, edits: Iterable[tuple[Event, bytes]]) -> bytes:
    """``body`` with each listed event (in body order) replaced by the given bytes."""
    out, cursor = [], 0
    for event, new in edits:
        out += [body[cursor : event.start], new]
        cursor = event.end
    out.append(body[cursor:])
    return b"".join(out)


def _replaced(doc: str, edits: Iterable[tuple[Path | None, Any]]) -> str:
    """``doc`` with the value at each path replaced (paths of None are skipped)."""
    from ._json_edit import replace

    for path, value in edits:
        if path is not None:
            doc = replace(doc, path, value)
    return doc


def _without(obj: Any, path: Path) -> str:
    """``obj`` as JSON, without the member at ``path``."""
    from ._json_edit import dumps

    copy = json.loads(json.dumps(obj))
    holder = copy
    for step in path[:-1]:
        holder = holder[step]
    holder.pop(path[-1], None)
    return dumps(copy)


# Written as the text, then replaced by ``null``: the decoders write text, not JSON values.
_NULL_SENTINEL = "laios-conformance-null-sentinel-7f3a"


def _nulled(body: bytes) -> bytes:
    """``body`` with the sentinel text, as a JSON string, replaced by ``null``."""
    written = json.dumps(_NULL_SENTINEL).encode("utf-8")
    if written not in body:
        raise WireError("the decoder did not write the text as one JSON string, so it cannot be made null")
    return body.replace(written, b"null")


def count(value: Any) -> int | None:
    """A token count as the body states it: an int (not a bool), or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def laios_usage(prompt: Any, completion: Any, total: Any = None) -> dict[str, int] | None:
    """LAIOS's ``{"prompt_tokens", "completion_tokens", "total_tokens"}`` from a body's counts.

    None when the body states neither count; a missing total is the sum of the two.
    """
    p, c = count(prompt), count(completion)
    if p is None and c is None:
        return None
    p, c = p or 0, c or 0
    t = count(total)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c if t is None else t}


def split_text(text: str, parts: int) -> list[str]:
    """``text`` cut into ``parts`` consecutive pieces of near-equal length (some may be empty)."""
    size = len(text)
    bounds = [i * size // parts for i in range(parts + 1)]
    return [text[bounds[i] : bounds[i + 1]] for i in range(parts)]


# URL path suffixes that name a family outright, gathered from the ``endpoints`` each
# decoder class declares (see ``WireFormat.__init_subclass__``). A URL like this settles
# detection before any look at the bodies.
_ENDPOINTS: dict[str, str] = {}


def endpoint_family(url: str) -> str | None:
    path = urlsplit(url or "").path.rstrip("/")
    for suffix, family in _ENDPOINTS.items():
        if path.endswith(suffix):
            return family
    return None


def _looks_like_events(body: bytes) -> bool:
    head = body.lstrip()
    if head.startswith((b"data:", b"event:", b":", b"id:", b"retry:")):
        return True
    return _json_lines(body)


def _json_lines(body: bytes) -> bool:
    """Whether the body is several JSON objects, one per line (NDJSON)."""
    lines = [line for line in body.split(b"\n") if line.strip()]
    return len(lines) > 1 and all(line.lstrip().startswith(b"{") for line in lines)


class WireFormat:
    """Decoder of one API family's responses. Bodies are bytes; header keys are lowercase.

    A decoder for another wire format sets ``name`` and implements :meth:`recognises`
    and whichever public methods it supports (at least :meth:`extract_text`).

    The built-in decoders instead set ``framing`` (the ``_sse`` or ``_ndjson`` module)
    and implement per-event hooks (``_decode``, ``_event_text``, ``_event_error``,
    ``_is_end``, ``_set_text``, ``_clone``...), on top of which this class implements
    reading, incremental reading, rebuilding and the stream checks.
    """

    name: str = ""
    framing: Any = None
    #: URL path suffixes that only this format serves (``"/chat/completions"``): a URL
    #: ending so is this format's without a look at the body, and no other format's.
    endpoints: tuple[str, ...] = ()
    #: What tells a stream of this format is complete, as a failure message names it.
    end_marker: str = "its end marker"
    #: Where a request of this format carries each sampling parameter the kit checks
    #: (``"temperature"``, ``"max_tokens"``): the dotted key paths the server reads it
    #: from, any one of which may hold it (``"options.num_predict"``). A parameter not
    #: listed (none is, by default) is looked for anywhere in the body, under any of the
    #: usual keys.
    param_places: ClassVar[Mapping[str, tuple[str, ...]]] = {}
    #: Request headers (lower-case names) the API rejects a request without, or reads to
    #: choose the shape of its answer (``anthropic-version``): a request must send each with
    #: the value the recorded requests sent, since replay does not match on headers.
    required_headers: ClassVar[tuple[str, ...]] = ()
    #: Sampling parameters (keys of ``param_places``) the API rejects a request without,
    #: so a provider must send one even when the caller gives none (Anthropic's ``max_tokens``).
    required_params: ClassVar[tuple[str, ...]] = ()
    #: The roles the API accepts in the body's ``messages`` list (empty: any role). Anthropic
    #: answers 400 to a ``system`` message there: its system prompt is a top-level field.
    message_roles: ClassVar[tuple[str, ...]] = ()
    #: Where the API reads a message of each LAIOS role: ``"messages:ROLE"`` is a turn of that
    #: role in the body's ``messages`` list, any other place a top-level field of the body
    #: (Anthropic's ``system``). OpenAI reads a system message as ``system`` or ``developer``.
    role_places: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "system": ("messages:system", "messages:developer"),
        "user": ("messages:user",),
        "assistant": ("messages:assistant",),
    }
    #: Whether servers of this protocol were recorded labelling a server-sent-event stream
    #: ``text/event-stream`` without a ``charset``: ``content-fidelity`` then serves one, which
    #: a reader decoding as labelled (``requests``: ISO-8859-1) garbles.
    charsetless_streams: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for suffix in cls.__dict__.get("endpoints", ()):
            _ENDPOINTS.setdefault(suffix.rstrip("/"), cls.name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    def placed_texts(self, request_body: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(place, text)`` for each message the request carries, its place named as in
        :attr:`role_places` (a turn's content given as a list of parts is their text joined)."""
        placed = []
        messages = request_body.get("messages")
        for message in messages if isinstance(messages, list) else []:
            if isinstance(message, Mapping) and isinstance(message.get("role"), str):
                placed.append((f"messages:{message['role']}", _content_text(message.get("content"))))
        fields = {place for places in self.role_places.values() for place in places if ":" not in place}
        placed += [(field, _content_text(request_body[field])) for field in sorted(fields) if field in request_body]
        return placed

    # -- recognition ------------------------------------------------------------------

    def recognises(
        self,
        url: str,
        request_body: bytes,
        response_headers: Mapping[str, str],
        response_body: bytes,
    ) -> bool:
        """A known endpoint path settles it; otherwise the body's shape decides."""
        family = endpoint_family(url)
        if family is not None:
            return family == self.name
        try:
            return self.recognises_body(request_body, response_headers, response_body)
        except WireError:
            return False

    def recognises_body(self, request_body: bytes, response_headers: Mapping[str, str], response_body: bytes) -> bool:
        """Whether a body from an unknown endpoint looks like this format (may raise WireError)."""
        raise NotImplementedError

    def is_stream(self, response_headers: Mapping[str, str], response_body: bytes) -> bool:
        """Whether the body is a stream: by content type, else by its look."""
        ctype = response_headers.get("content-type", "").lower()
        if "event-stream" in ctype or "ndjson" in ctype:
            return True
        if "json" in ctype:  # Ollama's cloud labels its NDJSON streams application/json
            return _json_lines(response_body)
        return _looks_like_events(response_body)

    # -- reading ----------------------------------------------------------------------

    def extract_text(self, response_body: bytes, *, stream: bool) -> str:
        """The assistant's answer text; raises WireError if the body cannot be read."""
        if self.framing is None:
            raise NotImplementedError(f"{type(self).__name__} must implement extract_text")
        return "".join(self.iter_text([response_body], stream=stream))

    def iter_text(self, chunks: Iterable[bytes], *, stream: bool) -> Iterator[str]:
        """Reference incremental decoder: text pieces as soon as the chunks reveal them.

        Chunks may be cut anywhere, inside a UTF-8 character, a CRLF or a ``data:`` line.
        A whole (non-stream) body yields its text once, at the end.
        """
        if self.framing is None:  # a decoder that only implements extract_text
            yield self.extract_text(b"".join(chunks), stream=stream)
            return
        if not stream:
            yield self._whole_text(b"".join(chunks))
            return
        parser = self.framing.Parser()
        for chunk in chunks:
            for event in parser.feed(chunk):
                yield from self._texts(event)
        for event in parser.close():
            yield from self._texts(event)

    def _texts(self, event: Event) -> Iterator[str]:
        obj = self._payload(event)
        if obj is not None:
            text = self._event_text(obj)
            if text:
                yield text

    def _whole_text(self, body: bytes) -> str:
        raise NotImplementedError

    def has_end_marker(self, response_body: bytes) -> bool:
        """Whether the stream carries the protocol's own sign of a complete answer."""
        return any(obj is not None and self._is_end(obj) for _, obj in self._parsed(response_body))

    def stream_error(self, response_body: bytes) -> str | None:
        """The message of the first in-stream error event, or None."""
        for _, obj in self._parsed(response_body):
            message = None if obj is None else self._event_error(obj)
            if message is not None:
                return message
        return None

    def event_spans(self, response_body: bytes) -> list[tuple[int, int]]:
        """Byte spans of every event of a stream, comments and end markers included."""
        return [(e.start, e.end) for e in self.framing.parse(response_body)]

    def content_events(self, response_body: bytes) -> list[tuple[int, int]]:
        """Byte spans of the events that carry a non-empty piece of the answer text."""
        return [(e.start, e.end) for e, obj in self._parsed(response_body) if self._text_of(obj)]

    # -- what else the answer states: usage, finish reason, model --------------------------

    def usage(self, response_body: bytes, *, stream: bool) -> dict[str, int] | None:
        """The token counts the body states, as LAIOS names them, or None when it states none.

        For a stream, the last count of each kind wins (usage chunks and Anthropic's
        ``message_delta`` carry the final figures).
        """
        found: dict[str, int | None] = {"prompt": None, "completion": None, "total": None}
        for obj in self._objects(response_body, stream):
            for key, value in zip(found, self._counts(obj), strict=True):
                if count(value) is not None:
                    found[key] = value
        return laios_usage(found["prompt"], found["completion"], found["total"])

    def usage_readings(self, response_body: bytes, *, stream: bool) -> list[dict[str, int]]:
        """Every reading of the body's counts that LAIOS's three keys may hold, ``usage()``'s
        first (empty when the body states none). A protocol whose input count leaves cached
        prompt tokens out adds the reading that counts them in."""
        stated = self.usage(response_body, stream=stream)
        return [] if stated is None else [stated]

    def finish_reason(self, response_body: bytes, *, stream: bool) -> str | None:
        """Why the answer ended, as the body states it (unmapped), or None."""
        reasons = [r for obj in self._objects(response_body, stream) if isinstance(r := self._finish(obj), str)]
        return reasons[-1] if reasons else None

    def served_model(self, response_body: bytes, *, stream: bool) -> str | None:
        """The model the body names (the served one, e.g. ``gpt-4o-mini-2024-07-18``), or None."""
        for obj in self._objects(response_body, stream):
            model = self._model(obj)
            if isinstance(model, str) and model:
                return model
        return None

    def with_usage(self, response_body: bytes, prompt: int, completion: int, *, stream: bool = False) -> bytes:
        """The body stating other token counts; total is their sum. Counts it states as parts
        of them (OpenAI's cached and reasoning tokens) become half of them.

        In a stream, every event that states the prompt count states ``prompt``, and the
        last one that states the completion count (the final figure) states ``completion``;
        earlier running counts are left as recorded.
        """
        if not stream:
            return self._whole_with_usage(response_body, prompt, completion)
        parsed = self._dicts(response_body)
        stating = [i for i, (_, obj) in enumerate(parsed) if self._stated(obj, self._count_paths(obj)[1])]
        if not stating:
            raise NotImplementedError("the recorded stream states no token counts to replace")

        def edit(i: int, doc: str, obj: Any) -> str:
            prompt_path, completion_path, total_path = self._count_paths(obj)
            edits = [(prompt_path, prompt)]
            if i == stating[-1]:
                edits += [(completion_path, completion), (total_path, prompt + completion)]
                edits += self._detail_counts(obj, prompt, completion)
            return _replaced(doc, [(path, value) for path, value in edits if self._stated(obj, path)])

        return self._edited_stream(response_body, parsed, edit)

    def with_finish_reason(self, response_body: bytes, reason: str, *, stream: bool = False) -> bytes:
        """The body stating another finish reason (in a stream, every event that states one:
        a reason is final once stated, and OpenRouter repeats it on its usage chunk)."""
        if not stream:
            return self._whole_with_finish_reason(response_body, reason)
        parsed = self._dicts(response_body)
        if not any(isinstance(self._finish(obj), str) for _, obj in parsed):
            raise NotImplementedError("the recorded stream states no finish reason to replace")

        def edit(i: int, doc: str, obj: Any) -> str:
            path = self._finish_path(obj)
            return _replaced(doc, [(path, reason)] if isinstance(self._finish(obj), str) and path is not None else [])

        return self._edited_stream(response_body, parsed, edit)

    def with_model(self, response_body: bytes, model: str | None, *, stream: bool = False) -> bytes:
        """The body naming another served model, or none when ``model`` is None (in a stream,
        every event that names one)."""
        if not stream:
            return self._whole_with_model(response_body, model)
        parsed = self._dicts(response_body)
        if not any(isinstance(self._model(obj), str) for _, obj in parsed):
            raise NotImplementedError("the recorded stream names no model to replace")

        def edit(i: int, doc: str, obj: Any) -> str:
            path = self._model_path(obj)
            if path is None or not isinstance(self._model(obj), str):
                return doc
            return _replaced(doc, [(path, model)]) if model is not None else _without(obj, path)

        return self._edited_stream(response_body, parsed, edit)

    def _whole_with_usage(self, response_body: bytes, prompt: int, completion: int) -> bytes:
        raise NotImplementedError

    def _whole_with_finish_reason(self, response_body: bytes, reason: str) -> bytes:
        raise NotImplementedError

    def _whole_with_model(self, response_body: bytes, model: str | None) -> bytes:
        from ._json_edit import dumps, replace

        obj = load_object(response_body)
        if model is None:
            obj.pop("model", None)
            return dumps(obj).encode("utf-8")
        if "model" not in obj:
            obj["model"] = model
            return dumps(obj).encode("utf-8")
        return replace(decode_utf8(response_body), ["model"], model).encode("utf-8")

    # Where one decoded object (a whole body or a stream's event) states each figure.

    def _count_paths(self, obj: Any) -> tuple[Path | None, Path | None, Path | None]:
        """Paths of the (prompt, completion, total) counts in ``obj`` (None where it has no place)."""
        raise NotImplementedError(f"{type(self).__name__} does not write token counts into a stream")

    def _detail_counts(self, obj: Any, prompt: int, completion: int) -> list[tuple[Path, int]]:
        """Counts that ``obj`` states as parts of ``prompt`` or ``completion`` (cached prompt
        tokens, reasoning tokens) and the values that keep them parts of the new counts; by
        default none."""
        return []

    def _finish_path(self, obj: Any) -> Path | None:
        raise NotImplementedError(f"{type(self).__name__} does not write a finish reason into a stream")

    def _model_path(self, obj: Any) -> Path | None:
        return ["model"]

    @staticmethod
    def _stated(obj: Any, path: Path | None) -> bool:
        """Whether ``obj`` holds a token count at ``path``."""
        if path is None:
            return False
        for step in path:
            if isinstance(step, str) and isinstance(obj, dict):
                obj = obj.get(step)
            elif isinstance(step, int) and isinstance(obj, list) and step < len(obj):
                obj = obj[step]
            else:
                return False
        return count(obj) is not None

    def _dicts(self, body: bytes) -> list[tuple[Event, Any]]:
        if self.framing is None:
            raise NotImplementedError(f"{type(self).__name__} does not read streams")
        return [(event, obj) for event, obj in self._parsed(body) if isinstance(obj, dict)]

    def _edited_stream(
        self, body: bytes, parsed: list[tuple[Event, Any]], edit: Callable[[int, str, Any], str]
    ) -> bytes:
        edits = []
        for i, (event, obj) in enumerate(parsed):
            doc = edit(i, event.payload, obj)
            if doc != event.payload:
                edits.append((event, render(body, event, doc)))
        return splice(body, edits)

    def _objects(self, body: bytes, stream: bool) -> list[Any]:
        if self.framing is None:
            raise NotImplementedError(f"{type(self).__name__} does not read usage, finish reason or model")
        if not stream:
            return [load_object(body)]
        return [obj for _, obj in self._dicts(body)]

    def _counts(self, obj: Any) -> tuple[Any, Any, Any]:
        """(prompt, completion, total) counts one decoded object states (None where absent)."""
        raise NotImplementedError

    def _finish(self, obj: Any) -> Any:
        raise NotImplementedError

    def _model(self, obj: Any) -> Any:
        return obj.get("model") if isinstance(obj, dict) else None

    # -- writing ----------------------------------------------------------------------

    def rebuild(self, response_body: bytes, text: str, *, stream: bool) -> bytes:
        """The same response carrying ``text`` as its answer.

        Only the text fields change, escaped as JSON. A stream keeps its events and
        spreads ``text`` over the events that carried text before (over at least two
        when ``len(text) >= 2``, adding copies of the last one before it if needed); the
        other events stay byte-identical (except fields that repeat the accumulated
        text, such as Perplexity's ``message``).
        """
        if not stream:
            return self._rebuild_whole(response_body, text)
        return self._rebuild_stream(response_body, text)

    def with_null_text(self, response_body: bytes, *, stream: bool) -> bytes:
        """The same response with its answer text set to JSON ``null``: in a whole body the
        field :meth:`rebuild` writes; in a stream the text field of every event that has one
        (a streamed :meth:`rebuild` spreads its text over several events, so no single
        field holds it).

        Raises WireError when the body has no such field, NotImplementedError for a stream
        of a decoder without the per-event hooks.
        """
        if not stream:
            return _nulled(self.rebuild(response_body, _NULL_SENTINEL, stream=False))
        if self.framing is None:
            raise NotImplementedError(f"{type(self).__name__} cannot set the text of a stream's events to null")
        edits = [
            (event, _nulled(self._set_text(response_body, event, obj, _NULL_SENTINEL)))
            for event, obj in self._parsed(response_body)
            if self._text_of(obj) is not None
        ]
        if not edits:
            raise WireError(f"no event of this {self.name} stream has a text field")
        return splice(response_body, edits)

    def with_malformed_event(self, response_body: bytes) -> bytes:
        """The stream with the payload of its first text event cut in half, so that it is not
        valid JSON; the event still ends as the framing requires (a reader dispatches and
        parses it) and every other byte is unchanged.

        Raises NotImplementedError for a decoder without the per-event hooks.
        """
        if self.framing is None:
            raise NotImplementedError(f"{type(self).__name__} cannot break an event of a stream")
        parsed = self._parsed(response_body)
        event, _ = parsed[self._first_text_event(parsed)]
        half = event.payload[: len(event.payload) // 2]
        return splice(response_body, [(event, render(response_body, event, half))])

    def without_end_marker(self, response_body: bytes) -> bytes:
        """The stream with every sign of a finished answer removed (text unchanged)."""
        raise NotImplementedError

    def other_usage_shapes(self, response_body: bytes, *, stream: bool) -> list[tuple[str, bytes]]:
        """``(label, body)`` for each other way real servers of the protocol state the token
        counts of the same answer (some count left out); none by default."""
        return []

    def other_answer_shapes(self, response_body: bytes, *, stream: bool) -> list[tuple[str, bytes]]:
        """``(label, body)`` for each other way real servers of the protocol carry the same
        answer (its text in other events or blocks, beside parts that are not the answer);
        :meth:`extract_text` reads the same text from each. None by default."""
        return []

    def other_endings(self, response_body: bytes) -> list[tuple[str, bytes]]:
        """``(label, body)`` for each other way real servers of the protocol end the same
        complete stream; none by default."""
        return []

    def with_unknown_events(self, response_body: bytes) -> list[tuple[str, bytes]]:
        """``(label, body)`` for the same stream with an event of a type it never had, where
        the protocol says clients must skip such events; none by default."""
        return []

    def with_error_midstream(self, response_body: bytes, message: str | None = None) -> bytes:
        """The stream cut after its first text event and ended by an in-stream error: the
        service's usual one, or one saying ``message`` where given (a decoder may not take
        ``message``)."""
        parsed = self._parsed(response_body)
        index = self._first_text_event(parsed)
        event, obj = parsed[index]
        head = response_body[: event.end]
        error = self._error_event(response_body, event, obj, message)
        return head + error + self._error_trailer(response_body, parsed)

    def error_body(self, status: int, message: str | None = None) -> tuple[bytes, str]:
        """``(body, content type)`` of an error response with ``status``; the API's usual
        message for it, or ``message`` where given (a decoder may not take ``message``)."""
        raise NotImplementedError

    def refusal_body(self, refusal: str, model: str) -> bytes | None:
        """A whole (not streamed) successful response in which the model declines to
        answer, ``refusal`` being its stated reason, where the protocol keeps a refusal
        apart from the answer text; None (the default) where it has no such field."""
        return None

    def other_error_bodies(self, message: str) -> list[ErrorShape]:
        """Error responses in the other shapes real servers of this protocol use, each
        carrying ``message`` where a client has to look for the cause; none by default."""
        return []

    # -- shared by the built-in families ----------------------------------------------

    def _payload(self, event: Event) -> Any:
        """The decoded payload of an event, or None for events that carry none."""
        if event.data is None or not event.data.strip():
            return None
        if not event.complete and not self.framing.DISPATCH_INCOMPLETE:
            return None
        try:
            return self._decode(event.data)
        except WireError:
            if event.complete:
                raise
            return None  # a line cut off by the end of the body

    def _parsed(self, body: bytes) -> list[tuple[Event, Any]]:
        return [(e, self._payload(e)) for e in self.framing.parse(body)]

    def _text_of(self, obj: Any) -> str | None:
        return None if obj is None else self._event_text(obj)

    def _first_text_event(self, parsed: list[tuple[Event, Any]]) -> int:
        texts = [self._text_of(obj) for _, obj in parsed]
        for wanted in (bool, lambda t: t is not None):
            for i, text in enumerate(texts):
                if wanted(text):
                    return i
        for i, (_, obj) in enumerate(parsed):
            if obj is not None:
                return i
        raise WireError("the stream has no event to cut after")

    def rebuild_in_pieces(self, response_body: bytes, pieces: list[str]) -> bytes:
        """The stream carrying ``pieces`` as its answer, each in a text event of its own, in
        order: the events that carried text before take them in turn (the left-over ones
        carry ``""``), copies of the last one carry the rest. For the pieces a server sends
        apart, such as a paragraph break (``"\\n\\n"``) in a delta of its own.

        Raises NotImplementedError for a decoder without the per-event hooks.
        """
        if self.framing is None or "pieces" not in inspect.signature(self._rebuild_stream).parameters:
            raise NotImplementedError(f"{type(self).__name__} cannot place text pieces in a stream's events")
        return self._rebuild_stream(response_body, "".join(pieces), pieces=pieces)

    def _rebuild_stream(self, body: bytes, text: str, pieces: list[str] | None = None) -> bytes:
        parsed = self._parsed(body)
        texts = [self._text_of(obj) for _, obj in parsed]
        slots = [i for i, t in enumerate(texts) if t] or [i for i, t in enumerate(texts) if t is not None][:1]
        if not slots:
            if not text:
                return body
            carrier = self._carrier(parsed)
            if carrier is None:
                raise WireError(f"no event of this {self.name} stream can carry text")
            slots = [carrier]
        if pieces is None:
            pieces = split_text(text, max(len(slots), 2 if len(text) >= 2 else 1))
        else:
            pieces = [*pieces, *[""] * (len(slots) - len(pieces))]
        given = dict(zip(slots[:-1], pieces, strict=False))
        rest = pieces[len(slots) - 1 :]
        out, cursor = [], 0
        for i, (event, obj) in enumerate(parsed):
            out.append(body[cursor : event.start])
            cursor = event.end
            if i in given:
                out.append(self._set_text(body, event, obj, given[i]))
            elif i == slots[-1]:
                out += self._last_slot(body, event, obj, rest)
            else:
                out.append(body[event.start : event.end])
        out.append(body[cursor:])
        return b"".join(out)

    def _last_slot(self, body: bytes, event: Event, obj: Any, pieces: list[str]) -> list[bytes]:
        """The last text event carrying ``pieces``: copies of it come first, by default."""
        if self._clone_after(obj):
            first = self._set_text(body, event, obj, pieces[0])
            return [first] + [self._clone(body, event, obj, p) for p in pieces[1:]]
        clones = [self._clone(body, event, obj, p) for p in pieces[:-1]]
        return clones + [self._set_text(body, event, obj, pieces[-1])]

    def _rebuild_whole(self, body: bytes, text: str) -> bytes:
        raise NotImplementedError

    def _set_text(self, body: bytes, event: Event, obj: Any, text: str) -> bytes:
        """The event's bytes with its text replaced by ``text``."""
        raise NotImplementedError

    def _clone(self, body: bytes, event: Event, obj: Any, text: str) -> bytes:
        """A new event like ``event`` that carries ``text`` and nothing that ends the answer."""
        raise NotImplementedError

    def _clone_after(self, obj: Any) -> bool:
        return False

    def _carrier(self, parsed: list[tuple[Event, Any]]) -> int | None:
        """Index of an event that can take text when no event has a text field."""
        return None

    def _error_event(self, body: bytes, event: Event, obj: Any, message: str | None) -> bytes:
        raise NotImplementedError

    def _error_trailer(self, body: bytes, parsed: list[tuple[Event, Any]]) -> bytes:
        return b""

    def _decode(self, data: str) -> Any:
        return load_json(data)

    def _event_text(self, obj: Any) -> str | None:
        """Text carried by one decoded event; None if it has no text field at all."""
        raise NotImplementedError

    def _event_error(self, obj: Any) -> str | None:
        raise NotImplementedError

    def _is_end(self, obj: Any) -> bool:
        raise NotImplementedError


def _content_text(content: Any) -> str:
    """The text of a message's content: a string, or a list of parts (``{"type": "text",
    "text": ...}``, or bare strings) joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_content_text(part.get("text") if isinstance(part, Mapping) else part) for part in content)
    return ""
