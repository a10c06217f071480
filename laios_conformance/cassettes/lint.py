"""Find anything that looks like a secret in cassette files.

This is the net under the scrubbers: it runs on files (for example in CI, or
before a commit) whatever wrote them. Rules, from most to least specific:

1. Known key shapes, in every string of the file (bodies included): OpenAI
   ``sk-`` (``sk-proj-``, ``sk-svcacct-``, and the ``sk-`` keys of DeepSeek,
   OpenRouter and other OpenAI-compatible hosts), Anthropic ``sk-ant-``, Groq
   ``gsk_``, xAI ``xai-``, Google ``AIza``, Hugging Face ``hf_``, GitHub
   ``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_``/``github_pat_``, AWS ``AKIA``/``ASIA``,
   and ``Bearer <token>`` anywhere. A token must not be glued to a preceding
   letter/digit (``task-...`` is not ``sk-...``); bearer tokens shorter than 8
   characters, or with no digit and under 20 characters (``Bearer undefined``),
   are not flagged.
2. Credential-carrying names: a header in ``SENSITIVE_HEADERS`` or a query
   parameter in ``SENSITIVE_QUERY_PARAMETERS`` with any value that is not a
   placeholder, and a password in a URL.
3. High entropy, only in header values and query-parameter values: a run of at
   least ``MIN_TOKEN_LENGTH`` characters from ``[A-Za-z0-9+/]`` (``=`` padding
   ignored) containing both letters and digits, with Shannon entropy of at least
   ``MIN_ENTROPY_BITS`` per character. Random base62 keys of 24 characters
   score about 4.2 and random hex of 32 about 3.6, while dash-separated
   identifiers (``fine-grained-tool-streaming-2025-05-14``, model names, dates)
   never form a 24-character run, and UUIDs break into runs of at most 12.
   Bodies and URL paths are not checked for entropy: message ids, thinking
   signatures, base64 images and file ids are high-entropy and harmless, and
   flagging them would bury real findings.
   Headers that carry per-request identifiers (names in ``ID_HEADERS``, or
   containing ``request-id``/``requestid``/``trace``/``correlation``) are exempt
   from the entropy rule only: a real key pasted there is still caught by shape.
   A SHA digest in a non-exempt header is flagged; that is rare in cassettes the
   kit writes, since its scrubber keeps only a few response headers.
4. A file that can't be parsed is a finding of kind ``corrupt``; its raw text is
   still searched for key shapes, by line.

Placeholders are fine: ``<REDACTED>`` (or any ``<...>``), all-caps words such as
``REDACTED`` or ``YOUR_API_KEY``, and masks made of ``*``, ``x`` or ``.``.

At one location the most specific tier wins (shape, then bearer, then
sensitive name, then entropy), so an ``Authorization: Bearer sk-...`` header is
reported once, as an OpenAI key. Findings print as ``path:location: kind:
excerpt`` where the excerpt shows at most five leading characters and the
length (``sk-pr…(51 chars)``), never the secret.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import yaml

from .._redact import without_auth_scheme
from .leftovers import is_leftover, writer_alive
from .limits import (
    RAISE_WITH_ENV,
    AliasBudgetExceeded,
    BoundedLoader,
    CassetteRefused,
    check_file,
    max_cassette_bytes,
    megabytes_limit,
)
from .structure import cassette_problem

CASSETTE_SUFFIXES = (".yaml", ".yml", ".json")
BACKUP_SUFFIXES = (".bak", ".orig", ".old", "~")
SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox"})
MIN_TOKEN_LENGTH = 24
MIN_ENTROPY_BITS = 3.0
EXCERPT_CHARS = 5

SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",
    },
)
SENSITIVE_QUERY_PARAMETERS = frozenset({"key", "api_key", "api-key", "apikey", "access_token", "token"})
ID_HEADERS = frozenset({"cf-ray", "etag", "traceparent", "tracestate", "x-amz-cf-id", "x-amz-id-2"})
ID_HEADER_PARTS = ("request-id", "requestid", "trace", "correlation")

KEY_SHAPES = (
    ("anthropic-key", r"sk-ant-[A-Za-z0-9_-]{20,}"),
    ("openai-key", r"sk-[A-Za-z0-9_-]{20,}"),
    ("groq-key", r"gsk_[A-Za-z0-9]{20,}"),
    ("xai-key", r"xai-[A-Za-z0-9]{20,}"),
    ("google-key", r"AIza[0-9A-Za-z_-]{35}"),
    ("huggingface-token", r"hf_[A-Za-z0-9]{30,}"),
    ("github-token", r"(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
    ("aws-access-key", r"(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])"),
    # Google OAuth: an access token, a refresh token (also percent-encoded, as in a form
    # body) and an OAuth client's secret, as gcloud's application default credentials hold them.
    ("google-oauth-access-token", r"ya29\.[A-Za-z0-9_-]{20,}"),
    ("google-oauth-refresh-token", r"1(?://|%2F%2F)0[A-Za-z0-9_-]{20,}"),
    ("google-oauth-client-secret", r"GOCSPX-[A-Za-z0-9_-]{20,}"),
    ("jwt", r"eyJ[A-Za-z0-9_-]{8,2000}\.eyJ[A-Za-z0-9_-]{8,2000}\.[A-Za-z0-9_-]{16,2000}"),
)
_SHAPES = [(kind, re.compile(r"(?<![A-Za-z0-9_-])" + pattern)) for kind, pattern in KEY_SHAPES]
_BEARER = re.compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]+)")
_RUN = re.compile(r"[A-Za-z0-9+/]+")
_CREDENTIAL_RUN = re.compile(r"[A-Za-z0-9+/_.~-]+")
_PLACEHOLDER = re.compile(r"<[^<>]*>|[A-Z][A-Z_-]*|[*xX.]+")
_HEADER_LOCATION = re.compile(r"^interactions\[\d+\]\.(?:request|response)\.headers\.([^.\[]+)(?:\[\d+\])?$")
_URI_LOCATION = re.compile(r"^interactions\[\d+\]\.request\.uri$")
_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ALLOW = re.compile(r"#\s*laios-conformance:\s*allow\b(.*)$")
# A value right after an auth-like name (a YAML key, a JSON member, ``name=value``), quoted or not.
_AUTH_NAME_VALUE = re.compile(
    r"(?i)(?:api[_-]?key|apikey|token|secret|passw(?:or)?d|credential|auth|access[_-]?key|private[_-]?key)"
    r"[\w-]{0,40}[\"']?\s{0,4}[:=]\s{0,4}[\"']?([A-Za-z0-9+/=_.~%-]{" + str(MIN_TOKEN_LENGTH) + ",})"
)

_TIERS = {
    "bearer-token": 1,
    "sensitive-header": 2,
    "sensitive-query-parameter": 2,
    "url-password": 2,
    "high-entropy": 3,
}


@dataclass(frozen=True)
class Finding:
    file: Path
    location: str
    kind: str
    excerpt: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:" if self.line else f"{self.file}:"
        return f"{where}{self.location}: {self.kind}: {self.excerpt}"


def lint_paths(
    paths: Sequence[Path | str], max_bytes: int | None = None, raise_with: str = RAISE_WITH_ENV
) -> list[Finding]:
    """Findings in every cassette file under ``paths``; ``max_bytes`` (else the variable's limit),
    which ``raise_with`` says how to raise, bounds the files read."""
    return [finding for file in iter_cassette_files(paths) for finding in lint_file(file, max_bytes, raise_with)]


def lint_within(paths: Sequence[Path | str], max_size_mb: str | None) -> list[Finding]:
    """:func:`lint_paths`, reading files up to ``--max-size`` megabytes, else up to the variable's
    limit; ValueError when the limit given is no number of megabytes (said once, not per file)."""
    if max_size_mb is None:
        max_cassette_bytes()
        return lint_paths(paths)
    return lint_paths(paths, megabytes_limit(max_size_mb, "--max-size"), "--max-size MB")


def iter_cassette_files(paths: Sequence[Path | str]) -> Iterator[Path]:
    """Cassette files under ``paths``, and whatever sits where one should (links, folders, leftovers)."""
    visited: set[Path] = set()
    for path in map(Path, paths):
        if path.is_dir() and not path.is_symlink() and not _looks_like_cassette(path.name):
            yield from sorted(_walk(path, visited))
        else:
            yield path


def lint_file(file: Path, max_bytes: int | None = None, raise_with: str = RAISE_WITH_ENV) -> list[Finding]:
    if is_leftover(file):  # unless another run is writing it right now
        return [] if writer_alive(file) else [Finding(file, "file", "leftover", LEFTOVER_ADVICE)]
    try:
        check_file(file, max_bytes, raise_with)
    except CassetteRefused as error:
        return [Finding(file, "file", "refused", str(error))]
    try:
        data = file.read_bytes()
    except OSError as error:
        return [Finding(file, "file", "corrupt", f"unreadable: {error.strerror or error}")]
    return _lint_bytes(file, data)


def _lint_bytes(file: Path, data: bytes) -> list[Finding]:
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    allowed, findings = _allow_comments(file, lines)
    hits: list[tuple[str, str, str]] = []  # (location, kind, token), from the parsed values
    try:
        document, tags = load_document(file, data)
    except CorruptFile as error:
        findings.append(Finding(file, "yaml" if error.line else "file", "corrupt", error.reason, error.line))
    else:
        findings += [Finding(file, "tag", "unsafe-tag", f"{tag} is not allowed in a cassette", n) for n, tag in tags]
        problem = cassette_problem(document)
        if problem:
            findings.append(Finding(file, "file", "not-a-cassette", problem))
        hits = list(_scan_document(document))
    findings += _place(file, lines, allowed, hits)
    return findings


LEFTOVER_ADVICE = (
    "a temporary file left by an interrupted cassette write; the next pytest run in this folder removes it "
    "(or delete it)"
)


def _looks_like_cassette(name: str) -> bool:
    """A cassette's name, in any case, hidden or not, or its backup copy's (an editor's ``~``,
    a merge's ``.orig``): a key in any of them is committed with the folder."""
    lowered = name.lower()
    for suffix in BACKUP_SUFFIXES:
        lowered = lowered.removesuffix(suffix)
    return lowered.endswith(CASSETTE_SUFFIXES)


def redact(secret: str) -> str:
    shown = min(EXCERPT_CHARS, len(secret) // 4)
    return f"{secret[:shown]}…({len(secret)} chars)"


def shannon_entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values()) if text else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="laios-conformance lint",
        description="Report anything that looks like a secret in cassette files.",
        exit_on_error=False,
    )
    parser.add_argument("paths", nargs="*", default=["."], metavar="DIR", help="files or directories (default: .)")
    parser.add_argument("--max-size", default=None, metavar="MB", help="largest cassette to read")
    try:
        arguments = parser.parse_args(argv)
    except (argparse.ArgumentError, SystemExit) as error:
        return _usage_exit(parser, error)
    missing = [p for p in arguments.paths if not Path(p).exists()]
    if missing:
        print(f"laios-conformance lint: no such file or directory: {missing[0]}", file=sys.stderr)
        return 2
    try:
        findings = lint_within(arguments.paths, arguments.max_size)
    except ValueError as problem:
        print(f"laios-conformance lint: {problem}", file=sys.stderr)
        return 2
    for finding in findings:
        print(finding)
    return 1 if findings else 0


class CorruptFile(Exception):
    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(line, reason)
        self.line, self.reason = line, _scrub_text(reason)


class _Loader(BoundedLoader):
    """The safe loader, but an unknown tag is recorded (and its node read as plain data), not fatal."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.unknown_tags: list[tuple[int, str]] = []


def _construct_any(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    tag = suffix.replace("tag:yaml.org,2002:", "!!")
    loader.unknown_tags.append((node.start_mark.line + 1, tag))
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected YAML node {type(node).__name__}", node.start_mark)


_Loader.add_multi_constructor("", _construct_any)


def load_document(file: Path, data: bytes) -> tuple[Any, list[tuple[int, str]]]:
    """The parsed document and the unknown tags in it, as (line, tag)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorruptFile(None, f"not valid UTF-8 at byte {error.start}") from error
    if not text.strip():
        raise CorruptFile(None, "the file is empty")
    if file.suffix == ".json":
        return _load_json(text), []
    return _load_yaml(text)


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CorruptFile(error.lineno, f"invalid JSON: {error.msg}") from error
    except RecursionError as error:
        raise CorruptFile(None, "invalid JSON: nested too deeply") from error


def _load_yaml(text: str) -> tuple[Any, list[tuple[int, str]]]:
    try:
        loader = _Loader(text)
    except yaml.YAMLError as error:  # the reader refuses control characters (NUL...) before parsing
        raise CorruptFile(None, f"invalid YAML: {str(error).splitlines()[0]}") from error
    try:
        return loader.get_single_data(), loader.unknown_tags
    except AliasBudgetExceeded as error:
        raise CorruptFile(None, str(error)) from error
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise CorruptFile(mark.line + 1 if mark else None, f"invalid YAML: {error.problem}") from error
    except (yaml.YAMLError, ValueError, TypeError) as error:
        raise CorruptFile(None, f"invalid YAML: {type(error).__name__}") from error
    except RecursionError as error:
        raise CorruptFile(None, "invalid YAML: nested too deeply") from error
    finally:
        loader.dispose()


def _walk(directory: Path, visited: set[Path]) -> Iterator[Path]:
    real = directory.resolve()
    if real in visited:
        return
    visited.add(real)
    for child in directory.iterdir():
        if is_leftover(child) or _looks_like_cassette(child.name):
            yield child
        elif child.is_dir() and child.name not in SKIPPED_DIRECTORIES:
            yield from _walk(child, visited)


def _allow_comments(file: Path, lines: list[str]) -> tuple[set[int], list[Finding]]:
    """Lines carrying ``# laios-conformance: allow <reason>``; an allow without a reason is a finding."""
    allowed, findings = set(), []
    for number, line in enumerate(lines, start=1):
        match = _ALLOW.search(line)
        if match and match.group(1).strip():
            allowed.add(number)
        elif match:
            findings.append(Finding(file, "comment", "allow-without-reason", ALLOW_ADVICE, number))
    return allowed, findings


ALLOW_ADVICE = "say why the line is allowed: # laios-conformance: allow <reason>"


def _place(file: Path, lines: list[str], allowed: set[int], hits: list[tuple[str, str, str]]) -> list[Finding]:
    """Findings with line numbers: value hits where their token first appears, then what only the raw text shows."""
    found: list[Finding] = []
    placed: set[tuple[int, str]] = set()
    cursor = 0  # values come in file order, so each search starts where the last one ended
    for location, kind, token in hits:
        line = _line_of(lines, token, cursor, placed)
        if line is not None:
            cursor = line - 1
            placed.add((line, token))
        if line not in allowed:
            found.append(Finding(file, location, kind, redact(token), line))
    for number, line_text in enumerate(lines, start=1):
        if number in allowed:
            continue
        for kind, token in _line_hits(line_text):
            if (number, token) not in placed:
                found.append(Finding(file, _raw_location(line_text), kind, redact(token), number))
    return found


def _line_of(lines: list[str], token: str, start: int, placed: set[tuple[int, str]]) -> int | None:
    """The first line from ``start`` (then from the top) holding ``token`` that no earlier value claimed."""
    first = None
    for index in itertools.chain(range(start, len(lines)), range(min(start, len(lines)))):
        if token in lines[index]:
            if (index + 1, token) not in placed:
                return index + 1
            first = first or index + 1
    return first


def _raw_location(line: str) -> str:
    return "comment" if line.lstrip().startswith("#") or " #" in line else "text"


def _line_hits(line: str) -> Iterator[tuple[str, str]]:
    """Key shapes, bearer tokens and high-entropy values under auth-like names, in one raw line."""
    by_token: dict[str, str] = {}
    for kind, token in (*_shape_hits(line), *_bearer_hits(line), *_auth_name_hits(line)):
        if token not in by_token or _TIERS.get(kind, 0) < _TIERS.get(by_token[token], 0):
            by_token[token] = kind
    for token, kind in by_token.items():
        if not any(token != other and token in other for other in by_token):
            yield kind, token


def _auth_name_hits(line: str) -> Iterator[tuple[str, str]]:
    """High-entropy values after an auth-like name; there a run may hold ``-``, ``_`` and
    ``.`` (OAuth tokens and client secrets do) and be percent-encoded (a form body)."""
    for match in _AUTH_NAME_VALUE.finditer(line):
        value = match.group(1)
        yield from _entropy_hits(value)
        for run in _CREDENTIAL_RUN.findall(unquote(value).replace("<REDACTED>", " ")):
            if _high_entropy(run.rstrip("=")):
                yield "high-entropy", run.rstrip("=")


def _scan_document(document: Any) -> Iterator[tuple[str, str, str]]:
    for location, value in _strings(document, ""):
        yield from _best(location, list(_value_hits(location, value)))


def _strings(node: Any, location: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, _child(location, key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _strings(value, f"{location}[{index}]")
    elif isinstance(node, str):
        yield location or "$", node
    elif isinstance(node, (bytes, bytearray)):
        yield location or "$", bytes(node).decode("utf-8", errors="replace")


def _child(location: str, key: Any) -> str:
    key = str(key)
    step = f".{key}" if _KEY.match(key) else f"[{json.dumps(key)}]"
    return step[1:] if not location and step.startswith(".") else location + step


def _value_hits(location: str, value: str) -> Iterator[tuple[str, str]]:
    yield from _shape_hits(value)
    yield from _bearer_hits(value)
    header = _HEADER_LOCATION.match(location)
    if header:
        yield from _header_hits(header.group(1).lower(), value)
    elif _URI_LOCATION.match(location):
        yield from _url_hits(value)


def _best(location: str, hits: list[tuple[str, str]]) -> Iterator[tuple[str, str, str]]:
    if not hits:
        return
    tier = min(_TIERS.get(kind, 0) for kind, _ in hits)
    seen = set()
    for kind, token in hits:
        if _TIERS.get(kind, 0) == tier and (kind, token) not in seen:
            seen.add((kind, token))
            yield _display(location), kind, token


def _display(location: str) -> str:
    header = _HEADER_LOCATION.match(location)
    return re.sub(r"\[\d+\]$", "", location) if header else location


def _shape_hits(text: str) -> Iterator[tuple[str, str]]:
    taken: list[range] = []
    for kind, pattern in _SHAPES:
        for match in pattern.finditer(text):
            if not any(match.start() in span for span in taken):
                taken.append(range(match.start(), match.end()))
                yield kind, match.group()


def _bearer_hits(text: str) -> Iterator[tuple[str, str]]:
    for match in _BEARER.finditer(text):
        token = match.group(1)
        if _real_bearer(token):
            yield "bearer-token", token


def _real_bearer(token: str) -> bool:
    if len(token) < 8 or _is_placeholder(token):
        return False
    return any(c.isdigit() for c in token) or len(token) >= 20


def _header_hits(name: str, value: str) -> Iterator[tuple[str, str]]:
    if name in SENSITIVE_HEADERS and not _is_placeholder(without_auth_scheme(value)):
        yield "sensitive-header", value
    if name == "location":
        yield from _url_hits(value)
    elif not _is_id_header(name):
        yield from _entropy_hits(value)


def _url_hits(url: str) -> Iterator[tuple[str, str]]:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return
    if password and not _is_placeholder(password):
        yield "url-password", password
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name.lower() in SENSITIVE_QUERY_PARAMETERS and value and not _is_placeholder(value):
            yield "sensitive-query-parameter", value
        yield from _entropy_hits(value)


def _entropy_hits(value: str) -> Iterator[tuple[str, str]]:
    for run in _RUN.findall(value.replace("<REDACTED>", " ")):
        run = run.rstrip("=")
        if _high_entropy(run):
            yield "high-entropy", run


def _high_entropy(run: str) -> bool:
    return (
        len(run) >= MIN_TOKEN_LENGTH
        and any(c.isalpha() for c in run)
        and any(c.isdigit() for c in run)
        and shannon_entropy(run) >= MIN_ENTROPY_BITS
    )


def _is_id_header(name: str) -> bool:
    return name in ID_HEADERS or any(part in name for part in ID_HEADER_PARTS)


def _is_placeholder(value: str) -> bool:
    return value == "" or _PLACEHOLDER.fullmatch(value) is not None


def _scrub_text(text: str) -> str:
    for _, pattern in _SHAPES:
        text = pattern.sub(lambda m: redact(m.group()), text)
    return text


def _usage_exit(parser: argparse.ArgumentParser, error: BaseException) -> int:
    if isinstance(error, SystemExit) and error.code in (0, None):
        return 0
    if isinstance(error, argparse.ArgumentError):
        print(f"{parser.prog}: {error}", file=sys.stderr)
    return 2
