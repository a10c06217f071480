"""The kit at work during one pytest run: providers, fixtures, collection, verdicts, report.

Registered by the plugin only when a provider is given. Like pytest-recording's plugin
object, :class:`ConformanceSession` provides the fixtures the contract asks for (the
provider, its profile, its cassette, and pytest-recording's cassette settings) and owns
the verdict. The verdict starts complete: every catalogued clause, for every provider, is
``not-run`` until its result arrives, so a run that judged less than the contract says so.
Results ride on each test report (``user_properties``), so under pytest-xdist the
controller merges one verdict.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import warnings
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from . import roots
from ._files import atomic_write_text
from ._guards import (
    check_paths,
    exit_past,
    install_redaction,
    read_call_timeout,
    read_flag,
    read_secret_env,
    read_secret_names,
    redact_warning,
    spelled_flags,
    unfinished_work,
)
from ._offline import blocked_reach, offline
from ._redact import redact_report
from ._terminal import RedactedTerminal
from ._tracebacks import remember_statement_ranges
from ._version import __version__
from ._watchdog import CallTimedOut
from .cassette_dirs import cassette_dir
from .cassettes import bookkeeping
from .clauses import Clause, ClauseCannotJudge, clause_of, find, notes_of, running_clause
from .loading import (
    ProviderLoadError,
    ProviderSpec,
    declared_secrets,
    load_providers,
    provide_secret_env,
    redact,
)
from .report import Verdict, dump_json, worse_status

_VERDICT_KEY = "laios_verdict"
_UNCAPTURED = ("no", "tee-sys")  # capture modes that show the provider's output live
_WORST_SO_FAR = pytest.StashKey[dict[str, Any]]()
_CANNOT_JUDGE = (ClauseCannotJudge, CallTimedOut)
_BLOCKED_REACH = (
    "the provider reached for the network beyond the recorded requests ({blocked}), and replay blocks "
    "it: this clause cannot be judged offline. A library that downloads data on first use (tiktoken's "
    "encodings, a Hugging Face tokenizer) needs its cache in place before the run (TIKTOKEN_CACHE_DIR, HF_HOME); "
    "a request to the API itself that no cassette records (a token-counting endpoint, say) is judged only by a "
    "recording run"
)
_EVIDENCE_KEY = "laios_evidence"
_RECORDED_KEY = "laios_recorded"
_UNKEPT_KEY = "laios_recording_not_kept"
_DESELECTED_KEY = "laios_deselected"
NO_RESULT = "no result: not collected, deselected, or the run stopped before it"
DESELECTED = "deselected by -k, -m or --deselect"
STOPPED = "the run stopped before it: -x, --maxfail, --sw or an interrupt"
DESELECTED_OR_PASSED_LAST_TIME = "deselected by -k, -m, --deselect, or --lf (it passed in the last run)"
_PYTEST_TIMEOUT = r"Timeout \(>(.+?)s\) from pytest-timeout\."  # its failure's message (PYTEST_FAILURE_MESSAGE)
_PASSED_WHEN_RUN_AGAIN = (
    "flaky: an earlier run of this clause failed, and it passed when run again (--reruns, a flaky mark or "
    "--force-flaky); a clause that fails once fails, as the provider's callers would have seen that failure. "
    "The failure: "
)


class ConformanceSession:
    """State, hooks and fixtures of one conformance run."""

    def __init__(self, config: pytest.Config, specs: list[ProviderSpec], catalogue: list[Clause]) -> None:
        self.config = config
        self.specs = specs
        self.catalogue = catalogue
        self.strict = read_flag(config, "laios_strict")
        allow_partial = read_flag(config, "laios_allow_partial")
        self.verdict = Verdict(self.strict, allow_partial)
        for spec in specs:
            for known in catalogue:
                self.verdict.expect(spec.id, known.id, known.level, NO_RESULT)
        self.report_path = config.getoption("laios_report")
        if self.report_path and not hasattr(config, "workerinput"):
            # A run that ends without writing one (the process ended) must not leave last run's.
            Path(self.report_path).unlink(missing_ok=True)
        self.max_cassette_age = config.getoption("laios_max_cassette_age")
        self.cassette_root = self._cassette_root(config)
        self.secrets = tuple({s for spec in specs for s in spec.secrets})
        self.recording = _is_recording(config)
        self.recorded: list[str] = []
        self.kept: list[str] = []
        self.gate_shown = False  # by the terminal summary
        self.leftovers_removed = [] if hasattr(config, "workerinput") else self._clean_leftovers()
        self.lint_findings: list[Any] = []
        self.wire_formats: list[Any] = []
        self.judging = config.args_source is not pytest.Config.ArgsSource.ARGS
        self.deselected: dict[str, tuple[str, str]] = {}
        self.running: pytest.Item | None = None  # the clause being run, if any
        self.threads_before = {t.ident for t in threading.enumerate()}
        self.undo_redaction: Any = lambda: None
        self.terminal = RedactedTerminal(())
        self.env_set: list[str] = []  # environment variables the kit gave a fake key, unset at the end
        self.refused = False  # a usage error found while collecting
        self.replaced_fixture = ""  # why no clause can judge (a project fixture replaces the kit's)
        self.exitstatus = 0

    @classmethod
    def from_config(cls, config: pytest.Config, targets: list[str]) -> ConformanceSession:
        kwargs_list = config.getoption("laios_provider_kwargs") or [config.getini("laios_provider_kwargs") or None]
        threads_before = {t.ident for t in threading.enumerate()}  # before any provider code runs
        secret_names, call_timeout = read_secret_names(config), read_call_timeout(config)
        for flag in ("laios_strict", "laios_allow_partial"):  # checked before any provider code runs
            read_flag(config, flag)
        _apply_ci_defaults(config)
        check_paths(config, cls._cassette_root(config), _is_recording(config))
        try:
            env_secrets, env_set = provide_secret_env(read_secret_env(config), spelled_flags(config).secret_env)
        except ProviderLoadError as exc:
            raise pytest.UsageError(str(exc)) from None
        # pytest captures nothing while it is configured: the constructor the kit calls now to
        # check each target writes to the terminal, so that is redacted whatever the capture mode.
        terminal = RedactedTerminal([*declared_secrets(kwargs_list, secret_names), *env_secrets])
        try:
            session = cls._built(config, targets, kwargs_list, secret_names, call_timeout, env_secrets)
        except BaseException:
            terminal.close()
            _unset(env_set)
            raise
        session.env_set = env_set
        if config.getoption("capture", "fd") in _UNCAPTURED:  # the clauses' output reaches the terminal too
            session.terminal = terminal
        else:
            terminal.close()
        session.threads_before = threads_before
        return session

    @classmethod
    def _built(
        cls,
        config: pytest.Config,
        targets: list[str],
        kwargs_list: list[Any],
        secret_names: tuple[str, ...],
        call_timeout: float | None,
        env_secrets: list[str],
    ) -> ConformanceSession:
        """The session for ``targets``, each loaded and checked; a usage error for what cannot be judged."""
        from .seam import adopting_new_threads

        try:
            # The instance built to check the target is a provider's code too; a thread its
            # module or constructor starts (an event loop, a pool) sends the provider's requests.
            with _network_guard(config), adopting_new_threads(), _same_working_directory():
                specs = load_providers(
                    targets,
                    kwargs_list,
                    spelled_flags(config),
                    secret_names=secret_names,
                    call_timeout=call_timeout,
                    env_secrets=env_secrets,
                )
        except ProviderLoadError as exc:
            raise pytest.UsageError(str(exc)) from None
        from .contract import CONTRACT_DIR, catalogue

        if config.args_source is not pytest.Config.ArgsSource.ARGS:
            config.args = [str(CONTRACT_DIR)]
            _refuse_settings_that_hide_the_contract(config)
        session = cls(config, specs, catalogue())
        session.refuse_shared_cassette_folders()
        session.refuse_unusable_cassette_folders()
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

    def refuse_unusable_cassette_folders(self) -> None:
        """A file where a provider's cassette folder should be keeps every clause from replaying
        or recording: one line now, not the same error from each clause."""
        for spec in self.specs:
            problem = bookkeeping.folder_problem(self.cassette_dir(spec), spec.target)
            if problem:
                raise pytest.UsageError(problem)

    def refuse_shared_cassette_folders(self) -> None:
        """Two providers given different arguments cannot share a cassette folder (one per class
        name): each would replay the other's recorded requests, and re-recording one breaks the other."""
        first_in: dict[Path, ProviderSpec] = {}
        for spec in self.specs:
            folder = self.cassette_dir(spec)
            first = first_in.setdefault(folder, spec)
            if first is not spec and first.kwargs != spec.kwargs:
                raise pytest.UsageError(
                    f"--laios-provider {first.id!r} and {spec.id!r} would share the cassette folder "
                    f"{str(folder)!r} (one per class name), but they are given different arguments, so their recorded "
                    "requests would clash; give each configuration a class of its own (a subclass is enough: "
                    "class GroqClient(OpenAIClient): pass), whose cassettes get a folder of their own"
                )

    def options_to_repeat(self, spec: ProviderSpec) -> str:
        """Options of this run that a command to record a cassette must repeat. Constructor
        arguments are not repeated (they may hold a key), only named; a provider that got the
        kit's fake key is told where to pass a real one (recording with the fake one gets a 401)."""
        also = ""
        if self.config.getoption("laios_cassette_dir"):
            also += f" --laios-cassette-dir={self.config.getoption('laios_cassette_dir')}"
        if self.config.getoption("laios_provider_kwargs"):
            also += " --laios-provider-kwargs=<the same JSON as this run>"
        elif spec.canary_key:
            also += (
                f""" --laios-provider-kwargs='{{"api_key": "${KEY_VARIABLE}"}}'; the kit reads the key from the """
                f"environment variable {KEY_VARIABLE}: export it first"
            )
        return also

    def cassette_dir(self, spec: ProviderSpec) -> Path:
        named = bool(self.config.getoption("laios_cassette_dir") or self.config.getini("laios_cassette_dir"))
        return cassette_dir(self.cassette_root, spec.factory, spec.class_name, named=named, recording=self.recording)

    # -- fixtures the contract asks for ---------------------------------------------------

    @pytest.fixture
    def provider(self, laios_provider_spec: ProviderSpec) -> Iterator[Any]:
        """A fresh instance of the provider under test, closed afterwards."""
        try:
            instance = _fresh_instance(laios_provider_spec)
        except CallTimedOut as exc:  # a BaseException, which pytest 9.2 leaves the fixture half set up after
            raise ClauseCannotJudge(str(exc)) from None
        yield instance
        _close(instance)

    @pytest.fixture
    def provider_built_with(self, laios_provider_spec: ProviderSpec) -> Iterator[Callable[..., Any]]:
        """Builds further instances with some constructor arguments replaced (for a clause that
        judges one of them, such as ``timeout``); each is closed afterwards, quietly."""
        built: list[Any] = []

        def build(**overrides: Any) -> Any:
            built.append(_fresh_instance(laios_provider_spec, **overrides))
            return built[-1]

        yield build
        for instance in built:
            with contextlib.suppress(Exception):
                _close(instance)

    @pytest.fixture
    def profile(self, provider: Any) -> dict[str, Any]:
        """The provider's declared limits (``conformance_profile``), validated."""
        from .profile import read_profile

        return read_profile(provider)

    @pytest.fixture
    def cassette_age_limit(self) -> int | None:
        """``--laios-max-cassette-age`` in days, or None."""
        return cast("int | None", self.max_cassette_age)

    @pytest.fixture
    def recorded_cassettes(self, laios_provider_spec: ProviderSpec) -> list[tuple[str, Any]]:
        """(file name, recording date or None) of every cassette of the provider."""
        from .cassettes import cassette_recorded_at

        directory = self.cassette_dir(laios_provider_spec)
        return [(path.name, cassette_recorded_at(path)) for path in sorted(directory.glob("*.yaml"))]

    @pytest.fixture
    def recorded_key_places(self, laios_provider_spec: ProviderSpec) -> dict[str, set[str]]:
        """Where the provider's cassettes say its recorded requests carried the key, and in
        which forms (``Bearer <REDACTED>``)."""
        from .cassettes import recorded_key_places

        return recorded_key_places(sorted(self.cassette_dir(laios_provider_spec).glob("*.yaml")))

    @pytest.fixture
    def recorded_request_headers(self, laios_provider_spec: ProviderSpec) -> dict[str, set[str]]:
        """The values each request header had in the provider's recorded requests."""
        from .cassettes import recorded_request_headers

        return recorded_request_headers(sorted(self.cassette_dir(laios_provider_spec).glob("*.yaml")))

    @pytest.fixture
    def vcr_cassette_dir(
        self, request: pytest.FixtureRequest, laios_provider_spec: ProviderSpec, record_mode: str
    ) -> str:
        """The provider's cassette folder; the clause's cassette is checked before vcrpy opens it."""
        directory = self.cassette_dir(laios_provider_spec)
        found = clause_of(request.node)
        if found and request.node.get_closest_marker("vcr"):
            path = directory / f"{found[0]}.yaml"
            # rewrite never reads the old cassette, and is how a corrupt one is fixed
            problem = bookkeeping.folder_problem(directory, laios_provider_spec.target) or (
                record_mode != "rewrite"
                and bookkeeping.corrupt_cassette_problem(
                    path, laios_provider_spec.target, found[0], self.options_to_repeat(laios_provider_spec)
                )
            )
            if problem:
                pytest.fail(problem, pytrace=False)
            request.node.stash[bookkeeping.CASSETTE_KEY] = bookkeeping.CassetteWatch(
                path, bookkeeping.file_signature(path)
            )
            if record_mode in ("rewrite", "all"):
                return str(_stage_rewrite(request, path, record_mode))
            # vcr depends on this fixture, so this runs after vcr has saved the cassette
            request.addfinalizer(lambda: self._drop_if_interrupted(request.node))
        return str(directory)

    @pytest.fixture
    def default_cassette_name(self, request: pytest.FixtureRequest) -> str:
        found = clause_of(request.node)
        return found[0] if found else str(request.node.name)

    @pytest.fixture
    def vcr_config(self, laios_provider_spec: ProviderSpec) -> dict[str, Any]:
        from .cassettes import base_vcr_config

        return base_vcr_config(laios_provider_spec.secrets)

    @pytest.fixture
    def cassette(
        self, request: pytest.FixtureRequest, laios_provider_spec: ProviderSpec, record_mode: str, vcr: Any
    ) -> Iterator[Any]:
        """The clause's open cassette. In replay, a missing file, or interactions left unplayed,
        mean the clause cannot be judged (error); the message says how to record."""
        watch = request.node.stash[bookkeeping.CASSETTE_KEY]
        missing = bookkeeping.missing_cassette_problem(
            watch, laios_provider_spec.target, record_mode, self.options_to_repeat(laios_provider_spec)
        )
        if missing:
            raise ClauseCannotJudge(missing)
        yield vcr
        if vcr is None or record_mode != "none" or not request.node.stash.get(bookkeeping.CALL_PASSED, False):
            return
        unplayed = bookkeeping.unplayed_problem(watch, vcr)
        if unplayed:
            pytest.fail(unplayed, pytrace=False)

    def _clean_leftovers(self) -> list[Path]:
        """Temporary files an interrupted write left in the cassette folders (before any worker starts)."""
        from .cassettes.leftovers import clean_leftovers

        return [path for spec in self.specs for path in clean_leftovers(self.cassette_dir(spec))]

    def _drop_if_interrupted(self, item: pytest.Item) -> None:
        """A new cassette whose clause never finished (Ctrl-C while recording) may lack
        exchanges, and ``--record-mode=once`` would never replace it: remove it. (The
        teardown hook that does this for a clause that errored is not called then.)"""
        watch = item.stash[bookkeeping.CASSETTE_KEY]
        if bookkeeping.CALL_PASSED in item.stash or watch.before is not None or not watch.recorded_here():
            return
        watch.path.unlink(missing_ok=True)
        self._announce(
            f"laios: not kept {watch.path}: the run stopped while its clause was recording, so it may lack "
            "exchanges; record it again"
        )

    def _announce(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)

    # -- collection -----------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "laios_provider_spec" in metafunc.fixturenames:
            metafunc.parametrize("laios_provider_spec", self.specs, ids=[spec.id for spec in self.specs])

    def pytest_recording_configure(self, config: pytest.Config, vcr: Any) -> None:
        from .cassettes import configure_vcr

        configure_vcr(vcr, self.secrets)

    @pytest.hookimpl(trylast=True)  # after the project's own hooks: the items that will run
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Run the contract in the catalogue's order (by subject, as the contract lists them)."""
        try:
            _refuse_replaced_fixtures(items)
        except pytest.UsageError as error:
            if hasattr(self.config, "workerinput"):  # xdist would take it for a crash: each clause errors
                self.replaced_fixture = str(error)
            else:
                self.judging, self.refused = False, True  # a usage error, in its one line: no verdict, no table
                raise
        rank = {known.id: index for index, known in enumerate(self.catalogue)}
        order: dict[int, int] = {}
        for item in items:
            key = _verdict_key(item)
            if key is not None and item.nodeid not in self.deselected:
                self.judging = True
                self.verdict.mark_not_run(*key, STOPPED)  # until its result arrives
            found = clause_of(item)
            order[id(item)] = rank.get(found[0], len(rank)) if found else -1
        items.sort(key=lambda item: order[id(item)])

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:
            key = _verdict_key(item)
            if key is not None:
                self.judging = True
                self.deselected[item.nodeid] = key
                self.verdict.mark_not_run(*key, self._deselected_reason())

    def _deselected_reason(self) -> str:
        return DESELECTED_OR_PASSED_LAST_TIME if self.config.getoption("lf", False) else DESELECTED

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """Under pytest-xdist the workers collect and deselect; the controller hears why here."""
        for provider, clause_id in getattr(node, "workeroutput", {}).get(_DESELECTED_KEY, ()):
            self.verdict.mark_not_run(provider, clause_id, self._deselected_reason())

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        """Under pytest-xdist a clause whose worker process ended sends no result of its own:
        it errors, rather than reading as a clause that never ran."""
        self._process_ended(crashitem, str(report.longrepr))

    def _process_ended(self, nodeid: str, how: str) -> None:
        found = self._clause_of_nodeid(nodeid)
        if found is not None:
            provider, known = found
            self.judging = True
            self.verdict.add(
                provider,
                known.id,
                known.level,
                "error",
                f"{how}: the process ended during this clause (the provider called os._exit, raised "
                "KeyboardInterrupt, or crashed); a provider must raise an exception instead",
            )

    def _clause_of_nodeid(self, nodeid: str) -> tuple[str, Clause] | None:
        """(provider id, clause) of a clause's node id: ``path::test_name[provider id]``, the id
        maybe joined with other parameters' by ``-`` (``[provider id-1-3]`` under pytest-repeat)."""
        name, _, param = nodeid.rpartition("::")[2].partition("[")
        joined = f"-{param.removesuffix(']')}-"
        provider = max((spec.id for spec in self.specs if f"-{spec.id}-" in joined), key=len, default=None)
        known = next((c for c in self.catalogue if c.function.__name__ == name), None)
        if known is None or provider is None:
            return None
        return provider, known

    # -- running and verdicts ------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        from .seam import resets_serialised

        self.running = item
        with _offline_guard(self.config), resets_serialised():  # the clause's cassette opens and closes inside
            result = yield
        self.running = None  # left set when a KeyboardInterrupt leaves the clause, for the hook below
        return result

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """The clause running at a KeyboardInterrupt errors, saying whose it was: pytest
        reports no result for it, and it would read as one the run never reached."""
        item, self.running = self.running, None
        spec, found = (_spec_of(item), clause_of(item)) if item is not None else (None, None)
        if spec is None or found is None:
            return
        cause = roots.provider_exception(excinfo, spec, self.secrets)
        why = (
            f"the provider raised KeyboardInterrupt at {cause['where']} (in {cause['call']}): a provider must "
            "raise an Exception, which callers handle, not end the caller's program"
            if cause
            else "interrupted (Ctrl-C) while this clause ran"
        )
        self.verdict.add(spec.id, found[0], found[1], "error", f"{why}; the clauses after it did not run")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        found = clause_of(item)
        with running_clause(found[0] if found else None):
            try:
                result = yield
            except Exception as exc:
                blocked = None if isinstance(exc, _CANNOT_JUDGE) else blocked_reach(exc)
                if blocked is None:
                    raise
                raise ClauseCannotJudge(_BLOCKED_REACH.format(blocked=blocked)) from exc
        _failed_before(item)
        return result

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.replaced_fixture and clause_of(item) is not None:
            raise ClauseCannotJudge(self.replaced_fixture)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.undo_redaction = install_redaction(self.config, self.secrets)
        remember_statement_ranges()

    @pytest.hookimpl(tryfirst=True)
    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage) -> None:
        redact_warning(warning_message, self.secrets)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, Any]:
        raised = call.excinfo  # pytest's unittest plugin swaps a unittest.SkipTest for a skip raised elsewhere
        report = yield
        self._judge(item, call, report, raised)
        redact_report(report, self.secrets)
        return report

    def _judge(
        self,
        item: pytest.Item,
        call: pytest.CallInfo[Any],
        report: pytest.TestReport,
        raised: pytest.ExceptionInfo[BaseException] | None,
    ) -> None:
        if report.when == "call":
            item.stash[bookkeeping.CALL_PASSED] = report.passed
        found = clause_of(item)
        spec = _spec_of(item)
        if found is None or spec is None:
            return
        clause_id, level = found
        if report.when == "teardown":
            watch = item.stash.get(bookkeeping.CASSETTE_KEY, None)
            evidence = bookkeeping.evidence(watch, self.cassette_root, self.recording)
            report.user_properties.append(
                (_EVIDENCE_KEY, {"provider": spec.id, "clause": clause_id, "evidence": evidence})
            )
        if report.passed and report.when != "call":
            worst = item.stash.get(_WORST_SO_FAR, None)
            if report.when == "teardown" and worst is not None:  # JUnit reads the teardown's properties
                report.user_properties.append((_VERDICT_KEY, worst))
            return
        status, message = _status_of(report, call, item, raised)
        textless = _textless_answer(getattr(item, "funcargs", {}).get("cassette")) if status == "failed" else None
        if textless:
            status, message = "error", textless
            report.longrepr = f"[{clause_id}] cannot judge: {redact(message, self.secrets)}"
        # An exception the provider raised on an answer without text is its right answer, no root cause.
        cause = roots.provider_exception(call.excinfo, spec, self.secrets) if call.excinfo and not textless else None
        if call.excinfo is not None and call.excinfo.errisinstance(_CANNOT_JUDGE):
            report.longrepr = f"[{clause_id}] cannot judge: {redact(message, self.secrets)}"
        elif status == "failed" and cause is not None and call.excinfo and roots.is_uncaught(call.excinfo):
            message = roots.success_case_failure(
                clause_id, cause, find(clause_id), exception=call.excinfo.errisinstance(Exception)
            )
            report.longrepr = message
        if status == "passed":
            message = "; ".join(notes_of(item))
        earlier = item.stash.get(_WORST_SO_FAR, None)
        if earlier is not None and message.startswith(_PASSED_WHEN_RUN_AGAIN):  # see _failed_before
            status, cause = earlier["status"], earlier["exception"]
        if status in ("failed", "error") and level == "should" and not self.strict:
            report.outcome = "skipped"
            report.wasxfail = f"should-level clause {clause_id} {status} (reported, not gating): {message}"
        result: dict[str, Any] = {
            "provider": spec.id,
            "clause": clause_id,
            "level": level,
            "status": status,
            "message": redact(message, self.secrets),
            "exception": cause,
        }
        if earlier is None or worse_status(result["status"], earlier["status"]):
            item.stash[_WORST_SO_FAR] = result
        report.user_properties.append((_VERDICT_KEY, result))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from .cassettes.rewrite import KEPT_PROPERTY

        if report.failed and all(key != _VERDICT_KEY for key, _ in report.user_properties):
            # A report written past the kit's report hook: pytest-forked's, for a child that ended.
            self._process_ended(report.nodeid, re.sub(r"^\S+\.py:\d+: ", "", str(report.longrepr)))
        for key, value in cast("list[tuple[str, Any]]", report.user_properties):
            if key == _VERDICT_KEY:
                self.judging = True
                if value["status"] == "not-run":
                    self.verdict.mark_not_run(value["provider"], value["clause"], value["message"])
                else:
                    self.verdict.add(
                        value["provider"],
                        value["clause"],
                        value["level"],
                        value["status"],
                        value["message"],
                        value.get("exception"),
                        supersede=value["message"].startswith(_PASSED_WHEN_RUN_AGAIN),
                    )
            elif key == _EVIDENCE_KEY:
                self.verdict.set_evidence(value["provider"], value["clause"], value["evidence"])
            elif key == _RECORDED_KEY and report.when == "teardown":
                self._announce_recording(Path(value))
            elif key == _UNKEPT_KEY and report.when == "teardown":
                self._announce(
                    f"laios: not kept {value}: its clause could not judge while recording, so the recording may "
                    "lack exchanges; record it again once the clause's error is fixed"
                )
            elif key == KEPT_PROPERTY and report.when == "teardown":
                self._announce(str(value))
                self.kept.append(str(value))

    # -- recording ----------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
        result = yield
        watch = item.stash.get(bookkeeping.CASSETTE_KEY, None)
        if not (self.recording and watch is not None and watch.recorded_here()):
            return result
        worst = item.stash.get(_WORST_SO_FAR, None)
        if watch.before is None and worst is not None and worst["status"] == "error":
            # The clause could not judge (the API failed a request, say): what was recorded may
            # lack its later exchanges, and --record-mode=once would never replace it.
            watch.path.unlink(missing_ok=True)
            item.user_properties.append((_UNKEPT_KEY, str(watch.path)))
        else:
            item.user_properties.append((_RECORDED_KEY, str(watch.path)))
        return result

    def _announce_recording(self, path: Path) -> None:
        """One progress line per recorded cassette: a person recording against a paid API sees it."""
        from .cassettes import read_cassette, serializer

        self.recorded.append(str(path))  # linted at the end: a file the kit refuses fails the gate there
        try:
            what = f"{len(read_cassette(path, serializer)[0])} interaction(s), {path.stat().st_size} bytes"
        except Exception as error:  # e.g. over the size limit, or a body that is not UTF-8
            what = f"which the kit refuses to read back: {redact(str(error), self.secrets)[:200]}"
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"laios: recorded {path.stem} -> {path} ({what})")

    # -- the end of the run ---------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(session.config, "workerinput"):
            session.config.workeroutput[_DESELECTED_KEY] = list(self.deselected.values())  # type: ignore[attr-defined]  # set by pytest-xdist on workers
            self.exitstatus = int(session.exitstatus)
            return
        self._name_why_the_run_stopped(session)
        if self.recorded:
            from .cassettes import lint_paths

            self.lint_findings = lint_paths(sorted({Path(p).parent for p in self.recorded}))
            self.verdict.lint = [str(finding) for finding in self.lint_findings]
            if self.lint_findings:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.judges() and not self.ordered_verdict().gate().passed and session.exitstatus in _GATE_CAN_FAIL:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.report_path and self.judges():
            text = redact(dump_json(self.ordered_verdict().to_dict(__version__)), self.secrets)
            atomic_write_text(Path(self.report_path), text)
        elif self.report_path and not _runs_no_clause(self.config) and session.exitstatus in _GATE_CAN_FAIL:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a verdict was asked for, and there is none
        self.exitstatus = int(session.exitstatus)

    def _name_why_the_run_stopped(self, session: pytest.Session) -> None:
        """The reason pytest stopped early, where it gives one (``-x``/``--maxfail``,
        ``--sw``, pytest-timeout's ``--session-timeout``), for the clauses it left out."""
        why = session.shouldfail or session.shouldstop
        if not isinstance(why, str) or not why:
            return
        for clauses in self.verdict.providers.values():
            for result in clauses.values():
                if result.status == "not-run" and result.message == STOPPED:
                    result.message = f"the run stopped before it (pytest: {why})"

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from . import wire

        if self.judges() and config.getoption("no_summary", False) and not self.gate_shown:
            self._announce(self.ordered_verdict().gate_line())  # --no-summary ran no summary hook before pytest 9.2
        self.undo_redaction()
        self.terminal.close()
        _unset(self.env_set)
        exit_past(unfinished_work(self.threads_before)[1], self.exitstatus)
        for fmt in self.wire_formats:
            wire.unregister(fmt)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        from .base import BASE_SOURCE

        lines = [f"laios-conformance {__version__}: judging against {BASE_SOURCE} base classes"]
        lines += [f"  provider: {spec.id} (cassettes: {self.cassette_dir(spec)})" for spec in self.specs]
        return lines

    def ordered_verdict(self) -> Verdict:
        """The verdict in --laios-provider order and the contract's subject order."""
        return self.verdict.ordered([spec.id for spec in self.specs], [c.id for c in self.catalogue])

    def collected_nothing_to_judge(self) -> bool:
        """Paths were given (the project's own tests), and none of them is the contract's."""
        return not self.judging and not self.refused and not _runs_no_clause(self.config)

    def judges(self) -> bool:
        """Whether this run is a conformance run: it collected the contract (not only the
        user's own tests) and meant to run it (not ``--collect-only``, ``--fixtures``...)."""
        return self.judging and not _runs_no_clause(self.config)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for line in unfinished_work(self.threads_before)[0]:
            terminalreporter.write_line(f"laios: {line}", red=True)
        for path in self.leftovers_removed:  # here, not in the header, which -q hides
            terminalreporter.write_line(f"laios: removed {path}, left by an interrupted cassette write")
        if not self.judges():
            if self.collected_nothing_to_judge():
                terminalreporter.write_line(
                    "laios: --laios-provider was given, but the paths given hold no clause of the contract, so no "
                    "provider was judged"
                    + (" and no verdict was written" if self.report_path else "")
                    + ": add --pyargs laios_conformance.contract to judge it beside your own tests",
                    yellow=True,
                )
            return
        verdict = self.ordered_verdict()
        self.gate_shown = True
        if self.config.getoption("no_summary", False):  # from pytest 9.2 summary hooks run: the gate line only
            terminalreporter.write_line(verdict.gate_line())
            return
        terminalreporter.section("LAIOS conformance")
        for cause in verdict.root_causes():
            terminalreporter.write_line(cause.line)
        for line in verdict.table_lines():
            terminalreporter.write_line(line)
        for line in _not_gating_lines(verdict, len(self.specs) > 1):
            terminalreporter.write_line(line)
        for finding in self.lint_findings:
            terminalreporter.write_line(f"cassette lint: {finding}")
        for kept in self.kept:
            terminalreporter.write_line(kept)
        terminalreporter.write_line(verdict.gate_line())


_SHOWN_MESSAGE_LINES = 30


def _not_gating_lines(verdict: Verdict, several: bool) -> list[str]:
    """Why each *should* clause failed: pytest counts it as xfailed and shows no reason unless
    asked (``-rx``), and a failed clause must say what failed and how to fix it."""
    lines = []
    for provider, clause_id, result in verdict.not_gating_failures():
        whose = f" for {provider}" if several else ""
        lines.append(f"{clause_id} (should) {result.status}{whose}, reported, not gating:")
        message = result.message.splitlines()
        lines += [f"  {line}" for line in message[:_SHOWN_MESSAGE_LINES]]
        if len(message) > _SHOWN_MESSAGE_LINES:
            lines.append(f"  ... ({len(message) - _SHOWN_MESSAGE_LINES} more lines: --laios-report has them all)")
    return lines


def _failed_before(item: pytest.Item) -> None:
    """A clause run again (``--reruns``, a flaky mark, ``--force-flaky``) after an attempt
    failed fails, whatever this attempt found: raised here, in the call, so that the plugin
    running it again, pytest's counts and the JUnit XML all see the failure."""
    earlier = item.stash.get(_WORST_SO_FAR, None)
    if earlier is not None and earlier["status"] in ("failed", "error"):
        pytest.fail(_PASSED_WHEN_RUN_AGAIN + earlier["message"].removeprefix(_PASSED_WHEN_RUN_AGAIN), pytrace=False)


def _unset(names: list[str]) -> None:
    for name in names:
        os.environ.pop(name, None)


# The environment variable the kit's commands to record tell a user to put their key in.
KEY_VARIABLE = "MY_API_KEY"
_GATE_CAN_FAIL = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED, pytest.ExitCode.TESTS_FAILED)


def _stage_rewrite(request: pytest.FixtureRequest, path: Path, record_mode: str) -> Path:
    """Record into a staging folder; the cassette is replaced only if the clause judged the
    provider, passing or failing (after vcr saved)."""
    from .cassettes import serializer
    from .cassettes.rewrite import KEPT_PROPERTY, StagedRewrite

    staged = StagedRewrite(path, record_mode)

    def finish() -> None:
        # A clause that failed judged the provider: keeping its recording lets replay show the
        # failure (the old cassette would only say that the provider now sends something else).
        worst = request.node.stash.get(_WORST_SO_FAR, None)
        judged = request.node.stash.get(bookkeeping.CALL_PASSED, False) or (worst or {}).get("status") == "failed"
        outcome = staged.finish(judged, serializer)
        if not outcome.replaced:
            request.node.user_properties.append((KEPT_PROPERTY, outcome.line()))

    request.addfinalizer(finish)  # vcr depends on vcr_cassette_dir, so this runs after vcr has saved the cassette
    return staged.directory


def _fresh_instance(spec: ProviderSpec, **overrides: Any) -> Any:
    from .seam import adopting_new_threads

    with adopting_new_threads():  # see ConformanceSession._built
        return spec.build(**overrides)


def _close(instance: Any) -> None:
    close = getattr(instance, "close", None)
    if callable(close):
        close()


# pytest options (their dests) that show the tests, their fixtures or their setup instead of running them.
_RUN_NO_TEST = ("collectonly", "showfixtures", "show_fixtures_per_test", "setuponly", "setupplan")


def _runs_no_clause(config: pytest.Config) -> bool:
    """This run only lists or sets up the clauses: there is no verdict to give."""
    return any(getattr(config.option, dest, False) for dest in _RUN_NO_TEST)


def _spec_of(item: pytest.Item) -> ProviderSpec | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("laios_provider_spec") if callspec else None


def _refuse_settings_that_hide_the_contract(config: pytest.Config) -> None:
    """The project's ``python_files`` / ``python_functions`` apply to the contract's modules
    (``test_*.py``) and clauses (``test_*``) too: settings that skip them would judge nothing."""
    from fnmatch import fnmatch

    files = list(config.getini("python_files"))
    if not any(fnmatch("test_streaming.py", pattern) for pattern in files):
        raise pytest.UsageError(
            f"your pytest setting python_files = {' '.join(files)} collects none of the contract's modules "
            f"(test_*.py), so no clause would run: add test_*.py to it (python_files = {' '.join(files)} test_*.py)"
        )
    functions = list(config.getini("python_functions"))
    if not any(_matches_prefix_or_glob("test_stream_join", option) for option in functions):
        raise pytest.UsageError(
            f"your pytest setting python_functions = {' '.join(functions)} collects none of the contract's "
            f"clauses (test_*), so no clause would run: add test to it (python_functions = "
            f"{' '.join(functions)} test)"
        )


def _matches_prefix_or_glob(name: str, option: str) -> bool:
    """As pytest reads ``python_functions``: a prefix, or a glob when it has one's characters."""
    from fnmatch import fnmatch

    return name.startswith(option) or (any(c in option for c in "*?[") and fnmatch(name, option))


_KIT_MODULES = ("laios_conformance", "pytest_recording")


def _refuse_replaced_fixtures(items: list[pytest.Item]) -> None:
    """A project's conftest.py fixture named as one of the kit's (``provider``, ``cassette``,
    ``vcr_config``...) wins over it in the contract's clauses too, which would then judge
    something else than the provider given: a usage error, in one line."""
    contract = [item for item in items if clause_of(item) is not None]
    if not contract:
        return
    manager = contract[0].session._fixturemanager
    # Every name the kit or pytest-recording defines: a fixture may also be asked for by
    # name while a test runs (pytest-recording's vcr asks for vcr_config), unseen at collection.
    names = [
        name
        for name in _fixture_names(manager, contract)
        if any(
            _is_the_kits(_fixture_module(definition)) for definition in manager.getfixturedefs(name, contract[0]) or ()
        )
    ]
    for item in contract:
        for name in names:
            defs = manager.getfixturedefs(name, item) or ()
            if defs and not _is_the_kits(_fixture_module(defs[-1])):
                raise pytest.UsageError(
                    f"{_fixture_file(defs[-1])}: its fixture {name!r} replaces the one the kit's contract uses "
                    "(pytest lets a conftest.py fixture win), so the clauses would judge something other "
                    f"than --laios-provider; rename it, or keep that conftest.py out of the conformance run"
                )


def _fixture_names(manager: Any, items: list[pytest.Item]) -> set[str]:
    """The name of every fixture defined anywhere. pytest keeps them in a private table whose
    name and shape changed (``_arg2fixturedefs`` up to 9.1; by node and by node id from 9.2),
    so each known one is read, with the names the items use besides."""
    tables = ("_arg2fixturedefs", "_arg2node2fixturedefs", "_arg2nodeid2fixturedefs")
    names = {name for table in tables for name in getattr(manager, table, None) or ()}
    return names | {name for item in items for name in getattr(item, "fixturenames", ())}


def _fixture_module(definition: Any) -> str:
    return str(getattr(definition.func, "__module__", "") or "")


def _is_the_kits(module: str) -> bool:
    return module.split(".")[0] in _KIT_MODULES


def _fixture_file(definition: Any) -> str:
    import inspect

    try:
        return str(inspect.getsourcefile(definition.func) or _fixture_module(definition))
    except TypeError:
        return _fixture_module(definition)


def _verdict_key(item: pytest.Item) -> tuple[str, str] | None:
    found, spec = clause_of(item), _spec_of(item)
    return (spec.id, found[0]) if found and spec else None


def _textless_answer(cassette: Any) -> str | None:
    """Why a clause that failed on its cassette's successful answer could not judge the provider:
    that answer carries no text (a reasoning model that spent ``max_tokens`` on reasoning, a
    tool call, a refusal) or is an error sent with HTTP 200, so a provider that raised on it,
    as it must, is not at fault."""
    from . import wire
    from .contract._support import MAX_TOKENS

    for request, response in getattr(cassette, "data", None) or ():
        if not 200 <= response["status"]["code"] < 300:
            continue
        headers = {str(k).lower(): v[0] if isinstance(v, list) and v else v for k, v in response["headers"].items()}
        body = response["body"]["string"]
        body = body.encode("utf-8") if isinstance(body, str) else body or b""
        fmt = wire.detect(request.uri, request.body, headers, body)
        try:
            stream = bool(fmt and fmt.is_stream(headers, body))
        except Exception:  # a body the decoder cannot read is the clause's to report
            continue
        error = _error_sent_with_200(fmt, stream, body)
        if error is not None:
            return (
                f"the recorded answer to {request.uri} is an error the API sent with HTTP 200 ({error[:200]}), so "
                "there is nothing to judge the provider by; record it again when the API answers"
            )
        try:
            if fmt is None or fmt.extract_text(body, stream=stream):
                continue
            reason = fmt.finish_reason(body, stream=stream)
        except Exception:  # a body the decoder cannot read is the clause's to report
            continue
        stated = f" (its finish reason is {reason!r})" if reason else ""
        return (
            f"the recorded answer to {request.uri} carries no text{stated}, so there is nothing to judge the "
            "provider by. A reasoning model may spend the whole max_tokens the kit asks for "
            f"({MAX_TOKENS}) on reasoning, and an answer may be a tool call or a refusal: record it again "
            "with a model or settings that answer this prompt in text (for a reasoning model, a low reasoning effort)"
        )
    return None


def _error_sent_with_200(fmt: Any, stream: bool, body: bytes) -> str | None:
    """The error an HTTP 200 answer carries instead of an answer (as OpenRouter sends a rate
    limit: ``{"error": {...}}``, or in a stream's event), or None."""
    try:
        if stream:
            error: str | None = fmt.stream_error(body)
            return error
        document = json.loads(body)
    except Exception:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    if not error:
        return None
    return str(error.get("message", error) if isinstance(error, dict) else error)


_PROVIDER_SKIPPED = (
    "the provider raised pytest's Skipped ({reason!r}) at {where}: pytest.skip() belongs in tests, not in a "
    "provider, and it is a BaseException, which LLMRouter and every caller catching Exception let through; "
    "raise an Exception subclass"
)
_PROVIDER_RAISED_SKIPTEST = (
    "the provider raised unittest.SkipTest ({reason!r}) at {where}: pytest takes it as the clause skipping "
    "itself, so a provider that raises it would never be judged; raise an exception class of your own"
)


def _status_of(
    report: pytest.TestReport,
    call: pytest.CallInfo[Any],
    item: pytest.Item,
    raised: pytest.ExceptionInfo[BaseException] | None,
) -> tuple[str, str]:
    """The clause's status and message; ``raised`` is what its test raised, before a plugin
    replaced it."""
    if report.passed:
        return "passed", ""
    if report.skipped and not hasattr(report, "wasxfail"):  # an xfail mark does not excuse a failure
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if not roots.raised_in_clause(raised, item):
            return "not-run", f"skipped before the clause ran (a skip mark or a conftest hook): {reason}"
        spec = _spec_of(item)
        where = roots.skip_raised_by_provider(raised, spec) if raised and spec else None
        if where:
            skipped_by_pytest = raised is not None and raised.errisinstance(pytest.skip.Exception)
            template = _PROVIDER_SKIPPED if skipped_by_pytest else _PROVIDER_RAISED_SKIPTEST
            return "failed", template.format(reason=reason, where=where)
        return "skipped", reason
    message = _message_of(report, call)
    stopped = _stopped_by_pytest_timeout(call)
    if stopped:
        return "error", stopped
    if report.when != "call" or (call.excinfo is not None and call.excinfo.errisinstance(_CANNOT_JUDGE)):
        return "error", message
    return "failed", message


def _stopped_by_pytest_timeout(call: pytest.CallInfo[Any]) -> str | None:
    """pytest-timeout's signal method fails the clause wherever it is, mostly while the kit
    waits on the provider: the clause was not judged, as when the kit's own call timeout ends a call."""
    excinfo = call.excinfo
    found = (
        re.fullmatch(_PYTEST_TIMEOUT, str(excinfo.value))
        if excinfo and excinfo.errisinstance(pytest.fail.Exception)
        else None
    )
    if found is None:
        return None
    return (
        f"pytest-timeout stopped this clause after {found[1]} s (its --timeout, timeout ini key or timeout mark), so "
        "it was not judged: the provider hung, or the clause needs longer. Raise that limit for the conformance run; "
        "the kit's own --laios-call-timeout ends a hung provider call and names it"
    )


def _message_of(report: pytest.TestReport, call: pytest.CallInfo[Any]) -> str:
    excinfo = call.excinfo
    if excinfo is None:
        return str(report.longrepr)
    if excinfo.errisinstance(pytest.fail.Exception) or excinfo.errisinstance(_CANNOT_JUDGE):
        return str(excinfo.value)
    return excinfo.exconly()


def _register_wire_formats(config: pytest.Config) -> list[Any]:
    """Register the decoders contributed through the ``pytest_laios_wire_formats`` hook."""
    from . import wire

    added = [fmt for formats in config.hook.pytest_laios_wire_formats(config=config) for fmt in formats or ()]
    for fmt in added:
        wire.register(fmt)
    return added


LOOPBACK_HOSTS = r"127\.\d+\.\d+\.\d+$,localhost$,::1$"


def _is_recording(config: pytest.Config) -> bool:
    return config.getoption("--record-mode", default=None) not in (None, "none")


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


def _blocked_network(config: pytest.Config) -> tuple[bool, list[str] | None]:
    """Whether replay blocks the network, and the host patterns it still allows."""
    if config.getoption("--record-mode", default=None) not in (None, "none") or not config.getoption(
        "--block-network", default=False
    ):
        return False, None
    allowed = config.getoption("--allowed-hosts", None)
    return True, allowed.split(",") if isinstance(allowed, str) else allowed


@contextlib.contextmanager
def _same_working_directory() -> Iterator[None]:
    """The working directory as it was, whatever the provider's import or constructor did:
    relative paths (the cassette folder, ``--junitxml``, ``--laios-report``) are the
    user's, resolved against the directory the run started in."""
    start = os.getcwd()
    try:
        yield
    finally:
        os.chdir(start)


@contextlib.contextmanager
def _network_guard(config: pytest.Config) -> Iterator[None]:
    """pytest-recording's network block, as its fixture applies it to each test in replay,
    and no lookup of a name nor datagram to a host it would block."""
    blocked, allowed = _blocked_network(config)
    if not blocked:
        yield
        return
    from pytest_recording import network

    with network.blocking_context(allowed_hosts=allowed), offline(allowed):
        yield


def _offline_guard(config: pytest.Config) -> contextlib.AbstractContextManager[None]:
    """No lookup of a name nor datagram to a host the network block would refuse
    (pytest-recording blocks only connections, per test, from its own fixture)."""
    blocked, allowed = _blocked_network(config)
    return offline(allowed) if blocked else contextlib.nullcontext()
