"""Where each wire format's requests carry temperature and the max-tokens limit.

The places the decoders declare (``WireFormat.param_places``) are checked against the
requests real clients sent (tests/data/wire_samples); a format that declares none lets
the clauses find the parameters anywhere in the body.
"""

from __future__ import annotations

import json

import pytest

from laios_conformance.contract._params import sent_params
from laios_conformance.wire import WireFormat, by_name, detect

from .samples import all_samples

PARAM_KEYS = {"temperature", "max_tokens", "max_completion_tokens", "num_predict", "options"}
WITH_PARAMS = [s for s in all_samples() if PARAM_KEYS & set(json.loads(s.request_body))]


def test_the_samples_cover_each_format_with_params() -> None:
    assert {s.family for s in WITH_PARAMS} == {"openai", "anthropic", "ollama"}


@pytest.mark.parametrize("sample", WITH_PARAMS, ids=str)
def test_real_requests_carry_params_where_their_format_reads_them(sample) -> None:
    fmt = detect(sample.url, sample.request_body, {}, b"")
    assert fmt is by_name(sample.family)
    located = sent_params(json.loads(sample.request_body), fmt)
    assert {param: s.unread for param, s in located.items()} == {"temperature": [], "max_tokens": []}


def test_ollama_reads_options_only() -> None:
    body = {"model": "m", "temperature": 0.3, "max_tokens": 64, "options": {"num_predict": 32}}
    located = sent_params(body, by_name("ollama"))
    assert located["temperature"].values == [] and located["temperature"].unread == [("temperature", 0.3)]
    assert located["max_tokens"].values == [32] and located["max_tokens"].unread == [("max_tokens", 64)]
    assert located["temperature"].missing() == "nothing at options.temperature, where the 'ollama' protocol reads it"


def test_openai_reads_either_max_tokens_key_at_the_top_level() -> None:
    located = sent_params({"temperature": 0.3, "max_completion_tokens": 64}, by_name("openai"))
    assert located["temperature"].values == [0.3] and located["max_tokens"].values == [64]
    nested = sent_params({"options": {"temperature": 0.3}}, by_name("openai"))
    assert nested["temperature"].values == [] and nested["temperature"].unread == [("options.temperature", 0.3)]


class GeminiLike(WireFormat):
    """A user's decoder written before ``param_places`` existed."""

    name = "gemini-like"


@pytest.mark.parametrize("fmt", [None, GeminiLike()], ids=["unknown format", "decoder without places"])
def test_without_declared_places_any_usual_key_anywhere_counts(fmt) -> None:
    body = {"contents": [], "generationConfig": {"temperature": 0.3, "maxOutputTokens": 64}}
    located = sent_params(body, fmt)
    assert located["temperature"].values == [0.3] and located["max_tokens"].values == [64]
    assert located["temperature"].unread == [] and located["temperature"].missing() == "no such key"
