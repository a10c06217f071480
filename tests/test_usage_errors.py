"""Every user mistake gets one clear line and pytest's usage-error exit code (4).

The runs are in-process (each with a fresh config, so as fast as a clause run); only the
check of what the plugin imports needs a fresh interpreter.
"""

from __future__ import annotations

import pytest

from tests.conftest import load_verdict

PROVIDERS = """
from laios_conformance import LLMClient, LLMResponse

class NeedsArgs(LLMClient):
    def __init__(self, model, region, *, tier):
        super().__init__(model)
    def generate(self, messages, temperature=0.7, max_tokens=2048, **kw):
        return LLMResponse(content="x", model=self.model)
    def generate_with_system(self, system_prompt, user_message, **kw):
        return self.generate([])

class Explodes(LLMClient):
    def __init__(self, model="m"):
        raise ValueError("region 'mars-1' is not served")
    def generate(self, *a, **k): ...
    def generate_with_system(self, *a, **k): ...

class NoGenerate:
    def __init__(self):
        pass

class Plain(LLMClient):
    def generate(self, messages, temperature=0.7, max_tokens=2048, **kw):
        return LLMResponse(content="x", model=self.model)
    def generate_with_system(self, system_prompt, user_message, **kw):
        return self.generate([])

class AsyncGenerate(LLMClient):
    async def generate(self, messages, temperature=0.7, max_tokens=2048, **kw):
        return LLMResponse(content="x", model=self.model)
    def generate_with_system(self, system_prompt, user_message, **kw):
        return self.generate([])

class AsyncStream(LLMClient):
    def generate(self, messages, temperature=0.7, max_tokens=2048, **kw):
        return LLMResponse(content="x", model=self.model)
    def generate_with_system(self, system_prompt, user_message, **kw):
        return self.generate([])
    async def generate_stream(self, messages, temperature=0.7, max_tokens=2048, **kw):
        yield "x"

class ChecksKeyFormat(Plain):
    def __init__(self, model="m", api_key=None):
        if not (api_key or "").startswith("sk-ant-"):
            raise ValueError(f"not an Anthropic key: {api_key}")
        super().__init__(model)

class KeyFromEnvironment(Plain):
    def __init__(self, model="m"):
        import os
        self.api_key = os.environ["LAIOS_TEST_UNSET_API_KEY"]
        super().__init__(model)

class SDKStyleKeyFromEnvironment(Plain):
    def __init__(self, model="m"):
        raise RuntimeError(
            "The api_key client option must be set either by passing api_key to the client or by setting "
            "the LAIOS_TEST_UNSET_API_KEY environment variable"
        )

class ListsModelsWhenBuilt(Plain):
    def __init__(self, model="m"):
        import urllib.request
        urllib.request.urlopen("https://api.example.invalid/v1/models", timeout=5)
        super().__init__(model)

NOT_CALLABLE = 42

class ChatError(Exception):
    def __init__(self, message):
        super().__init__(message)

def factory():
    return NoGenerate()
"""

CASES = [
    (["--laios-provider=user_providers"], "has no ':'; use module:Class"),
    (["--laios-provider=no_such_module:X"], "no module named 'no_such_module'"),
    (["--laios-provider=broken_import:X"], "module 'not_installed_dep' is not installed"),
    (["--laios-provider=user_providers:Missing"], "has no attribute 'Missing'"),
    (["--laios-provider=user_providers:NOT_CALLABLE"], "is a int, not a class or callable"),
    (["--laios-provider=user_providers:ChatError"], "is an exception class, not a provider; name the class that has"),
    (["--laios-provider=user_providers:Explodes"], "constructing it raised ValueError: region 'mars-1' is not served"),
    (["--laios-provider=user_providers:NeedsArgs"], "needs argument(s) model, region, tier"),
    (
        ["--laios-provider=user_providers:NeedsArgs", '--laios-provider-kwargs={"model": "m", "region": "eu"}'],
        "needs argument(s) tier",
    ),
    (
        ["--laios-provider=user_providers:Plain", "--laios-secret-env=MY-API-KEY"],
        "--laios-secret-env 'MY-API-KEY' is not an environment variable name; e.g. --laios-secret-env=MY_API_KEY",
    ),
    (["--laios-provider=user_providers:NoGenerate"], "has no generate() method"),
    (
        ["--laios-provider=user_providers:ChecksKeyFormat"],
        "raised ValueError: not an Anthropic key: <REDACTED>; fix the constructor arguments with "
        "--laios-provider-kwargs (the kit passed its own fake api_key, as none was given",
    ),
    (
        ["--laios-provider=user_providers:KeyFromEnvironment"],
        "constructing it raised KeyError: 'LAIOS_TEST_UNSET_API_KEY'; it reads its key from "
        "$LAIOS_TEST_UNSET_API_KEY, which is not set: pass --laios-secret-env LAIOS_TEST_UNSET_API_KEY (the kit "
        "then gives it a fake key for the run",
    ),
    (
        ["--laios-provider=user_providers:SDKStyleKeyFromEnvironment"],
        "the LAIOS_TEST_UNSET_API_KEY environment variable; it reads its key from $LAIOS_TEST_UNSET_API_KEY, which "
        "is not set: pass --laios-secret-env LAIOS_TEST_UNSET_API_KEY",
    ),
    (
        ["--laios-provider=user_providers:ListsModelsWhenBuilt"],
        "constructing it made a network request, which replay refuses (Network is disabled",
    ),
    (
        ["--laios-provider=user_providers:AsyncGenerate", '--laios-provider-kwargs={"model": "m"}'],
        "AsyncGenerate.generate() is async (async def), but LAIOS calls it synchronously",
    ),
    (
        ["--laios-provider=user_providers:AsyncStream", '--laios-provider-kwargs={"model": "m"}'],
        "AsyncStream.generate_stream() is an async generator (async def with yield), which LAIOS cannot iterate",
    ),
    (["--laios-provider=user_providers:factory"], "built a NoGenerate object, which has no generate() method"),
    (
        ["--laios-provider=user_providers:NeedsArgs", "--laios-provider-kwargs={model: m}"],
        "--laios-provider-kwargs is not valid JSON",
    ),
    (["--laios-provider=user_providers:NeedsArgs", '--laios-provider-kwargs=["m"]'], "must be a JSON object, got list"),
    (
        [
            "--laios-provider=user_providers:NeedsArgs",
            '--laios-provider-kwargs={"model": "$LAIOS_TEST_SURELY_UNSET", "region": "eu", "tier": 1}',
        ],
        "reads $LAIOS_TEST_SURELY_UNSET, which is not set",
    ),
    (
        [
            "--laios-provider=user_providers:NeedsArgs",
            "--laios-provider=user_providers:NeedsArgs",
            "--laios-provider-kwargs={}",
            "--laios-provider-kwargs={}",
            "--laios-provider-kwargs={}",
        ],
        "was given 3 times for 2 providers",
    ),
    (
        [
            "--laios-provider=user_providers:Plain",
            "--laios-provider=user_providers:Plain",
            '--laios-provider-kwargs={"model": "a"}',
            '--laios-provider-kwargs={"model": "b"}',
        ],
        "--laios-provider 'user_providers:Plain' and 'user_providers:Plain#2' would share the cassette folder",
    ),
    (
        ["--laios-report=verdict.json"],
        "--laios-report was given without --laios-provider, so no provider would be judged",
    ),
    (['--laios-provider-kwargs={"model": "m"}'], "--laios-provider-kwargs was given without --laios-provider"),
    (
        ["--laios-provider=user_providers:NeedsArgs", "-p", "no:recording"],
        "--laios-provider needs pytest-recording, which records and replays the cassettes, but it is not loaded",
    ),
    (
        ["--laios-provider=user_providers:NeedsArgs", "--laios-cassette-dir=no-such-folder"],
        "no-such-folder' does not exist: replay reads each provider's cassettes from",
    ),
    (
        ["--laios-provider=user_providers:NeedsArgs", "--laios-cassette-dir=user_providers.py"],
        "user_providers.py' is a file, not a folder: replay reads",
    ),
]


@pytest.mark.parametrize("args, expected", CASES, ids=[c[1][:40] for c in CASES])
def test_user_mistake_is_one_clear_line(pytester: pytest.Pytester, args: list, expected: str) -> None:
    pytester.makepyfile(user_providers=PROVIDERS, broken_import="import not_installed_dep\n")
    result = pytester.runpytest_inprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.errlines
    assert expected in errors[0]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_a_missing_cassette_folder_named_in_the_ini_is_one_clear_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(user_providers=PROVIDERS)
    pytester.makeini("[pytest]\nlaios_cassette_dir = missing-cassettes\n")
    result = pytester.runpytest_inprocess("--laios-provider=user_providers:NeedsArgs")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and errors[0].startswith("ERROR: laios_cassette_dir (ini) "), result.errlines
    assert "missing-cassettes' does not exist" in errors[0]


INI_MISTAKES = [
    ("laios_provider_kwargs = {bad", "laios_provider_kwargs (ini) is not valid JSON"),
    ("laios_provider_kwargs = {}", "pass them with laios_provider_kwargs (ini)="),
    ("laios_call_timeout = soon", "laios_call_timeout (ini) 'soon' is not a number of seconds"),
    ("laios_call_timeout = inf", "laios_call_timeout (ini) 'inf' must be 0 (no limit) or a positive number of"),
    ("laios_secret_env = 1BAD", "laios_secret_env (ini) '1BAD' is not an environment variable name"),
]


@pytest.mark.parametrize("ini, expected", INI_MISTAKES, ids=[line.partition(" ")[0] for line, _ in INI_MISTAKES])
def test_a_mistake_in_the_ini_names_the_ini_key(pytester: pytest.Pytester, ini: str, expected: str) -> None:
    """The user wrote no command-line flag: the message names what they wrote."""
    pytester.makepyfile(user_providers=PROVIDERS)
    pytester.makeini(f"[pytest]\nlaios_provider = user_providers:NeedsArgs\n{ini}\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and expected in errors[0], result.errlines
    assert "--laios-" not in errors[0].partition("(ini)")[0]


def test_a_missing_cassette_folder_is_fine_when_recording_into_it(pytester: pytest.Pytester) -> None:
    """Recording creates the folder; only replay needs it to exist."""
    pytester.makepyfile(user_providers=PROVIDERS)
    result = pytester.runpytest_inprocess(
        "--laios-provider=user_providers:NeedsArgs", "--laios-cassette-dir=new-folder", "--record-mode=once"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # for the constructor's arguments, checked next
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and "needs argument(s) model, region, tier" in errors[0], result.errlines
    assert "new-folder" not in errors[0]


def test_one_class_built_alike_twice_may_share_its_cassette_folder(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(user_providers=PROVIDERS)
    result = pytester.runpytest_inprocess(
        "--laios-provider=user_providers:Plain",
        "--laios-provider=user_providers:Plain",
        '--laios-provider-kwargs={"model": "a"}',
        "--collect-only",
        "-q",
    )
    assert result.ret == pytest.ExitCode.OK, result.errlines


@pytest.mark.parametrize("age", ["-3", "soon"])
def test_a_cassette_age_that_is_not_whole_days_is_a_usage_error(pytester: pytest.Pytester, age: str) -> None:
    pytester.makepyfile(user_providers=PROVIDERS)
    result = pytester.runpytest_inprocess(
        "--laios-provider=user_providers:NeedsArgs", f"--laios-max-cassette-age={age}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        f"argument --laios-max-cassette-age: {age!r} is not a whole number of days (0 or more)" in result.stderr.str()
    )


PLAIN = ("--laios-provider=user_providers:Plain", '--laios-provider-kwargs={"model": "m"}')


@pytest.mark.parametrize("name", ["provider", "vcr_config"])
def test_a_project_fixture_named_as_one_the_contract_uses_is_a_usage_error(
    pytester: pytest.Pytester, name: str
) -> None:
    """pytest lets a conftest.py fixture win over a plugin's, in the contract's clauses too:
    a project's own ``provider`` would be judged instead of --laios-provider."""
    pytester.makepyfile(user_providers=PROVIDERS)
    pytester.makeconftest(f"import pytest\n\n@pytest.fixture\ndef {name}():\n    return {{}}\n")
    report = pytester.path / "verdict.json"
    report.write_text("{}")  # last run's: must not survive as this run's verdict
    result = pytester.runpytest_inprocess(*PLAIN, f"--laios-report={report}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.errlines
    assert f"conftest.py: its fixture {name!r} replaces the one the kit's contract uses" in errors[0]
    assert "gate:" not in result.stdout.str() and not report.exists()


def test_under_xdist_a_replaced_fixture_makes_every_clause_error(pytester: pytest.Pytester) -> None:
    """A worker cannot stop the run with a usage error (xdist takes it for a crash)."""
    pytester.makepyfile(user_providers=PROVIDERS)
    pytester.makeconftest("import pytest\n\n@pytest.fixture\ndef provider():\n    return {}\n")
    report = pytester.path / "verdict.json"
    result = pytester.runpytest_inprocess(*PLAIN, f"--laios-report={report}", "-n", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.outlines[-5:]
    clauses = load_verdict(report)["providers"][0]["clauses"]
    assert {c["status"] for c in clauses.values()} == {"error"}
    assert all(
        "its fixture 'provider' replaces the one the kit's contract uses" in c["message"] for c in clauses.values()
    )


@pytest.mark.parametrize(
    "ini, expected",
    [
        ("python_files = check_*.py", "python_files = check_*.py collects none of the contract's modules"),
        ("python_functions = check_", "python_functions = check_ collects none of the contract's clauses"),
    ],
)
def test_collection_settings_that_hide_the_contract_are_a_usage_error(
    pytester: pytest.Pytester, ini: str, expected: str
) -> None:
    pytester.makepyfile(user_providers=PROVIDERS)
    pytester.makeini(f"[pytest]\n{ini}\n")
    result = pytester.runpytest_inprocess(*PLAIN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and expected in errors[0], result.errlines


@pytest.mark.parametrize("key", ["laios_strict", "laios_allow_partial"])
def test_an_ini_flag_that_is_not_true_or_false_is_one_usage_line(pytester: pytest.Pytester, key: str) -> None:
    """Not pytest's INTERNALERROR traceback."""
    pytester.makepyfile(user_providers=PROVIDERS)
    pytester.makeini(f"[pytest]\n{key} = maybe\n")
    result = pytester.runpytest_inprocess(*PLAIN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert errors == [f"ERROR: {key} (ini): invalid truth value 'maybe'; write {key} = true or {key} = false"]


def test_paths_without_the_contract_judge_nothing_and_say_so(pytester: pytest.Pytester) -> None:
    """The project's own tests run; a verdict asked for and not made fails the run."""
    pytester.makepyfile(user_providers=PROVIDERS, test_own="def test_own():\n    pass\n")
    result = pytester.runpytest_inprocess(*PLAIN, "test_own.py")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["*no provider was judged: add --pyargs laios_conformance.contract*"])
    report = pytester.path / "verdict.json"
    result = pytester.runpytest_inprocess(*PLAIN, "test_own.py", f"--laios-report={report}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED and not report.exists()
    result.stdout.fnmatch_lines(["*no provider was judged and no verdict was written*"])


def test_unset_plugin_does_nothing(pytester: pytest.Pytester) -> None:
    """Without --laios-provider the plugin adds options and nothing else."""
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=1)
    assert "judging against" not in result.stdout.str()
    assert "LAIOS conformance" not in result.stdout.str()


def test_options_are_grouped_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(["*LAIOS provider conformance*", "*--laios-provider=MODULE:CLASS*"])


def test_unused_plugin_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_imports="""
import sys
def test_light():
    heavy = ("pydantic", "vcr", "faker", "httpx", "laios_conformance.session", "laios_conformance.base")
    assert "laios_conformance.plugin" in sys.modules
    assert [m for m in heavy if m in sys.modules] == []
"""
    )
    # Faker's and hypothesis's own plugins import their packages; only ours is under test.
    result = pytester.runpytest_subprocess("-p", "no:faker", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)
