"""The glue as the plugin will use it: pytest-recording's vcr_config fixture and configure hook."""

from __future__ import annotations

import pytest

from .helpers import all_bytes_under

CONFTEST = """
import pytest
from laios_conformance.cassettes import base_vcr_config, configure_vcr

KEY = {key!r}

@pytest.fixture
def vcr_config():
    return base_vcr_config([KEY])

def pytest_recording_configure(config, vcr):
    configure_vcr(vcr, [KEY])
"""

TEST = """
import httpx
import pytest

@pytest.mark.vcr
def test_chat():
    response = httpx.post({url!r} + "/v1/chat", headers={{"authorization": "Bearer " + {key!r}}}, json={{"q": 1}})
    assert response.status_code == 200
"""


def test_recording_and_replaying_through_pytest_recording(pytester: pytest.Pytester, loopback) -> None:
    pytester.makeconftest(CONFTEST.format(key=loopback.key))
    pytester.makepyfile(test_chat=TEST.format(url=loopback.url, key=loopback.key))
    common = ("-p", "no:cacheprovider", "-p", "no:laios_conformance", "-q")
    pytester.runpytest_inprocess("--record-mode=once", *common).assert_outcomes(passed=1)
    cassette = pytester.path / "cassettes" / "test_chat" / "test_chat.yaml"
    assert cassette.is_file()
    before = cassette.read_bytes()
    pytester.runpytest_inprocess("--record-mode=none", *common).assert_outcomes(passed=1)
    pytester.runpytest_inprocess("--record-mode=once", *common).assert_outcomes(passed=1)
    assert cassette.read_bytes() == before
    assert loopback.hits == ["/v1/chat"]
    assert loopback.key.encode() not in all_bytes_under(pytester.path / "cassettes")


def test_a_corrupt_cassette_fails_the_test_with_the_one_line_message(pytester: pytest.Pytester, loopback) -> None:
    pytester.makeconftest(CONFTEST.format(key=loopback.key))
    pytester.makepyfile(test_chat=TEST.format(url=loopback.url, key=loopback.key))
    cassette = pytester.path / "cassettes" / "test_chat" / "test_chat.yaml"
    cassette.parent.mkdir(parents=True)
    cassette.write_text("interactions: [\n")
    result = pytester.runpytest_inprocess("--record-mode=once", "-p", "no:cacheprovider", "-p", "no:laios_conformance")
    result.assert_outcomes(errors=1)
    advice = "restore it from version control, or delete it and re-record"
    result.stdout.fnmatch_lines([f"*cassette {cassette} is corrupt (invalid YAML*); {advice}*"])
    assert cassette.read_text() == "interactions: [\n"
    assert loopback.hits == []
