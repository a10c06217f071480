"""A kit run keeps nothing of the provider once it ends: the exceptions that its failure
cases make the provider raise hold its frames, and with them the instance, its HTTP client
and the answers it read."""

from __future__ import annotations

import gc

from tests.providers import probes

TRACKED = "tests.providers.probes:TracksItsInstances"


def test_no_provider_instance_outlives_the_run(run_kit) -> None:
    selection = "raises_on_http_error or raises_on_transport_error or circuit_breaker or stream_raises"
    run = run_kit(TRACKED, "-k", selection, "--laios-allow-partial")
    assert set(run.statuses().values()) == {"passed"}, run.report
    gc.collect()
    assert len(probes.LIVE) == 0, f"{len(probes.LIVE)} instance(s) still alive after the run"
