"""``SafePersister``: atomic cassette writes, loud corruption, no clobbering.

vcrpy's ``FilesystemPersister`` writes cassettes in place (a crash leaves half a
file) and ``Cassette._load`` treats ``CassetteNotFoundError`` as "record a new
cassette" and ``CassetteDecodeError`` as "treat as empty, may be overwritten";
an empty file is also "not found". Any other exception from ``load_cassette``
propagates out of ``use_cassette``. So:

* a missing file raises ``CassetteNotFoundError`` (record it);
* a file that exists but can't be read back - empty, not UTF-8, bad YAML, wrong
  shape - raises :class:`CorruptCassetteError`, deliberately *not* a subclass of
  either vcrpy error, so the test errors with a one-line message instead of
  silently re-recording over the file;
* ``save_cassette`` writes to a temporary file in the same directory, fsyncs it,
  and ``os.replace``-s it over the target, so readers see the old cassette or the
  new one, never a partial one.

No clobbering. vcrpy only saves a cassette when it is ``dirty`` (something was
appended or metadata added), except that ``drop_unused_requests`` forces a
rewrite whenever some loaded interactions were not played. In record mode
``once`` (and ``none``) a cassette that was loaded is write-protected, so new
requests raise instead of being appended; the forced rewrite is the only path
that would overwrite it. ``SafePersister`` closes that path: given the
effective record mode, it never replaces an existing file in ``once``/``none``
(this also covers another xdist worker having written the file since it was
found missing). In the other modes except ``all`` it skips the write when the file
already holds exactly the interactions being saved, which keeps its
``recorded_at`` and mtime; ``all`` is an explicit re-recording, so it always
writes and refreshes ``recorded_at`` even when the provider answered the same.

pytest-recording registers a ``CombinedPersister`` carrying the extra cassette
paths given to ``@pytest.mark.vcr(...)``; ``VCR.register_persister`` keeps a
single persister, so ``SafePersister`` takes those ``extra_paths`` over and
loads them the same way (interactions from all files, saves to the first).
Register an *instance*: its methods are not classmethods.

No error answers. An interaction whose response has an HTTP error status (a wrong
key's 401, a wrong model's 404, a 429, a 5xx) is left out of what is written, and a
cassette left with none is not written at all: see :func:`_answers_only`.

Given the kit's secrets, the persister also replaces them in everything it is
about to write - a last line of defence should a ``vcr_config`` replace the
kit's scrubbers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from vcr.cassette import Cassette
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.request import Request
from vcr.serialize import serialize
from vcr.serializers import compat

from .._files import atomic_write_text
from .limits import AliasBudgetExceeded, CassetteRefused, check_file
from .scrub import make_redactor, redact_deep
from .structure import cassette_problem

log = logging.getLogger(__name__)

PROTECTED_MODES = frozenset({"once", "none"})
MAX_REASON_CHARS = 160
# vcrpy 9 (Python >= 3.11) unpacks a third item, the cassette's metadata; vcrpy 8 exactly two.
_VCR_TAKES_METADATA = hasattr(Cassette, "get_metadata")


class CorruptCassetteError(ValueError):
    """A cassette file exists but can't be loaded; never treated as missing."""

    def __init__(self, path: str | os.PathLike[str], reason: str, refused: bool = False) -> None:
        super().__init__(os.fspath(path), _one_line(reason))
        self.path, self.reason = self.args
        self.refused = refused

    def __str__(self) -> str:
        return self.explain()

    def explain(self, record_again: str = "delete it and re-record with --record-mode=once") -> str:
        """The one-line message, with ``record_again`` saying how to record the cassette anew."""
        if self.refused:
            return f"cassette {self.path} is refused: {self.reason}"
        advice = f"cassette {self.path} is corrupt ({self.reason}); restore it from version control, or {record_again}"
        if "binary (!!binary)" in self.reason:
            advice += (
                ". If the API itself answers in binary (AWS's application/vnd.amazon.eventstream, say), "
                "re-recording writes the same: the kit replays text bodies only (JSON, SSE, NDJSON), so the "
                "clauses that need this answer cannot be judged for this provider"
            )
        return advice


class SafePersister:
    def __init__(
        self,
        extra_paths: Iterable[str | os.PathLike[str]] = (),
        record_mode: Any = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.extra_paths = [os.fspath(p) for p in extra_paths]
        self.record_mode = getattr(record_mode, "value", record_mode)
        self._redact = make_redactor(secrets)

    def load_cassette(self, cassette_path: str | os.PathLike[str], serializer: Any) -> tuple[list[Any], list[Any]]:
        main = os.fspath(cassette_path)
        loaded = [read_cassette(path, serializer) for path in _unique([main, *self.extra_paths]) if _exists(path)]
        requests = [request for content in loaded for request in content[0]]
        responses = [response for content in loaded for response in content[1]]
        metadata = loaded[0][2:] if loaded and _exists(main) and _VCR_TAKES_METADATA else ()
        if not requests and not metadata:
            raise CassetteNotFoundError(main)
        return (requests, responses, *metadata)

    def save_cassette(
        self, cassette_path: str | os.PathLike[str], cassette_dict: dict[str, Any], serializer: Any
    ) -> None:
        path = Path(cassette_path)
        cassette_dict = self._redacted(_without_repeats(_answers_only(cassette_dict)))
        if not cassette_dict["requests"] or self._keep_existing(path, cassette_dict, serializer):
            return
        atomic_write_text(path, serialize(cassette_dict, serializer))
        note_written(path)

    def _redacted(self, cassette_dict: dict[str, Any]) -> dict[str, Any]:
        return {
            **redact_deep({k: v for k, v in cassette_dict.items() if k != "requests"}, self._redact),
            "requests": [
                Request._from_dict(redact_deep(request._to_dict(), self._redact))
                for request in cassette_dict["requests"]
            ],
        }

    def _keep_existing(self, path: Path, cassette_dict: dict[str, Any], serializer: Any) -> bool:
        if not path.exists():
            return False
        if self.record_mode in PROTECTED_MODES:
            log.warning("not overwriting existing cassette %s in record mode %r", path, self.record_mode)
            return True
        if self.record_mode == "all":
            return False
        return _same_interactions(path, cassette_dict, serializer)


# The cassette files this process wrote, with their (mtime, size) right after: another process
# recording into the same folder may write one too, and only ours may be removed again.
_WRITTEN: dict[str, tuple[int, int]] = {}


def file_signature(path: Path) -> tuple[int, int] | None:
    """(mtime, size) of a file, or None when it does not exist."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def note_written(path: Path) -> None:
    """Remember that this process just wrote the cassette at ``path``."""
    signature = file_signature(path)
    if signature is not None:
        _WRITTEN[os.path.abspath(path)] = signature


def written_here(path: Path) -> bool:
    """Whether the file at ``path`` is still the one this process last wrote there."""
    signature = file_signature(path)
    return signature is not None and _WRITTEN.get(os.path.abspath(path)) == signature


def _answers_only(cassette_dict: dict[str, Any]) -> dict[str, Any]:
    """The interactions whose response is not an HTTP error.

    Every clause replays successful answers and makes up its error responses itself, so a
    recorded 401 (a wrong key), 404 (a wrong model), 429 or 5xx could only leave its clause
    unable to judge on every later replay: it is never written.
    """
    pairs = [
        (request, response)
        for request, response in zip(cassette_dict["requests"], cassette_dict["responses"], strict=True)
        if not _is_error(response)
    ]
    return {**cassette_dict, "requests": [p[0] for p in pairs], "responses": [p[1] for p in pairs]}


def _without_repeats(cassette_dict: dict[str, Any]) -> dict[str, Any]:
    """The interactions, each request-and-response pair once.

    ``--record-mode=all`` records a request again each time it is sent (a clause that asks
    the same question five times); replay always plays the first match, so the copies
    would only count as interactions never replayed.
    """
    pairs: list[tuple[Any, Any]] = []
    for request, response in zip(cassette_dict["requests"], cassette_dict["responses"], strict=True):
        if not any(request._to_dict() == r._to_dict() and response == s for r, s in pairs):
            pairs.append((request, response))
    return {**cassette_dict, "requests": [p[0] for p in pairs], "responses": [p[1] for p in pairs]}


def _is_error(response: Any) -> bool:
    status = response.get("status") if isinstance(response, dict) else None
    code = status.get("code") if isinstance(status, dict) else None
    return isinstance(code, int) and code >= 400


def read_cassette(path: str | os.PathLike[str], serializer: Any) -> tuple[Any, ...]:
    """Load one cassette file as vcrpy does, raising CorruptCassetteError on any problem."""
    try:
        check_file(Path(path))
    except CassetteRefused as error:
        raise CorruptCassetteError(path, str(error), refused=True) from None
    text = _read_text(path)
    try:
        document = serializer.deserialize(text)
    except Exception as error:
        raise CorruptCassetteError(path, _reason(error)) from error
    problem = cassette_problem(document)
    if problem:
        raise CorruptCassetteError(path, problem)
    interactions = document["interactions"]
    try:
        requests = [Request._from_dict(i["request"]) for i in interactions]
        responses = [compat.convert_to_bytes(i["response"]) for i in interactions]
    except Exception as error:
        raise CorruptCassetteError(path, _reason(error)) from error
    return (requests, responses, document["metadata"]) if document.get("metadata") else (requests, responses)


def _read_text(path: str | os.PathLike[str]) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CorruptCassetteError(path, f"not valid UTF-8 at byte {error.start}") from error
    except OSError as error:
        raise CorruptCassetteError(path, f"unreadable: {error.strerror or error}") from error
    if not text.strip():
        raise CorruptCassetteError(path, "the file is empty")
    return text


def _same_interactions(path: Path, cassette_dict: dict[str, Any], serializer: Any) -> bool:
    try:
        old = serializer.deserialize(path.read_text(encoding="utf-8"))
        new = serializer.deserialize(serialize(cassette_dict, serializer))
    except Exception:
        return False
    return bool(_interactions_of(old) == _interactions_of(new))


def _interactions_of(document: Any) -> Any:
    if not isinstance(document, dict):
        return document
    return document.get("interactions"), document.get("metadata")


def _reason(error: BaseException) -> str:
    if isinstance(error, AliasBudgetExceeded):
        return str(error)
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"invalid YAML: {error.problem} at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(error, KeyError):
        return f"missing key {error}"
    return f"{type(error).__name__}: {error}"


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 1] + "…"


def _exists(path: str) -> bool:
    return os.path.lexists(path)


def _unique(paths: list[str]) -> list[str]:
    return list(dict.fromkeys(paths))
