"""Fixtures of the contract suite, and its settings for pytest-recording.

The cassette fixtures here override pytest-recording's own (``vcr_cassette_dir``,
``default_cassette_name``, ``vcr_config``), so that each clause replays
``<cassette dir>/<ProviderClass>/<clause id>.yaml``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..clauses import CALL_PASSED, CASSETTE_KEY, CassetteWatch, ClauseCannotJudge, clause_of, file_signature
from ..plugin import SESSION_PLUGIN_NAME
from ..session import ConformanceSession, cassette_hint


@pytest.fixture
def laios_session(pytestconfig: pytest.Config) -> ConformanceSession:
    session = pytestconfig.pluginmanager.get_plugin(SESSION_PLUGIN_NAME)
    assert isinstance(session, ConformanceSession), "the plugin registers the session before the contract runs"
    return session


@pytest.fixture
def provider(laios_provider_spec: Any) -> Iterator[Any]:
    """A fresh instance of the provider under test, closed afterwards."""
    instance = laios_provider_spec.build()
    yield instance
    close = getattr(instance, "close", None)
    if callable(close):
        close()


@pytest.fixture
def profile(provider: Any) -> dict[str, Any]:
    """The provider's declared limits (``conformance_profile``), validated."""
    from ..profile import read_profile

    return read_profile(provider)


@pytest.fixture
def vcr_cassette_dir(
    request: pytest.FixtureRequest, laios_session: ConformanceSession, laios_provider_spec: Any, record_mode: str
) -> str:
    """The provider's cassette folder; the clause's cassette is checked before vcrpy opens it."""
    directory = laios_session.cassette_dir(laios_provider_spec)
    found = clause_of(request.node)
    if found and request.node.get_closest_marker("vcr"):
        path = directory / f"{found[0]}.yaml"
        reject_corrupt(path, laios_provider_spec, found[0])
        request.node.stash[CASSETTE_KEY] = CassetteWatch(path, file_signature(path))
    return str(directory)


def reject_corrupt(path: Path, spec: Any, clause_id: str) -> None:
    """One clear line for a corrupt cassette, before vcrpy trips over it with a traceback."""
    from ..cassettes import CorruptCassetteError, read_cassette, serializer

    if path.exists():
        try:
            read_cassette(path, serializer)
        except CorruptCassetteError as exc:
            pytest.fail(f"{exc}: {cassette_hint(spec, clause_id, rewrite=True)}", pytrace=False)


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    found = clause_of(request.node)
    return found[0] if found else request.node.name


@pytest.fixture
def vcr_config(laios_provider_spec: Any) -> dict[str, Any]:
    from ..cassettes import base_vcr_config

    return base_vcr_config(laios_provider_spec.secrets)


@pytest.fixture
def cassette(request: pytest.FixtureRequest, laios_provider_spec: Any, record_mode: str, vcr: Any) -> Iterator[Any]:
    """The clause's open cassette. In replay, a missing file, or interactions left unplayed,
    mean the clause cannot be judged (error); the message says how to record."""
    watch = request.node.stash[CASSETTE_KEY]
    if record_mode == "none" and watch.before is None:
        raise ClauseCannotJudge(
            f"cassette {watch.path} not found (replay mode); record it against the live API with: "
            f"{cassette_hint(laios_provider_spec, watch.path.stem)}"
        )
    yield vcr
    if vcr is None or record_mode != "none" or not request.node.stash.get(CALL_PASSED, False):
        return
    unplayed = [index for index in range(len(vcr.data)) if not vcr.play_counts[index]]
    if unplayed:
        pytest.fail(
            f"cassette {watch.path}: {len(unplayed)} of {len(vcr.data)} recorded "
            "interaction(s) were not replayed, so it no longer matches what the provider sends; "
            "re-record it with --record-mode=rewrite",
            pytrace=False,
        )
