"""Measure hybrid search at scale and the bundled model's throughput, beside a trivial endpoint.

The benchmark builds a fresh store in a temporary directory (the demo catalog, then N synthetic
published solutions), and then:

* **embedding throughput**: the bundled model embeds a sample of the synthetic solutions' passages
  (``marketplace.search.vectors.passage``), one thread, in batches of 32, and the demo catalog's
  published items; wall and CPU time per item;
* **vectors for everything else**: embedding 100,000 passages would take about 20 minutes of one
  core, so every other solution gets a sample vector with a little noise (renormalised) under the
  digest of its own text. Nearest-neighbour cost and memory depend on how many vectors there are,
  not on what they say, so the latency and memory figures stand; relevance is measured elsewhere
  (docs/embeddings.md);
* **rebuild**: ``rebuild_index()`` with the stored vectors attached;
* **search over HTTP** through gunicorn (``gunicorn.conf.py``), at concurrency 1:
  ``mode=keyword``, the default (hybrid), ``mode=semantic``, hybrid with queries never seen before
  (so the model embeds each one), and ``/healthz`` of the same server; the bare Flask app of
  ``benchmarks/floor_app.py`` is served the same way as the floor;
* **recommendations over HTTP** on the same store (the untrained prior, as a fresh catalog serves
  it): the judged profiles of ``benchmarks/recommend_bench.py`` once each on fresh workers (every
  request embeds its needs and misses every cache), then each profile with its needs reworded (a
  new query for the model and the scenario classifier, on workers that have met most of its
  candidates), then repeated (the steady state);
* **memory**: VmRSS, RssFile and Pss of each worker after the run (the vector file is mapped, so
  its pages are the page cache's, shared by the workers).

The machine is shared: the load average is recorded around every phase.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.hybrid_bench --size 100000 --write-doc docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

from benchmarks.harness import (
    SEARCH_PATH,
    GunicornServer,
    LoadLog,
    PostClient,
    make_app,
    memory_of,
    request_bodies,
    run_http,
    seed_command,
    server_env,
    timed,
)
from benchmarks.report import machine_description, write_section

DOC_BEGIN = "<!-- hybrid_bench:begin -->"
DOC_END = "<!-- hybrid_bench:end -->"
NEEDS = [
    "电费太高不知道哪台机器最费电",
    "客户老投诉产品有划痕",
    "老板出差审批就卡住",
    "插个急单整个车间就乱套",
    "仓库里东西找不到，账和实物对不上",
    "机器突然停机，一修就是好几天",
    "每个月结账财务都要加班好多天",
    "注塑件 外观缺陷",
    "销售一离职，客户就跟着走了",
    "供应商老是延期送货",
]
"""Plain-words needs, the queries the hybrid default exists for; each run cycles through them."""
SAMPLE_NOISE = 0.05
RECOMMEND_COLD = "recommendations, first pass (each profile once: needs embedded, caches cold)"
RECOMMEND_STEADY = "recommendations, steady state (the profiles again)"
RECOMMEND_REWORDED = "recommendations, needs reworded on the warm server (needs embedded, items seen)"


def _fill_vectors(app, sample: np.ndarray) -> int:
    """Give every published solution without a vector a noisy sample vector under its own text's digest."""
    from indexing.embeddings import content_digest, vector_to_bytes
    from marketplace.extensions import db
    from marketplace.search import vectors
    from marketplace.search.documents import iter_published
    from marketplace.taxonomy.service import taxonomy

    rng = np.random.default_rng(7)
    with app.app_context():
        spec = vectors.state().spec
        rows, filled = [], 0
        for document in iter_published("solution", taxonomy()):
            row = sample[filled % len(sample)] + SAMPLE_NOISE * rng.standard_normal(sample.shape[1])
            row = (row / np.linalg.norm(row)).astype(np.float32)
            rows.append(
                {
                    "kind": "solution",
                    "item_id": document.id,
                    "model_id": spec.model_id,
                    "content_digest": content_digest(vectors.passage(document)),
                    "vector": vector_to_bytes(row),
                }
            )
            filled += 1
            if len(rows) >= 5_000:
                vectors.store(rows)
                db.session.commit()
                rows = []
        vectors.store(rows)
        db.session.commit()
    return filled


def _embed_sample(app, size: int) -> tuple[dict, np.ndarray]:
    """Embed the first ``size`` synthetic solutions' passages with the bundled model; time it."""
    from marketplace.search import vectors
    from marketplace.search.documents import iter_published
    from marketplace.taxonomy.service import taxonomy

    with app.app_context():
        embedder = vectors.state().embedder
        embedder.embed_passages(["预热"])
        documents = []
        for document in iter_published("solution", taxonomy()):
            if document.id > 400:  # past the demo catalog's solutions: synthetic ones
                documents.append(document)
            if len(documents) >= size:
                break
        texts = [vectors.passage(document) for document in documents]
        with timed() as run:
            rows = np.concatenate(
                [embedder.embed_passages(texts[start : start + 32]) for start in range(0, len(texts), 32)]
            )
    figures = {
        "items": len(texts),
        "chars_mean": statistics.fmean(len(text) for text in texts),
        "wall_s": run["wall_s"],
        "cpu_s": run["cpu_s"],
        "items_per_s": len(texts) / run["wall_s"],
        "cpu_ms_per_item": run["cpu_s"] * 1000 / len(texts),
        **_model_load(),
    }
    return figures, rows


MODEL_LOAD_SCRIPT = """
import json, resource, time
import numpy
from indexing.embeddings import UniversalSentenceEncoder
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 2**20
before = rss()
started = time.perf_counter()
model = UniversalSentenceEncoder()
model.embed_queries(["预热"])
loaded = time.perf_counter() - started
times = []
for text in ["电费太高不知道哪台机器最费电", "客户老投诉产品有划痕", "老板出差审批就卡住"] * 10:
    started = time.perf_counter()
    model.embed_queries([text + str(len(times))])
    times.append(time.perf_counter() - started)
times.sort()
p50 = times[len(times) // 2] * 1000
print(json.dumps({"load_s": loaded, "model_rss_mb": rss() - before, "query_p50_ms": p50}))
"""


def _model_load() -> dict:
    """Load time, resident memory and the query embedding p50 of the bundled model, in a fresh process."""
    import subprocess

    output = subprocess.run(
        [sys.executable, "-c", MODEL_LOAD_SCRIPT],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _embed_demo(app) -> dict:
    """``flask embeddings sync`` over the demo catalog alone (before the synthetic solutions exist)."""
    from marketplace.search import maintenance

    with app.app_context(), timed() as run:
        done = maintenance.sync_embeddings()
    return {"items": sum(done.values()), **run}


def _reworded(body: str, suffix: str) -> str:
    """A recommendation request body whose needs end with ``suffix``: text the worker has not seen."""
    profile = json.loads(body)
    return json.dumps({**profile, "needs": profile["needs"] + suffix}, ensure_ascii=False)


def _url(params: dict) -> str:
    return f"{SEARCH_PATH}?{urlencode(params)}"


def measure(size: int, options: argparse.Namespace, base: Path | None) -> dict:
    """Build the store, embed, rebuild, serve and measure; return every figure."""
    directory = Path(tempfile.mkdtemp(prefix="hybrid-bench-", dir=base))
    log = LoadLog()
    try:
        with log.phase("store: demo catalog"):
            app = make_app(directory)
        with log.phase("embed: demo catalog (flask embeddings sync)"):
            demo = _embed_demo(app)
        with log.phase(f"seed: {size:,} synthetic solutions"):
            seeded = seed_command(app, size)
        with log.phase(f"embed: {options.sample:,}-item sample"):
            throughput, sample = _embed_sample(app, options.sample)
        with log.phase("vectors for the rest (sample vectors + noise)"):
            filled = _fill_vectors(app, sample)
        from marketplace.search import maintenance

        with log.phase("rebuild_index() with vectors"), app.app_context(), timed() as rebuild:
            indexed = maintenance.rebuild_index()["indexed"]
            status = maintenance.index_status()
        env = server_env(directory, options.workers, RECOMMENDATION_RATE_LIMIT="1000000/minute")
        bodies = request_bodies()
        urls = {
            "keyword": [_url({"q": need, "mode": "keyword"}) for need in NEEDS],
            "hybrid (default)": [_url({"q": need}) for need in NEEDS],
            "semantic": [_url({"q": need, "mode": "semantic"}) for need in NEEDS],
            "/healthz": ["/healthz"],
        }
        runs: dict[str, list[dict]] = {}
        with (
            GunicornServer("wsgi:app", env, directory / "gunicorn-app.log", "/healthz") as server,
            GunicornServer("benchmarks.floor_app:app", env, directory / "gunicorn-floor.log", "/") as floor,
        ):
            with log.phase(
                "search and recommendations over HTTP, concurrency 1", lambda: server.pids() + floor.pids()
            ):
                runs[RECOMMEND_COLD] = [
                    run_http(server.port, bodies, len(bodies), 1, 0, server.pids(), PostClient)
                ]
                for repeat in range(options.repeat):
                    runs.setdefault("floor app /", []).append(
                        run_http(floor.port, ["/"], options.requests, 1, options.warmup, floor.pids())
                    )
                    unseen = [
                        _url({"q": f"{NEEDS[n % len(NEEDS)]} 第{repeat}-{n}次"})
                        for n in range(options.requests + options.warmup)
                    ]
                    runs.setdefault("hybrid, unseen queries (model runs)", []).append(
                        run_http(server.port, unseen, options.requests, 1, options.warmup, server.pids())
                    )
                    for name, paths in urls.items():
                        runs.setdefault(name, []).append(
                            run_http(server.port, paths, options.requests, 1, options.warmup, server.pids())
                        )
                    reworded = [_reworded(body, f"（第{repeat}-{n}次）") for n, body in enumerate(bodies)]
                    runs.setdefault(RECOMMEND_REWORDED, []).append(
                        run_http(server.port, reworded, len(reworded), 1, 0, server.pids(), PostClient)
                    )
                    runs.setdefault(RECOMMEND_STEADY, []).append(
                        run_http(
                            server.port,
                            bodies,
                            options.requests,
                            1,
                            options.warmup,
                            server.pids(),
                            PostClient,
                        )
                    )
            memory = {f"app worker {n}": memory_of(pid) for n, pid in enumerate(server.worker_pids(), 1)}
            memory["app master"] = memory_of(server.process.pid)
            memory["floor worker 1"] = memory_of(floor.worker_pids()[0])
        vector_file = directory / "index" / status["version"] / "vectors" / "solution.i8"
        return {
            "size": size,
            "seed": seeded,
            "demo_embedding": demo,
            "throughput": throughput,
            "filled": filled,
            "rebuild": {"indexed": indexed, **rebuild},
            "index_vectors": status["index_vectors"],
            "vector_file_mb": vector_file.stat().st_size / 2**20,
            "latency": {
                name: {
                    key: statistics.median(run[key] for run in found)
                    for key in ("p50", "p95", "p99", "cpu_ms")
                }
                for name, found in runs.items()
            },
            "memory": memory,
            "load": log.phases,
        }
    finally:
        if not options.keep:
            shutil.rmtree(directory, ignore_errors=True)


def render(report: dict) -> str:
    """The markdown section of docs/benchmarks.md."""
    machine, result = report["machine"], report["result"]
    lines = [
        "## Hybrid search and embeddings (`benchmarks/hybrid_bench.py`)",
        "",
        f"Run {machine['date']} on {machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']:.1f} GiB, "
        f"Linux {machine['kernel']}, Python {machine['python']}; load average (1/5/15 min) at the start "
        f"{' / '.join(f'{v:.2f}' for v in machine['load_average'])}, at the end "
        f"{' / '.join(f'{v:.2f}' for v in report['load_average_end'])}. The machine may be shared with other "
        "work: read each phase's latencies beside its load (the last table).",
        "",
        f"Command: `{report['command']}`. {report['settings']}",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    demo, throughput, rebuild = result["demo_embedding"], result["throughput"], result["rebuild"]
    lines += [
        f"| demo catalog, `flask embeddings sync` ({demo['items']} items, model load included) | "
        f"{demo['wall_s']:.1f} s wall, {demo['cpu_s']:.1f} s CPU |",
        f"| bundled model, {throughput['items']:,} synthetic passages "
        f"(mean {throughput['chars_mean']:.0f} chars), 1 thread, batches of 32 | "
        f"{throughput['items_per_s']:.0f} items/s, "
        f"{throughput['cpu_ms_per_item']:.1f} ms CPU per item |",
        f"| model in a fresh process: load, resident memory, query embedding p50 (10-20 chars) | "
        f"{throughput['load_s']:.1f} s, {throughput['model_rss_mb']:.0f} MiB, "
        f"{throughput['query_p50_ms']:.1f} ms |",
        f"| seeding {result['size']:,} solutions | {result['seed']['wall_s']:.1f} s |",
        f"| `rebuild_index()` with vectors ({rebuild['indexed']:,} documents) | "
        f"{rebuild['wall_s']:.1f} s wall, {rebuild['indexed'] / rebuild['wall_s']:,.0f} docs/s |",
        f"| vectors in the index | {result['index_vectors']}; "
        f"vector file {result['vector_file_mb']:.0f} MiB |",
        "",
        "HTTP at concurrency 1, median of the runs' percentiles (ms), CPU ms per request on the server:",
        "",
        "| path | p50 | p95 | p99 | CPU ms | p50 ÷ floor |",
        "|---|---|---|---|---|---|",
    ]
    floor = result["latency"]["floor app /"]["p50"]
    for name, figures in result["latency"].items():
        lines.append(
            f"| {name} | {figures['p50']:.2f} | {figures['p95']:.2f} | {figures['p99']:.2f} | "
            f"{figures['cpu_ms']:.2f} | {figures['p50'] / floor:.1f} |"
        )
    lines += [
        "",
        "Memory after the run (MiB):",
        "",
        "| process | VmRSS | RssAnon | RssFile | Pss |",
        "|---|---|---|---|---|",
    ]
    for name, figures in result["memory"].items():
        pss = figures.get("Pss")
        lines.append(
            f"| {name} | {figures['VmRSS']:.0f} | {figures['RssAnon']:.0f} | {figures['RssFile']:.0f} | "
            f"{'' if pss is None else f'{pss:.0f}'} |"
        )
    lines += [
        "",
        "Load per phase:",
        "",
        "| phase | wall s | load before | load after | busy cores | ours | others |",
    ]
    lines.append("|---|---|---|---|---|---|---|")
    for phase in result["load"]:
        lines.append(
            f"| {phase['phase']} | {phase['wall_s']:.1f} | {phase['load_before'][0]:.2f} | "
            f"{phase['load_after'][0]:.2f} | {phase['busy_cores']:.2f} | {phase['own_cores']:.2f} | "
            f"{phase['other_cores']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="synthetic solutions")
    parser.add_argument("--sample", type=int, default=1_000, help="passages embedded by the real model")
    parser.add_argument("--repeat", type=int, default=2, help="latency runs per path")
    parser.add_argument("--requests", type=int, default=100, help="measured requests per run")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured requests before each run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (WORKERS)")
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the temporary store goes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary store")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure as JSON here")
    parser.add_argument(
        "--write-doc", type=Path, default=None, help="replace the marked section of this file"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure, print the markdown, and write it and the JSON where asked."""
    options = parse_args(argv)
    command = " ".join(["python -m benchmarks.hybrid_bench", *(argv if argv is not None else sys.argv[1:])])
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    report = {
        "machine": machine_description(),
        "command": f".venv/bin/{command}",
        "settings": (
            f"{options.repeat} runs × {options.requests} measured requests after {options.warmup} "
            f"warm-up ones per path; gunicorn `-c gunicorn.conf.py` with WORKERS={options.workers}, "
            "THREADS=1; per_page 20; every search computes the four facets"
        ),
    }
    report["result"] = measure(options.size, options, options.tmp_dir)
    report["load_average_end"] = os.getloadavg()
    markdown = render(report)
    print(markdown)
    if options.json:
        options.json.write_text(
            json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
    if options.write_doc:
        write_section(options.write_doc, markdown, DOC_BEGIN, DOC_END)


if __name__ == "__main__":
    main()
