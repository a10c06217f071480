from __future__ import annotations

import pytest
import vcr

from laios_conformance.cassettes import MATCH_ON, json_body, register_matchers

from .helpers import request

CONVERSATION = b'{"model": "m", "messages": [{"role": "user", "content": "hello"}], "stream": true}'
REORDERED = b'{\n  "stream": true,\n  "messages": [ {"content": "hello", "role": "user"} ],\n  "model": "m"\n}'


def test_key_order_and_whitespace_are_ignored() -> None:
    json_body(request(body=REORDERED), request(body=CONVERSATION))


def test_a_different_conversation_is_rejected_with_the_differing_path() -> None:
    other = CONVERSATION.replace(b"hello", b"goodbye")
    with pytest.raises(AssertionError) as caught:
        json_body(request(body=other), request(body=CONVERSATION))
    message = str(caught.value)
    assert "$.messages[0].content" in message
    assert '"hello"' in message and '"goodbye"' in message
    assert "\n" not in message


def test_missing_and_extra_keys_are_named() -> None:
    with pytest.raises(AssertionError, match=r"\$\.stream: missing.*\$\.temperature: not in the recorded"):
        json_body(request(body=b'{"model": "m", "temperature": 0}'), request(body=b'{"model": "m", "stream": true}'))


@pytest.mark.parametrize(("new", "recorded"), [(b'{"a": true}', b'{"a": 1}'), (b'{"a": 1}', b'{"a": 1.0}')])
def test_json_types_are_not_conflated(new: bytes, recorded: bytes) -> None:
    with pytest.raises(AssertionError):
        json_body(request(body=new), request(body=recorded))


def test_a_long_list_difference_is_reported_briefly() -> None:
    many = b'{"messages": [' + b",".join(b'"%d"' % i for i in range(50)) + b"]}"
    with pytest.raises(AssertionError) as caught:
        json_body(request(body=many.replace(b'"', b'"x')), request(body=many))
    assert str(caught.value).count(";") <= 3


def test_non_json_bodies_fall_back_to_bytes() -> None:
    json_body(request(body=b"a=1&b=2"), request(body=b"a=1&b=2"))
    with pytest.raises(AssertionError, match="not JSON"):
        json_body(request(body=b"a=1&b=2"), request(body=b"b=2&a=1"))


def test_empty_and_missing_bodies_match() -> None:
    json_body(request(body=None), request(body=b""))


def test_registered_under_the_name_match_on_uses() -> None:
    recorder = vcr.VCR()
    register_matchers(recorder)
    assert MATCH_ON[-1] == "json_body"
    assert recorder._get_matchers(MATCH_ON)[-1] is json_body


def test_a_json_document_body_matches_the_recorded_bytes() -> None:
    """vcrpy's aiohttp stub keeps ``json=`` as the document: it is compared as the JSON it is sent as."""
    json_body(
        request(body={"stream": True, "model": "m", "messages": [{"role": "user", "content": "hello"}]}),
        request(body=CONVERSATION),
    )  # type: ignore[arg-type]  # a dict body, as vcrpy may hand one over
    with pytest.raises(AssertionError, match=r"\$\.model"):
        json_body(request(body={"model": "other"}), request(body=b'{"model": "m"}'))  # type: ignore[arg-type]  # as above
