"""The reference providers' usage, finish reason, model and count_tokens on every real sample.

What the provider reports is compared with what the kit's wire decoder reads from the same
recorded body; streams report text only, so they are judged through ``count_tokens``.
"""

from __future__ import annotations

import pytest

from laios_conformance import wire
from reference_providers import ProviderError

from ._support import MESSAGES, client_for, load_samples, serve_sample

ANSWERS = [
    s
    for s in load_samples()
    if s.status == 200 and not s.stream and not s.url.endswith("/api/generate")  # the providers speak /api/chat
]
ALL_OK = [s for s in load_samples() if s.status == 200]


def _decoder(sample):
    return wire.by_name("openai" if sample.api.startswith("openai") else sample.api)


@pytest.mark.parametrize("sample", ANSWERS, ids=lambda s: s.name)
def test_usage_finish_reason_and_model_are_the_bodys(sample) -> None:
    client = client_for(sample.api, serve_sample(sample))
    try:
        response = client.generate(MESSAGES)
    except ProviderError:  # refusals, empty or tool-call-only answers raise, as documented
        pytest.skip("the provider raises for this answer (see test_bodies.py)")
    fmt = _decoder(sample)
    assert response.usage == fmt.usage(sample.body, stream=False)
    assert response.finish_reason == fmt.finish_reason(sample.body, stream=False)
    assert response.model == (fmt.served_model(sample.body, stream=False) or client.model)


@pytest.mark.parametrize("sample", ANSWERS, ids=lambda s: s.name)
def test_substituted_counts_and_reason_come_back(sample) -> None:
    fmt = _decoder(sample)
    body = fmt.with_finish_reason(fmt.with_usage(sample.body, 123, 45), "length")
    served = serve_sample(sample)
    served.body = body
    try:
        response = client_for(sample.api, served).generate(MESSAGES)
    except ProviderError:
        pytest.skip("the provider raises for this answer (see test_bodies.py)")
    assert response.usage == {"prompt_tokens": 123, "completion_tokens": 45, "total_tokens": 168}
    assert response.finish_reason == "length"


@pytest.mark.parametrize("sample", ALL_OK, ids=lambda s: s.name)
def test_count_tokens_is_sane_on_every_answer(sample) -> None:
    client = client_for(sample.api, serve_sample(sample))
    text = _decoder(sample).extract_text(sample.body, stream=sample.stream)
    count = client.count_tokens(text)
    assert isinstance(count, int) and count >= 0
    if len(text) >= 16:
        assert len(text) / 16 <= count <= len(text.encode("utf-8"))
    assert client.count_tokens(text + text) >= count
    assert client.count_tokens("") == 0
