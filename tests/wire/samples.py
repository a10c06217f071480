"""The recorded exchanges in tests/data/wire_samples, loaded once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "data" / "wire_samples"


@dataclass(frozen=True)
class Sample:
    name: str  # "<api>/<file stem>"
    api: str  # openai | anthropic | ollama | openai-compatible
    url: str
    request_body: bytes
    status: int
    headers: dict
    body: bytes
    stream: bool  # whether the *response* is a stream (error answers to stream requests are not)

    @property
    def family(self) -> str:
        return "openai" if self.api.startswith("openai") else self.api

    def __str__(self) -> str:
        return self.name


def _load(path: Path) -> Sample:
    raw = json.loads(path.read_text(encoding="utf-8"))
    response = raw["response"]
    status = response["status"]
    return Sample(
        name=f"{path.parent.name}/{path.stem}",
        api=raw["api"],
        url=raw["request"]["url"],
        request_body=json.dumps(raw["request"]["body"]).encode("utf-8"),
        status=status,
        headers={k.lower(): v for k, v in response["headers"].items()},
        body=response["body_text"].encode("utf-8"),
        stream=bool(raw["stream"]) and status == 200,
    )


@cache
def all_samples() -> tuple[Sample, ...]:
    return tuple(_load(p) for p in sorted(ROOT.glob("*/*.json")))


def ok_samples() -> list[Sample]:
    return [s for s in all_samples() if s.status == 200]


def stream_samples() -> list[Sample]:
    return [s for s in ok_samples() if s.stream]


def error_samples() -> list[Sample]:
    return [s for s in all_samples() if s.status != 200]
