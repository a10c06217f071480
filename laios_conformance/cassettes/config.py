"""How the kit wires vcrpy: the ``vcr_config`` dict and the VCR registrations.

Two halves, because pytest-recording splits them: ``vcr_config`` (a fixture)
supplies ``use_cassette`` keyword arguments, while named things a cassette
refers to - the readable ``yaml`` serializer, the ``json_body`` matcher - and the
persister must be registered on the ``VCR`` object, which only the
``pytest_recording_configure(config, vcr)`` hook sees. pytest-recording calls
that hook after registering its own ``CombinedPersister``; ``configure_vcr``
replaces it (vcrpy keeps a single persister) and carries over its extra
cassette paths and the effective record mode.

pytest-recording names cassette files after the serializer, so the readable
serializer is registered under vcrpy's own name ``yaml``: the files keep their
``.yaml`` suffix and ``--record-mode=rewrite`` deletes the right path.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import serializer
from .matching import MATCH_ON, register_matchers
from .persister import SafePersister
from .scrub import make_scrubbers

SERIALIZER = serializer.NAME


def base_vcr_config(secrets: Iterable[str]) -> dict[str, Any]:
    before_record_request, before_record_response = make_scrubbers(secrets)
    return {
        "match_on": MATCH_ON,
        "before_record_request": before_record_request,
        "before_record_response": before_record_response,
        "serializer": SERIALIZER,
        "decode_compressed_response": True,
        "allow_playback_repeats": True,
        "record_on_exception": False,
    }


def configure_vcr(vcr: Any, secrets: Iterable[str] = ()) -> None:
    """Register the serializer, matcher and persister on a ``vcr.VCR`` instance.

    The persister redacts ``secrets`` again in whatever it writes, in case a
    ``vcr_config`` replaced the scrubbers from :func:`base_vcr_config`.
    """
    vcr.register_serializer(SERIALIZER, serializer)
    register_matchers(vcr)
    vcr.register_persister(
        SafePersister(
            extra_paths=getattr(vcr.persister, "extra_paths", ()),
            record_mode=vcr.record_mode,
            secrets=secrets,
        ),
    )
