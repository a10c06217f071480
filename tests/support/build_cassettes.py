"""Rebuild the committed cassettes of the reference providers, and of the kit's own providers on
the requests, urllib.request and aiohttp stacks, from real wire samples.

    python -m tests.support.build_cassettes            # all reference and stack providers
    python -m tests.support.build_cassettes OpenAIClient
    python -m tests.support.build_cassettes --clause=stream-raises   # one clause's cassettes only

No live API is reachable where this project is built, so the request side of each
cassette is what the provider really sends (recorded through the kit with
``--record-mode=once`` against the loopback :class:`FakeAPI`), and the response side is a
real response that a public project recorded against the live service. ``PROVENANCE.md``
beside the cassettes says which.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.fake_api import DEFAULT_SAMPLES, FakeAPI, load_sample
from tests.support.recording import REPO, record

CASSETTES = REPO / "cassettes"
STACK_CASSETTES = REPO / "tests" / "data" / "stack_cassettes"


@dataclass(frozen=True)
class Reference:
    target: str
    family: str
    real_base: str
    base_url_suffix: str = ""
    out: Path = CASSETTES

    @property
    def class_name(self) -> str:
        return self.target.rsplit(":", 1)[1]


# Clauses whose cassette is built from another real sample than the family's default:
# finish-reason replays an answer the service really cut short at max_tokens. Only from the
# service the cassette names: OpenAI's was a vLLM server's answer (facebook/opt-125m) under
# api.openai.com, which drift against the live API reported as breaking every night. No
# recording of api.openai.com holds a text answer cut at length (gpt-5-mini's has no text),
# so OpenAI's is the default answer; the clause substitutes the other reasons into it.
# (clause id, family) -> {(family, stream): sample}
CLAUSE_SAMPLES: dict[tuple[str, str], dict[tuple[str, bool], str]] = {
    ("finish-reason", "anthropic"): {("anthropic", False): "anthropic/haiku3-max-tokens-nonstream.json"},
}

REFERENCES = (
    Reference("reference_providers.openai:OpenAIClient", "openai", "https://api.openai.com", "/v1"),
    Reference("reference_providers.anthropic:AnthropicClient", "anthropic", "https://api.anthropic.com"),
    Reference("reference_providers.ollama:OllamaClient", "ollama", "http://localhost:11434"),
)
# The kit's own OpenAI-compatible providers on requests, urllib.request and aiohttp (tests/providers/).
STACK_PROVIDERS = (
    Reference(
        "tests.providers.requests_style:RequestsOpenAIStyle", "openai", "https://api.openai.com", "/v1", STACK_CASSETTES
    ),
    Reference(
        "tests.providers.urllib_style:UrllibOpenAIStyle", "openai", "https://api.openai.com", "/v1", STACK_CASSETTES
    ),
    Reference(
        "tests.providers.aiohttp_style:AiohttpOpenAIStyle", "openai", "https://api.openai.com", "/v1", STACK_CASSETTES
    ),
)


def build(reference: Reference) -> None:
    with FakeAPI() as api, tempfile.TemporaryDirectory() as scratch:
        kwargs = {"base_url": api.url + reference.base_url_suffix}
        result = record(reference.target, kwargs, api.url, reference.real_base, Path(scratch), cwd=Path(scratch))
        recorded = Path(scratch) / reference.class_name
        if not recorded.is_dir():
            raise SystemExit(f"recording {reference.target} produced no cassettes:\n{result.stdout}\n{result.stderr}")
        target_dir = reference.out / reference.class_name
        shutil.rmtree(target_dir, ignore_errors=True)
        shutil.copytree(recorded, target_dir)
    for (clause_id, family), samples in CLAUSE_SAMPLES.items():
        if family == reference.family:
            _build_one(reference, clause_id, samples, target_dir)


def _build_one(reference: Reference, clause_id: str, samples: dict[tuple[str, bool], str], target_dir: Path) -> None:
    """Re-record one clause's cassette against the fake API serving ``samples``."""
    with FakeAPI(samples={**DEFAULT_SAMPLES, **samples}) as api, tempfile.TemporaryDirectory() as scratch:
        kwargs = {"base_url": api.url + reference.base_url_suffix}
        selection = ["-k", clause_id.replace("-", "_")]
        result = record(reference.target, kwargs, api.url, reference.real_base, Path(scratch), Path(scratch), selection)
        cassette = Path(scratch) / reference.class_name / f"{clause_id}.yaml"
        if not cassette.is_file():
            raise SystemExit(f"recording {clause_id} for {reference.target} failed:\n{result.stdout}\n{result.stderr}")
        shutil.copyfile(cassette, target_dir / cassette.name)


def provenance(references: tuple[Reference, ...]) -> str:
    lines = [
        "# Where the cassettes' responses come from",
        "",
        "Every response body in these cassettes is a real HTTP response that the public project",
        "named below recorded against the live service; this kit did not write any of them. The",
        "request side is what the provider sends, recorded through the kit against a",
        "loopback server that replayed those responses (`python -m tests.support.build_cassettes`).",
        "The recording date in each cassette is when the kit recorded it, not when the service answered.",
        "",
        "| provider | wire family | streamed | response recorded by | source file | commit | licence |",
        "|---|---|---|---|---|---|---|",
    ]
    for reference in references:
        for stream in (False, True):
            sample = load_sample(DEFAULT_SAMPLES[(reference.family, stream)])
            source = sample["source"]
            lines.append(
                f"| {reference.class_name} | {reference.family} | {'yes' if stream else 'no'} | {source['repo']} "
                f"| {source['path']} | {source['commit'][:12]} | {source['license']} |"
            )
    lines += [
        "",
        "These clauses replay another real response than the table above names:",
        "",
        "| provider | clause | response recorded by | source file | commit | licence |",
        "|---|---|---|---|---|---|",
    ]
    for reference in references:
        for (clause_id, family), samples in CLAUSE_SAMPLES.items():
            for name in samples.values() if family == reference.family else ():
                source = load_sample(name)["source"]
                lines.append(
                    f"| {reference.class_name} | {clause_id} | {source['repo']} | {source['path']} "
                    f"| {source['commit'][:12]} | {source['license']} |"
                )
    lines += ["", "The wire samples and their full provenance are in `tests/data/wire_samples/MANIFEST.md`.", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    clauses = [arg.removeprefix("--clause=") for arg in argv if arg.startswith("--clause=")]
    names = [arg for arg in argv if not arg.startswith("--clause=")]
    for references in (REFERENCES, STACK_PROVIDERS):
        for reference in references:
            if names and reference.class_name not in names:
                continue
            if clauses:  # only these clauses' cassettes: the others keep their bytes and dates
                for clause_id in clauses:
                    samples = CLAUSE_SAMPLES.get((clause_id, reference.family), {})
                    _build_one(reference, clause_id, samples, reference.out / reference.class_name)
                    print(f"rebuilt {reference.out / reference.class_name / clause_id}.yaml")
                continue
            build(reference)
            print(f"rebuilt {reference.out / reference.class_name}")
        (references[0].out / "PROVENANCE.md").write_text(provenance(references), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
