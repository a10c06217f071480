"""Clauses on successful calls: what a provider returns and what it sends."""

from __future__ import annotations

import contextlib
import copy
import math
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from ..base import LLMMessage
from ..clauses import clause, note
from ..seam import Reply, Seen, Traffic
from ..wire import WireFormat
from ._hypothesis import SHAPES, Conversation, conversations, find_minimal
from ._params import Sent, describe, sent_params
from ._support import (
    HELLO,
    MAX_TOKENS,
    SYSTEM_PROMPT,
    TEMPERATURE,
    Cases,
    answer_with,
    call_generate,
    call_stream,
    carries,
    error_reply,
    hello,
    observed,
    record_exchange,
    recorded_for,
    requests_of_each_call,
    require_traffic,
    skip_not_judged,
    stream_flag,
    string_values,
    wire_format_for_request,
)


@clause("returns-response", "must")
@pytest.mark.vcr
def test_returns_response(provider: Any, cassette: Any) -> None:
    """generate() returns an LLMResponse-shaped object with non-empty text.

    **Why**: LAIOS callers read ``response.content`` and ``response.model`` straight away; an
    empty or missing field surfaces far from its cause.

    **Checks**: ``content`` is a non-empty ``str``; ``model`` is a non-empty ``str``;
    ``finish_reason`` is a ``str`` or ``None``; ``usage`` is ``None`` or a dict of ints.

    **How to fix**: 1. return an ``LLMResponse`` (or an object with the same fields);
    2. read the answer text from the right place in the body; 3. convert usage counts to ``int``.
    """
    with observed() as traffic:
        response = call_generate(provider)
    require_traffic(traffic, "generate()")
    cases = Cases()
    for problem in response_shape_problems(response):
        cases.fail("generate()", problem)
    cases.conclude()


def response_shape_problems(response: Any) -> list[str]:
    """What is wrong with an LLMResponse-shaped object (empty when nothing)."""
    problems = []
    content = getattr(response, "content", None)
    if not isinstance(content, str) or str.__len__(content) == 0:  # a str subclass's __len__ could lie
        problems.append(f"content must be a non-empty str, got {content!r:.80}")
    model = getattr(response, "model", None)
    if not isinstance(model, str) or not model:
        problems.append(f"model must be a non-empty str, got {model!r:.80}")
    finish = getattr(response, "finish_reason", None)
    if finish is not None and not isinstance(finish, str):
        problems.append(f"finish_reason must be a str or None, got {finish!r}")
    usage = getattr(response, "usage", None)
    if usage is not None and not (
        isinstance(usage, dict) and all(isinstance(v, int) and not isinstance(v, bool) for v in usage.values())
    ):
        problems.append(f"usage must be None or a dict of ints, got {usage!r:.120}")
    return problems


@clause("refusal-visible", "should")
def test_refusal_visible(provider: Any) -> None:
    """When the model declines to answer, its stated reason reaches the caller.

    **Why**: OpenAI reports a structured-output refusal apart from the answer:
    ``content`` is ``null`` and ``message.refusal`` holds the model's reason ("I'm very
    sorry, but I can't assist with that request."). A provider that reads only ``content``
    returns the empty content LAIOS's guide says never to return, or raises an error about
    a missing field that says nothing of the refusal, and the agent's operator is left
    guessing why the call failed. The kit's own requirement: LAIOS's guide does not
    mention refusals.

    **Checks**: ``generate()`` answered with such a completion, shaped like the one
    api.openai.com sent for gpt-4o (recorded in ``tests/data/wire_samples``), carrying a
    reason the kit makes up for the run: it returns the reason within ``content``, or
    raises an exception that carries it (in ``str(exc)``, or a ``message`` or ``body``
    attribute).

    **Not judged when**: the kit has no refusal of the provider's protocol to serve: Ollama
    keeps none apart from the answer text, and Anthropic's (``stop_reason: "refusal"``)
    has no recording the kit could build one from; an unknown wire format; a ``generate()``
    that asks for a stream, since no recording shows a streamed refusal.

    **How to fix**: when ``content`` is null or empty and ``message.refusal`` is set, raise
    with the refusal text in the message (or return it as the content, if your callers
    should read a refusal as the answer).
    """
    reason = f"I'm very sorry, but I can't assist with request lc-{secrets.token_hex(4)}."
    # each request's format, whether it was refused, whether it asked for a stream
    answered: list[tuple[WireFormat | None, bool, bool]] = []

    def refusing(seen: Seen) -> Reply:
        wire_format = wire_format_for_request(seen)
        streamed = stream_flag(seen) is True  # a refusal the kit serves is a whole body, never a stream
        body = wire_format.refusal_body(reason, _requested_model(seen)) if wire_format and not streamed else None
        answered.append((wire_format, body is not None, streamed))
        if body is None:  # judged not applicable below; any answer ends the call
            return error_reply(seen, 500)
        return Reply(body=body, headers={"content-type": "application/json"})

    with observed(answer_with(refusing), virtual_time=True) as traffic:
        outcome = _outcome(lambda: call_generate(provider))
    require_traffic(traffic, "generate() answered with a refusal")
    wire_format, refused, streamed = answered[0]
    if wire_format is None:
        skip_not_judged("unknown wire format: no decoder recognises the request")
    if streamed:
        skip_not_judged(
            "generate() asks for a stream, and the kit has no streamed refusal to serve (no recording shows one)"
        )
    if not refused:
        skip_not_judged(
            f"the kit has no refusal answer of the {wire_format.name!r} protocol to serve (its "
            "decoder writes none: the protocol keeps none apart from the answer text, or none was recorded)"
        )
    cases = Cases()
    problem = _refusal_problem(outcome, reason)
    cases.fail(REFUSAL_CASE, problem) if problem else cases.ok(REFUSAL_CASE)
    cases.conclude()


REFUSAL_CASE = "a completion with content null and a refusal"


def _requested_model(seen: Seen) -> str:
    body = seen.json
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) and model else "gpt-4o"


def _outcome(call: Callable[[], Any]) -> Any:
    """What ``call`` returned, or the Exception it raised."""
    try:
        return call()
    except Exception as exc:
        return exc


def _refusal_problem(outcome: Any, reason: str) -> str | None:
    if isinstance(outcome, Exception):
        if carries(outcome, reason, ("message", "body")):
            return None
        return f"raised {type(outcome).__name__}({str(outcome)[:120]!r}) without the refusal {reason!r}"
    content = getattr(outcome, "content", None)
    if isinstance(content, str) and reason in content:
        return None
    return f"returned content {content!r:.80} instead of raising with the refusal {reason!r}"


@clause("system-prompt", "must")
@pytest.mark.vcr
def test_system_prompt(provider: Any, cassette: Any) -> None:
    """generate_with_system() answers, and the system prompt text reaches the request.

    **Why**: LAIOS's interface has ``generate_with_system()`` so that a caller can steer
    the model with a system prompt; a provider that drops it answers a different question
    without any error.

    **Checks**: the response has the shape of an answer, and every request it sends carries
    the system prompt in a JSON string of its body exactly once.

    **How to fix**: 1. put the system prompt where the API expects it (a ``system`` message,
    Anthropic's top-level ``system`` field, ...); 2. send it verbatim; 3. send it once: not
    both as a ``system`` message and in a field of its own, nor again in every turn
    (run-llama/llama_index#19509).
    """
    with observed() as traffic:
        response = provider.generate_with_system(SYSTEM_PROMPT, HELLO, temperature=TEMPERATURE, max_tokens=MAX_TOKENS)
    require_traffic(traffic, "generate_with_system()")
    cases = Cases()
    for problem in response_shape_problems(response):
        cases.fail("response", problem)
    for number, seen in enumerate(traffic.seen, 1):
        sent = sum(text.count(SYSTEM_PROMPT) for text in string_values(seen.json))
        where = "request" if len(traffic.seen) == 1 else f"request {number}"
        if sent == 0:
            cases.fail(where, f"the system prompt {SYSTEM_PROMPT!r} is in no JSON string of the request body")
        elif sent > 1:
            cases.fail(where, f"the system prompt {SYSTEM_PROMPT!r} is sent {sent} times: the model reads it as often")
    cases.conclude()


@clause("params-reach-request", "must")
def test_params_reach_request(provider: Any, profile: dict[str, Any], request: pytest.FixtureRequest) -> None:
    """The temperature and max_tokens the caller passes reach the request body, where the API reads them.

    **Why**: LAIOS's interface passes them to every call, and its guide's example sends
    both in the request body. A provider that ignores them runs every call at the API's
    defaults: answers get cut short or long, and the caller cannot tell. So does one that
    sends them where its API does not look: Ollama's server ignores a top-level
    ``temperature`` or ``max_tokens`` without an error.

    **Checks**: the body of ``generate()``'s request carries the caller's values where the
    provider's protocol reads them: top-level ``temperature`` and ``max_tokens`` or
    ``max_completion_tokens`` for OpenAI Chat Completions (and the servers that speak it),
    top-level ``temperature`` and ``max_tokens`` for Anthropic Messages,
    ``options.temperature`` and ``options.num_predict`` for Ollama's native API. For a
    protocol the kit has no decoder for (or whose decoder declares no places), anywhere in
    the body under the usual keys (``temperature``; ``max_tokens``,
    ``max_completion_tokens``, ``num_predict``, ``max_output_tokens``, ``maxOutputTokens``).

    Then ``temperature=0.0``, which callers pass for repeatable answers, must reach the
    body as 0 (not dropped or replaced by a default as a falsy value). And ``generate()``
    called without ``max_tokens`` must still send one, a number (not ``null``), where the
    protocol requires it (Anthropic Messages: the API answers 400 to a body without
    ``max_tokens``, so a provider that sends it only when the caller gives one fails every
    call that does not).

    The requests of ``generate_with_system()`` and of a consumed ``generate_stream()`` are
    judged the same way, ``temperature=0.0`` included, and the stream's without
    ``max_tokens`` too (unless the provider declares ``conformance_profile["streams"] =
    False``): a path that builds its body from other values (the constructor's
    ``max_tokens``, LAIOS's defaults, ``if temperature:``) ignores every caller that streams,
    or that steers the model with a system prompt.

    **Declared limits**: a parameter listed in ``conformance_profile["omits_params"]`` must
    instead be *absent* from the request; the verdict shows the declared reason.

    **How to fix**: 1. send ``temperature`` as given, 0.0 included (test ``is not None``,
    never its truth); 2. send ``max_tokens`` under the key your API uses (``max_tokens``,
    ``max_completion_tokens``, Ollama's ``options.num_predict``); 3. put both where your API
    reads them (Ollama: inside ``options``); 4. where the API requires ``max_tokens``,
    default it to LAIOS's 2048 (``max_tokens: int = 2048``) and always send it; 5. build
    the requests of ``generate_with_system()`` and ``generate_stream()`` from the caller's
    values with the same function (``generate_with_system()`` passing its ``temperature``
    and ``max_tokens`` on to ``generate()``).
    """
    seen = _request_of(lambda: call_generate(provider))
    body = seen.json
    cases = Cases()
    if not isinstance(body, dict):
        cases.fail("request", f"the request body is not a JSON object: {seen.body[:120]!r}")
        cases.conclude()
    omitted = profile["omits_params"]
    wire_format = wire_format_for_request(seen)
    _judge_params(cases, body, wire_format, omitted, request)
    streams = profile.get("streams") is not False
    for name, call in _other_calls(provider, TEMPERATURE, streams).items():
        _judge_call_params(name, call, cases, omitted, request)
    if "temperature" not in omitted:
        _judge_zero_temperature(provider, cases, streams)
    if wire_format is not None and wire_format.required_params:  # else that call would judge nothing
        _judge_required_params(provider, cases, streams)
    cases.conclude()


def _judge_params(
    cases: Cases,
    body: dict[str, Any],
    wire_format: WireFormat | None,
    omitted: dict[str, str],
    request: pytest.FixtureRequest,
    call: str = "",
) -> None:
    """Whether ``body`` carries the caller's values where ``wire_format`` reads them."""
    expected = {"temperature": TEMPERATURE, "max_tokens": MAX_TOKENS}
    for param, sent in sent_params(body, wire_format).items():
        if param in omitted:
            if sent.anywhere:
                cases.fail(f"{call}{param}", f"declared omitted ({omitted[param]}) but {_sent_as(sent)}")
            elif not call:
                note(request, f"{param} omitted as declared: {omitted[param]}")
        elif expected[param] not in sent.values:
            problem = f"the caller passed {expected[param]!r}; {_where_found(sent, expected[param], body)}"
            cases.fail(f"{call}{param}", problem)


def _other_calls(provider: Any, temperature: float, streams: bool) -> dict[str, Callable[[], Any]]:
    """``generate_with_system()`` and (when the provider streams) a consumed ``generate_stream()``
    with the caller's ``temperature`` and ``max_tokens``: paths of their own may build their
    bodies from other values (the constructor's, LAIOS's defaults)."""
    calls: dict[str, Callable[[], Any]] = {
        "generate_with_system()": lambda: provider.generate_with_system(
            SYSTEM_PROMPT, HELLO, temperature=temperature, max_tokens=MAX_TOKENS
        )
    }
    if streams:
        calls["generate_stream()"] = lambda: list(
            provider.generate_stream(hello(), temperature=temperature, max_tokens=MAX_TOKENS)
        )
    return calls


def _judge_call_params(
    name: str, call: Callable[[], Any], cases: Cases, omitted: dict[str, str], request: pytest.FixtureRequest
) -> None:
    """:func:`_judge_params` on the request of ``call``, the call ``name``."""
    traffic, _ = _answered_400(call)
    if not traffic.seen:
        note(request, f"{name} sent no request, so its parameters were not judged")
        return
    seen = traffic.seen[0]
    if isinstance(seen.json, dict):
        _judge_params(cases, seen.json, wire_format_for_request(seen), omitted, request, f"{name} ")


ZERO_CASE = "temperature 0.0"


def _judge_required_params(provider: Any, cases: Cases, streams: bool) -> None:
    """A parameter the protocol requires is sent when the caller gives none, by ``generate()``
    and by a consumed ``generate_stream()`` (a call that sends no request is left to
    interface-defaults, which says why)."""
    calls = {"generate()": lambda: provider.generate(hello())}
    if streams:
        calls["generate_stream()"] = lambda: list(provider.generate_stream(hello()))
    for name, call in calls.items():
        traffic, _ = _answered_400(call)
        for seen in traffic.seen[:1]:
            wire_format = wire_format_for_request(seen)
            body = seen.json
            if wire_format is None or not isinstance(body, dict):
                continue
            sent = sent_params(body, wire_format)
            for param in wire_format.required_params:
                if any(value is not None for value in sent[param].values):
                    continue
                # A None default passed through arrives as null, which the API rejects as it does no value.
                carried = _null_at(sent[param]) if sent[param].values else sent[param].missing()
                cases.fail(
                    f"{name} without {param}",
                    f"the request carries {carried}; that API requires it, and answers 400 to every call "
                    f"that leaves {param} out" + (" or sends it null" if sent[param].values else ""),
                )


def _null_at(sent: Sent) -> str:
    return "null at " + " and ".join(describe(place) for place, _ in sent.read)


def _request_of(call: Callable[[], Any], during: str = "generate()") -> Seen:
    """The first request ``call`` sends."""
    traffic, raised = _answered_400(call)
    require_traffic(traffic, during, raised=raised)
    return traffic.seen[0]


def _answered_400(call: Callable[[], Any]) -> tuple[Traffic, Exception | None]:
    """The traffic of ``call``, each request answered HTTP 400 (the request is what is judged,
    the 400 is the kit's), and what the call raised."""
    raised = None
    with observed(answer_with(lambda seen: error_reply(seen, 400)), virtual_time=True) as traffic:
        try:
            call()
        except Exception as exc:
            raised = exc
    return traffic, raised


def _judge_zero_temperature(provider: Any, cases: Cases, streams: bool) -> None:
    """A caller's ``temperature=0.0`` (for repeatable answers) is sent, not taken for "none given",
    by ``generate()``, ``generate_with_system()`` and a consumed ``generate_stream()`` (a call
    that sends no request is noted by its parameter check)."""
    seen = _request_of(
        lambda: provider.generate(hello(), temperature=0.0, max_tokens=MAX_TOKENS), "generate(temperature=0.0)"
    )
    _judge_zero_in(cases, ZERO_CASE, seen)
    for name, call in _other_calls(provider, 0.0, streams).items():
        traffic, _ = _answered_400(call)
        for seen in traffic.seen[:1]:
            _judge_zero_in(cases, f"{name} {ZERO_CASE}", seen)


def _judge_zero_in(cases: Cases, case: str, seen: Seen) -> None:
    body = seen.json
    sent = sent_params(body, wire_format_for_request(seen))["temperature"] if isinstance(body, dict) else None
    if sent is None or 0.0 in sent.values:
        cases.ok(case)
        return
    if any(value == 0.0 and not isinstance(value, bool) for _, value in sent.unread):
        # 0.0 was sent, where the protocol does not read it: misplaced like any value, not taken for none
        cases.fail(case, f"the caller passed 0.0; {sent.misplaced(0.0)}")
        return
    cases.fail(
        case,
        f"the caller passed 0.0; {_where_found(sent, 0.0, body)}: a falsy 0.0 was taken for no value "
        "(``if temperature:`` or ``temperature or default``); test ``temperature is not None``",
    )


def _sent_as(sent: Sent) -> str:
    place, value = sent.anywhere[0]
    return f"sent as {value!r} at {describe(place)}"


def _where_found(sent: Sent, value: Any, body: dict[str, Any]) -> str:
    """What the body holds instead of ``value`` where the protocol reads it, and where else it put ``value``."""
    found = [f"found {v!r} at {describe(place)}" for place, v in sent.read]
    misplaced = sent.misplaced(value)
    if misplaced is not None:
        return "; ".join([misplaced, *found])
    return "; ".join(found) if found else f"{sent.missing()}; the body's keys are {sorted(body)}"


@clause("headers-reach-request", "must")
def test_headers_reach_request(
    provider: Any, recorded_request_headers: dict[str, set[str]], request: pytest.FixtureRequest
) -> None:
    """Every request sends the headers its API requires, with the values the recorded requests sent.

    **Why**: replay matches a request on its method, URL and body, not on its headers, so a
    provider that stops sending a header its API requires (Anthropic's ``anthropic-version``
    or ``content-type: application/json``) passes every other clause, then gets a 400 on
    every live call. A changed ``anthropic-version`` is no better: the API shapes its answers
    by it, so the cassettes no longer show what the provider will read. The requirement is
    the APIs' (their references list these headers), not LAIOS's.

    **Checks**: on every request of ``generate()`` and of a consumed ``generate_stream()``,
    each header the protocol requires (``content-type`` for OpenAI Chat Completions and the
    servers that speak it; ``anthropic-version`` and ``content-type`` for Anthropic
    Messages) that the provider's recorded requests sent is sent too, with a value they sent
    (for ``content-type``, the same media type: a ``charset`` is not compared).

    **Not applicable when**: the protocol requires no header (Ollama's native API), or the
    kit has no decoder for it. Not judged when the cassettes keep none of those headers.

    **How to fix**: 1. send each required header on every request, streamed ones too
    (``headers={"anthropic-version": "2023-06-01"}``; ``json=`` sets ``content-type`` in
    httpx and requests, ``data=`` or ``content=`` does not); 2. if you changed a value on
    purpose (a newer ``anthropic-version``), record the cassettes again against the live API
    (``--record-mode=rewrite``), so that replay serves the answers that version gives.
    """
    cases = Cases()
    required: set[str] = set()
    for name, traffic in requests_of_each_call(provider, 400):
        for seen in traffic.seen:
            wire_format = wire_format_for_request(seen)
            for header in wire_format.required_headers if wire_format is not None else ():
                required.add(header)
                recorded = recorded_request_headers.get(header)
                problem = _header_problem(seen, header, recorded) if recorded else None
                if problem:
                    cases.fail(f"{name} {header}", problem)
    if not required:
        pytest.skip("not applicable: the provider's protocol requires no request header the kit knows of")
    unrecorded = sorted(required - recorded_request_headers.keys())
    if unrecorded == sorted(required):
        skip_not_judged(f"the provider's cassettes keep no {' or '.join(unrecorded)} header to compare with")
    if unrecorded:
        note(request, f"the cassettes keep no {', '.join(unrecorded)} header, so it was not compared")
    cases.conclude()


def _header_problem(seen: Seen, header: str, recorded: set[str]) -> str | None:
    sent = [value for name, value in seen.headers.items() if name.lower() == header]
    url = seen.url.split("?")[0]
    if not sent:
        return (
            f"the request to {url} sends no {header} header; the recorded requests, which the live API "
            f"answered, sent {', '.join(sorted(recorded))}, and the API requires it"
        )
    if not any(_same_value(header, value, old) for value in sent for old in recorded):
        return (
            f"the request to {url} sends {header}: {', '.join(sent)}; the recorded requests, which the "
            f"live API answered, sent {', '.join(sorted(recorded))}"
        )
    return None


def _same_value(header: str, sent: str, recorded: str) -> bool:
    if header == "content-type":
        return _media_type(sent) == _media_type(recorded)
    return sent.strip() == recorded.strip()


def _media_type(value: str) -> str:
    return value.split(";")[0].strip().lower()


INTERFACE_DEFAULTS = {"temperature": 0.7, "max_tokens": 2048}
_NONE_SENT = "sent none (the API's own default applies)"


@clause("interface-defaults", "should")
def test_interface_defaults(provider: Any, profile: dict[str, Any]) -> None:
    """Called without temperature and max_tokens, the provider sends LAIOS's defaults, 0.7 and 2048.

    **Why**: LAIOS's guide gives ``generate``, ``generate_with_system`` and
    ``generate_stream`` the signature ``(..., temperature=0.7, max_tokens=2048, **kwargs)``,
    so a caller that leaves them out expects those values. A provider whose own default is
    ``max_tokens=256``, or that sends none and leaves the API's default, cuts long answers
    short without an error; one that defaults to ``temperature=1.0`` answers less steadily
    than LAIOS asked.

    **Checks**: ``generate(messages)``, ``generate_with_system(system, user)`` and a consumed
    ``generate_stream(messages)``, each without temperature and max_tokens: the body of
    the call's first request carries temperature 0.7 and max_tokens 2048 where
    ``params-reach-request`` looks for them (where the provider's protocol reads them). A
    parameter the provider declares omitted (``conformance_profile["omits_params"]``) must
    be absent instead. A method that
    cannot be called without them (a ``TypeError`` before any request) fails.

    **How to fix**: give the three methods the defaults of LAIOS's interface,
    ``temperature: float = 0.7, max_tokens: int = 2048``, and send them as given.
    """
    calls: dict[str, Callable[[], Any]] = {
        "generate(messages)": lambda: provider.generate([LLMMessage(role="user", content=HELLO)]),
        "generate_with_system(system, user)": lambda: provider.generate_with_system(SYSTEM_PROMPT, HELLO),
        "generate_stream(messages)": lambda: list(provider.generate_stream([LLMMessage(role="user", content=HELLO)])),
    }
    cases = Cases()
    for label, call in calls.items():
        traffic, raised = _answered_400(call)
        if raised is not None and not traffic.seen and _lacks_defaults(raised):  # LAIOS's call fails
            cases.fail(label, f"cannot be called without them: {type(raised).__name__}: {raised}")
            continue
        require_traffic(traffic, label, raised=raised)
        seen = traffic.seen[0]
        problems = _default_problems(seen.json, profile["omits_params"], wire_format_for_request(seen))
        cases.fail(label, "; ".join(problems)) if problems else cases.ok(label)
    cases.conclude()


def _lacks_defaults(exc: Exception) -> bool:
    """A TypeError for calling without ``temperature`` or ``max_tokens`` (not any TypeError)."""
    text = str(exc)
    return isinstance(exc, TypeError) and "missing" in text and ("temperature" in text or "max_tokens" in text)


def _default_problems(body: Any, omitted: dict[str, str], wire_format: WireFormat | None) -> list[str]:
    if not isinstance(body, dict):
        return [f"the request body is not a JSON object: {body!r:.120}"]
    problems = []
    for param, sent in sent_params(body, wire_format).items():
        default = INTERFACE_DEFAULTS[param]
        if param in omitted:
            if sent.anywhere:
                problems.append(f"{param} declared omitted ({omitted[param]}) but {_sent_as(sent)}")
        elif default not in sent.values:
            found = [f"sent {v!r}" for v in sent.values[:1]]
            misplaced = sent.misplaced(default)
            if misplaced is not None:
                found.append(misplaced if found else f"{misplaced}, so the API's own default applies")
            problems.append(f"{param}: LAIOS's default is {default!r}, {'; '.join(found) or _NONE_SENT}")
    return problems


DRAWN_SHAPES = 20  # each costs a generate() and a consumed stream; the named shapes come first


@clause("no-input-mutation", "must")
@pytest.mark.vcr
def test_no_input_mutation(provider: Any, cassette: Any) -> None:
    """The caller's message list and message objects are unchanged by generate and a consumed stream.

    **Why**: the caller owns the conversation: a caller that keeps a history (a chat
    session) sends the same list again on the next turn, and LAIOS's guide builds the
    request from fresh dicts. A provider that pops the system message, merges system
    messages, moves them first or strips a content in place corrupts that history
    silently. (``generate_with_system`` takes only strings, which cannot be mutated.)

    **Checks**: for conversations of every shape (no system message, one message, a system
    message not first, two system messages, content padded with whitespace, unusual
    Unicode, a long message, a repeated message, long histories, one of 160 turns), then 20 conversations
    hypothesis draws from the same shapes,
    ``generate()`` and a consumed ``generate_stream()`` answered with the recorded
    responses: afterwards the list holds the same message objects in the same order, and a
    deep snapshot of every message is unchanged. The minimal failing conversation is shown.

    **How to fix**: build the request payload from copies; never ``pop``, ``insert``,
    ``sort`` or assign into the caller's list, and never assign to a message's fields.
    """
    exchanges = (
        record_exchange(provider, call_generate, need_wire=False),
        record_exchange(provider, call_stream, need_wire=False),
    )
    sent: list[int] = []

    def problem_with(conversation: Conversation) -> str | None:
        for name, call in (("generate", call_generate), ("generate_stream", call_stream)):
            messages = [LLMMessage(role=role, content=content) for role, content in conversation]
            identities, before = [id(m) for m in messages], [_snapshot(m) for m in messages]
            handler = answer_with(lambda seen: recorded_for(exchanges, seen).reply)
            with observed(handler) as traffic, contextlib.suppress(Exception):
                call(provider, messages)
            sent.extend([1] if traffic.seen else [])
            if [id(m) for m in messages] != identities:
                return f"{name}() changed the list: {len(identities)} messages before, {len(messages)} after"
            changed = [i for i, m in enumerate(messages) if _snapshot(m) != before[i]]
            if changed:
                return f"{name}() changed the message(s) at index {changed}"
        return None

    cases = Cases()
    for shape, conversation in SHAPES.items():
        problem = problem_with(conversation)
        cases.fail(shape, problem) if problem else cases.ok(shape)
    found = None if cases.failures else find_minimal(conversations(), problem_with, max_examples=DRAWN_SHAPES)
    if not sent:
        require_traffic(Traffic(None), "any conversation")  # raises, with the stack hint
    if found is not None:
        cases.fail("minimal counter-example", f"{found[1]}; conversation: {found[0]!r:.400}")
    cases.conclude()


def _snapshot(message: Any) -> Any:
    dump = getattr(message, "model_dump", None)
    return dump() if callable(dump) else copy.deepcopy(vars(message))


@clause("timeout-set", "must")
def test_timeout_set(provider: Any) -> None:
    """Every request the provider sends carries a finite timeout.

    **Why**: without one a stalled server hangs the LAIOS agent forever, and neither the
    router nor the circuit breaker ever gets an exception to act on.

    **How to fix**: create your httpx client with ``timeout=httpx.Timeout(<seconds>)``
    (never ``timeout=None``), for both ``generate`` and ``generate_stream``; on
    ``requests`` pass ``timeout=(connect, read)`` to every call, on ``urllib.request``
    ``urlopen(..., timeout=<seconds>)``, on ``aiohttp`` a ``ClientTimeout`` with ``total``
    set, or with ``sock_read`` and ``sock_connect`` (``ClientTimeout(total=None)`` alone waits
    forever; ``ClientTimeout(sock_read=...)`` alone leaves connecting unbounded).
    """
    cases = Cases()
    for name, traffic in requests_of_each_call(provider, 500):
        for seen in traffic.seen:
            unset = [k for k in ("connect", "read", "write") if not _finite(seen.timeout.get(k))]
            if unset:
                cases.fail(name, f"request to {seen.url} has no finite {'/'.join(unset)} timeout ({seen.timeout})")
                break
    cases.conclude()


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


TIMEOUT_GIVEN = 37  # seconds: no HTTP library's default, so a timeout that never reaches a request shows


@clause("timeout-honoured", "should")
def test_timeout_honoured(laios_provider_spec: Any, provider_built_with: Callable[..., Any]) -> None:
    """The ``timeout`` the provider is built with is the read timeout of every request it sends.

    **Why**: LAIOS's guide builds providers with a ``timeout`` (60 s in its example) and
    passes it to the HTTP client. A provider that takes it but never passes it on runs on
    its library's default instead: httpx gives up after 5 s, so every answer that takes
    longer to generate (a long one, a reasoning model, a local model on a CPU) fails,
    although the caller allowed more.

    **Checks**: the kit builds the provider with ``timeout=37`` (a value no library uses by
    default), and every request of ``generate()`` and of a consumed ``generate_stream()``
    must carry a read timeout of 37 s, or at most a second less (a provider that gives the
    whole call, retries included, one deadline of ``timeout`` seconds has spent a little
    of it before it sends); the connect timeout may be shorter.

    **Not applicable when**: the constructor takes no ``timeout`` parameter, neither in its
    signature nor through ``**kwargs`` passed on to a base class that takes one.

    **How to fix**: pass it on, in seconds: ``httpx.Client(timeout=httpx.Timeout(self.timeout))``
    (or ``httpx.Timeout(self.timeout, connect=5.0)``), ``requests.post(..., timeout=(5,
    self.timeout))``, ``urlopen(..., timeout=self.timeout)``, ``openai.OpenAI(...,
    timeout=self.timeout)``, ``aiohttp.ClientTimeout(sock_connect=5, sock_read=self.timeout)``.
    """
    if not laios_provider_spec.takes("timeout"):
        pytest.skip("not applicable: the provider's constructor takes no timeout parameter")
    try:
        provider = provider_built_with(timeout=TIMEOUT_GIVEN)
    except Exception as exc:
        skip_not_judged(f"building the provider with timeout={TIMEOUT_GIVEN} raised {type(exc).__name__}: {exc}")
    cases = Cases()
    for name, traffic in requests_of_each_call(provider, 400):
        for seen in traffic.seen:
            read = seen.timeout.get("read")
            if not _honours(read):
                url = seen.url.split("?")[0]
                cases.fail(name, f"built with timeout={TIMEOUT_GIVEN}, it sent {url} with a read timeout of {read!r} s")
                break
    cases.conclude()


DEADLINE_SPENT = 1.0  # seconds: what a call-wide deadline may have used before its first request


def _honours(read: Any) -> bool:
    """A read timeout of the given seconds, or of what a deadline of them has left."""
    return (
        isinstance(read, (int, float))
        and not isinstance(read, bool)
        and TIMEOUT_GIVEN - DEADLINE_SPENT <= read <= TIMEOUT_GIVEN + 1e-9
    )
