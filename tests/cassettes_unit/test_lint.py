from __future__ import annotations

import json
import random
import string

import pytest

from laios_conformance.cassettes import lint_main, lint_paths
from laios_conformance.cassettes.lint import redact

from .helpers import write_yaml

_rng = random.Random(1234)
ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


SHAPES = [
    ("openai-key", "sk-" + "proj-" + rand(48, ALNUM + "-_")),
    ("openai-key", "sk-" + rand(32, "0123456789abcdef")),
    ("anthropic-key", "sk-" + "ant-api03-" + rand(80, ALNUM + "-_")),
    ("groq-key", "gsk" + "_" + rand(52)),
    ("xai-key", "xai" + "-" + rand(80)),
    ("google-key", "AI" + "za" + rand(35, ALNUM + "-_")),
    ("huggingface-token", "hf" + "_" + rand(34)),
    ("github-token", "gh" + "p_" + rand(36)),
    ("aws-access-key", "AK" + "IA" + rand(16, string.ascii_uppercase + string.digits)),
    ("google-oauth-access-token", "ya" + "29." + rand(60, ALNUM + "-_")),
    ("google-oauth-refresh-token", "1" + "//0" + rand(60, ALNUM + "-_")),
    ("google-oauth-client-secret", "GOC" + "SPX-" + rand(28, ALNUM + "-_")),
]


def interaction(
    request_headers=None,
    response_headers=None,
    uri="https://api.example.com/v1/chat",
    request_body="{}",
    response_body="{}",
):
    return {
        "request": {"method": "POST", "uri": uri, "headers": request_headers or {}, "body": request_body},
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": response_headers or {"content-type": ["application/json"]},
            "body": {"string": response_body},
        },
    }


def cassette(tmp_path, *interactions, name="c.yaml"):
    document = {"recorded_at": "2025-01-01", "version": 1, "interactions": list(interactions)}
    return write_yaml(tmp_path / name, document)


def only(findings):
    assert len(findings) == 1, findings
    return findings[0]


@pytest.mark.parametrize(("kind", "secret"), SHAPES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(SHAPES)])
def test_each_key_shape_is_found_in_a_body(tmp_path, kind: str, secret: str) -> None:
    path = cassette(tmp_path, interaction(), interaction(response_body=f'data: {{"text": "use {secret} here"}}\n'))
    finding = only(lint_paths([path]))
    assert (finding.kind, finding.location) == (kind, "interactions[1].response.body.string")
    assert secret not in str(finding)


@pytest.mark.parametrize(("kind", "secret"), SHAPES[:1])
def test_a_key_in_an_auth_header_is_reported_once_by_shape(tmp_path, kind: str, secret: str) -> None:
    path = cassette(tmp_path, interaction(request_headers={"authorization": [f"Bearer {secret}"]}))
    finding = only(lint_paths([path]))
    assert (finding.kind, finding.location) == (kind, "interactions[0].request.headers.authorization")
    assert finding.excerpt == f"{secret[:5]}…({len(secret)} chars)"


def test_bearer_tokens_are_found_anywhere(tmp_path) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9." + rand(40)
    path = cassette(tmp_path, interaction(request_body=json.dumps({"note": f"Authorization: Bearer {token}"})))
    assert only(lint_paths([path])).kind == "bearer-token"


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"x-api-key": ["plainsecretvalue"]}, "sensitive-header"),
        ({"cookie": ["session=abc"]}, "sensitive-header"),
        ({"x-custom-token": [rand(32)]}, "high-entropy"),
        ({"x-custom-token": [rand(64, "0123456789abcdef")]}, "high-entropy"),
    ],
)
def test_credential_headers_and_high_entropy_header_values(tmp_path, headers, kind: str) -> None:
    finding = only(lint_paths([cassette(tmp_path, interaction(request_headers=headers))]))
    assert finding.kind == kind
    assert finding.location == f"interactions[0].request.headers.{next(iter(headers))}"


def test_cookies_in_responses_are_found(tmp_path) -> None:
    headers = {"content-type": ["application/json"], "set-cookie": ["__cf_bm=abc.def; path=/"]}
    assert only(lint_paths([cassette(tmp_path, interaction(response_headers=headers))])).kind == "sensitive-header"


@pytest.mark.parametrize(
    ("query", "kind"),
    [("key=someprovidervalue", "sensitive-query-parameter"), (f"sig={rand(40)}", "high-entropy")],
)
def test_secrets_in_query_strings(tmp_path, query: str, kind: str) -> None:
    path = cassette(tmp_path, interaction(uri=f"https://api.example.com/v1/x?api-version=2024-05-01&{query}"))
    finding = only(lint_paths([path]))
    assert (finding.kind, finding.location) == (kind, "interactions[0].request.uri")


def test_a_clean_cassette_with_ids_and_placeholders_yields_nothing(tmp_path) -> None:
    path = cassette(
        tmp_path,
        interaction(
            uri="https://api.example.com/v1/messages?beta=true&key=%3CREDACTED%3E",
            request_headers={
                "authorization": ["Bearer <REDACTED>"],
                "x-api-key": ["<REDACTED>"],
                "anthropic-beta": ["fine-grained-tool-streaming-2025-05-14,interleaved-thinking-2025-05-14"],
                "user-agent": ["AsyncAnthropic/Python 0.40.0"],
            },
            response_headers={
                "content-type": ["text/event-stream; charset=utf-8"],
                "request-id": ["req_011CUx" + rand(18)],
                "x-request-id": [rand(32, "0123456789abcdef")],
                "cf-ray": ["8f3a2b1c4d5e6f70-SJC"],
                "x-correlation": ["681f924d-1380-4835-9232-8eb8cb874d8b"],
            },
            response_body='data: {"id":"msg_01XFDUDYJgAACzvnptvVoYEL","signature":"' + rand(300) + '"}\n',
            request_body='{"note": "a task-scheduler-for-disk-management-utilities, Bearer token"}',
        ),
    )
    assert lint_paths([path]) == []


def test_a_corrupt_file_is_a_finding_and_its_text_is_still_searched(tmp_path) -> None:
    secret = SHAPES[0][1]
    path = tmp_path / "broken.yaml"
    path.write_text(f"interactions: [\n  token: {secret}\n", encoding="utf-8")
    findings = lint_paths([path])
    assert [f.kind for f in findings] == ["corrupt", "openai-key"]
    assert (findings[0].location, findings[0].line) == ("yaml", 3)
    assert (findings[1].location, findings[1].line) == ("text", 2)
    assert all(secret not in str(f) for f in findings)


def test_directories_are_walked_for_cassette_files_only(tmp_path) -> None:
    secret = SHAPES[0][1]
    for name in ("a.yaml", "b.yml", "c.json", "d.yaml", "e.txt", ".f.yaml.123.tmp"):
        (tmp_path / "sub" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "sub" / name).write_text(json.dumps({"k": secret}))
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "g.yaml").write_text(json.dumps({"k": secret}))
    found = lint_paths([tmp_path])
    assert sorted({f.file.name for f in found if f.kind == "openai-key"}) == ["a.yaml", "b.yml", "c.json", "d.yaml"]
    assert [(f.file.name, f.kind) for f in found if f.kind == "leftover"] == [(".f.yaml.123.tmp", "leftover")]


def test_hidden_upper_case_and_backup_copies_of_cassettes_are_read(tmp_path) -> None:
    """They were skipped, though a key in any of them is committed with the folder."""
    secret = SHAPES[0][1]
    names = [".hidden.yaml", "UPPER.YAML", "a.yaml.bak", "b.yml~", "c.json.orig", "d.yaml.old"]
    for name in [*names, "notes.txt", "e.yaml.swp"]:
        (tmp_path / name).write_text(json.dumps({"k": secret}))
    found = lint_paths([tmp_path])
    assert sorted({f.file.name for f in found if f.kind == "openai-key"}) == sorted(names)


def test_main_exit_codes_and_output_never_show_a_secret(tmp_path, capsys) -> None:
    secret = SHAPES[2][1]
    clean = cassette(tmp_path, interaction(), name="clean.yaml")
    dirty = cassette(tmp_path, interaction(response_body=secret), name="dirty.yaml")
    assert lint_main([str(clean)]) == 0
    assert lint_main([str(dirty), str(clean)]) == 1
    assert lint_main([str(tmp_path / "nope")]) == 2
    assert lint_main(["--bogus"]) == 2
    out = capsys.readouterr().out
    assert out.splitlines() == [f"{dirty}:17:interactions[0].response.body.string: anthropic-key: {redact(secret)}"]
    assert secret not in out and secret[:12] not in out


def test_redaction_shows_at_most_a_quarter_of_short_values() -> None:
    assert redact("abcdefgh") == "ab…(8 chars)"
    assert redact("sk-proj-" + "x" * 43) == "sk-pr…(51 chars)"


def test_yaml_that_fails_to_construct_is_corrupt_not_a_crash(tmp_path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("when: 2025-13-45\n")
    assert [f.kind for f in lint_paths([path])] == ["corrupt"]


def test_a_control_character_is_corrupt_not_a_crash(tmp_path) -> None:
    """PyYAML's reader refuses NUL and other control characters before it parses anything."""
    path = tmp_path / "t.yaml"
    path.write_text("interactions: []\nnote: a\x00b\n", encoding="utf-8")
    finding = only(lint_paths([path]))
    assert finding.kind == "corrupt" and "unacceptable character #x0000" in str(finding)


def test_symlinked_directories_are_walked_once(tmp_path) -> None:
    (tmp_path / "a").mkdir()
    cassette(tmp_path / "a", interaction(response_body=SHAPES[0][1]))
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a", target_is_directory=True)
    (tmp_path / "alias").symlink_to(tmp_path / "a", target_is_directory=True)
    assert len(lint_paths([tmp_path])) == 1


def test_credentials_of_a_recorded_oauth_token_request_are_found(tmp_path) -> None:
    """A form body as gcloud's application default credentials send it: a percent-encoded
    refresh token and a client secret, whose runs hold ``-`` and ``_``."""
    refresh = "1%2F%2F0" + rand(40, ALNUM + "-_")
    secret = "d-FL95Q" + rand(20, ALNUM + "-_")
    body = f"grant_type=refresh_token&client_secret={secret}&refresh_token={refresh}"
    findings = lint_paths([cassette(tmp_path, interaction(request_body=body))])
    found = {(finding.kind, finding.excerpt[:5]) for finding in findings}
    assert ("google-oauth-refresh-token", refresh[:5]) in found
    assert ("high-entropy", secret[:5]) in found  # the raw line's secret, named client_secret
    assert not any(refresh in str(finding) or secret in str(finding) for finding in findings)
