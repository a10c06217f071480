"""``check`` validates its targets in a child process too, before the judged session.

Validating means importing the provider's module and building one instance, which runs the
provider's code: an ``os._exit(0)`` at import or in the constructor must end that child, not
``check`` with the provider's chosen exit status. The child answers with one marker line on
success, or the one-line usage error on stderr (exit 2); anything else means the provider
ended the process while it was being loaded.

The child reads no pytest configuration: not the ini's ``pythonpath`` (a src layout's
``src``), not a ``conftest.py`` that extends ``sys.path``, not ``-c`` or ``--rootdir`` after
``--``. A module it cannot find is therefore left to the judged run, which imports it as
plain pytest in that folder would, or reports the same error in one line. A provider found
only there that ends the process still fails: that run then leaves no verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

__all__ = ["ProviderEndedProcess", "validate_in_child"]

_OK = "laios-conformance probe: providers load"
_CLASSES = "laios-conformance probe: classes "  # then the JSON list of the class each target builds
_LEFT_TO_PYTEST = "laios-conformance probe: a module is not found here; the judged run imports it"


class ProviderEndedProcess(Exception):
    """The child that loads the providers ended without saying whether they load."""


def validate_in_child(request: dict[str, Any]) -> list[str] | None:
    """The class each target builds (None when a module is left to the judged run to import).
    Raise UsageError for a bad target or kwargs, ProviderEndedProcess for a provider that ends the process."""
    from . import UsageError

    child = subprocess.run(
        [sys.executable, "-m", "laios_conformance._cli.probe"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        errors="replace",  # what the provider prints while it is built need not be UTF-8
        check=False,
    )
    lines = child.stdout.splitlines()
    if child.returncode == 0 and _LEFT_TO_PYTEST in lines:
        return None
    if child.returncode == 0 and _OK in lines:
        return next((json.loads(line.removeprefix(_CLASSES)) for line in lines if line.startswith(_CLASSES)), None)
    if child.returncode == 2 and child.stderr.strip():
        raise UsageError(child.stderr.strip().splitlines()[-1])
    raise ProviderEndedProcess(
        f"loading the provider ended the process (exit status {child.returncode}) before it was judged"
    )


def _main() -> int:
    from ..loading import Flags, ModuleNotImportable, ProviderLoadError, load_providers, provide_secret_env

    request = json.loads(sys.stdin.read())
    try:
        env_secrets, _ = provide_secret_env(request.get("secret_env", ()), "--secret-env")
        specs = load_providers(
            request["targets"],
            request["kwargs"],
            Flags(
                target="target",
                kwargs="--kwargs",
                secret_env="--secret-env",
                call_timeout="--call-timeout",
                secret_kwargs="--secret-kwargs",
            ),
            request["secret_names"],
            request["call_timeout"],
            env_secrets,
        )
    except ModuleNotImportable:
        print(_LEFT_TO_PYTEST, flush=True)
        return 0
    except ProviderLoadError as error:
        print(str(error), file=sys.stderr)
        return 2
    print(f"{_CLASSES}{json.dumps([spec.class_name for spec in specs])}", flush=True)
    print(_OK, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
