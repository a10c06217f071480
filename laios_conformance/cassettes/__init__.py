"""vcrpy glue for the conformance kit: scrubbing, matching, serializing, persisting, linting cassettes."""

from .._files import atomic_write_text
from .config import base_vcr_config, configure_vcr
from .lint import Finding, lint_paths
from .lint import main as lint_main
from .matching import MATCH_ON, json_body, register_matchers
from .persister import CorruptCassetteError, SafePersister, read_cassette
from .scrub import PLACEHOLDER, make_scrubbers
from .serializer import NAME as SERIALIZER_NAME
from .serializer import cassette_recorded_at, recorded_key_places, recorded_request_headers

__all__ = [
    "MATCH_ON",
    "PLACEHOLDER",
    "SERIALIZER_NAME",
    "CorruptCassetteError",
    "Finding",
    "SafePersister",
    "atomic_write_text",
    "base_vcr_config",
    "cassette_recorded_at",
    "recorded_key_places",
    "recorded_request_headers",
    "configure_vcr",
    "json_body",
    "lint_main",
    "lint_paths",
    "make_scrubbers",
    "read_cassette",
    "register_matchers",
]
