"""The framings and the JSON editor on hand-made edge cases the recordings lack."""

from __future__ import annotations

import json

import pytest

from laios_conformance.wire import WireError, _json_edit, _ndjson, _sse, by_name
from laios_conformance.wire._base import split_text


def _data(body):
    return [(e.name, e.data, e.complete) for e in _sse.parse(body)]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_sse_line_ends(eol):
    body = b"event: a" + eol + b"data: 1" + eol + b"data:2" + eol + eol + b": note" + eol + eol
    assert _data(body) == [("a", "1\n2", True), ("", None, True)]


def test_sse_bom_comments_and_unfinished_event():
    body = b"\xef\xbb\xbf: hi\n\ndata:  two spaces\nid: 7\nretry: 10\n\ndata: cut"
    assert _data(body) == [("", None, True), ("", " two spaces", True), ("", "cut", False)]


def test_sse_rejects_json_documents():
    with pytest.raises(WireError):
        _sse.parse(b'{"error": {"message": "x"}}')


def test_sse_multi_line_data_can_be_rebuilt():
    body = b'data: {"choices":[{"index":0,\ndata: "delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n'
    fmt = by_name("openai")
    assert fmt.extract_text(body, stream=True) == "hi"
    assert fmt.extract_text(fmt.rebuild(body, "new text", stream=True), stream=True) == "new text"


def test_ndjson_lines():
    body = b'{"a":1}\r\n\n  \n{"b":2}\n{"c":'
    events = _ndjson.parse(body)
    assert [(e.data, e.complete) for e in events] == [('{"a":1}', True), ('{"b":2}', True), ('{"c":', False)]
    assert body[events[0].data_spans[0][0] : events[0].data_spans[0][1]] == b'{"a":1}'


def test_ollama_last_line_without_newline():
    line = b'{"model":"m","created_at":"t","response":"%s","done":%s}'
    body = line % (b"a", b"false") + b"\n" + line % (b"b", b"true")
    fmt = by_name("ollama")
    assert fmt.extract_text(body, stream=True) == "ab"
    assert fmt.extract_text(body[:-3], stream=True) == "a"  # a cut line is not read
    assert fmt.has_end_marker(body) and not fmt.has_end_marker(fmt.without_end_marker(body))
    assert fmt.stream_error(fmt.with_error_midstream(body))


def test_json_edit_keeps_everything_else():
    doc = '{\n  "a": {"b": [1, {"c": "old"}]},\n  "c": "x"  ,"a2": null\n}\n'
    out = _json_edit.replace(doc, ["a", "b", 1, "c"], 'new "q"')
    assert out == doc.replace('"old"', '"new \\"q\\""')
    assert _json_edit.replace(doc, ["a2"], "t") == doc.replace("null", '"t"')
    with pytest.raises(WireError):
        _json_edit.locate(doc, ["a", "b", 5])


def test_json_edit_last_duplicate_key_wins_like_json_loads():
    doc = '{"k": "first", "k": "second"}'
    out = _json_edit.replace(doc, ["k"], "z")
    assert out == '{"k": "first", "k": "z"}' and json.loads(out)["k"] == "z"


def test_dumps_escapes_line_separators_and_surrogates():
    text = "a\u2028b\u2029c\x85d\ud800e"
    encoded = _json_edit.dumps(text)
    assert encoded == '"a\\u2028b\\u2029c\\u0085d\\ud800e"'
    assert json.loads(encoded) == text


def test_split_text():
    assert split_text("abcde", 2) == ["ab", "cde"]
    assert split_text("a", 3) == ["", "", "a"]
    assert "".join(split_text("xyz" * 7, 5)) == "xyz" * 7
