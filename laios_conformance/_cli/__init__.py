"""The pieces of the ``laios-conformance`` command (:mod:`laios_conformance.cli` is the entry)."""


class UsageError(Exception):
    """A user mistake: printed as one line, exit code 2, no traceback."""
