"""Recommendation benchmark: POST /api/v1/recommendations over HTTP through gunicorn, at N solutions.

Run by hand, not in CI::

    .venv/bin/python -m benchmarks.recommend_bench --size 100000 --write-doc docs/benchmarks.md

It builds a temporary store (the demo catalog plus ``flask seed synthetic`` solutions), indexes
it, trains the matcher as ``flask matching train`` does, and serves it with the service's gunicorn
settings. The request bodies are the profiles of the judged queries (``tests/relevance``): SME
needs in their own words, with industries, budgets and cities. In the same run, interleaved, it
measures the bare Flask floor (``benchmarks/floor_app.py``) and reports each figure as a ratio to it.
The store, the servers and the HTTP client come from ``benchmarks/harness.py``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import (
    GunicornServer,
    LoadLog,
    PostClient,
    make_app,
    median_of,
    memory_of,
    request_bodies,
    run_http,
    seed_command,
    server_env,
    timed,
)
from benchmarks.report import machine_description, write_section

DOC_BEGIN = "<!-- recommend_bench:begin -->"
DOC_END = "<!-- recommend_bench:end -->"
TARGET_P50_MS = 25.0


def prepare(directory: Path, size: int, log: LoadLog) -> dict:
    """Store, index and model for ``size`` synthetic solutions plus the demo catalog; times each step."""
    app = make_app(directory)
    runner = app.test_cli_runner()
    steps = {}
    with log.phase("seed"):
        steps["seed"] = seed_command(app, size)
    for name, args in (("index", ["index", "rebuild"]), ("train", ["matching", "train", "--force"])):
        with log.phase(name), timed() as steps[name]:
            outcome = runner.invoke(args=args)
        if outcome.exit_code != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed: {outcome.output}") from outcome.exception
    return steps


def measure(directory: Path, options: argparse.Namespace, log: LoadLog) -> tuple[dict, dict]:
    """Recommendations and the floor over HTTP, interleaved, ``options.repeat`` times.

    First, each profile is sent once to the fresh servers: the ``cold`` run, whose requests find
    no candidate, vector or request-text cache filled. The repeated runs then measure the steady
    state, in which the workers have served these profiles before.
    """
    env = server_env(directory, options.workers, RECOMMENDATION_RATE_LIMIT="1000000/minute")
    bodies = request_bodies()
    runs: dict = {"floor": [], "recommend": [], "cold": []}
    with (
        GunicornServer("wsgi:app", env, directory / "gunicorn-app.log", "/healthz") as server,
        GunicornServer("benchmarks.floor_app:app", env, directory / "gunicorn-floor.log", "/") as floor,
        log.phase("HTTP", lambda: server.pids() + floor.pids()),
    ):
        runs["cold"].append(run_http(server.port, bodies, len(bodies), 1, 0, server.pids(), PostClient))
        for _ in range(options.repeat):
            floor_run = run_http(floor.port, ["/"], options.requests, 1, options.warmup, floor.pids())
            runs["floor"].append(floor_run)
            runs["recommend"].append(
                run_http(server.port, bodies, options.requests, 1, options.warmup, server.pids(), PostClient)
            )
        memory = {f"app worker {n}": memory_of(pid) for n, pid in enumerate(server.worker_pids(), 1)}
    return runs, memory


def describe(machine: dict) -> str:
    """One line about the machine."""
    return (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']:.0f} GiB, "
        f"Linux {machine['kernel']}, Python {machine['python']}, {machine['date']}"
    )


def render(report: dict) -> str:
    """The markdown section for ``docs/benchmarks.md``."""
    runs, floor = report["runs"]["recommend"], report["runs"]["floor"]
    lines = [
        f"### Recommendations over HTTP at {report['size']:,} solutions",
        "",
        f"Machine: {report['machine']}. Command: `{report['command']}`. {report['settings']}",
        "",
        "| | p50 ms | p95 ms | p99 ms | req/s | server CPU ms/req | p50 ÷ floor |",
        "|---|---|---|---|---|---|---|",
    ]
    floor_p50 = median_of(floor, "p50")
    rows = (
        ("floor (bare Flask JSON)", floor),
        ("POST /api/v1/recommendations, steady state", runs),
        ("… first pass: each profile once, caches cold", report["runs"]["cold"]),
    )
    for name, series in rows:
        p50 = median_of(series, "p50")
        lines.append(
            f"| {name} | {p50:.1f} | {median_of(series, 'p95'):.1f} | {median_of(series, 'p99'):.1f} | "
            f"{median_of(series, 'rps'):.0f} | {median_of(series, 'cpu_ms'):.1f} | {p50 / floor_p50:.1f}× |"
        )
    steps = report["steps"]
    lines += [
        "",
        f"Preparation: seed {steps['seed']['wall_s']:.0f} s, index rebuild {steps['index']['wall_s']:.0f} s, "
        f"training {steps['train']['wall_s']:.0f} s. Worker RSS: "
        + ", ".join(f"{name} {m['VmRSS']:.0f} MiB" for name, m in report["memory"].items())
        + ".",
        "",
        "Load average per phase (others sharing the machine show up here): "
        + "; ".join(
            f"{p['phase']} {p['load_before'][0]:.2f}→{p['load_after'][0]:.2f} "
            f"(ours {p['own_cores']:.2f} cores, others {p['other_cores']:.2f})"
            for p in report["phases"]
        )
        + ".",
        "",
    ]
    p50 = median_of(runs, "p50")
    met = "met" if p50 <= TARGET_P50_MS else "**not met**"
    lines += [
        f"Target p50 ≤ {TARGET_P50_MS:.0f} ms (steady state): {p50:.1f} ms, {met}. The steady-state runs "
        "repeat the judged profiles, so their candidates, vectors and request texts are cached in the "
        "worker that serves them; the first pass shows the price of a miss.",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="synthetic solutions")
    parser.add_argument("--repeat", type=int, default=3, help="latency runs")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per run")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests before each run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (WORKERS)")
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the temporary store goes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary store")
    parser.add_argument("--write-doc", type=Path, default=None, help="replace this file's marked section")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure, print the markdown, and write it where asked."""
    options = parse_args(argv)
    directory = Path(tempfile.mkdtemp(prefix="recommend-bench-", dir=options.tmp_dir))
    log = LoadLog()
    started = time.perf_counter()
    try:
        steps = prepare(directory, options.size, log)
        runs, memory = measure(directory, options, log)
    finally:
        if not options.keep:
            shutil.rmtree(directory, ignore_errors=True)
    arguments = " ".join(argv if argv is not None else sys.argv[1:])
    report = {
        "size": options.size,
        "machine": describe(machine_description()),
        "command": f".venv/bin/python -m benchmarks.recommend_bench {arguments}".strip(),
        "settings": (
            f"{options.repeat} runs × {options.requests} sequential requests after {options.warmup} warm-up "
            f"ones; gunicorn WORKERS={options.workers}, THREADS=1; bodies: the {len(request_bodies())} "
            f"judged profiles in turn; total {time.perf_counter() - started:.0f} s."
        ),
        "runs": runs,
        "memory": memory,
        "steps": steps,
        "phases": log.phases,
    }
    markdown = render(report)
    print(markdown)
    if options.write_doc:
        write_section(options.write_doc, markdown, DOC_BEGIN, DOC_END)


if __name__ == "__main__":
    main()
