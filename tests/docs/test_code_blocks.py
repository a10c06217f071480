"""Every code block in the docs is executed, or says why not.

Conventions: see ``tests/docs/_blocks.py``. In short, ``python`` blocks of a page run in
order in one namespace, in an empty folder, with the network blocked; ``bash`` blocks run
their ``pytest`` / ``laios-conformance`` commands from the repository root (CI unset,
output files redirected to a temporary folder) and must exit 0, or the code given by
``<!-- exit: N -->``; ``pip install`` lines are checked, never run;
``<!-- not-run: REASON -->`` excludes a block and must give the reason.
"""

from __future__ import annotations

import pytest

from . import _blocks
from ._blocks import all_blocks, commands, pages, parse_page, pip_problems, runnable_problems
from .conftest import CLI_MISSING, cli_available, python_pages, runnable_commands

BASH_BLOCKS = [b for b in all_blocks() if b.lang == "bash" and b.runs]
PYTHON_PAGES = python_pages()


def test_the_docs_have_code_to_check() -> None:
    assert len(pages()) >= 7
    assert BASH_BLOCKS and PYTHON_PAGES


def test_markers_and_fences_are_well_formed() -> None:
    problems: list[str] = []
    for path in pages():
        problems += parse_page(path)[1]
    assert not problems, "\n".join(problems)


def test_every_not_run_marker_gives_a_reason() -> None:
    skipped = [b for b in all_blocks() if "not-run" in b.markers]
    assert skipped, "the docs show live-API commands, which must be marked not-run"
    for block in skipped:
        assert len(block.not_run.split()) >= 2, f"{block.id}: <!-- not-run --> without a reason"


def test_bash_blocks_that_run_contain_only_runnable_commands() -> None:
    problems: list[str] = []
    for block in BASH_BLOCKS:
        problems += runnable_problems(block)
    assert not problems, "\n".join(problems)


def test_live_api_commands_are_not_run() -> None:
    for block in all_blocks():
        if block.lang != "bash":
            continue
        for command in commands(block):
            if command.kind == "run" and _blocks.record_mode(command.argv) not in (None, "none"):
                assert block.not_run, f"{block.id}: `{command.text}` records against the live API but runs"


def test_pip_install_lines_install_only_this_project() -> None:
    pip_lines = [c for b in all_blocks() if b.lang == "bash" for c in commands(b) if c.kind == "pip"]
    assert pip_lines
    problems = [p for c in pip_lines for p in pip_problems(c)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("block", BASH_BLOCKS, ids=[b.id for b in BASH_BLOCKS])
def test_bash_block_runs(block: _blocks.Block, doc_jobs) -> None:
    assert not runnable_problems(block), runnable_problems(block)
    needs_cli = []
    for argv in runnable_commands(block):
        if argv[0] == "laios-conformance" and not cli_available():
            needs_cli.append(argv)
            continue
        ran = doc_jobs.command(argv).result()
        assert ran.returncode == block.expected_exit, (
            f"{block.id}: expected exit {block.expected_exit}\n" + ran.explain()
        )
        if ran.returncode == 0:
            missing = [str(p) for p in ran.outputs if not p.exists()]
            assert not missing, f"{block.id}: `{ran.what}` wrote no {missing}\n" + ran.explain()
    if needs_cli:
        pytest.skip(f"{CLI_MISSING} ({len(needs_cli)} command(s): {needs_cli[0][:3]}...)")


@pytest.mark.parametrize("page", sorted(PYTHON_PAGES), ids=sorted(PYTHON_PAGES))
def test_python_blocks_run(page: str, doc_jobs) -> None:
    blocks = PYTHON_PAGES[page]
    ran = doc_jobs.python_page(page, blocks).result()
    assert ran.returncode == 0, ran.explain()


SAMPLE = """# A page with every mistake

<!-- not-run -->

```bash
pytest --laios-provider=a:B
```

<!-- not-run: records against the live API -->

```bash
pytest --laios-provider=a:B --laios-provider-kwargs='{"api_key": "$KEY"}' --record-mode=once
```

```bash
export KEY=1 && pytest --laios-provider=a:B --record-mode=rewrite --laios-report=out/v.json > log.txt
```

```sh
pytest
```

<!-- exit: 1 -->

Some text between the marker and its block.

```python
print("runs")
```

<!-- skip: not a marker this kit knows -->

```bash
pip install requests ".[dev,docs]" && laios-conformance check a:B --report-md summary.md
```
"""


def test_the_conventions_are_enforced(tmp_path) -> None:
    page = tmp_path / "sample.md"
    page.write_text(SAMPLE)
    blocks, problems = parse_page(page)
    text = "\n".join(problems)
    assert "sample.md:5: <!-- not-run --> needs a reason" in text
    assert "sample.md:23: marker(s) ['exit'] are not followed by a code block" in text
    assert "fence language 'sh'" in text
    assert "unrecognised marker '<!-- skip" in text
    assert blocks[1].not_run == "records against the live API" and not blocks[1].runs

    runnable = "\n".join(runnable_problems(blocks[2]))
    assert "`export KEY=1` is neither pytest" in runnable
    assert "shell syntax ['>']" in runnable and "records cassettes" in runnable

    pip = [c for c in commands(blocks[-1]) if c.kind == "pip"]
    assert [p.split("` ", 1)[1] for p in pip_problems(pip[0])] == [
        "installs 'requests', which is not this project",
        "asks for extras 'dev,docs'; pyproject.toml declares " + str(sorted(_blocks.declared_extras())),
    ]
    check = [c for c in commands(blocks[-1]) if c.kind == "run"][0]
    moved, written = _blocks.redirect_outputs(check.argv, tmp_path / "out")
    assert moved[-1] == str(tmp_path / "out" / "summary.md") and written == [tmp_path / "out" / "summary.md"]


def test_python_blocks_cannot_reach_the_network(tmp_path) -> None:
    from .conftest import DocJobs

    reach_out = _blocks.Block(
        "probe.md", 1, "python", 'import socket\nsocket.create_connection(("192.0.2.1", 80), timeout=1)\n'
    )
    ran = DocJobs(tmp_path)._python_page("probe.md", [reach_out])
    assert ran.returncode == 1 and "the docs tests block network access" in ran.stderr, ran.explain()
