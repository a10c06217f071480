"""Re-recording that cannot lose a cassette.

pytest-recording's ``--record-mode=rewrite`` deletes a cassette before its test runs, and
``all`` saves whatever was recorded even when the test failed. Either way a failed
re-recording (no network, a wrong key, a 500) would destroy the cassette CI depends on.
So in those modes a clause records into a staging folder beside its cassette
(``.NAME.rewrite.<pid>.<hex>.tmp/NAME``) and :meth:`StagedRewrite.finish` moves the new
file over the old one with one ``os.replace`` only when the clause judged the provider
(passed, or failed: replay then shows the same failure) and the new file reads back as a
cassette. Otherwise (the clause could not judge: the API failed a request, say) the old
cassette stays, byte for byte, and the outcome says why. In ``all`` mode the staging
folder starts with a copy of the old cassette, because vcrpy keeps the interactions that
were not re-recorded.
"""

from __future__ import annotations

import os
import secrets as _secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from .._files import sync_directory
from .persister import CorruptCassetteError, note_written, read_cassette

REWRITE_MODES = frozenset({"rewrite", "all"})
KEPT_PROPERTY = "laios_kept"


@dataclass(frozen=True)
class RewriteOutcome:
    target: Path
    replaced: bool
    reason: str = ""

    def line(self) -> str:
        return f"laios: kept {self.target.stem} -> {self.target} unchanged ({self.reason})"


class StagedRewrite:
    """One clause's re-recording, staged beside its cassette."""

    def __init__(self, target: Path, mode: str) -> None:
        self.target = target
        self.directory = target.parent / f".{target.name}.rewrite.{os.getpid()}.{_secrets.token_hex(4)}.tmp"
        self.directory.mkdir(parents=True)
        self.staged = self.directory / target.name
        if mode == "all" and target.is_file() and not target.is_symlink():
            shutil.copyfile(target, self.staged)
        self._copied = self.staged.read_bytes() if self.staged.exists() else None

    def finish(self, clause_judged: bool, serializer: object) -> RewriteOutcome:
        """Replace the cassette with the staged recording if its clause judged the provider
        (passed or failed); always remove the staging folder."""
        try:
            return self._promote(clause_judged, serializer)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _promote(self, clause_judged: bool, serializer: object) -> RewriteOutcome:
        if not clause_judged:
            return self._kept("its clause could not judge while recording, so the new recording may be incomplete")
        if not self.staged.exists() or self.staged.read_bytes() == self._copied:
            return self._kept("nothing new was recorded")
        try:
            read_cassette(self.staged, serializer)
        except CorruptCassetteError as error:
            return self._kept(f"the new recording does not read back: {error.reason}")
        try:
            os.replace(self.staged, self.target)
        except OSError as error:
            return self._kept(f"could not replace it: {error.strerror or error}")
        sync_directory(self.target.parent)
        note_written(self.target)
        return RewriteOutcome(self.target, replaced=True)

    def _kept(self, reason: str) -> RewriteOutcome:
        if not os.path.lexists(self.target):
            reason += "; there was no cassette before either"
        return RewriteOutcome(self.target, replaced=False, reason=reason)
