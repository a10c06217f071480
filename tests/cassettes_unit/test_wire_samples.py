"""Real provider traffic (tests/data/wire_samples) through the scrubbers, serializer and linter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vcr.request import Request
from vcr.serialize import deserialize, serialize

from laios_conformance.cassettes import lint_paths, make_scrubbers
from laios_conformance.cassettes import serializer as laios_yaml

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "wire_samples"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="wire samples not present")


def as_interaction(sample: dict) -> tuple[Request, dict]:
    body = sample["request"].get("body")
    request = Request(
        sample["request"]["method"],
        sample["request"]["url"],
        b"" if body is None else json.dumps(body).encode(),
        {"content-type": "application/json", "authorization": "Bearer <REDACTED>"},
    )
    response = {
        "status": {"code": sample["response"]["status"], "message": ""},
        "headers": {name: [value] for name, value in sample["response"]["headers"].items()},
        "body": {"string": sample["response"]["body_text"].encode()},
    }
    return request, response


def test_real_bodies_round_trip_and_the_cassettes_lint_clean(tmp_path) -> None:
    before_request, before_response = make_scrubbers(["not-a-real-key-at-all"])
    files = sorted(SAMPLES.glob("*/*.json"))
    literal = 0
    for file in files:
        request, response = as_interaction(json.loads(file.read_text(encoding="utf-8")))
        request, response = before_request(request), before_response(response)
        expected = response["body"]["string"]
        text = serialize({"requests": [request], "responses": [response]}, laios_yaml)
        _, responses = deserialize(text, laios_yaml)
        assert responses[0]["body"]["string"] == expected, file
        literal += "string: |" in text
        (tmp_path / f"{file.parent.name}-{file.stem}.yaml").write_text(text, encoding="utf-8")
    assert files and literal > len(files) // 3
    assert lint_paths([tmp_path]) == []
    # The samples are not cassettes (the linter says so), but nothing in them looks like a secret.
    assert [f for f in lint_paths([SAMPLES]) if f.kind != "not-a-cassette"] == []
