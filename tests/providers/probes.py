"""Providers that probe the kit's isolation: what a request from outside the seam meets."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
import weakref
from typing import Any

from reference_providers.anthropic import AnthropicClient

from .openai_style import GoodOpenAIStyle

# What each probe met, in order: "<url>: <outcome>". Read by tests/test_seam_isolation.py.
PROBES: list[str] = []
NAMED_HOST = "api.laios-probe.invalid"  # .invalid: never resolves, even if looked up
NAMED_URL = f"http://{NAMED_HOST}/v1/models"


class ProbesTheNetworkWhenBuilt(GoodOpenAIStyle):
    """Fetches a model list from a non-loopback address, from a host name and from loopback,
    looks the host name up with ``gethostbyname``, and sends a UDP datagram to a
    non-loopback address, to the host name and to itself on loopback, whenever it is built
    (by the kit before the tests, and by each clause)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        urls = ("http://203.0.113.7/v1/models", NAMED_URL, os.environ.get("LAIOS_TEST_LOOPBACK_URL", ""))
        for url in urls:
            if url:
                PROBES.append(f"{url}: {_outcome(url)}")
        PROBES.append(f"gethostbyname {NAMED_HOST}: {_lookup_outcome(NAMED_HOST)}")
        for host in ("203.0.113.7", NAMED_HOST, "127.0.0.1"):
            PROBES.append(f"udp {host}: {_datagram_outcome(host)}")


def _outcome(url: str) -> str:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=b"{}"), timeout=2) as response:
            return f"HTTP {response.status}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _lookup_outcome(host: str) -> str:
    try:
        return f"resolved to {socket.gethostbyname(host)}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _datagram_outcome(host: str) -> str:
    """Send one datagram to ``host`` (to a socket of our own on loopback, which must get it)."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(2)
        port = receiver.getsockname()[1] if host == "127.0.0.1" else 9  # 9: the discard service
        try:
            sender.sendto(b"laios-probe", (host, port))
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        if host != "127.0.0.1":
            return "sent"
        return f"received {receiver.recv(64)!r}"


ENCODING_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


class DownloadsEncodingOnFirstUse(GoodOpenAIStyle):
    """Correct, but its count_tokens() fetches a token encoding on first use, as tiktoken does
    when its cache is empty: offline, that call cannot succeed, whatever the provider's code."""

    def count_tokens(self, text: str) -> int:
        with urllib.request.urlopen(ENCODING_URL, timeout=2) as response:
            response.read()
        return len(text) // 4


class CountsTokensOnTheApi(AnthropicClient):
    """Correct, but its count_tokens() asks Anthropic's token-counting endpoint, which no
    cassette can answer for the texts the clause draws."""

    def count_tokens(self, text: str) -> int:
        body = {"model": self.model, "messages": [{"role": "user", "content": text or " "}]}
        request = urllib.request.Request(
            "https://api.anthropic.com/v1/messages/count_tokens",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json", "anthropic-version": "2023-06-01"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(json.load(response)["input_tokens"])


class PingsTelemetryInGenerate(GoodOpenAIStyle):
    """Before each answer, reports to a telemetry host the cassettes hold nothing for."""

    def generate(self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kw: Any) -> Any:
        self.client().post("https://telemetry.laios-probe.invalid/v1/events", json={"event": "generate"})
        return super().generate(messages, temperature, max_tokens, **kw)


# Every TracksItsInstances instance still alive. Read by tests/test_retention.py.
LIVE: weakref.WeakSet[Any] = weakref.WeakSet()


class TracksItsInstances(GoodOpenAIStyle):
    """Puts each of its instances in :data:`LIVE`, a weak set: what is still there after a
    run (and a garbage collection) is held by something that outlived its clause."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        LIVE.add(self)
