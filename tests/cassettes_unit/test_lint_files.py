"""The linter reads every byte, and refuses hostile files in one line each, never hanging."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from laios_conformance.cassettes import lint_paths
from laios_conformance.cassettes.lint import redact

from .test_lint import SHAPES, cassette, interaction

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
PLANTED = [*SHAPES, ("jwt", JWT)]
CLEAN = "version: 1\ninteractions: []\n"


def lines(*paths: Path, **kwargs) -> list[str]:
    return [str(finding) for finding in lint_paths(list(paths), **kwargs)]


@pytest.mark.parametrize(("kind", "secret"), PLANTED, ids=[f"{k}-{i}" for i, (k, _) in enumerate(PLANTED)])
@pytest.mark.parametrize(
    "where, text, line, location",
    [
        ("comment", "# Authorization: {secret}\n" + CLEAN, 1, "comment"),
        ("trailing comment", "version: 1  # was {secret}\ninteractions: []\n", 1, "comment"),
        ("anchor", "version: &{secret} 1\ninteractions: []\n", 1, "text"),
        ("key", CLEAN + "extra:\n  {secret}: 1\n", 4, "text"),
        ("value", CLEAN + "extra:\n  note: 'see {secret} here'\n", 4, "extra.note"),
    ],
)
def test_a_key_of_each_shape_is_found_anywhere_with_its_file_and_line(
    tmp_path: Path, kind: str, secret: str, where: str, text: str, line: int, location: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text.format(secret=secret), encoding="utf-8")
    found = lines(path)
    not_in_an_anchor = next((c for c in secret if c in "./"), None)
    if where == "anchor" and not_in_an_anchor:  # the file is broken, and still read
        assert found.pop(0) == (
            f"{path}:1:yaml: corrupt: invalid YAML: expected alphabetic or numeric character, "
            f"but found '{not_in_an_anchor}'"
        )
    assert found == [f"{path}:{line}:{location}: {kind}: {redact(secret)}"]


def test_bearer_tokens_and_auth_named_entropy_in_raw_text(tmp_path: Path) -> None:
    token = "Zq7Fk2Lm9Xw4Rt8Yp3Nc6Vb1Hs5Jd0Gu"
    path = tmp_path / "c.yaml"
    path.write_text(f"# curl -H 'Authorization: Bearer {token}x'\n# api_key = {token}\n" + CLEAN, encoding="utf-8")
    assert lines(path) == [
        f"{path}:1:comment: bearer-token: {redact(token + 'x')}",
        f"{path}:2:comment: high-entropy: {redact(token)}",
    ]
    harmless = tmp_path / "d.yaml"
    harmless.write_text("# prompt_tokens: 12, a task-scheduler, Bearer token\n" + CLEAN, encoding="utf-8")
    assert lines(harmless) == []


def test_an_allow_comment_with_a_reason_allows_its_line_only(tmp_path: Path) -> None:
    fake = SHAPES[0][1]
    path = tmp_path / "c.yaml"
    path.write_text(
        f"# documented fake: {fake}  # laios-conformance: allow the docs show this fake key\n"
        f"# and again: {fake}\n"
        f"# {fake} # laios-conformance: allow\n" + CLEAN,
        encoding="utf-8",
    )
    assert lines(path) == [
        f"{path}:3:comment: allow-without-reason: say why the line is allowed: # laios-conformance: allow <reason>",
        f"{path}:2:comment: openai-key: {redact(fake)}",
        f"{path}:3:comment: openai-key: {redact(fake)}",
    ]


def test_a_yaml_alias_bomb_is_refused_in_one_line(tmp_path: Path) -> None:
    levels = ["a0: &a0 [" + ", ".join(["x"] * 10) + "]"]
    levels += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(levels) + "\n", encoding="utf-8")
    assert lines(path) == [
        f"{path}:file: corrupt: YAML aliases expand to more than 10000 nodes (an alias bomb?); "
        "the kit's cassettes use no aliases"
    ]


def test_a_cassette_over_the_size_bound_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = cassette(tmp_path, interaction(response_body="x" * 300_000))
    refused = f"{path}:file: refused: {path.stat().st_size / 1024:.1f} kB, over the 256.0 kB limit for one cassette "
    assert lines(path, max_bytes=256 * 1024) == [
        refused + "(raise it with LAIOS_CONFORMANCE_MAX_CASSETTE_MB=MB if the file is genuine)"
    ]
    monkeypatch.setenv("LAIOS_CONFORMANCE_MAX_CASSETTE_MB", "0.25")
    assert lines(path) == [refused + "(raise it with LAIOS_CONFORMANCE_MAX_CASSETTE_MB=MB if the file is genuine)"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("!!python/object/apply:os.system ['true']\n", "1:tag: unsafe-tag: !!python/object/apply:os.system"),
        (
            CLEAN.replace("[]", "\n- request: {method: GET, uri: 'http://h/', headers: {}, body: ''}\n")
            + "  response:\n    status: {code: 200}\n    headers: {}\n"
            + "    body: {string: !!python/name:os.system ''}\n",
            "8:tag: unsafe-tag: !!python/name:os.system",
        ),
    ],
)
def test_python_tags_are_refused_anywhere(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    assert f"{path}:{expected} is not allowed in a cassette" in lines(path)


REQUEST = "- request: {method: POST, uri: 'http://h/', headers: {}, body: '{}'}\n"


@pytest.mark.parametrize(
    "content, expected",
    [
        (
            b"- just\n- a list\n",
            "file: not-a-cassette: not a cassette: the top level is a list, not a mapping with 'interactions'",
        ),
        (b"interactions: 3\n", "file: not-a-cassette: not a cassette: 'interactions' is a number, not a list"),
        (
            b"interactions:\n"
            + REQUEST.encode()
            + b"  response: {status: {code: '200'}, headers: {}, body: {string: ''}}\n",
            "file: not-a-cassette: interaction 0: the response has no integer status code",
        ),
        (
            b"interactions:\n"
            + REQUEST.encode()
            + b"  response: {status: {code: 200}, headers: {}, body: {string: !!binary aGk=}}\n",
            "file: not-a-cassette: interaction 0: the response body is binary (!!binary), not text",
        ),
        (
            b"interactions:\n"
            + REQUEST.encode()
            + b"  response: {status: {code: 200}, headers: {}, body: {string: '  '}}\n",
            "file: not-a-cassette: interaction 0: the response is a success (HTTP 200) with an empty body: cut short, "
            "or emptied by hand",
        ),
        (
            b"interactions:\n" + REQUEST.encode() + b"  response:\n",
            "file: not-a-cassette: interaction 0: 'response' is missing, not a mapping",
        ),
        (
            b"interactions:\n- request: {method: POST, uri: 'ht",
            "2:yaml: corrupt: invalid YAML: found unexpected end of stream",
        ),
        (b"version: 1\ninteractions: [\xff]\n", "file: corrupt: not valid UTF-8 at byte 26"),
        (b"", "file: corrupt: the file is empty"),
    ],
    ids=[
        *("list", "wrong-type", "status-text", "binary-body", "emptied-body"),
        *("truncated", "truncated-mid-line", "not-utf8", "empty"),
    ],
)
def test_files_that_are_not_cassettes_are_one_line_each(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    assert lines(path) == [f"{path}:{expected}"]


def test_folders_named_like_cassettes_and_symlinks_are_refused_with_their_path(tmp_path: Path) -> None:
    root = tmp_path / "cassettes"
    root.mkdir()
    (root / "folder.yaml").mkdir()
    outside = tmp_path / "outside.yaml"
    outside.write_text(CLEAN)
    (root / "real.yaml").write_text(CLEAN)
    links = {"dangling.yaml": root / "gone.yaml", "outside.yaml": outside, "inside.yaml": root / "real.yaml"}
    for name, target in links.items():
        (root / name).symlink_to(target)
    advice = "the kit reads and writes only regular files: replace the link with the cassette itself"
    real = root / "real.yaml"
    assert lines(root) == [
        f"{root / 'dangling.yaml'}:file: refused: a symbolic link to {root / 'gone.yaml'} (dangling); {advice}",
        f"{root / 'folder.yaml'}:file: refused: a directory named like a cassette; a cassette is a regular file",
        f"{root / 'inside.yaml'}:file: refused: a symbolic link to {real} (inside the cassette dir); {advice}",
        f"{root / 'outside.yaml'}:file: refused: a symbolic link to {outside} (outside the cassette dir); {advice}",
    ]
    assert lines(root / "outside.yaml") == [lines(root)[3]]


def test_leftover_temporary_files_are_reported(tmp_path: Path) -> None:
    leftover = tmp_path / f".c.yaml.{os.getpid()}.0a1b2c3d.tmp"
    leftover.write_text("half a cas")
    assert lines(tmp_path) == [
        f"{leftover}:file: leftover: a temporary file left by an interrupted cassette write; "
        "the next pytest run in this folder removes it (or delete it)"
    ]


def test_long_lines_and_many_keys_are_read_in_one_pass(tmp_path: Path) -> None:
    """Patterns are linear in the line length: a quadratic one made a 20 kB line take half a minute."""
    path = tmp_path / "c.yaml"
    body = "token" * 40_000 + " eyJ" * 50_000 + " " + "a" * 200_000
    key = SHAPES[0][1]
    path.write_text(CLEAN + f"body: '{body}'\nkeys:\n" + f"- {key}\n" * 2000, encoding="utf-8")
    found = lint_paths([path])
    assert [f.line for f in found] == list(range(5, 2005))
    assert {(f.kind, f.location) for f in found} == {("openai-key", f"keys[{i}]") for i in range(2000)}


def test_a_temporary_file_another_running_process_writes_is_not_a_leftover(tmp_path: Path) -> None:
    """Two recordings into one folder: the one that finished first failed its gate on the
    other's staging folder, which it called "left by an interrupted cassette write"."""
    live = tmp_path / f".c.yaml.rewrite.{os.getppid()}.0a1b2c3d.tmp"
    live.mkdir()
    assert lines(tmp_path) == []
