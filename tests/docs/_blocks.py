"""Reading the docs' Markdown: fenced code blocks, the markers before them, the commands in them.

Conventions (also stated in each test's failure messages):

* Every fence names its language: ``python`` and ``bash`` blocks are executed, ``text``,
  ``json``, ``yaml`` and ``toml`` blocks are shown only. Shell aliases (``sh``,
  ``console``...) are refused, so no command escapes the checks.
* A marker is an HTML comment on its own line before a fence (blank lines may separate
  them; anything else in between is a dangling marker):

  ``<!-- not-run: REASON -->``  the block is not executed; REASON is required.
  ``<!-- exit: N -->``          a bash block whose one command must exit with N.
  ``<!-- save-as: NAME.py -->`` a python block that is also saved as NAME.py and judged
                                 by the kit (tests/docs/test_example_provider.py).

* In a bash block, lines are joined at a trailing backslash, ``#`` starts a comment and
  ``&&`` separates commands. ``pytest ...`` and ``laios-conformance ...`` commands run;
  ``pip install ...`` commands are checked (this project and its extras only), never run.
  Any other command, other shell syntax, or a ``$`` needs ``not-run``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

EXECUTED_LANGUAGES = frozenset({"python", "bash"})
SHOWN_LANGUAGES = frozenset({"text", "json", "yaml", "toml"})
RUNNABLE_PROGRAMS = ("pytest", "laios-conformance")
# Options whose value is a file the command writes: redirected into a temporary folder so
# that running the docs never writes into the repository.
OUTPUT_OPTIONS = ("--laios-report", "--report-json", "--report-md", "--junit", "--badge", "--junitxml", "--junit-xml")

_MARKER = re.compile(r"^<!--\s*(?P<name>not-run|exit|save-as)\b\s*(?::(?P<value>.*?))?\s*-->\s*$")
_LOOKS_LIKE_MARKER = re.compile(r"^<!--\s*(not[- _]?run|exit|save[- _]?as|skip|no[- _]?run)\b", re.IGNORECASE)
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
# This project: the checkout, the index's package, or the package from its git repository.
_PIP_SPEC = re.compile(
    r"^(?:\.|laios-conformance)(?:\[(?P<extras>[A-Za-z0-9_,-]+)\])?"
    r"(?: @ git\+https://[\w.-]+/[\w.-]+/laios-conformance(?:\.git)?(?:@[\w.-]+)?)?$"
)
_PIP_FLAGS = frozenset({"-e", "--editable", "-U", "--upgrade", "-q", "--quiet"})


@dataclass
class Block:
    page: str
    line: int
    lang: str
    code: str
    markers: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def not_run(self) -> str | None:
        return self.markers.get("not-run")

    @property
    def runs(self) -> bool:
        return self.lang in EXECUTED_LANGUAGES and "not-run" not in self.markers

    @property
    def expected_exit(self) -> int:
        return int(self.markers.get("exit", "0"))


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def page_name(path: Path) -> str:
    return path.relative_to(DOCS).as_posix() if path.is_relative_to(DOCS) else path.name


def parse_page(path: Path) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a page with their markers, and every problem found on the way."""
    blocks: list[Block] = []
    problems: list[str] = []
    name = page_name(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    pending: dict[str, str] = {}
    pending_line = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = _MARKER.match(line.strip())
        fence = _FENCE.match(line)
        if marker:
            key, value = marker.group("name"), (marker.group("value") or "").strip()
            if key in pending:
                problems.append(f"{name}:{index + 1}: marker {key!r} given twice for one block")
            pending[key], pending_line = value, index + 1
        elif _LOOKS_LIKE_MARKER.match(line.strip()):
            problems.append(
                f"{name}:{index + 1}: unrecognised marker {line.strip()!r}; use <!-- not-run: REASON -->, "
                "<!-- exit: N --> or <!-- save-as: NAME.py -->"
            )
        elif fence:
            start = index
            close = re.compile(
                r"^"
                + re.escape(fence.group("indent"))
                + fence.group("fence")[0]
                + "{"
                + str(len(fence.group("fence")))
                + r",}\s*$"
            )
            index += 1
            body = []
            while index < len(lines) and not close.match(lines[index]):
                body.append(lines[index])
                index += 1
            if index == len(lines):
                problems.append(f"{name}:{start + 1}: code fence is never closed")
            indent = len(fence.group("indent"))
            code = "\n".join(b[indent:] if b[:indent].strip() == "" else b for b in body) + "\n"
            blocks.append(Block(name, start + 1, fence.group("info").strip().split(" ")[0], code, pending))
            pending = {}
        elif line.strip() and pending:
            problems.append(f"{name}:{pending_line}: marker(s) {sorted(pending)} are not followed by a code block")
            pending = {}
        index += 1
    if pending:
        problems.append(f"{name}:{pending_line}: marker(s) {sorted(pending)} are not followed by a code block")
    for block in blocks:
        problems.extend(_marker_problems(block))
    return blocks, problems


def _marker_problems(block: Block) -> list[str]:
    where, markers = block.id, block.markers
    problems = []
    if not block.lang:
        problems.append(f"{where}: the code fence names no language (use python, bash, text, json, yaml or toml)")
    elif block.lang not in EXECUTED_LANGUAGES | SHOWN_LANGUAGES:
        problems.append(
            f"{where}: fence language {block.lang!r} is not one of "
            f"{sorted(EXECUTED_LANGUAGES | SHOWN_LANGUAGES)} (shell commands are ```bash)"
        )
    if "not-run" in markers and len(markers["not-run"].split()) < 2:
        problems.append(
            f"{where}: <!-- not-run --> needs a reason, e.g. <!-- not-run: records against the live API -->"
        )
    if markers and block.lang not in EXECUTED_LANGUAGES:
        problems.append(f"{where}: markers {sorted(markers)} on a {block.lang!r} block, which is never executed")
    if "exit" in markers:
        if not re.fullmatch(r"\d{1,3}", markers["exit"]):
            problems.append(f"{where}: <!-- exit: N --> needs an integer, got {markers['exit']!r}")
        if block.lang != "bash" or "not-run" in markers:
            problems.append(f"{where}: <!-- exit --> belongs on a bash block that runs")
    if "save-as" in markers and (
        block.lang != "python" or not re.fullmatch(r"[a-z_][a-z0-9_]*\.py", markers["save-as"])
    ):
        problems.append(f"{where}: <!-- save-as: NAME.py --> belongs on a python block and names a module file")
    return problems


def all_blocks() -> list[Block]:
    return [block for path in pages() for block in parse_page(path)[0]]


# -- bash blocks ---------------------------------------------------------------------------


@dataclass
class Command:
    argv: list[str]
    shell_syntax: list[str]

    @property
    def kind(self) -> str:
        if self.argv[:2] == ["pip", "install"] or self.argv[:4] == ["python", "-m", "pip", "install"]:
            return "pip"
        if self.argv and self.argv[0] in RUNNABLE_PROGRAMS:
            return "run"
        return "other"

    @property
    def text(self) -> str:
        return shlex.join(self.argv)


def commands(block: Block) -> list[Command]:
    """The commands of a bash block, in order."""
    found = []
    for line in block.code.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        current: list[str] = []
        syntax: list[str] = []
        for token in tokens + ["&&"]:
            if token == "&&":
                if current:
                    found.append(Command(current, syntax))
                current, syntax = [], []
            elif token and all(c in "();<>|&" for c in token):
                syntax.append(token)
            else:
                current.append(token)
    return found


def runnable_problems(block: Block) -> list[str]:
    """Why a bash block without not-run cannot be executed as it stands (empty when it can)."""
    problems = []
    for command in commands(block):
        if command.kind == "other":
            problems.append(f"`{command.text}` is neither pytest, laios-conformance nor pip install")
        if command.shell_syntax:
            problems.append(f"`{command.text}` uses shell syntax {command.shell_syntax}")
        if command.kind == "run" and any("$" in arg for arg in command.argv):
            problems.append(f"`{command.text}` reads the environment ($...)")
        if command.kind == "run" and record_mode(command.argv) not in (None, "none"):
            problems.append(f"`{command.text}` records cassettes")
        if command.kind == "run" and command.argv[:2] == ["laios-conformance", "drift"]:
            problems.append(f"`{command.text}` calls the live API")
    runs = [c for c in commands(block) if c.kind == "run"]
    if "exit" in block.markers and len(runs) != 1:
        problems.append(f"<!-- exit --> needs exactly one pytest/laios-conformance command, found {len(runs)}")
    return [f"{block.id}: {p}; mark the block <!-- not-run: REASON --> if it must not run" for p in problems]


def record_mode(argv: list[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg.startswith("--record-mode="):
            return arg.split("=", 1)[1]
        if arg == "--record-mode" and index + 1 < len(argv):
            return argv[index + 1]
    return None


def pip_problems(command: Command) -> list[str]:
    """What a `pip install` line installs beyond this project and its declared extras."""
    extras = declared_extras()
    args = command.argv[2:] if command.argv[0] == "pip" else command.argv[4:]
    problems = []
    specs = [a for a in args if a not in _PIP_FLAGS]
    if not specs:
        problems.append("installs nothing")
    for spec in specs:
        match = _PIP_SPEC.match(spec)
        if not match:
            problems.append(f"installs {spec!r}, which is not this project")
        elif match.group("extras") and not set(match.group("extras").split(",")) <= extras:
            problems.append(f"asks for extras {match.group('extras')!r}; pyproject.toml declares {sorted(extras)}")
    return [f"`{command.text}` {p}" for p in problems]


def declared_extras() -> set:
    """The extras pyproject.toml declares (``[project.optional-dependencies]``)."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: read the table's keys by hand
        section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
        return set(re.findall(r"^([A-Za-z0-9_-]+)\s*=", section, re.MULTILINE))
    return set(tomllib.loads(text)["project"].get("optional-dependencies", {}))


def redirect_outputs(argv: list[str], folder: Path) -> tuple[list[str], list[Path]]:
    """``argv`` with relative output files moved into ``folder``, and those files."""
    out: list[str] = []
    written: list[Path] = []
    take_next = False
    for arg in argv:
        if take_next:
            arg, take_next = _moved(arg, folder, written), False
        elif arg in OUTPUT_OPTIONS:
            take_next = True
        elif arg.split("=", 1)[0] in OUTPUT_OPTIONS and "=" in arg:
            option, value = arg.split("=", 1)
            arg = f"{option}={_moved(value, folder, written)}"
        out.append(arg)
    return out, written


def _moved(value: str, folder: Path, written: list[Path]) -> str:
    path = Path(value) if Path(value).is_absolute() else folder / value
    written.append(path)
    return str(path)
