"""The reference incremental decoder gives the same text however the body is cut."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from laios_conformance.wire import by_name

from .samples import ok_samples, stream_samples

# Every single cut is tried on bodies up to this size; on larger ones, every cut near a
# line break or a non-ASCII byte (before and after it), plus the first and last 64.
EVERY_CUT_UP_TO = 1300


def _cuts(body: bytes) -> list[int]:
    if len(body) <= EVERY_CUT_UP_TO:
        return list(range(len(body) + 1))
    near = {i + d for i, b in enumerate(body) if b in b"\r\n" or b >= 0x80 for d in (0, 1)}
    ends = set(range(64)) | set(range(len(body) - 64, len(body) + 1))
    return sorted(i for i in near | ends if 0 <= i <= len(body))


def _joined(fmt, pieces, stream=True):
    return "".join(fmt.iter_text(pieces, stream=stream))


@pytest.mark.parametrize("sample", stream_samples(), ids=str)
def test_one_byte_at_a_time(sample):
    fmt = by_name(sample.family)
    pieces = [sample.body[i : i + 1] for i in range(len(sample.body))]
    assert _joined(fmt, pieces) == fmt.extract_text(sample.body, stream=True)


@pytest.mark.parametrize("sample", stream_samples(), ids=str)
def test_every_single_cut(sample):
    fmt, body = by_name(sample.family), sample.body
    whole = fmt.extract_text(body, stream=True)
    bad = [c for c in _cuts(body) if _joined(fmt, [body[:c], body[c:]]) != whole]
    assert not bad


@pytest.mark.parametrize("sample", stream_samples(), ids=str)
@settings(max_examples=6, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_many_cuts(sample, data):
    fmt, body = by_name(sample.family), sample.body
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=40)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=False)]
    assert _joined(fmt, pieces) == fmt.extract_text(body, stream=True)


@pytest.mark.parametrize("sample", [s for s in ok_samples() if not s.stream], ids=str)
def test_whole_bodies_come_out_once(sample):
    fmt, body = by_name(sample.family), sample.body
    middle = len(body) // 2
    assert list(fmt.iter_text([body[:middle], body[middle:]], stream=False)) == [fmt.extract_text(body, stream=False)]


@pytest.mark.parametrize("sample", stream_samples(), ids=str)
def test_event_spans_tile_the_stream(sample):
    fmt, body = by_name(sample.family), sample.body
    spans = fmt.event_spans(body)
    assert all(0 <= a < b <= len(body) for a, b in spans)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:], strict=False))
    assert body[: spans[0][0]].strip() == b"" and body[spans[-1][1] :].strip() == b""
    content = fmt.content_events(body)
    assert set(content) <= set(spans)
    texts = [fmt.extract_text(body[a:b], stream=True) for a, b in content]
    assert all(texts) and "".join(texts) == fmt.extract_text(body, stream=True)


@pytest.mark.parametrize("sample", stream_samples(), ids=str)
def test_a_cut_stream_yields_its_finished_events(sample):
    """Cut between events, the text is that of the events before; cut inside one, that
    event does not count (an SSE event needs its blank line, an NDJSON line its end)."""
    fmt, body = by_name(sample.family), sample.body
    done = ""
    for start, end in fmt.event_spans(body):
        assert fmt.extract_text(body[: (start + end) // 2], stream=True) == done
        done += fmt.extract_text(body[start:end], stream=True)
        assert fmt.extract_text(body[:end], stream=True) == done
