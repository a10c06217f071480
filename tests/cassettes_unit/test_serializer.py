from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from vcr.cassette import Cassette
from vcr.serialize import deserialize, serialize

from laios_conformance.cassettes import cassette_recorded_at
from laios_conformance.cassettes import serializer as laios_yaml

from .helpers import cassette_dict, request, response

SSE = (
    b'event: ping\ndata: {"type": "ping"}\n\n'
    b'event: delta\ndata: {"text":"caf\xc3\xa9 \xf0\x9f\x98\x80"}\n\n'
    b"data: [DONE]\n\n"
)
LINES = st.lists(
    st.sampled_from(
        [
            "data: {}",
            "",
            "  indented",
            "trailing  ",
            "\ttab",
            "cr\r",
            "emoji 😀",
            "é",
            "---",
            "# not a comment",
            "- item",
            "key: value",
            "|",
            ">",
            "'\"\\",
            "\x85",
            "\u2028",
        ]
    ),
    max_size=8,
)


def round_trip(response_body: bytes, request_body: bytes = b"{}") -> tuple[bytes, bytes, str]:
    text = serialize(cassette_dict((request(body=request_body), response(response_body))), laios_yaml)
    requests, responses = deserialize(text, laios_yaml)
    return responses[0]["body"]["string"], requests[0].body, text


@settings(max_examples=150, deadline=None)
@given(st.text(), st.text())
def test_arbitrary_text_bodies_round_trip_exactly(response_text: str, request_text: str) -> None:
    response_body, request_body, _ = round_trip(response_text.encode(), request_text.encode())
    assert response_body == response_text.encode()
    assert request_body == request_text.encode()


@settings(max_examples=150, deadline=None)
@given(LINES, st.sampled_from(["\n", "\r\n", "\n\n"]))
def test_line_structured_bodies_round_trip_exactly(lines: list[str], separator: str) -> None:
    body = separator.join(lines).encode()
    assert round_trip(body)[0] == body


def test_binary_bodies_round_trip() -> None:
    body = bytes(range(256))
    assert round_trip(body)[0] == body


def test_sse_bodies_use_literal_blocks_with_text_as_is() -> None:
    text = round_trip(SSE)[2]
    assert "string: |" in text
    assert '    data: {"text":"café 😀"}' in text


@pytest.mark.parametrize("body", [b"line one  \nline two\n", b"a\r\nb\r\n", b"a\tb\nc\n"])
def test_text_a_literal_block_would_alter_is_quoted(body: bytes) -> None:
    body_back, _, text = round_trip(body)
    assert body_back == body
    assert "string: |" not in text


def test_the_quoted_fallback_catches_what_the_literal_check_misses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(laios_yaml, "literal_safe", lambda text: "\n" in text)
    body = "next line\x85same line\nend\n".encode()
    body_back, _, text = round_trip(body)
    assert body_back == body
    assert 'string: "next line\\Nsame line\\nend\\n"' in text


def test_recorded_at_is_stamped_and_read_back(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(laios_yaml, "today", lambda: dt.date(2025, 3, 4))
    path = tmp_path / "c.yaml"
    path.write_text(round_trip(SSE)[2], encoding="utf-8")
    assert path.read_text().startswith("recorded_at: 2025-03-04\n")
    assert cassette_recorded_at(path) == dt.date(2025, 3, 4)
    assert laios_yaml.deserialize(path.read_text())["recorded_at"] == dt.date(2025, 3, 4)


def test_recorded_at_is_none_when_absent_or_unreadable(tmp_path) -> None:
    (tmp_path / "old.yaml").write_text("interactions: []\nversion: 1\n")
    (tmp_path / "bad.yaml").write_text("interactions: [\n")
    assert cassette_recorded_at(tmp_path / "old.yaml") is None
    assert cassette_recorded_at(tmp_path / "bad.yaml") is None
    assert cassette_recorded_at(tmp_path / "missing.yaml") is None


def test_interactions_keep_their_order_and_requests_read_top_down() -> None:
    pairs = [(request(uri=f"https://h/{i}"), response(f"{i}".encode())) for i in range(5)]
    text = serialize(cassette_dict(*pairs), laios_yaml)
    requests, _ = deserialize(text, laios_yaml)
    assert [r.uri for r in requests] == [f"https://h/{i}" for i in range(5)]
    first = yaml.safe_load(text)["interactions"][0]["request"]
    assert list(first) == ["method", "uri", "headers", "body"]


@pytest.mark.skipif(not hasattr(Cassette, "get_metadata"), reason="vcrpy < 9 (all Python 3.10 has) keeps no metadata")
def test_metadata_survives() -> None:
    data = {**cassette_dict((request(), response())), "metadata": {"seed": 7}}
    assert deserialize(serialize(data, laios_yaml), laios_yaml)[2] == {"seed": 7}


def test_each_read_gets_its_own_document() -> None:
    """Reads of one text are parsed once, but a change to one document (vcrpy converts
    bodies in place) never shows in the next read."""
    text = serialize(cassette_dict((request(body=b"{}"), response(SSE))), laios_yaml)
    first = laios_yaml.deserialize(text)
    first["interactions"][0]["response"]["body"]["string"] = "changed"
    first["interactions"].append("extra")
    second = laios_yaml.deserialize(text)
    assert second["interactions"][0]["response"]["body"]["string"] == SSE.decode("utf-8")
    assert len(second["interactions"]) == 1
    assert second is not first


def test_a_corrupt_text_fails_on_every_read() -> None:
    for _ in range(2):
        with pytest.raises(yaml.YAMLError):
            laios_yaml.deserialize("interactions: [unclosed")
