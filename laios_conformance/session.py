"""The kit at work during one pytest run: providers, collection, verdicts, report.

Registered by the plugin only when a provider is given. Results ride on each test report
(``user_properties``), so under pytest-xdist the controller merges one verdict.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ._files import atomic_write_text
from ._version import __version__
from .clauses import (
    CALL_PASSED,
    CASSETTE_KEY,
    CONTRACT_DIR,
    ClauseCannotJudge,
    clause_of,
    notes_of,
    subject_rank,
)
from .loading import ProviderLoadError, ProviderSpec, load_provider, make_canary_key, redact
from .report import Verdict, dump_json

_VERDICT_KEY = "laios_verdict"
_RECORDED_KEY = "laios_recorded"


class ConformanceSession:
    """State and hooks of one conformance run."""

    def __init__(self, config: pytest.Config, specs: list[ProviderSpec]) -> None:
        self.config = config
        self.specs = specs
        self.verdict = Verdict()
        self.strict = bool(config.getoption("laios_strict") or config.getini("laios_strict"))
        self.report_path = config.getoption("laios_report")
        self.max_cassette_age = config.getoption("laios_max_cassette_age")
        self.cassette_root = self._cassette_root(config)
        self.secrets = tuple({s for spec in specs for s in spec.secrets})
        self.recording = config.getoption("--record-mode", default=None) not in (None, "none")
        self.recorded: list[str] = []
        self.lint_findings: list[Any] = []
        self.wire_formats: list[Any] = []

    @classmethod
    def from_config(cls, config: pytest.Config, targets: list[str]) -> ConformanceSession:
        canary = make_canary_key()
        kwargs_list = config.getoption("laios_provider_kwargs") or [config.getini("laios_provider_kwargs") or None]
        if len(kwargs_list) not in (1, len(targets)):
            raise pytest.UsageError(
                f"--laios-provider-kwargs was given {len(kwargs_list)} times for {len(targets)} providers; "
                "give it once (for all providers) or once per --laios-provider, in the same order"
            )
        pairs = zip(targets, kwargs_list * len(targets) if len(kwargs_list) == 1 else kwargs_list, strict=False)
        _apply_ci_defaults(config)
        try:
            with _network_guard(config):  # the instance built to check the target is a provider's code too
                specs = [load_provider(target, kwargs, canary) for target, kwargs in pairs]
        except ProviderLoadError as exc:
            raise pytest.UsageError(str(exc)) from None
        specs = [replace(spec, label=label) for spec, label in zip(specs, _unique_ids(specs), strict=False)]
        if config.args_source is not pytest.Config.ArgsSource.ARGS:
            config.args = [str(CONTRACT_DIR)]
        session = cls(config, specs)
        session.wire_formats = _register_wire_formats(config)
        return session

    @staticmethod
    def _cassette_root(config: pytest.Config) -> Path:
        configured = config.getoption("laios_cassette_dir") or config.getini("laios_cassette_dir")
        root = Path(configured) if configured else Path("cassettes")
        if root.is_absolute():
            return root
        base = Path(os.getcwd()) if config.getoption("laios_cassette_dir") else config.rootpath
        return base / root

    def cassette_dir(self, spec: ProviderSpec) -> Path:
        return self.cassette_root / spec.class_name

    # -- collection -------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "laios_provider_spec" in metafunc.fixturenames:
            metafunc.parametrize("laios_provider_spec", self.specs, ids=[spec.id for spec in self.specs])

    def pytest_recording_configure(self, config: pytest.Config, vcr: Any) -> None:
        from .cassettes import configure_vcr

        configure_vcr(vcr, self.secrets)

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Run the contract by subject (responses first, cassettes last), not by file name."""
        items.sort(
            key=lambda item: (
                subject_rank(item.module.__name__) if clause_of(item) and isinstance(item, pytest.Function) else -1
            )
        )

    # -- verdicts ---------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        self._redact(report)
        if report.when == "call":
            item.stash[CALL_PASSED] = report.passed
        found = clause_of(item)
        callspec = getattr(item, "callspec", None)
        spec = callspec and callspec.params.get("laios_provider_spec")
        if found is None or spec is None:
            return report
        clause_id, level = found
        status, message = _status_of(report, call)
        if call.excinfo is not None and call.excinfo.errisinstance(ClauseCannotJudge):
            report.longrepr = f"[{clause_id}] cannot judge: {redact(message, self.secrets)}"
        if status == "passed":
            message = "; ".join(notes_of(item))
        if status in ("failed", "error") and level == "should" and not self.strict:
            report.outcome = "skipped"
            report.wasxfail = f"should-level clause {clause_id} {status} (reported, not gating): {message}"
        report.user_properties.append(
            (
                _VERDICT_KEY,
                {"provider": spec.id, "clause": clause_id, "level": level, "status": status, "message": message},
            )
        )
        return report

    def _redact(self, report: pytest.TestReport) -> None:
        if not self.secrets or report.longrepr is None:
            return
        text = str(report.longrepr)
        if any(secret in text for secret in self.secrets):
            report.longrepr = redact(text, self.secrets)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key == _VERDICT_KEY and isinstance(value, dict):
                self.verdict.add(value["provider"], value["clause"], value["level"], value["status"], value["message"])
            elif key == _RECORDED_KEY and report.when == "teardown" and isinstance(value, str):
                self._announce_recording(Path(value))

    # -- recording ----------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        result = yield
        watch = item.stash.get(CASSETTE_KEY, None)
        if self.recording and watch is not None and watch.changed():
            item.user_properties.append((_RECORDED_KEY, str(watch.path)))
        return result

    def _announce_recording(self, path: Path) -> None:
        """One progress line per recorded cassette: a person recording against a paid API sees it."""
        from .cassettes import read_cassette, serializer

        self.recorded.append(str(path))
        interactions = len(read_cassette(path, serializer)[0])
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"laios: recorded {path.stem} -> {path} ({interactions} interaction(s), {path.stat().st_size} bytes)"
            )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.recorded and not hasattr(session.config, "workerinput"):
            from .cassettes import lint_paths

            self.lint_findings = lint_paths(sorted({Path(p).parent for p in self.recorded}))
            if self.lint_findings:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.report_path and not hasattr(session.config, "workerinput"):
            text = redact(dump_json(self.ordered_verdict().to_dict(__version__)), self.secrets)
            atomic_write_text(Path(self.report_path), text)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from . import wire

        for fmt in self.wire_formats:
            wire.unregister(fmt)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        from .base import BASE_SOURCE

        lines = [f"laios-conformance {__version__}: judging against {BASE_SOURCE} base classes"]
        lines += [f"  provider: {spec.id} (cassettes: {self.cassette_dir(spec)})" for spec in self.specs]
        return lines

    def ordered_verdict(self) -> Verdict:
        """The verdict in --laios-provider order and the contract's subject order."""
        from .clauses import all_clauses

        return self.verdict.ordered([spec.id for spec in self.specs], [c.id for c in all_clauses()])

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        lines = self.ordered_verdict().table_lines()
        if not lines:
            return
        terminalreporter.section("LAIOS conformance")
        for line in lines:
            terminalreporter.write_line(line)
        for finding in self.lint_findings:
            terminalreporter.write_line(f"cassette lint: {finding}")
        failures = [clause for _, clause in self.verdict.gate_failures(self.strict)]
        if self.lint_findings:
            failures.append(f"cassette lint: {len(self.lint_findings)} finding(s)")
        terminalreporter.write_line(f"gate: FAILED ({', '.join(failures)})" if failures else "gate: passed")


def _status_of(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[str, str]:
    if report.passed:
        return "passed", ""
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return "skipped", reason.removeprefix("Skipped: ")
    message = _message_of(report, call)
    if report.when != "call" or (call.excinfo is not None and call.excinfo.errisinstance(ClauseCannotJudge)):
        return "error", message
    return "failed", message


def _message_of(report: pytest.TestReport, call: pytest.CallInfo[None]) -> str:
    excinfo = call.excinfo
    if excinfo is None:
        return str(report.longrepr)
    if excinfo.errisinstance(pytest.fail.Exception) or excinfo.errisinstance(ClauseCannotJudge):
        return str(excinfo.value)
    return excinfo.exconly()


def _unique_ids(specs: list[ProviderSpec]) -> list[str]:
    """Targets, numbered from the second time the same one is given (``mod:Cls#2``)."""
    seen: dict[str, int] = {}
    ids = []
    for spec in specs:
        seen[spec.target] = seen.get(spec.target, 0) + 1
        ids.append(spec.target if seen[spec.target] == 1 else f"{spec.target}#{seen[spec.target]}")
    return ids


def _register_wire_formats(config: pytest.Config) -> list[Any]:
    """Register the decoders contributed through the ``pytest_laios_wire_formats`` hook."""
    from . import wire

    added = [fmt for formats in config.hook.pytest_laios_wire_formats(config=config) for fmt in formats or ()]
    for fmt in added:
        wire.register(fmt)
    return added


LOOPBACK_HOSTS = r"127\.\d+\.\d+\.\d+$,localhost$,::1$"


def _apply_ci_defaults(config: pytest.Config) -> None:
    """Replaying, no request leaves the machine: on CI none at all (and replay is the
    default there), elsewhere none beyond loopback, whatever stack or thread sends it."""
    if config.getoption("--record-mode", default=None) is not None:
        return
    if os.environ.get("CI"):
        config.option.record_mode = "none"
    elif not config.getoption("--block-network", default=False) and not config.getoption("--allowed-hosts", None):
        config.option.allowed_hosts = LOOPBACK_HOSTS
    config.option.block_network = True


def _network_guard(config: pytest.Config) -> contextlib.AbstractContextManager[None]:
    """pytest-recording's network block, as its fixture applies it to each test in replay."""
    if config.getoption("--record-mode", default=None) not in (None, "none") or not config.getoption(
        "--block-network", default=False
    ):
        return contextlib.nullcontext()
    from pytest_recording import network

    allowed = config.getoption("--allowed-hosts", None)
    return network.blocking_context(allowed_hosts=allowed.split(",") if isinstance(allowed, str) else allowed)


def cassette_hint(spec: ProviderSpec, clause_id: str, rewrite: bool = False) -> str:
    """The command that records the cassette a clause needs."""
    mode = "rewrite" if rewrite else "once"
    return f"pytest --laios-provider={spec.target} --record-mode={mode} -k {clause_id.replace('-', '_')}"
