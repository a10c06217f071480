"""Small builders shared by the cassette glue tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import vcr
import yaml
from vcr.request import Request

from laios_conformance.cassettes import base_vcr_config, configure_vcr


def response(body: bytes | str = b"{}", headers: dict | None = None, code: int = 200) -> dict:
    return {
        "status": {"code": code, "message": "OK"},
        "headers": headers or {"content-type": ["application/json"]},
        "body": {"string": body},
    }


def request(uri: str = "https://api.example.com/v1/chat", body: bytes = b"{}", headers: dict | None = None) -> Request:
    return Request("POST", uri, body, headers or {"content-type": "application/json"})


def cassette_dict(*pairs: tuple[Request, dict]) -> dict:
    return {"requests": [r for r, _ in pairs], "responses": [s for _, s in pairs]}


def kit_vcr(mode: str, secrets: list[str]) -> tuple[vcr.VCR, dict[str, Any]]:
    recorder = vcr.VCR(record_mode=mode)
    configure_vcr(recorder, secrets)
    return recorder, base_vcr_config(secrets)


def write_yaml(path: Path, document: Any) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def all_bytes_under(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())
