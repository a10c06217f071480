"""How fast the kit is: suite wall time, seam overhead per call, start-up cost, ``-n 2``.

Run from anywhere (it finds the repository from its own path):

    python benchmarks/run.py [--json PATH] [--reps N] [--startup-reps N] [--calls N] [--rounds N]
                             [--only a|b|c|d|e|f] [--dependency-plugins] [--baseline DIR]
                             [--fleet-reps N]

Every figure is a median of several repetitions measured in this one run, with
``time.perf_counter``; compared conditions are interleaved (A, B, A, B...) so that a
machine that gets busier or quieter during the run affects both sides alike. Ratios are
taken between figures of the same run, never against numbers from elsewhere.

a. ``python -m pytest --laios-provider=X -p no:cacheprovider -q`` wall time (subprocess,
   repository root, CI unset), for each reference provider and for all three together;
b. for each stack the seam watches, one ``generate()`` answered through the kit's seam
   (``laios_conformance.seam.interpose`` + a handler returning a ``Reply``) versus a mock
   answering the same recorded body at the layer the seam replaces: ``OpenAIClient`` on
   ``httpx.MockTransport``; ``RequestsOpenAIStyle`` on a urllib3 pool whose
   ``_make_request`` answers; ``UrllibOpenAIStyle`` on an ``http.client`` connection
   that answers; ``AiohttpOpenAIStyle`` on a ``ClientSession`` whose client middleware
   answers with vcrpy's replayed response;
c. ``python -m pytest --co -q`` on a one-test file in an empty folder, with the plugin
   installed but not asked for, versus ``-p no:laios_conformance``;
d. ``-n 2`` (pytest-xdist) versus serial, three providers;
e. with ``--baseline DIR`` (another checkout of the kit, e.g. ``git worktree add DIR main``):
   the three-provider suite of this checkout versus the same suite of DIR, interleaved, in
   wall time and in CPU time (user + system of the pytest process; steadier than wall time
   on a shared machine). Target: at most 1.10x.
f. with ``--only f`` (about 100 s, so not in the default run): a fleet: 1, 5 and 20
   OpenAI-compatible providers in one pytest session, each a reference ``OpenAIClient``
   subclass with its own label and base URL replaying a copy of the committed cassettes
   rewritten to that URL (a gateway's back ends); then the 20 with ``-n 2``. Run as CI runs
   it: ``CI`` set, so the ``laios-ci`` Hypothesis profile.

Not collected by pytest: the file is not named ``test_*.py`` and ``testpaths`` is ``tests``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROVIDERS = (
    "reference_providers.openai:OpenAIClient",
    "reference_providers.anthropic:AnthropicClient",
    "reference_providers.ollama:OllamaClient",
)
sys.path.insert(0, str(REPO))
CASSETTE = REPO / "cassettes" / "OpenAIClient" / "returns-response.yaml"
BLOCK = 100  # generate() calls per alternation in measurement b


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str = "none"
    met: bool | None = None  # None: no target
    detail: str = ""
    samples: list[float] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return "n/a" if self.met is None else ("met" if self.met else "MISSED")


# --- helpers ------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    drop = ("CI", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _timed_run(argv: list[str], cwd: Path, **env: str) -> float:
    """Wall time of one subprocess; raises if it fails (a failing run is not a figure)."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env={**_env(), **env}, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"benchmark command failed (exit {done.returncode}): {' '.join(argv)}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return elapsed


def _cpu_timed_run(argv: list[str], cwd: Path, **env: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one subprocess, CPU being its user + system time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = _timed_run(argv, cwd, **env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _interleaved(conditions: dict[str, Callable[[], float]], reps: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in conditions}
    for _ in range(reps):
        for name, measure in conditions.items():
            samples[name].append(measure())
    return samples


def _spread(values: list[float], scale: float = 1.0, fmt: str = "{:.2f}") -> str:
    return f"min {fmt.format(min(values) * scale)}, max {fmt.format(max(values) * scale)}, n={len(values)}"


def _suite_argv(providers: list[str], extra: list[str] = ()) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        *[f"--laios-provider={p}" for p in providers],
        "-p",
        "no:cacheprovider",
        "-q",
        *extra,
    ]


# --- a + d: the suite in replay -----------------------------------------------------------


def suite_figures(reps: int) -> list[Figure]:
    conditions: dict[str, Callable[[], float]] = {}
    for target in PROVIDERS:
        conditions[target] = lambda target=target: _timed_run(_suite_argv([target]), REPO)
    conditions["all three"] = lambda: _timed_run(_suite_argv(list(PROVIDERS)), REPO)
    conditions["all three, -n 2"] = lambda: _timed_run(_suite_argv(list(PROVIDERS), ["-n", "2"]), REPO)
    samples = _interleaved(conditions, reps)
    med = {name: statistics.median(values) for name, values in samples.items()}
    figures = [
        Figure(f"a. suite, {t.rsplit(':', 1)[1]} (wall s)", med[t], "s", detail=_spread(samples[t]), samples=samples[t])
        for t in PROVIDERS
    ]
    figures.append(
        Figure(
            "a. suite, all three (wall s)",
            med["all three"],
            "s",
            "< 10 s",
            med["all three"] < 10,
            _spread(samples["all three"]),
            samples["all three"],
        )
    )
    figures.append(
        Figure(
            "d. suite, all three, -n 2 (wall s)",
            med["all three, -n 2"],
            "s",
            detail=_spread(samples["all three, -n 2"]),
            samples=samples["all three, -n 2"],
        )
    )
    pairs = [p / s for p, s in zip(samples["all three, -n 2"], samples["all three"], strict=False)]
    figures.append(
        Figure(
            "d. -n 2 / serial, all three (ratio)",
            statistics.median(pairs),
            "x",
            detail=f"median of per-round ratios ({', '.join(f'{r:.2f}' for r in pairs)}); "
            f"ratio of medians {med['all three, -n 2'] / med['all three']:.3f}",
            samples=pairs,
        )
    )
    return figures


# --- e: this checkout against a baseline checkout ------------------------------------------


def baseline_figures(baseline: Path, reps: int) -> list[Figure]:
    trees = {"this checkout": REPO, "baseline": baseline.resolve()}
    wall: dict[str, list[float]] = {name: [] for name in trees}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(reps):
        for name, tree in trees.items():
            elapsed, used = _cpu_timed_run(_suite_argv(list(PROVIDERS)), tree, PYTHONPATH=str(tree))
            wall[name].append(elapsed)
            cpu[name].append(used)
    figures = []
    for unit, samples in (("wall", wall), ("CPU", cpu)):
        med = {name: statistics.median(values) for name, values in samples.items()}
        pairs = [a / b for a, b in zip(samples["this checkout"], samples["baseline"], strict=True)]
        ratio = med["this checkout"] / med["baseline"]
        figures += [
            Figure(
                f"e. suite, all three, {unit} s: this checkout / baseline",
                ratio,
                "x",
                "<= 1.10x",
                ratio <= 1.10,
                f"medians {med['this checkout']:.2f} s / {med['baseline']:.2f} s; per-round ratios "
                f"{', '.join(f'{r:.2f}' for r in pairs)}",
                pairs,
            )
        ]
    return figures


# --- b: the seam's overhead per call ------------------------------------------------------


def _recorded_body() -> bytes:
    import yaml

    cassette = yaml.safe_load(CASSETTE.read_text(encoding="utf-8"))
    body = cassette["interactions"][0]["response"]["body"]["string"]
    return body.encode("utf-8") if isinstance(body, str) else body


def seam_figures(calls: int, rounds: int) -> list[Figure]:
    """b, for each stack: the provider's generate() answered through the seam vs. a mock at the same layer."""
    from laios_conformance.base.client import LLMMessage
    from laios_conformance.seam import Reply, interpose

    body = _recorded_body()
    headers = {"content-type": "application/json"}
    messages = [LLMMessage(role="user", content="Say hello in one short sentence.")]
    expected = json.loads(body)["choices"][0]["message"]["content"]

    def seam_handler(seen: Any, upstream: Any) -> Reply:
        return Reply(status=200, body=body, headers=headers)

    def call(client: Any) -> None:
        if client.generate(messages, temperature=0.3, max_tokens=64).content != expected:
            raise SystemExit("benchmark: the provider did not return the recorded answer")

    figures: list[Figure] = []
    for stack, (through_seam, plain, plain_name) in _stack_clients(body, headers).items():

        def seam_block(n: int, through_seam: Any = through_seam) -> float:
            with interpose(seam_handler) as traffic:
                start = time.perf_counter()
                for _ in range(n):
                    call(through_seam)
                elapsed = time.perf_counter() - start
            if len(traffic) != n:
                raise SystemExit(f"benchmark: {len(traffic)} of {n} calls crossed the seam")
            return elapsed

        def seam_each_call_block(n: int, through_seam: Any = through_seam) -> float:
            start = time.perf_counter()
            for _ in range(n):
                with interpose(seam_handler):
                    call(through_seam)
            return time.perf_counter() - start

        def plain_block(n: int, plain: Any = plain) -> float:
            start = time.perf_counter()
            for _ in range(n):
                call(plain)
            return time.perf_counter() - start

        conditions = {"seam": seam_block, "plain": plain_block, "seam, interpose per call": seam_each_call_block}
        figures += _overhead_figures(stack, plain_name, conditions, calls, rounds)
        for client in (through_seam, plain):
            client.close()
    return figures


def _stack_clients(body: bytes, headers: dict[str, str]) -> dict[str, tuple[Any, Any, str]]:
    """Per stack: a provider on its default transport (answered by the seam), the same
    provider answered by a mock at the layer the seam replaces, and the mock's name."""
    import httpx

    from reference_providers.openai import OpenAIClient

    key = "sk-benchmark-not-a-key"

    def mock_handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, content=body)

    return {
        "httpx": (
            OpenAIClient(api_key=key),
            OpenAIClient(api_key=key, transport=httpx.MockTransport(mock_handler)),
            "httpx.MockTransport",
        ),
        "requests": (*_requests_clients(key, body, headers), "a urllib3 pool whose _make_request answers"),
        "urllib.request": (*_urllib_clients(key, body, headers), "an http.client connection that answers"),
        "aiohttp": (*_aiohttp_clients(key, body, headers), "a client middleware that answers"),
    }


def _requests_clients(key: str, body: bytes, headers: dict[str, str]) -> tuple[Any, Any]:
    import io

    import requests.adapters
    import urllib3

    from tests.providers.requests_style import RequestsOpenAIStyle

    class AnsweringPool(urllib3.HTTPSConnectionPool):
        def _make_request(self, conn: Any, method: str, url: str, *args: Any, **kw: Any) -> Any:
            return urllib3.HTTPResponse(
                body=io.BytesIO(body),
                headers=urllib3.HTTPHeaderDict(headers),
                status=200,
                preload_content=kw.get("preload_content", True),
                decode_content=kw.get("decode_content", True),
                request_method=method,
                request_url=url,
                pool=self,
                connection=kw.get("response_conn"),
            )

    class AnsweringAdapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"https": AnsweringPool}

    plain = RequestsOpenAIStyle(api_key=key)
    plain.session.mount("https://", AnsweringAdapter())
    return RequestsOpenAIStyle(api_key=key), plain


def _urllib_clients(key: str, body: bytes, headers: dict[str, str]) -> tuple[Any, Any]:
    import http.client
    import io
    import urllib.request

    from tests.providers.urllib_style import UrllibOpenAIStyle

    wire = b"HTTP/1.1 200 OK\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    wire += f"content-length: {len(body)}\r\n\r\n".encode() + body

    class Socket:
        def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
            return io.BufferedReader(io.BytesIO(wire))  # type: ignore[arg-type]  # BytesIO is a raw stream enough

    class AnsweringConnection(http.client.HTTPSConnection):
        def request(self, *args: Any, **kwargs: Any) -> None:
            pass

        def getresponse(self) -> http.client.HTTPResponse:
            response = http.client.HTTPResponse(Socket(), method="POST")  # type: ignore[arg-type]  # a socket stand-in
            response.begin()
            return response

    class AnsweringHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(AnsweringConnection, req, context=self._context)  # type: ignore[attr-defined]  # HTTPSHandler's, untyped

    class Plain(UrllibOpenAIStyle):
        def send(self, request: urllib.request.Request) -> Any:
            return urllib.request.build_opener(AnsweringHandler(context=self.tls)).open(request, timeout=self.timeout)

    for provider in (through_seam := UrllibOpenAIStyle(api_key=key)), (plain := Plain(api_key=key)):
        provider.close = lambda: None  # type: ignore[method-assign]  # the benchmark reuses the client
    return through_seam, plain


def _aiohttp_clients(key: str, body: bytes, headers: dict[str, str]) -> tuple[Any, Any]:
    """aiohttp has no mock transport: its client middlewares (3.12+) may answer instead of
    sending, inside ``ClientSession._request``, the method the seam takes over; the
    response is built as vcrpy's replay builds it."""
    import aiohttp
    from vcr.request import Request
    from vcr.stubs.aiohttp_stubs import build_response

    from tests.providers.aiohttp_style import AiohttpOpenAIStyle

    recorded = {"status": {"code": 200, "message": "OK"}, "headers": headers, "body": {"string": body}}

    async def answer(request: Any, handler: Any) -> Any:
        return build_response(Request(request.method, str(request.url), None, {}), recorded, [])

    class Plain(AiohttpOpenAIStyle):
        def session(self) -> aiohttp.ClientSession:
            return aiohttp.ClientSession(timeout=self.client_timeout(), middlewares=(answer,))

    for provider in (through_seam := AiohttpOpenAIStyle(api_key=key)), (plain := Plain(api_key=key)):
        provider.close = lambda: None  # type: ignore[method-assign]  # a session per call: nothing to close
    return through_seam, plain


def _overhead_figures(
    stack: str, plain_name: str, conditions: dict[str, Callable[[int], float]], calls: int, rounds: int
) -> list[Figure]:
    for measure in conditions.values():  # warm-up
        measure(max(50, calls // 10))
    # A round is `calls` calls per condition, run in blocks of BLOCK calls that alternate
    # between the conditions, so that both see the same (possibly changing) machine load.
    samples: dict[str, list[float]] = {name: [] for name in conditions}
    for _ in range(rounds):
        totals = dict.fromkeys(conditions, 0.0)
        done = 0
        while done < calls:
            n = min(BLOCK, calls - done)
            for name, measure in conditions.items():
                totals[name] += measure(n)
            done += n
        for name in conditions:
            samples[name].append(totals[name] / calls)
    med = {name: statistics.median(values) for name, values in samples.items()}
    pairs = [a / b for a, b in zip(samples["seam"], samples["plain"], strict=False)]
    ratio = statistics.median(pairs)
    us = 1e6
    return [
        Figure(
            f"b. {stack}: generate() via seam (us/call)",
            med["seam"] * us,
            "us",
            detail=f"{calls} calls x {rounds} rounds; " + _spread(samples["seam"], us, "{:.0f}"),
            samples=[v * us for v in samples["seam"]],
        ),
        Figure(
            f"b. {stack}: generate() via {plain_name} (us/call)",
            med["plain"] * us,
            "us",
            detail=_spread(samples["plain"], us, "{:.0f}"),
            samples=[v * us for v in samples["plain"]],
        ),
        Figure(
            f"b. {stack}: seam / plain (ratio)",
            ratio,
            "x",
            "< 1.5x",
            ratio < 1.5,
            detail=f"median of per-round ratios ({', '.join(f'{r:.2f}' for r in pairs)}); "
            f"ratio of medians {med['seam'] / med['plain']:.3f}; "
            f"seam costs {(med['seam'] - med['plain']) * us:+.0f} us/call",
            samples=pairs,
        ),
        Figure(
            f"b. {stack}: seam entered per call / plain (ratio)",
            med["seam, interpose per call"] / med["plain"],
            "x",
            detail=f"{med['seam, interpose per call'] * us:.0f} us/call incl. entering the seam each call",
            samples=[v * us for v in samples["seam, interpose per call"]],
        ),
    ]


# --- c: start-up cost when installed but unused ------------------------------------------


DEPENDENCY_PLUGINS = ("-p", "no:faker", "-p", "no:hypothesispytest")


def startup_figures(reps: int, dependency_plugins: bool = False) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="laios-startup-") as tmp:
        folder = Path(tmp)
        (folder / "test_tiny.py").write_text("def test_tiny():\n    assert True\n", encoding="utf-8")
        base = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "test_tiny.py"]
        # No bytecode written: neither side profits from the other having cached the
        # rewritten test module, so no untimed warm-up run is needed.
        conditions = {
            "unused": lambda: _timed_run(base, folder, PYTHONDONTWRITEBYTECODE="1"),
            "disabled": lambda: _timed_run([*base, "-p", "no:laios_conformance"], folder, PYTHONDONTWRITEBYTECODE="1"),
        }
        if dependency_plugins:
            conditions["bare"] = lambda: _timed_run(
                [*base, "-p", "no:laios_conformance", *DEPENDENCY_PLUGINS], folder, PYTHONDONTWRITEBYTECODE="1"
            )
        samples = _interleaved(conditions, reps)
    med = {name: statistics.median(values) for name, values in samples.items()}
    pairs = [u / d for u, d in zip(samples["unused"], samples["disabled"], strict=False)]
    ratio = statistics.median(pairs)
    ms = 1e3
    return [
        Figure(
            "c. pytest --co, plugin installed, unused (ms)",
            med["unused"] * ms,
            "ms",
            detail=_spread(samples["unused"], ms, "{:.0f}"),
            samples=[v * ms for v in samples["unused"]],
        ),
        Figure(
            "c. pytest --co, -p no:laios_conformance (ms)",
            med["disabled"] * ms,
            "ms",
            detail=_spread(samples["disabled"], ms, "{:.0f}"),
            samples=[v * ms for v in samples["disabled"]],
        ),
        Figure(
            "c. unused / disabled (ratio)",
            ratio,
            "x",
            "< 1.05x",
            ratio < 1.05,
            detail=f"median of per-pair ratios; ratio of medians {med['unused'] / med['disabled']:.3f}; "
            f"pairs min {min(pairs):.3f}, max {max(pairs):.3f}",
            samples=pairs,
        ),
    ] + (
        []
        if not dependency_plugins
        else [
            Figure(
                "c. pytest --co, kit, faker and hypothesis plugins all disabled (ms)",
                med["bare"] * ms,
                "ms",
                detail=_spread(samples["bare"], ms, "{:.0f}") + "; the kit depends on faker and hypothesis, "
                "whose pytest11 plugins load in every pytest run",
                samples=[v * ms for v in samples["bare"]],
            ),
            Figure(
                "c. unused / all three disabled (ratio)",
                med["unused"] / med["bare"],
                "x",
                detail="ratio of medians: start-up added by installing the kit with its dependencies",
            ),
        ]
    )


# --- f: a fleet of OpenAI-compatible providers in one session -------------------------------

FLEET_SIZES = (1, 5, 20)
FLEET_MODULE = """\
\"\"\"A gateway's back ends: one OpenAI-compatible reference client class per base URL.\"\"\"
from reference_providers.openai import OpenAIClient

for _n in range(1, {count} + 1):
    _name = f"Backend{{_n:02d}}"
    globals()[_name] = type(_name, (OpenAIClient,), {{"__module__": __name__, "__qualname__": _name}})
"""


def fleet_folder(root: Path, count: int) -> list[str]:
    """``count`` providers in ``root``: a module of classes and a cassette folder per class.

    Returns the command-line arguments naming them, each with its own base URL.
    """
    (root / "fleet_providers.py").write_text(FLEET_MODULE.format(count=count), encoding="utf-8")
    recorded = REPO / "cassettes" / "OpenAIClient"
    args = []
    for n in range(1, count + 1):
        name, base_url = f"Backend{n:02d}", f"https://backend-{n:02d}.gateway.example/v1"
        folder = root / "cassettes" / name
        folder.mkdir(parents=True)
        for cassette in recorded.glob("*.yaml"):
            text = cassette.read_text(encoding="utf-8").replace("https://api.openai.com/v1", base_url)
            (folder / cassette.name).write_text(text, encoding="utf-8")
        args += [
            f"--laios-provider=fleet_providers:{name}",
            f"--laios-provider-kwargs={json.dumps({'base_url': base_url})}",
        ]
    return args


def _fleet_argv(provider_args: list[str], extra: list[str] = ()) -> list[str]:
    return [sys.executable, "-m", "pytest", *provider_args, "-p", "no:cacheprovider", "-q", *extra]


def fleet_figures(reps: int) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="laios-fleet-") as tmp:
        root = Path(tmp)
        provider_args = fleet_folder(root, max(FLEET_SIZES))
        per_provider = 2  # --laios-provider and --laios-provider-kwargs
        conditions: dict[str, Callable[[], float]] = {}
        # As CI runs a fleet (a gateway's back ends gated on every merge): CI set, so the
        # laios-ci Hypothesis profile, replay only.
        for size in FLEET_SIZES:
            argv = _fleet_argv(provider_args[: size * per_provider])
            conditions[str(size)] = lambda argv=argv: _timed_run(argv, root, CI="1")
        largest = max(FLEET_SIZES)
        parallel = _fleet_argv(provider_args, ["-n", "2"])
        conditions[f"{largest}, -n 2"] = lambda: _timed_run(parallel, root, CI="1")
        samples = _interleaved(conditions, reps)
    med = {name: statistics.median(values) for name, values in samples.items()}
    t1, t5, t20 = (med[str(size)] for size in FLEET_SIZES)
    first_slope, second_slope = (t5 - t1) / 4, (t20 - t5) / 15
    figures = [
        Figure(
            f"f. fleet, {size} provider{'s' if size > 1 else ''} (wall s)",
            med[str(size)],
            "s",
            detail=f"{med[str(size)] / size:.2f} s per provider; " + _spread(samples[str(size)]),
            samples=samples[str(size)],
        )
        for size in FLEET_SIZES
    ]
    figures.append(
        Figure(
            "f. fleet, s per added provider, 1 -> 20",
            (t20 - t1) / 19,
            "s/provider",
            "<= 1 s",
            (t20 - t1) / 19 <= 1.0,
            f"1 -> 5: {first_slope:.2f} s each, 5 -> 20: {second_slope:.2f} s each "
            f"(ratio {second_slope / first_slope:.2f}; 1.00 is linear)",
        )
    )
    pairs = [s / p for s, p in zip(samples[str(largest)], samples[f"{largest}, -n 2"], strict=False)]
    figures.append(
        Figure(
            f"f. fleet, {largest} providers, -n 2 (wall s)",
            med[f"{largest}, -n 2"],
            "s",
            detail=_spread(samples[f"{largest}, -n 2"]),
            samples=samples[f"{largest}, -n 2"],
        )
    )
    figures.append(
        Figure(
            f"f. fleet, {largest} providers, serial / -n 2 (speed-up)",
            statistics.median(pairs),
            "x",
            ">= 1.4x",
            statistics.median(pairs) >= 1.4,
            f"median of per-round ratios ({', '.join(f'{r:.2f}' for r in pairs)}); "
            f"ratio of medians {med[str(largest)] / med[f'{largest}, -n 2']:.3f}",
            samples=pairs,
        )
    )
    return figures


# --- the machine, the table ----------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    memory = "unknown"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    versions = {}
    for name in ("pytest", "xdist", "httpx", "vcr", "hypothesis"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "?")
        except ImportError:
            versions[name] = "not installed"
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def _value(figure: Figure) -> str:
    if figure.unit == "x":
        return f"{figure.value:.3f}x"
    if figure.unit in ("s", "s/provider"):
        return f"{figure.value:.2f} {figure.unit}"
    return f"{figure.value:.0f} {figure.unit}"


def table(figures: list[Figure]) -> str:
    rows = [("measurement", "median", "target", "verdict", "spread / note")]
    rows += [(f.name, _value(f), f.target, f.verdict, f.detail) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4])
        if index == 0:
            lines.append("-" * (sum(widths) + 2 * 4 + len(row[4])))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each suite run (a, d); default 3")
    parser.add_argument("--startup-reps", type=int, default=8, help="repetitions of each start-up run (c); default 8")
    parser.add_argument("--calls", type=int, default=2000, help="generate() calls per round (b); default 2000")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of calls per condition (b); default 5")
    parser.add_argument("--fleet-reps", type=int, default=2, help="repetitions of each fleet run (f); default 2")
    parser.add_argument(
        "--dependency-plugins",
        action="store_true",
        help="c: also time start-up with faker's and hypothesis's pytest plugins disabled",
    )
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="e: also time the three-provider suite of another checkout of the kit against this one",
    )
    parser.add_argument(
        "--only",
        choices=("a", "b", "c", "d", "e", "f"),
        action="append",
        help="run only these measurements (a and d run together)",
    )
    args = parser.parse_args(argv)
    # The fleet (f) takes as long as the rest together: asked for by itself (--only f), so that
    # the default run stays within its two minutes.
    only = set(args.only or "abcd" + ("e" if args.baseline else ""))

    started = time.perf_counter()
    load_before = os.getloadavg()
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    figures: list[Figure] = []
    if only & {"b"}:
        figures += seam_figures(args.calls, args.rounds)
    if only & {"c"}:
        figures += startup_figures(args.startup_reps, args.dependency_plugins)
    if only & {"a", "d"}:
        figures += suite_figures(args.reps)
    if "e" in only and args.baseline:
        figures += baseline_figures(Path(args.baseline), args.reps)
    if only & {"f"}:
        figures += fleet_figures(args.fleet_reps)
    figures.sort(key=lambda f: f.name[:2])
    elapsed = time.perf_counter() - started
    load_after = os.getloadavg()
    info = machine()

    print(f"laios-conformance benchmarks, {date}")
    print(f"machine: {info['nproc']} CPU(s), {info['cpu']}, {info['memory']} RAM, Python {info['python']}")
    print(
        f"load average (1/5/15 min): before {'/'.join(f'{x:.2f}' for x in load_before)}, "
        f"after {'/'.join(f'{x:.2f}' for x in load_after)}"
    )
    print()
    print(table(figures))
    print()
    missed = [f.name for f in figures if f.met is False]
    print(
        f"targets: {sum(f.met is True for f in figures)} met, {len(missed)} missed; benchmark took {elapsed:.1f} s"
        + (" (over its 2-minute budget: a busy machine, or lower --reps / --startup-reps)" if elapsed > 120 else "")
    )

    if args.json:
        data = {
            "date": date,
            "command": " ".join(["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
            "machine": info,
            "load_average_before": load_before,
            "load_average_after": load_after,
            "elapsed_s": elapsed,
            "settings": {
                "reps": args.reps,
                "startup_reps": args.startup_reps,
                "fleet_reps": args.fleet_reps,
                "calls": args.calls,
                "rounds": args.rounds,
                "dependency_plugins": args.dependency_plugins,
            },
            "figures": [dict(asdict(f), verdict=f.verdict) for f in figures],
        }
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
