"""Record against a loopback server through vcrpy with the kit's glue, then replay."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from laios_conformance.cassettes import PLACEHOLDER, cassette_recorded_at, lint_paths

from .conftest import MODELS_BODY, sse_body
from .helpers import all_bytes_under, kit_vcr


def converse(base_url: str, key: str) -> tuple[bytes, bytes]:
    headers = {"Authorization": f"Bearer {key}", "x-api-key": key, "OpenAI-Organization": "org-Loopback42"}
    with httpx.Client(headers=headers) as client:
        chat = client.post(
            f"{base_url}/v1/chat/completions?key={key}&api-version=1",
            json={"model": "m", "stream": True, "messages": [{"role": "user", "content": f"my key is {key}"}]},
        )
        models = client.get(f"{base_url}/v1/models")
    return chat.content, models.content


@pytest.fixture
def recorded(tmp_path, loopback):
    path = tmp_path / "cassettes" / "chat.yaml"
    recorder, config = kit_vcr("once", [loopback.key])
    with recorder.use_cassette(str(path), **config):
        live = converse(loopback.url, loopback.key)
    assert live == (sse_body(loopback.key), MODELS_BODY)
    assert len(loopback.hits) == 2
    return path


def test_the_key_is_nowhere_on_disk(tmp_path, recorded, loopback) -> None:
    written = all_bytes_under(tmp_path)
    assert loopback.key.encode() not in written
    assert quote(loopback.key, safe="").encode() not in written
    text = recorded.read_text(encoding="utf-8")
    assert "string: |" in text
    assert "content-encoding" not in text.lower()
    assert "set-cookie" not in text.lower() and "org-Loopback42" not in text
    assert cassette_recorded_at(recorded) is not None
    assert lint_paths([tmp_path]) == []


def test_replay_returns_the_recorded_bodies_without_the_network(recorded, loopback) -> None:
    recorder, config = kit_vcr("none", [loopback.key])
    with recorder.use_cassette(str(recorded), **config) as cassette:
        chat, models = converse(loopback.url, loopback.key)
        chat_again, _ = converse(loopback.url, loopback.key)
    assert chat == chat_again == sse_body(loopback.key).replace(loopback.key.encode(), PLACEHOLDER.encode())
    assert models == MODELS_BODY
    assert cassette.play_count == 4
    assert len(loopback.hits) == 2


def test_replay_rejects_a_different_conversation(recorded, loopback) -> None:
    from vcr.errors import CannotOverwriteExistingCassetteException

    recorder, config = kit_vcr("none", [loopback.key])
    with (
        recorder.use_cassette(str(recorded), **config),
        pytest.raises(CannotOverwriteExistingCassetteException, match=r"\$\.messages\[0\]\.content"),
    ):
        converse(loopback.url, "another-conversation-entirely")
