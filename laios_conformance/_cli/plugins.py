"""The two plugins a judged run needs, registered once, whichever way the user loads them.

``check`` and ``drift`` load this module with ``-p``. With ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``
(or ``--disable-plugin-autoload``) pytest loads only the plugins it is told to, and the user
may have told it already: by entry-point name (``-p laios_conformance -p recording``) in
``PYTEST_ADDOPTS``, the ini's ``addopts`` or after ``--``, or by module in ``PYTEST_PLUGINS``.
pluggy refuses one module under two names, so adding ``-p laios_conformance.plugin`` to those
ends pytest in a page of traceback. Here each module is registered only if nothing loaded
it, once every ``-p`` has been read, and never if the user blocked it (``-p no:recording``).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import pytest

__all__ = ["LOAD", "NEEDED", "pytest_cmdline_main", "pytest_load_initial_conftests"]

NEEDED = ("laios_conformance.plugin", "pytest_recording.plugin")
LOAD = ("-p", __name__)  # what check and drift give pytest, autoload or not


@pytest.hookimpl(tryfirst=True)  # after every -p and PYTEST_PLUGINS, before conftests and the full parse
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    manager = early_config.pluginmanager
    for module_name in NEEDED:
        if any(manager.is_blocked(name) for name in plugin_names(module_name)):
            continue  # the user said no: the kit's own check says what that costs
        module = importlib.import_module(module_name)
        if not manager.is_registered(module):
            manager.register(module, module_name)


def plugin_names(module_name: str) -> set[str]:
    """Every name ``-p`` may load or block ``module_name`` by: the module's, and its entry points'."""
    return {module_name} | {point.name for point in entry_points(group="pytest11") if point.value == module_name}


@pytest.hookimpl(tryfirst=True)  # once pytest has parsed its arguments, before any provider code runs
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Paths given to pytest replace the contract: the run would judge nothing and write no
    verdict. pytest's own parser tells them from option values (``-k expr``, ``-p name``); those
    check did not pass on came from ``addopts`` (the ini's or ``$PYTEST_ADDOPTS``)."""
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        return
    typed = [path for path in config.args if path in config.invocation_params.args]
    if typed:
        raise pytest.UsageError(
            f"{' '.join(typed)} after --: check runs the contract only (paths given to pytest would replace it); "
            "drop them, and run your own tests with plain pytest"
        )
    raise pytest.UsageError(
        f"{' '.join(config.args)} from addopts: check runs the contract only (paths given to pytest would "
        "replace it); move them to the ini's testpaths, or pass -- -o addopts= to check (and keep them out of "
        "$PYTEST_ADDOPTS)"
    )
