"""Which replacements of an HTTP stack's entry points below the seam count as the provider's patch."""

from __future__ import annotations

import functools
import http.client
import socket
from types import FunctionType
from unittest import mock

import pytest

from laios_conformance._patched_stack import replaced_entry_points, snapshot

NAME = "http.client.HTTPConnection.getresponse"


def defined_in(module: str) -> FunctionType:
    """A function calling through to getresponse, as if ``module`` defined it."""
    original = http.client.HTTPConnection.getresponse

    def getresponse(self: http.client.HTTPConnection) -> http.client.HTTPResponse:
        return original(self)

    getresponse.__module__ = module
    return getresponse


def test_nothing_replaced_is_nothing_found() -> None:
    assert replaced_entry_points(snapshot(), "my_provider") == []


def test_a_mock_left_active_is_found_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot()
    monkeypatch.setattr(http.client.HTTPConnection, "getresponse", mock.MagicMock())
    assert replaced_entry_points(before, "my_provider") == [f"{NAME} (by a unittest.mock.MagicMock object)"]


def test_a_patch_the_provider_made_before_the_snapshot_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its module was imported earlier (a conftest imported it): the patch is named by its package."""
    monkeypatch.setattr(http.client.HTTPConnection, "getresponse", defined_in("my_provider.client"))
    found = replaced_entry_points(snapshot(), "my_provider")
    assert found == [f"{NAME} (by my_provider.client.defined_in.<locals>.getresponse)"]
    assert replaced_entry_points(snapshot(), "another_provider") == []


@pytest.mark.parametrize("module", ["sentry_sdk.integrations.stdlib", "opentelemetry.instrumentation.x", "vcr.stubs"])
def test_instrumentation_and_the_recorder_are_not_the_providers_patch(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    before = snapshot()
    monkeypatch.setattr(http.client.HTTPConnection, "getresponse", defined_in(module))
    assert replaced_entry_points(before, "my_provider") == []


def test_a_wrapper_keeping_wrapped_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot()
    wrapper = functools.wraps(http.client.HTTPConnection.getresponse)(defined_in("tracing"))
    wrapper.__module__ = "tracing"  # what functools.wraps copied would pass on its own
    monkeypatch.setattr(http.client.HTTPConnection, "getresponse", wrapper)
    assert replaced_entry_points(before, "my_provider") == []


@pytest.mark.parametrize("module", ["gevent._socket3", "eventlet.green.socket"])
def test_green_sockets_of_a_monkey_patching_import_are_not_the_providers_patch(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    """``gevent.monkey.patch_all()`` in the provider's import swaps ``socket.socket`` for its own
    class, which calls through to the network: not a patch that answers instead of the API."""
    green = type("socket", (socket.socket,), {"connect": defined_in(module), "__module__": module})
    before = snapshot()
    monkeypatch.setattr(socket, "socket", green)
    assert replaced_entry_points(before, "my_provider") == []
    monkeypatch.setattr(green, "connect", defined_in("my_provider.client"))
    assert replaced_entry_points(before, "my_provider") == [
        "socket.socket.connect (by my_provider.client.defined_in.<locals>.getresponse)"
    ]
