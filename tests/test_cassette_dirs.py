"""Which cassette folder a provider replays: the user's own wins, else the package's shipped one."""

from __future__ import annotations

from pathlib import Path

import pytest

from laios_conformance.cassette_dirs import cassette_dir, shipped_cassette_dir
from reference_providers.openai import OpenAIClient

SHIPPED = Path(__file__).resolve().parents[1] / "reference_providers" / "cassettes" / "OpenAIClient"


def test_the_reference_providers_ship_their_cassettes_beside_their_modules() -> None:
    found = shipped_cassette_dir(OpenAIClient, "OpenAIClient")
    assert found is not None and found.resolve() == SHIPPED.resolve()
    assert sorted(found.glob("*.yaml"))


def test_a_provider_whose_package_ships_none_has_none() -> None:
    def factory() -> None: ...

    assert shipped_cassette_dir(factory, "Anything") is None
    assert shipped_cassette_dir(object(), "OpenAIClient") is None


def test_without_a_folder_of_their_own_users_replay_the_shipped_cassettes(tmp_path: Path) -> None:
    found = cassette_dir(tmp_path / "cassettes", OpenAIClient, "OpenAIClient", named=False, recording=False)
    assert found.resolve() == SHIPPED.resolve()


def test_a_users_own_folder_for_the_provider_wins(tmp_path: Path) -> None:
    own = tmp_path / "cassettes" / "OpenAIClient"
    own.mkdir(parents=True)
    assert cassette_dir(tmp_path / "cassettes", OpenAIClient, "OpenAIClient", named=False, recording=False) == own


@pytest.mark.parametrize(("named", "recording"), [(True, False), (False, True)])
def test_a_named_folder_or_a_recording_run_uses_the_users_folder_even_if_empty(
    tmp_path: Path, named: bool, recording: bool
) -> None:
    found = cassette_dir(tmp_path / "cassettes", OpenAIClient, "OpenAIClient", named=named, recording=recording)
    assert found == tmp_path / "cassettes" / "OpenAIClient"


def test_the_kit_replays_the_shipped_cassettes_from_an_empty_folder(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess(
        "--laios-provider=reference_providers.openai:OpenAIClient", "-p", "no:cacheprovider", "-k", "returns_response"
    )
    result.assert_outcomes(passed=1)  # without a cassette the clause errors: "cassette not found"
    assert not (pytester.path / "cassettes").exists()
