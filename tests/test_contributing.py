"""The steps of CONTRIBUTING.md that a test can see missing, checked; each failure names the step.

These read the registry and the proof tables of the other test modules; they run no provider.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from laios_conformance import wire
from laios_conformance.clauses import Clause
from laios_conformance.contract import catalogue
from laios_conformance.wire._base import endpoint_family

REPO = Path(__file__).resolve().parents[1]
GUIDE = "CONTRIBUTING.md"

# Modules whose module-level DEFECTS table maps a defective provider to the clauses it fails.
PROOF_MODULES = ("tests/test_contract_core.py", "tests/test_contract_streaming.py", "tests/test_contract_judging.py")
# Clauses proven by a test of their own instead of a DEFECTS entry: (module, what it asserts).
PROVEN_ELSEWHERE = {
    # the defect is the kit's input (an old cassette), not a provider's
    "cassettes-fresh": ("tests/test_recording.py", '{"cassettes-fresh": "failed"}'),
    # judged with and without --laios-strict, so it has tests of its own
    "retry-bounded": ("tests/test_contract_core.py", 'run_kit(D + "RetriesTooMuch")'),
}
REFERENCE_PROVIDERS = ("OpenAIClient", "AnthropicClient", "OllamaClient")
# Clauses a keyless local provider cannot be judged on: skipped as not applicable, so no cassette.
KEYLESS = {"OllamaClient": {"no-secret-leak", "key-reaches-request"}}
# Clauses that need no cassette although they are marked vcr: judged on the age of the others.
NO_OWN_CASSETTE = {"cassettes-fresh"}


def _literal_table(path: str) -> dict[str, ast.expr]:
    """The DEFECTS dict of a test module, read without importing it (values may name constants)."""
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "DEFECTS" for t in node.targets):
            assert isinstance(node.value, ast.Dict), f"{path}: DEFECTS must be a dict literal"
            return {ast.literal_eval(k): v for k, v in zip(node.value.keys, node.value.values, strict=True) if k}
    raise AssertionError(f"{path} has no DEFECTS table; see {GUIDE}, 'Adding a clause'")


def _failed_clauses(value: ast.expr) -> set[str]:
    """The clause ids a DEFECTS entry expects to fail, whatever the module's entry shape."""
    if isinstance(value, ast.Tuple):  # (selection, {clauses})
        value = value.elts[-1]
    if isinstance(value, ast.Set):
        return {ast.literal_eval(e) for e in value.elts}
    if isinstance(value, ast.Dict):  # {clause: expected status}
        pairs = zip(value.keys, value.values, strict=True)
        return {ast.literal_eval(k) for k, v in pairs if k is not None and ast.literal_eval(v) == "failed"}
    raise AssertionError(f"unrecognised DEFECTS entry {ast.dump(value)[:80]}")


def proven_clauses() -> dict[str, set[str]]:
    """clause id -> the defective providers that must fail it."""
    proven: dict[str, set[str]] = {}
    for path in PROOF_MODULES:
        for provider, value in _literal_table(path).items():
            for clause_id in _failed_clauses(value):
                proven.setdefault(clause_id, set()).add(str(provider))
    return proven


def test_every_clause_is_failed_by_a_defective_provider() -> None:
    proven = proven_clauses()
    missing = [c.id for c in catalogue() if c.id not in proven and c.id not in PROVEN_ELSEWHERE]
    assert not missing, (
        f"no defective provider proves {missing}: add one to tests/providers/defective.py and an entry to a "
        f"DEFECTS table in {', '.join(PROOF_MODULES)}; see {GUIDE}, 'Adding a clause', step 4"
    )


@pytest.mark.parametrize("clause_id", sorted(PROVEN_ELSEWHERE))
def test_clauses_proven_elsewhere_are_proven_there(clause_id: str) -> None:
    path, evidence = PROVEN_ELSEWHERE[clause_id]
    assert evidence in (REPO / path).read_text(encoding="utf-8"), f"{path} no longer proves {clause_id} fails"


def test_proof_tables_name_only_registered_clauses_and_existing_providers() -> None:
    ids = {c.id for c in catalogue()}
    unknown = {clause_id for clause_id in proven_clauses() if clause_id not in ids}
    assert not unknown, f"DEFECTS tables name clauses the registry does not know: {sorted(unknown)}"
    defined = {
        node.name
        for path in (REPO / "tests" / "providers").glob("*.py")
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.ClassDef)
    }
    named = {p for providers in proven_clauses().values() for p in providers}
    assert named <= defined, f"DEFECTS tables name providers tests/providers does not define: {sorted(named - defined)}"


@pytest.mark.parametrize("provider", REFERENCE_PROVIDERS)
def test_every_cassette_clause_has_a_cassette_for_each_reference_provider(provider: str) -> None:
    wanted = {c.id for c in catalogue() if c.uses_cassette} - NO_OWN_CASSETTE - KEYLESS.get(provider, set())
    present = {path.stem for path in (REPO / "cassettes" / provider).glob("*.yaml")}
    assert not wanted - present, (
        f"cassettes/{provider} lacks {sorted(wanted - present)}: build them from real samples with "
        f"`python -m tests.support.build_cassettes`; see {GUIDE}, 'Adding a clause', step 3"
    )
    assert not present - wanted, f"cassettes/{provider} holds cassettes no clause replays: {sorted(present - wanted)}"


@pytest.mark.parametrize("clause", catalogue(), ids=lambda c: c.id)
def test_every_clause_docstring_has_the_sections_the_docs_are_built_from(clause: Clause) -> None:
    assert clause.summary, f"{clause.id}: the first docstring line says what the provider must do"
    for name in ("Why", "How to fix"):
        assert name in clause.sections, f"{clause.id}: docstring has no **{name}** section; see {GUIDE}, step 1"


def test_every_built_in_wire_format_is_documented_and_has_real_samples() -> None:
    docs = (REPO / "docs" / "wire-formats.md").read_text(encoding="utf-8").lower()
    for fmt in wire.registered():
        where = f"see {GUIDE}, 'Adding a wire format'"
        assert fmt.name in docs, f"docs/wire-formats.md does not describe {fmt.name!r}; {where}"
        samples = list((REPO / "tests" / "data" / "wire_samples" / fmt.name).glob("*.json"))
        assert samples, f"no real {fmt.name!r} samples in tests/data/wire_samples/{fmt.name}/; {where}"


def test_every_decoder_in_the_wire_package_is_built_in_and_names_its_endpoints() -> None:
    where = f"see {GUIDE}, 'Adding a wire format'"
    built_in = {type(fmt) for fmt in wire.registered()}
    for path in sorted((REPO / "laios_conformance" / "wire").glob("[!_]*.py")):
        module = importlib.import_module(f"laios_conformance.wire.{path.stem}")
        for cls in vars(module).values():
            if isinstance(cls, type) and issubclass(cls, wire.WireFormat) and cls.__module__ == module.__name__:
                assert cls in built_in, f"{cls.__name__} is not in the built-in list of wire/_registry.py; {where}"
                assert cls.endpoints, f"{cls.__name__} declares no `endpoints`; {where}"
                for suffix in cls.endpoints:
                    url = f"https://api.example{suffix}"
                    assert endpoint_family(url) == cls.name, f"{url} is not settled as {cls.name!r}; {where}"


def test_the_guide_names_every_file_these_checks_point_to() -> None:
    guide = (REPO / GUIDE).read_text(encoding="utf-8")
    for heading in ("Adding a clause", "Adding a wire format", "Adding a reference provider", "Adding an HTTP stack"):
        assert f"## {heading}" in guide, f"{GUIDE} lost its section {heading!r}"
    for path in (*PROOF_MODULES, "tests/providers/defective.py", "tests/support/build_cassettes.py"):
        assert path in guide, f"{GUIDE} does not mention {path}"
