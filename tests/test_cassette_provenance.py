"""The committed cassettes replay answers of the service whose address they carry."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.support.build_cassettes import CLAUSE_SAMPLES, REFERENCES, Reference
from tests.support.fake_api import DEFAULT_SAMPLES, load_sample

# How the wire samples' MANIFEST names each reference provider's service.
SERVICE_OF_HOST = {
    "api.openai.com": "api.openai.com",
    "api.anthropic.com": "api.anthropic.com",
    "localhost": "local ollama",
}


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda reference: reference.class_name)
def test_each_cassette_replays_an_answer_of_the_service_it_names(reference: Reference) -> None:
    """OpenAIClient's finish-reason cassette held a vLLM server's answer under api.openai.com:
    drift against the live API called the difference breaking, every night."""
    samples = {sample for (family, _), sample in DEFAULT_SAMPLES.items() if family == reference.family}
    samples |= {
        sample
        for (_, family), table in CLAUSE_SAMPLES.items()
        if family == reference.family
        for sample in table.values()
    }
    service = SERVICE_OF_HOST[urlsplit(reference.real_base).hostname or ""]
    assert {sample: load_sample(sample)["service"] for sample in samples} == dict.fromkeys(samples, service)
