"""pytest entry point (``pytest11``): options, ini keys, and the switch that turns the kit on.

This module is imported by every pytest run in an environment where the kit is installed,
so it imports nothing heavy. Without ``--laios-provider`` (or the ``laios_provider`` ini key)
it only adds its options; with it, :class:`laios_conformance.session.ConformanceSession`
is registered and does the work.
"""

from __future__ import annotations

import argparse
import os

import pytest

SESSION_PLUGIN_NAME = "laios-conformance-session"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def _days(text: str) -> int:
    """A whole number of days, 0 or more; anything else is a usage error naming the option."""
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days (0 or more)")
    return days


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("laios-conformance", "LAIOS provider conformance")
    group.addoption(
        "--laios-provider",
        action="append",
        default=[],
        metavar="MODULE:CLASS",
        help="provider to judge (a class, or a factory returning an instance); repeat for several. ini: laios_provider",
    )
    group.addoption(
        "--laios-provider-kwargs",
        action="append",
        default=[],
        metavar="JSON",
        help='constructor arguments as a JSON object; "$NAME" values are read from the environment. '
        "Give it once for all providers or once per provider. ini: laios_provider_kwargs",
    )
    group.addoption(
        "--laios-cassette-dir",
        default=None,
        metavar="DIR",
        help="where cassettes live, one subfolder per provider class (default: cassettes/ under the "
        "rootdir). ini: laios_cassette_dir",
    )
    group.addoption("--laios-report", default=None, metavar="PATH", help="write the JSON verdict to PATH")
    group.addoption(
        "--laios-secret-kwargs",
        default=None,
        metavar="NAME,...",
        help="constructor arguments that hold secrets besides those whose name says so (api_key, token, "
        "*_key, *_secret, password...). ini: laios_secret_kwargs",
    )
    group.addoption(
        "--laios-secret-env",
        default=None,
        metavar="NAME,...",
        help="environment variables your provider reads a key from itself (it takes no api_key): "
        "secrets to scrub and hunt; unset ones get a fake key, as api_key does. ini: laios_secret_env",
    )
    group.addoption(
        "--laios-call-timeout",
        default=None,
        metavar="SECONDS",
        help="error a clause whose provider call (or constructor, or module import) takes longer than this; "
        "0 for no limit (default: 60). ini: laios_call_timeout",
    )
    group.addoption(
        "--laios-strict",
        action="store_true",
        default=False,
        help="failed should-level clauses fail the run too. ini: laios_strict",
    )
    group.addoption(
        "--laios-allow-partial",
        action="store_true",
        default=False,
        help="accept a verdict in which some clauses did not run (-k, -m, --deselect, -x...): the gate "
        "then says partial instead of failing. ini: laios_allow_partial",
    )
    group.addoption(
        "--laios-max-cassette-age",
        type=_days,
        default=None,
        metavar="DAYS",
        help="report cassettes recorded more than DAYS ago (a should-level failure naming them)",
    )
    parser.addini("laios_provider", type="linelist", help="providers to judge, one module:Class per line")
    parser.addini("laios_provider_kwargs", type="string", default="", help="constructor arguments as JSON")
    parser.addini("laios_cassette_dir", type="string", default="", help="cassette directory")
    parser.addini("laios_strict", type="bool", default=False, help="failed should clauses fail the run")
    parser.addini("laios_secret_kwargs", type="string", default="", help="constructor arguments that hold secrets")
    parser.addini(
        "laios_secret_env", type="string", default="", help="environment variables the provider reads a key from"
    )
    parser.addini("laios_call_timeout", type="string", default="60", help="seconds a provider call may take")
    parser.addini(
        "laios_allow_partial", type="bool", default=False, help="clauses that did not run do not fail the run"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "laios_clause(id, level): a LAIOS conformance clause and its level (must or should)"
    )
    targets = config.getoption("laios_provider") or config.getini("laios_provider")
    if not targets:
        _refuse_options_without_a_provider(config)
        return
    from .session import ConformanceSession

    _require_recording(config)
    config.pluginmanager.register(ConformanceSession.from_config(config, list(targets)), SESSION_PLUGIN_NAME)


def _require_recording(config: pytest.Config) -> None:
    """pytest-recording loads under its entry point's name (``recording``) or, with
    ``-p pytest_recording.plugin``, under the module's: what counts is the module."""
    import pytest_recording.plugin

    if not config.pluginmanager.is_registered(pytest_recording.plugin):
        raise pytest.UsageError(
            "--laios-provider needs pytest-recording, which records and replays the cassettes, but it is not "
            f"loaded: {_how_to_load_recording(config)}"
        )


def _how_to_load_recording(config: pytest.Config) -> str:
    if any(config.pluginmanager.is_blocked(name) for name in ("recording", "pytest_recording.plugin")):
        return "drop -p no:recording and run again"
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        switch = "PYTEST_DISABLE_PLUGIN_AUTOLOAD is set"
    elif getattr(config.option, "disable_plugin_autoload", False):  # pytest 8.4+
        switch = "--disable-plugin-autoload was given"
    else:
        return "its pytest11 entry point did not load it; reinstall pytest-recording, or add -p pytest_recording.plugin"
    return f"{switch}, so pytest loads only the plugins named with -p: add -p recording (or -p pytest_recording.plugin)"


# The kit's command-line options that mean nothing without a provider to judge (their dests).
_NEEDS_A_PROVIDER = (
    "laios_provider_kwargs",
    "laios_cassette_dir",
    "laios_report",
    "laios_secret_kwargs",
    "laios_secret_env",
    "laios_call_timeout",
    "laios_strict",
    "laios_allow_partial",
    "laios_max_cassette_age",
)


def _refuse_options_without_a_provider(config: pytest.Config) -> None:
    """``pytest --laios-report=v.json`` alone would run no clause and write no verdict, quietly."""
    given = [dest for dest in _NEEDS_A_PROVIDER if config.getoption(dest) not in (None, False, [])]
    if given and not hasattr(config, "workerinput"):
        flag = "--" + given[0].replace("_", "-")
        raise pytest.UsageError(
            f"{flag} was given without --laios-provider, so no provider would be judged; name one, "
            "e.g. --laios-provider=my_pkg.client:MyClient"
        )
