"""Exact behaviour of the pure wire helpers in ``reference_providers._wire``.

Each test pins one rule a provider author copies: where lines and events split, what an
error message says and which provider it names, how long an excerpt is, how retry hints
and usage numbers are read. Written against mutation testing (``scripts/mutation.py``):
every rule here had a mutant that no other test noticed.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from reference_providers import (
    ProviderError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    StreamError,
)
from reference_providers._wire import (
    SSEEvent,
    describe_error,
    error_from_http,
    error_in_body,
    guard_sse,
    iter_lines,
    iter_sse,
    load_json,
    message_dicts,
    parse_retry_after,
    snippet,
    usage_dict,
)

UTC = timezone.utc


def hide_secret(text: str) -> str:
    return text.replace("SECRET", "[R]")


def fields(exc: ProviderError) -> tuple[Any, ...]:
    return type(exc), exc.provider, exc.status_code, exc.error_type, exc.retryable, exc.message


# --- excerpts ------------------------------------------------------------------------------


def test_snippet_keeps_up_to_the_limit_and_marks_a_cut() -> None:
    assert snippet("a" * 200) == "a" * 200
    assert snippet("a" * 201) == "a" * 200 + "..."
    assert snippet("x  y\n\tz") == "x y z"
    assert snippet("abcdef", 3) == "abc..."


# --- lines --------------------------------------------------------------------------------


def test_empty_reads_are_skipped_not_the_end() -> None:
    assert list(iter_lines([b"", b"a\n", b"", b"b"], "p")) == ["a", "b"]


def test_a_cr_at_the_end_of_a_read_pairs_with_a_lf_at_the_start_of_the_next() -> None:
    assert list(iter_lines([b"a\r", b"\nb\n"], "p")) == ["a", "b"]


def test_a_final_cr_ends_the_last_line() -> None:
    assert list(iter_lines([b"ab\r"], "p")) == ["ab"]
    assert list(iter_lines([b"x\nab\r"], "p")) == ["x", "ab"]


@pytest.mark.parametrize("chunks", [[b"\xff\nok\n"], [b"ok\n\xff"]], ids=["inner line", "last line"])
def test_a_line_that_is_not_utf8_names_the_provider(chunks: list[bytes]) -> None:
    with pytest.raises(ResponseFormatError) as info:
        list(iter_lines(chunks, "acme"))
    assert info.value.provider == "acme"
    assert info.value.message.startswith("stream line is not valid UTF-8: ")


# --- server-sent events --------------------------------------------------------------------


def test_blank_lines_before_an_event_dispatch_nothing() -> None:
    assert list(iter_sse(["", "", "data: x", ""])) == [SSEEvent(None, "x")]


def test_data_lines_join_with_newlines_also_at_the_end_of_the_stream() -> None:
    assert list(iter_sse(["data: a", "data: b", ""])) == [SSEEvent(None, "a\nb")]
    assert list(iter_sse(["data: a", "data: b"])) == [SSEEvent(None, "a\nb")]


def test_event_names_are_kept_and_other_fields_ignored() -> None:
    lines = ["event: ping", "id: 7", "retry: 10", "data: x", "", "event: error", "data: y"]
    assert list(iter_sse(lines)) == [SSEEvent("ping", "x"), SSEEvent("error", "y")]


def test_an_event_with_a_name_and_no_data_is_dispatched() -> None:
    assert list(iter_sse(["event: error", ""])) == [SSEEvent("error", "")]
    assert list(iter_sse(["event: error"])) == [SSEEvent("error", "")]


def test_comment_lines_are_skipped() -> None:
    assert list(iter_sse([": OPENROUTER PROCESSING", "", "data: x", ""])) == [SSEEvent(None, "x")]


# --- a JSON document where a stream was asked for ------------------------------------------


def test_an_indented_error_document_raises_its_error() -> None:
    body = '  {"error": {"message": "SECRET is invalid", "code": "invalid_api_key"}}'
    with pytest.raises(StreamError) as info:
        list(guard_sse([body], "acme", hide_secret))
    assert fields(info.value) == (StreamError, "acme", None, "invalid_api_key", False, "[R] is invalid")


def test_a_json_document_without_an_error_is_a_format_error() -> None:
    with pytest.raises(ResponseFormatError) as info:
        list(guard_sse(["", '{"id": 1}'], "acme"))
    assert fields(info.value) == (
        ResponseFormatError,
        "acme",
        None,
        None,
        False,
        "asked for a stream, got a single JSON document",
    )


def test_a_broken_json_document_is_described_as_the_stream_body() -> None:
    with pytest.raises(ResponseFormatError) as info:
        list(guard_sse(["{SECRET"], "acme", hide_secret))
    assert info.value.provider == "acme"
    assert info.value.message == "stream body is not valid JSON: '{[R]'"


def test_sse_lines_pass_through_untouched() -> None:
    assert list(guard_sse(["", "data: {}", "{not json"], "acme")) == ["", "data: {}", "{not json"]


# --- JSON bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", "  \n", b" \r\n"])
def test_an_empty_body_is_named_as_such(raw: Any) -> None:
    with pytest.raises(ResponseFormatError) as info:
        load_json(raw, "acme")
    assert (info.value.provider, info.value.message) == ("acme", "response body is empty")
    with pytest.raises(ResponseFormatError, match=r"^\[acme\] chunk is empty$"):
        load_json(raw, "acme", what="chunk")


def test_an_html_page_is_named_as_such_even_indented() -> None:
    with pytest.raises(ResponseFormatError) as info:
        load_json(b"\n  <html>SECRET</html>", "acme", redact=hide_secret)
    assert (info.value.provider, info.value.message) == ("acme", "response body is an HTML page: '<html>[R]</html>'")


def test_malformed_json_is_named_as_such() -> None:
    with pytest.raises(ResponseFormatError) as info:
        load_json('{"a": ', "acme")
    assert (info.value.provider, info.value.message) == ("acme", "response body is not valid JSON: '{\"a\":'")


def test_undecodable_bytes_are_replaced_in_the_message() -> None:
    with pytest.raises(ResponseFormatError) as info:
        load_json(b"\xff nope", "acme")
    assert info.value.message == "response body is not valid JSON: '\ufffd nope'"


# --- error bodies --------------------------------------------------------------------------


def test_an_error_object_without_a_message_is_shown_whole() -> None:
    assert describe_error({"error": {"code": "x"}}) == ('{"code": "x"}', "x", None)


def test_an_error_object_may_carry_msg_instead_of_message() -> None:
    assert describe_error({"error": {"msg": "boom", "type": "t"}}) == ("boom", "t", None)


def test_openrouter_upstream_detail_is_kept_up_to_500_characters() -> None:
    def upstream(raw: str) -> str:
        return describe_error({"error": {"message": "m", "metadata": {"raw": raw}}})[0]

    assert upstream("r" * 500) == f"m (upstream: {'r' * 500})"
    assert upstream("r" * 501) == f"m (upstream: {'r' * 500}...)"


def test_fastapi_detail_lists_join_their_messages() -> None:
    detail = [{"msg": "a", "loc": ["body"]}, "b", {"loc": 1}]
    assert describe_error({"detail": detail}) == ("a; b; {'loc': 1}", None, None)
    assert describe_error({"detail": []}) is None
    assert describe_error({"detail": "plain"}) == ("plain", None, None)


def test_a_top_level_message_carries_its_code_and_type() -> None:
    assert describe_error({"message": "m", "type": "t", "code": 400}) == ("m", "t", 400)
    assert describe_error({"message": "m", "type": "t", "code": "bad_thing"}) == ("m", "bad_thing", None)


def test_a_body_that_is_not_json_is_its_own_message_up_to_500_characters() -> None:
    assert error_from_http("acme", 500, {}, b"x" * 500).message == "x" * 500
    assert error_from_http("acme", 500, {}, b"x" * 501).message == "x" * 500 + "..."
    assert error_from_http("acme", 502, {}, b"\xff bad gateway").message == "\ufffd bad gateway"


def test_an_empty_error_body_names_the_status() -> None:
    assert error_from_http("acme", 500, {}, b"").message == "HTTP 500"
    assert (
        error_from_http("acme", 503, {}, b"  ", reason="Service Unavailable").message == "HTTP 503 Service Unavailable"
    )


# --- retry hints ---------------------------------------------------------------------------


def test_x_should_retry_overrides_the_status() -> None:
    assert error_from_http("acme", 400, {"x-should-retry": "true"}, b"").retryable is True
    assert error_from_http("acme", 500, {"x-should-retry": " False "}, b"").retryable is False
    assert error_from_http("acme", 500, {"x-should-retry": "maybe"}, b"").retryable is True


def test_retry_after_as_a_date_without_a_zone_is_utc() -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:30 -0000"}, now) == 30.0


def test_retry_after_as_a_date_is_measured_from_now() -> None:
    seconds = parse_retry_after({"retry-after": "Fri, 01 Jan 2100 00:00:00 GMT"})
    expected = (datetime(2100, 1, 1, tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    assert seconds is not None and abs(seconds - expected) < 60


# --- errors inside 200 bodies --------------------------------------------------------------


def test_an_error_in_a_body_names_the_provider_and_follows_its_code() -> None:
    exc = error_in_body(
        "acme", {"error": {"message": "slow down SECRET", "code": 429}}, in_stream=False, redact=hide_secret
    )
    assert fields(exc) == (RateLimitError, "acme", 429, None, True, "slow down [R]")
    exc = error_in_body("acme", {"error": {"message": "m", "type": "server_error"}}, in_stream=False)
    assert fields(exc) == (ProviderError, "acme", None, "server_error", True, "m")
    assert type(error_in_body("acme", {"error": {"message": "m", "code": 503}}, in_stream=False)) is ServerError
    assert type(error_in_body("acme", {"error": {"message": "m", "code": 400}}, in_stream=True)) is StreamError


def test_an_error_body_nobody_describes_is_shown_whole() -> None:
    exc = error_in_body("acme", {"error": True, "x": 1}, in_stream=False)
    assert exc.message == json.dumps({"error": True, "x": 1})
    assert type(exc) is ProviderError and exc.status_code is None


# --- requests and results ------------------------------------------------------------------


def test_message_dicts_say_what_is_wrong() -> None:
    with pytest.raises(TypeError, match="^messages must be a list of LLMMessage$"):
        message_dicts("hello")
    with pytest.raises(TypeError, match=r"^each message needs a str role and str content, got \{'role': 'user'\}$"):
        message_dicts([{"role": "user"}])
    with pytest.raises(ValueError, match="^messages must not be empty$"):
        message_dicts([])


def test_usage_counts_whole_floats_and_ignores_booleans() -> None:
    assert usage_dict(3.0, 2.0) == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert usage_dict(True, 2) == {"prompt_tokens": 0, "completion_tokens": 2, "total_tokens": 2}
    assert usage_dict(1.5, None) is None


def test_usage_fills_in_what_is_missing_and_keeps_the_servers_total() -> None:
    assert usage_dict(5, None) == {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5}
    assert usage_dict(None, 4) == {"prompt_tokens": 0, "completion_tokens": 4, "total_tokens": 4}
    assert usage_dict(None, None, 7) == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 7}
    assert usage_dict(1, 2, 10) == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 10}
    assert usage_dict(None, None, None) is None
