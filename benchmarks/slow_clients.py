"""Slow clients against gunicorn: does ``/healthz`` keep answering while connections trickle their bodies?

It migrates an empty SQLite store in a temporary directory, serves it with
``gunicorn -c gunicorn.conf.py wsgi:app`` on a free port (in production mode, as ``scripts/serve``
does), and for each ``--threads`` value (1 is the sync worker, more the threaded one) and each
``--clients`` count opens that many connections that each declare a ``--declared``-byte JSON body to
``POST /api/v1/recommendations`` and send one byte of it every ``--interval`` seconds. A connection
the server answers or closes (a 408 once ``REQUEST_BODY_TIMEOUT_SECONDS`` has passed) is opened again
at once, so the pressure holds for the whole run. Meanwhile ``GET /healthz`` is probed on a fresh
connection every ``--probe-every`` seconds, each probe given ``--probe-timeout`` seconds.

Usage (from the repository root; run by hand, not in CI)::

    .venv/bin/python -m benchmarks.slow_clients --clients 6,24 --duration 30 --threads 1,4,8 \\
        --write-doc docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import REPO, GunicornServer
from benchmarks.report import machine_description, write_section

SECRET_KEY = "s" * 48
DOC_BEGIN = "<!-- slow-clients:begin -->"
DOC_END = "<!-- slow-clients:end -->"


class SlowClient(threading.Thread):
    """One connection trickling a declared body, reopened whenever the server answers or drops it."""

    def __init__(self, port: int, declared: int, interval: float, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.declared, self.interval, self.stop = port, declared, interval, stop
        self.answers: list[tuple[str, float]] = []

    def run(self) -> None:
        """Trickle until told to stop, recording how each connection ended and after how long."""
        while not self.stop.is_set():
            started = time.monotonic()
            self.answers.append((self._one_connection(), time.monotonic() - started))

    def _one_connection(self) -> str:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        except OSError:
            time.sleep(self.interval)
            return "refused"
        with sock:
            head = (
                "POST /api/v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nContent-Length: {self.declared}\r\n\r\n{{"
            )
            try:
                sock.sendall(head.encode())
                while not self.stop.wait(self.interval):
                    sock.sendall(b" ")
                    sock.settimeout(0.01)
                    try:
                        data = sock.recv(64)
                    except TimeoutError:
                        continue
                    return data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "closed"
            except OSError:
                return "closed"
        return "stopped"


def probe(port: int, timeout: float) -> float | None:
    """Seconds one ``GET /healthz`` took on a fresh connection, or None if it failed or timed out."""
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            if not sock.recv(64).startswith(b"HTTP/1.1 200"):
                return None
    except OSError:
        return None
    return time.monotonic() - started


def run_one(port: int, count: int, options: argparse.Namespace) -> dict:
    """Trickle ``count`` connections and probe for ``options.duration`` seconds against ``port``."""
    stop = threading.Event()
    clients = [SlowClient(port, options.declared, options.interval, stop) for _ in range(count)]
    for client in clients:
        client.start()
    time.sleep(min(2.0, options.interval))
    latencies: list[float | None] = []
    deadline = time.monotonic() + options.duration
    while time.monotonic() < deadline:
        latencies.append(probe(port, options.probe_timeout))
        time.sleep(options.probe_every)
    stop.set()
    for client in clients:
        client.join(timeout=options.interval + 15)
    answered = [ms for ms in latencies if ms is not None]
    endings = [answer for client in clients for answer in client.answers if answer[0] != "stopped"]
    return {
        "probes": len(latencies),
        "failed": len(latencies) - len(answered),
        "p50_ms": 1000 * statistics.median(answered) if answered else None,
        "max_ms": 1000 * max(answered) if answered else None,
        "slow_connections": len(endings) + count,
        "endings": {
            kind: sum(1 for k, _ in endings if k == kind) for kind in sorted({k for k, _ in endings})
        },
        "held_s": statistics.median([held for _, held in endings]) if endings else None,
    }


def render_markdown(results: dict[tuple[int, int], dict], options: argparse.Namespace, machine: dict) -> str:
    """The section of ``docs/benchmarks.md``: one row per worker configuration and client count."""

    def figure(value, pattern="{:.0f}"):
        return "–" if value is None else pattern.format(value)

    lines = [
        "## Slow clients (`benchmarks/slow_clients.py`)",
        "",
        f"N connections each declare a {options.declared:,}-byte body to "
        f"`POST /api/v1/recommendations` and send one byte every {options.interval:g} s, reopened when the "
        f"server answers or drops them, for {options.duration:g} s; `GET /healthz` is probed on a fresh "
        f"connection every {options.probe_every:g} s with a {options.probe_timeout:g} s timeout. gunicorn "
        f"`-c gunicorn.conf.py`, WORKERS={options.workers}, production mode, empty SQLite store. "
        f"{machine['cpu']}, {machine['cores']} cores, {machine['date']}, load average "
        f"{machine['load_average'][0]:.1f} at start.",
        "",
        "| worker | N | probes | failed | p50 ms | max ms | slow conns | ended by server | median held s |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for (threads, count), result in results.items():
        worker = "sync" if threads == 1 else f"gthread × {threads} threads"
        endings = ", ".join(f"{kind}: {count}" for kind, count in result["endings"].items()) or "none"
        lines.append(
            f"| {worker} | {count} | {result['probes']} | {result['failed']} | {figure(result['p50_ms'])} | "
            f"{figure(result['max_ms'])} | {result['slow_connections']} | {endings} | "
            f"{figure(result['held_s'], '{:.1f}')} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", default="6", help="comma-separated counts of trickling connections")
    parser.add_argument("--declared", type=int, default=100_000, help="declared body bytes")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between two bytes")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of probing per configuration")
    parser.add_argument("--probe-every", type=float, default=0.5)
    parser.add_argument("--probe-timeout", type=float, default=5.0)
    parser.add_argument("--threads", default="1,4", help="comma-separated THREADS values (1: sync worker)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1), help="gunicorn workers")
    parser.add_argument("--write-doc", type=Path, help="replace this section of the file with the results")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every configuration and print (and optionally write) the table."""
    options = parse_args(argv)
    machine = machine_description()
    results = {}
    with tempfile.TemporaryDirectory(prefix="slow-clients-") as folder:
        directory = Path(folder)
        store = {
            "DATABASE_URL": f"sqlite:///{directory / 'marketplace.sqlite3'}",
            "INDEX_DIR": str(directory / "index"),
            "SECRET_KEY": SECRET_KEY,
            "APP_ENV": "production",
            "WORKERS": str(options.workers),
        }
        env = {**os.environ, **store, "FLASK_APP": "wsgi"}
        subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=REPO, env=env, check=True)
        for threads in (int(value) for value in options.threads.split(",")):
            log = directory / f"gunicorn-threads{threads}.log"
            with GunicornServer("wsgi:app", {**env, "THREADS": str(threads)}, log, "/healthz") as server:
                for count in (int(value) for value in options.clients.split(",")):
                    results[threads, count] = run_one(server.port, count, options)
                    print(f"THREADS={threads} clients={count}: {results[threads, count]}", file=sys.stderr)
    markdown = render_markdown(results, options, machine)
    print(markdown)
    if options.write_doc:
        write_section(options.write_doc, markdown, DOC_BEGIN, DOC_END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
