"""Fixtures of the contract suite, and its settings for pytest-recording.

The cassette fixtures here override pytest-recording's own (``vcr_cassette_dir``,
``default_cassette_name``, ``vcr_config``), so that each clause replays
``<cassette dir>/<ProviderClass>/<clause id>.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from ..clauses import clause_of
from ..plugin import SESSION_PLUGIN_NAME
from ..session import ConformanceSession, cassette_hint


@pytest.fixture
def laios_session(pytestconfig: pytest.Config) -> ConformanceSession:
    return pytestconfig.pluginmanager.get_plugin(SESSION_PLUGIN_NAME)


@pytest.fixture
def provider(laios_provider_spec: Any) -> Iterator[Any]:
    """A fresh instance of the provider under test, closed afterwards."""
    instance = laios_provider_spec.build()
    yield instance
    close = getattr(instance, "close", None)
    if callable(close):
        close()


@pytest.fixture
def profile(provider: Any) -> dict:
    """The provider's declared limits (``conformance_profile``), validated."""
    from ..profile import read_profile

    return read_profile(provider)


@pytest.fixture
def vcr_cassette_dir(laios_session: ConformanceSession, laios_provider_spec: Any) -> str:
    return str(laios_session.cassette_dir(laios_provider_spec))


@pytest.fixture
def default_cassette_name(request: pytest.FixtureRequest) -> str:
    found = clause_of(request.node)
    return found[0] if found else request.node.name


@pytest.fixture
def vcr_config(laios_provider_spec: Any) -> dict:
    from ..cassettes import base_vcr_config

    return base_vcr_config(laios_provider_spec.secrets)


@pytest.fixture
def cassette(
    request: pytest.FixtureRequest,
    laios_provider_spec: Any,
    vcr_cassette_dir: str,
    default_cassette_name: str,
    record_mode: str,
    vcr: Any,
) -> Any:
    """The clause's cassette; in replay, a missing file is an error naming how to record it."""
    path = Path(vcr_cassette_dir) / f"{default_cassette_name}.yaml"
    if record_mode == "none" and not path.exists():
        pytest.fail(
            f"cassette {path} not found (replay mode); record it against the live API with: "
            f"{cassette_hint(laios_provider_spec, default_cassette_name)}",
            pytrace=False,
        )
    return vcr
