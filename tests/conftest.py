"""Shared fixtures: the loopback stand-in API, cassettes recorded against it, and a way
to run the kit on a provider and read its verdict."""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Imported once here so that in-process kit runs (pytester restores sys.modules after
# each run) do not pay for importing them again every time. Only the kit's own dependencies
# at the top: the README's first command (``pytest --laios-provider=...`` from the
# repository root, installed without the dev extras) loads this conftest too, so the dev
# extras (filelock, jsonschema) are imported where they are used.
import hypothesis
import pytest
import vcr  # noqa: F401  # imported to warm sys.modules

import laios_conformance.contract._support
import laios_conformance.session  # noqa: F401  # imported to warm sys.modules
from laios_conformance._tracebacks import remember_statement_ranges
from laios_conformance.contract._hypothesis import register_profiles
from laios_conformance.report import verdict_from_dict, verdict_schema
from tests.support.fake_api import FakeAPI
from tests.support.recording import record

GOOD = "tests.providers.openai_style:GoodOpenAIStyle"
NON_STREAMING = "tests.providers.defective:NonStreaming"
DROPS_SYSTEM_PROMPT = "tests.providers.defective:DropsSystemPrompt"
# The tests that judge GOOD on the whole contract share one run (``judged_together``).
GOOD_FULL_RUN = "good-full-run"
OPENAI_BASE = "https://api.openai.com"


# The kit installs this in its own runs; the suite's own failures (and in-process kit runs
# that fail before the kit's session starts) get it too.
remember_statement_ranges()


def default_workers() -> int:
    """How many xdist workers run the kit's own suite when no -n is given: one more than the
    cores this process may use (at most 8). Workers wait on subprocesses and on clauses that
    pace replies on the real clock; on 2 cores a third worker fills those waits (325 s ->
    282 to 290 s of wall time), a fourth gained nothing more (docs/performance.md)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores + 1, 8)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Run the whole own suite (``pytest`` with no paths) on pytest-xdist workers (:func:`default_workers`),
    and stop any own test that hangs (:func:`limit_each_test`).

    Set here rather than in ``addopts`` so that ``-p no:xdist`` still works, and so that the
    kit runs this suite starts from the repository root (``--laios-provider=...``) keep
    their serial default. ``-n 0`` runs the suite serially; a run of named files or
    directories stays serial (worker start-up would cost it more than it saves) unless
    ``-n`` is given.
    """
    option = config.option
    if getattr(option, "laios_provider", None):
        return  # a kit run from the repository root (the README's first command) keeps its defaults
    limit_each_test(config)
    if not config.pluginmanager.has_plugin("xdist") or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if config.args_source is not pytest.Config.ArgsSource.TESTPATHS:
        return
    if option.numprocesses is not None or option.dist != "no":
        return
    if option.usepdb or option.collectonly:
        return
    option.numprocesses = default_workers()
    option.dist = "loadgroup"


# The longest own test takes under a minute on a busy 2-core machine.
OWN_TEST_TIME_LIMIT = 600


def limit_each_test(config: pytest.Config) -> None:
    """Stop an own test that runs for ten minutes, with every thread's stack, rather than let a
    hang run into CI's 90-minute limit with nothing to show (pytest-timeout, a dev extra).

    Its ``thread`` method, because many tests run the kit in process under pytest-timeout's
    own ``signal`` method (``tests/test_third_party_plugins.py``), which takes SIGALRM over and
    gives it back reset. ``--timeout``, the ini's ``timeout`` or ``PYTEST_TIMEOUT`` still win.
    """
    if not config.pluginmanager.has_plugin("timeout") or os.environ.get("PYTEST_TIMEOUT"):
        return
    if config.option.timeout is None and not config.getini("timeout"):
        config.option.timeout = OWN_TEST_TIME_LIMIT
        config.option.timeout_method = "thread"


# Module- and session-scoped fixtures that run the kit in subprocesses for a minute or more.
# Under xdist every worker has its own session: the tests that share one of these go to one
# worker as an xdist group (``--dist loadgroup``), so that the fixture runs once per run.
# (tests/test_recording.py and tests/test_sdk_wrappers.py group their tests per provider
# themselves, so that each provider's recording can go to another worker.)
SHARED_FIXTURE_GROUPS = {
    "site": "docs-site",  # tests/docs/test_site.py: mkdocs build
    "replay_run": "docs-replay-workflow",  # tests/docs/test_workflows.py
    "matrix_run": "docs-matrix-workflow",  # tests/docs/test_workflows.py
    "release_run": "docs-release-workflow",  # tests/docs/test_release_workflow.py: builds the wheel
    "recorded_from_version_1": "drift-recording",  # tests/cli/test_drift.py
}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group the tests that share an expensive fixture; under xdist, hand groups out first.

    A group is one unit of work for ``--dist loadgroup``; started last, a two-minute group
    would leave the other worker idle at the end. The order changes on xdist workers only:
    a serial run keeps the collection order.
    """
    for item in items:
        groups = {SHARED_FIXTURE_GROUPS[name] for name in item.fixturenames if name in SHARED_FIXTURE_GROUPS}
        for group in sorted(groups):
            item.add_marker(pytest.mark.xdist_group(group))
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent under -p no:xdist
def pytest_configure_node(node: Any) -> None:
    """Pass the distribution mode chosen above on to each worker.

    Workers parse the command line again, and it has no ``--dist`` when the default
    above chose one; without this they would not put the groups into the node ids.
    """
    node.workerinput["own_suite_dist"] = node.config.option.dist


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("xdist"):  # -p no:xdist: the groups are just labels
        config.addinivalue_line("markers", "xdist_group(name): tests that share one xdist worker")
    if getattr(config, "workerinput", {}).get("own_suite_dist") == "loadgroup":
        config.option.loadgroup = True
    if not getattr(config.option, "laios_provider", None):
        judge_with_the_ci_profiles_draws()


def judge_with_the_ci_profiles_draws() -> None:
    """The own suite's kit runs draw as on CI on every machine (derandomized, 25 examples):
    a verdict a test asserts must not hang on one run's random draws. Not in a kit run from
    the repository root (the README's first command), which keeps the kit's own choice. That
    choice (random unless ``CI`` is set, a user's profile of the same name first) is proven
    in a fresh process, in tests/test_hypothesis_profiles.py."""
    register_profiles()
    hypothesis.settings.register_profile("laios-dev", parent=hypothesis.settings.get_profile("laios-ci"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Keep the worker's old objects out of the collections an in-process kit run makes.

    The kit collects garbage when a stream outlives its caller in ``stream-closes``, and a full
    collection walks every object the worker holds: hundreds of milliseconds each in a worker
    that has run many kit runs. Frozen, the objects
    from before the test are left out of those walks (``gc.freeze``, O(1)) and are handed
    back to the collector when the test ends: what the test itself creates is collected
    as before.
    """
    if "pytester" not in item.fixturenames:
        return (yield)
    gc.freeze()
    try:
        return (yield)
    finally:
        gc.unfreeze()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish() -> None:
    """Collect the worker's garbage once, then freeze what is left before pytest's own
    collections at the end (five, to report unraisable exceptions): over the heap the
    in-process kit runs built up, they outlasted the 5 s execnet gives an ending xdist worker
    before it interrupts it with SIGINT (a KeyboardInterrupt in a gc callback). A kit run
    from the repository root (the README's first command), which loads this file too, ends
    faster for it as well: one collection instead of five over its whole heap."""
    gc.collect()
    gc.freeze()


def shared_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's temporary directory that every xdist worker sees (pytest-xdist's pattern)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session", autouse=True)
def subprocess_bytecode_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Let the many Python subprocesses of this suite share compiled bytecode.

    Where PYTHONDONTWRITEBYTECODE is set, every subprocess recompiles (and pytest
    re-rewrites) every module it imports: seconds each. A cache prefix in a temporary
    directory keeps the repository and site-packages untouched; xdist workers share it
    (Python writes each cached file atomically).
    """
    prefix = shared_tmp(tmp_path_factory) / "pycache"
    prefix.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        patch.setenv("PYTHONPYCACHEPREFIX", str(prefix))
        yield


# What in-process kit runs and their tests import lazily: the judged providers, what httpx
# imports when its first transport is built, the kit's and vcrpy's lazy imports, and the
# dev extras the tests read verdicts with. Pytester drops every module a test imported when
# the test ends, so each run imported (and, under PYTHONDONTWRITEBYTECODE, compiled) them
# again, and loaded a fresh CA store for the providers' TLS context: about 0.2 s a run.
# Not here: the hostile and probe providers, whose import or class state is what their
# tests are about.
_WARM_MODULES = (
    "httpcore",
    "faker",
    "pytest_recording._vcr",
    "vcr.stubs.httpx_stubs",
    "laios_conformance.cassettes.rewrite",
    "laios_conformance.profile",
    "reference_providers.openai",
    "reference_providers.anthropic",
    "reference_providers.ollama",
    "tests.providers.openai_style",
    "tests.providers.defective",
    "tests.providers.defective_openai",
    "tests.providers.defective_anthropic",
    "tests.providers.defective_ollama",
    "tests.providers.careful_anthropic",
    "tests.providers.careful_ollama",
    "tests.providers.duck",
    "tests.providers.sdk_wrappers",
    "tests.providers.urllib_style",
    # the dev extras
    "jsonschema",
    "filelock",
    "tests.providers.requests_style",
    "tests.providers.aiohttp_style",
    "tests.providers.aiohttp_native",
    "tests.providers.defective_stacks",
)


@pytest.fixture(scope="session", autouse=True)
def warm_modules() -> None:
    """Import :data:`_WARM_MODULES` once per process, before any test's pytester takes its
    snapshot of ``sys.modules``, so that in-process kit runs keep them."""
    for name in _WARM_MODULES:
        importlib.import_module(name)


@pytest.fixture(scope="session")
def fake_api() -> Iterator[FakeAPI]:
    with FakeAPI() as api:
        yield api


@pytest.fixture(scope="session")
def good_cassettes(tmp_path_factory: pytest.TempPathFactory, fake_api: FakeAPI) -> Path:
    """Cassettes for GoodOpenAIStyle, recorded through the kit against the loopback API;
    also for the two providers whose requests differ from it on purpose (so that their
    clauses judge what they send instead of missing the cassette).

    Recorded once per run: under xdist the first worker to get here records into the
    shared temporary directory while the others wait on the lock, then all replay it.
    """
    shared = shared_tmp(tmp_path_factory)
    root = shared / "good-cassettes"
    done = shared / "good-cassettes.done"
    from filelock import FileLock

    with FileLock(str(shared / "good-cassettes.lock")):
        if not done.exists():
            root.mkdir(exist_ok=True)
            targets = (GOOD, NON_STREAMING, DROPS_SYSTEM_PROMPT)
            url = fake_api.url
            result = record(targets, {"base_url": f"{url}/v1"}, url, OPENAI_BASE, root, cwd=root)  # one kit run
            for target in targets:
                assert (root / target.rsplit(":", 1)[1]).is_dir(), result.stdout + result.stderr
            done.touch()
    return root


def cassettes_for(root: Path, class_name: str) -> Path:
    """Let another provider class replay GoodOpenAIStyle's cassettes (same wire traffic)."""
    link = root / class_name
    if not link.exists():
        # Another xdist worker may make the same link at the same moment.
        with contextlib.suppress(FileExistsError):
            link.symlink_to(root / "GoodOpenAIStyle", target_is_directory=True)
    return root


def judged_clauses(pytester: pytest.Pytester, cassettes: Path, target: str, selection: str) -> dict:
    """The verdicts, per clause, of one in-process kit run on ``target`` replaying from
    ``cassettes``, judging the clauses that ``-k selection`` picks (a partial run)."""
    report = pytester.path / "verdict.json"
    pytester.runpytest_inprocess(
        f"--laios-provider={target}",
        f"--laios-cassette-dir={cassettes}",
        f"--laios-report={report}",
        "-k",
        selection,
        "--laios-allow-partial",
        "-p",
        "no:cacheprovider",
    )
    return load_verdict(report)["providers"][0]["clauses"]


def load_verdict(path: Path) -> dict:
    """A JSON verdict the kit wrote, checked against the schema the package ships."""
    data = json.loads(path.read_text(encoding="utf-8"))
    _verdict_validator().validate(data)
    return data


@functools.cache
def _verdict_validator() -> Any:
    """Built once: ``jsonschema.validate`` checks the schema itself on every call."""
    import jsonschema

    schema = verdict_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


class KitRun:
    """The outcome of one in-process kit run: pytest's result and the JSON verdict."""

    def __init__(self, result: pytest.RunResult, report: Path) -> None:
        self.result = result
        self.report = load_verdict(report) if report.exists() else None

    def statuses(self, provider_index: int = 0) -> dict[str, str]:
        """The status of every clause that ran (``not-run`` ones are in :meth:`not_run`)."""
        clauses = self.report["providers"][provider_index]["clauses"]
        return {cid: c["status"] for cid, c in clauses.items() if c["status"] != "not-run"}

    def not_run(self, provider_index: int = 0) -> dict[str, str]:
        """Why each clause that did not run did not run."""
        clauses = self.report["providers"][provider_index]["clauses"]
        return {cid: c["message"] for cid, c in clauses.items() if c["status"] == "not-run"}

    def message(self, clause_id: str, provider_index: int = 0) -> str:
        return self.report["providers"][provider_index]["clauses"][clause_id]["message"]


@pytest.fixture
def run_kit(pytester: pytest.Pytester, good_cassettes: Path):
    """Run the kit in-process on a provider (or a tuple of providers, judged in one run)
    replaying the good cassettes."""

    def run(target: str | tuple[str, ...], *args: str, cassettes: bool = True) -> KitRun:
        targets = (target,) if isinstance(target, str) else target
        report = pytester.path / "verdict.json"
        extra = []
        if cassettes:
            for each in targets:
                cassettes_for(good_cassettes, each.rsplit(":", 1)[1].split(".")[-1])
            extra.append(f"--laios-cassette-dir={good_cassettes}")
        providers = [f"--laios-provider={each}" for each in targets]
        result = pytester.runpytest_inprocess(
            *providers, f"--laios-report={report}", "-p", "no:cacheprovider", *extra, *args
        )
        return KitRun(result, report)

    return run


@pytest.fixture(scope="session")
def _shared_runs() -> dict[tuple[str, ...], KitRun]:
    return {}


@pytest.fixture
def judged_together(run_kit, _shared_runs: dict[tuple[str, ...], KitRun]):
    """One in-process kit run judging several providers, shared by the tests that ask for it.

    ``judged_together(targets, *args)`` runs the kit once on all of ``targets`` with ``args``
    (the first test to ask does it) and gives every later test asking for the same the same
    run: one run of N providers costs far less than N runs of one. Each provider's clauses
    are judged by their own tests in that run, so its statuses are those of a run of its
    own; :func:`gate_of` gives the gate a run of its own would have had. Only for runs that
    nothing but their arguments shape (no conftest or files of the test's own). Mark the
    tests sharing a run with one ``xdist_group``, so that they share it under xdist too.
    """

    def run(targets: tuple[str, ...], *args: str) -> KitRun:
        key = (*targets, "--", *args)
        if key not in _shared_runs:
            _shared_runs[key] = run_kit(targets, *args)
        return _shared_runs[key]

    return run


def gate_of(run: KitRun, provider_index: int) -> str:
    """The gate ("passed", "failed", "partial") of one provider's results in a shared run:
    what the kit's exit code would have said, had it judged that provider alone."""
    data = dict(run.report, providers=[run.report["providers"][provider_index]])
    return verdict_from_dict(data).gate().result
