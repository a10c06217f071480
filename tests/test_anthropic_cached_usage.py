"""usage-fidelity on an Anthropic answer whose prompt was partly served from the cache.

Anthropic's ``input_tokens`` leaves out the tokens written to and read from the prompt
cache, which its API reference adds in for the whole input. LAIOS's ``prompt_tokens`` may
hold either reading; a count the body states nowhere still fails. The committed cassettes
state zero cache counts (as every recording in the wire samples does), so these tests set
them in a copy: the values only, in the fields the recording has.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANTHROPIC_CASSETTES = REPO / "cassettes" / "AnthropicClient"
D = "tests.providers.defective_anthropic:"
TARGETS = (
    "reference_providers.anthropic:AnthropicClient",
    D + "CountsCachedPromptTokens",
    D + "CountsCachedPromptTokensTwice",
)


def with_cache_counts(root: Path, class_name: str) -> None:
    folder = root / class_name
    folder.mkdir(parents=True)
    text = (ANTHROPIC_CASSETTES / "usage-fidelity.yaml").read_text(encoding="utf-8")
    edited = text.replace('"cache_creation_input_tokens":0', '"cache_creation_input_tokens":100').replace(
        '"cache_read_input_tokens":0', '"cache_read_input_tokens":2000'
    )
    assert edited.count("2000") == text.count('"cache_read_input_tokens":0') > 0
    (folder / "usage-fidelity.yaml").write_text(edited, encoding="utf-8")


def test_prompt_tokens_may_count_the_cache_in_but_not_twice(run_kit, pytester) -> None:
    root = pytester.path / "cassettes"
    for target in TARGETS:
        with_cache_counts(root, target.rsplit(":", 1)[1])
    run = run_kit(TARGETS, "-k", "usage_fidelity", f"--laios-cassette-dir={root}", cassettes=False)
    assert run.statuses(0) == {"usage-fidelity": "passed"}, run.report
    assert run.statuses(1) == {"usage-fidelity": "passed"}, run.message("usage-fidelity", 1)
    assert run.statuses(2) == {"usage-fidelity": "failed"}, run.report
    message = run.message("usage-fidelity", 2)
    assert "the recorded answer: the body states {'prompt_tokens': 13, " in message
    assert "(or, counting cached prompt tokens, {'prompt_tokens': 2113, " in message
    assert "the provider reported {'prompt_tokens': 4213, " in message
