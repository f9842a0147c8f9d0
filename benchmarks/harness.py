"""What the benchmarks share to build a store, serve it, drive it and measure the machine.

``search_bench``, ``recommend_bench`` and ``load`` import from here and from
:mod:`benchmarks.report`, never from each other:

* **the store and its server**: :func:`make_app` (a fresh SQLite store and index with the demo
  catalog), :func:`seed_command` (``flask seed synthetic``), :func:`server_env` (the environment
  of a gunicorn that serves it) and :class:`GunicornServer` (``gunicorn -c gunicorn.conf.py`` on
  a free port);
* **calls and requests**: :func:`run_calls` (calls in process), :class:`KeepAliveClient` and
  :func:`run_http` (HTTP requests from threads);
* **statistics**: :func:`latency_summary`, :func:`percentile`, :func:`median_of`;
* **processes and the machine's load**: :func:`timed`, :func:`process_cpu_seconds`,
  :func:`memory_of` (VmRSS, Pss...) and :class:`LoadLog` (the load average and who kept the CPUs
  busy, per phase).
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECRET_KEY = "x" * 48
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- processes and the machine's load ---------------------------------------------------------


def _machine_jiffies() -> tuple[int, int, int]:
    """Busy, total and stolen jiffies of all CPUs together, from ``/proc/stat``."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = values
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait, steal


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of one process (all its threads); 0 if it is gone."""
    try:
        after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(after_name[11]) + int(after_name[12])) / CLOCK_TICKS


class LoadLog:
    """Records, per phase, the load average and who kept the CPUs busy: this benchmark or others."""

    def __init__(self) -> None:
        self.phases: list[dict] = []

    @contextmanager
    def phase(self, name: str, server_pids: Callable[[], list[int]] = list) -> Iterator[None]:
        """Measure the phase run inside the ``with`` block.

        :param name: how the phase is named in the report.
        :param server_pids: returns the pids of server processes whose CPU counts as ours; so
            does that of child processes that ended within the phase (analysis workers).
        """
        pids = server_pids()
        load_before = os.getloadavg()
        busy_before, total_before, steal_before = _machine_jiffies()
        own_before = _cpu_seconds() + sum(process_cpu_seconds(pid) for pid in pids)
        started = time.perf_counter()
        yield
        wall = time.perf_counter() - started
        own_after = _cpu_seconds() + sum(process_cpu_seconds(pid) for pid in pids)
        busy_after, total_after, steal_after = _machine_jiffies()
        cores = os.cpu_count() or 1
        share = cores / max(total_after - total_before, 1)
        machine = (busy_after - busy_before) * share
        own = (own_after - own_before) / wall if wall else 0.0
        self.phases.append(
            {
                "phase": name,
                "wall_s": wall,
                "load_before": load_before,
                "load_after": os.getloadavg(),
                "busy_cores": machine,
                "own_cores": own,
                "other_cores": max(machine - own, 0.0),
                "steal_cores": (steal_after - steal_before) * share,
            }
        )


@contextmanager
def timed() -> Iterator[dict]:
    """Yield a dict that holds ``wall_s`` and ``cpu_s`` on exit.

    CPU is this process's (all threads) plus that of the child processes that ended meanwhile
    (a rebuild's analysis workers).
    """
    result: dict = {}
    cpu, wall = _cpu_seconds(), time.perf_counter()
    yield result
    result["wall_s"] = time.perf_counter() - wall
    result["cpu_s"] = _cpu_seconds() - cpu


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def memory_of(pid: int) -> dict:
    """VmRSS, RssAnon, RssFile, RssShmem and Pss of one process, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            fields[name] = int(value.split()[0]) / 1024
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                fields["Pss"] = int(line.split()[1]) / 1024
    except OSError:
        fields["Pss"] = None
    return fields


# -- statistics -------------------------------------------------------------------------------


def percentile(ordered: Sequence[float], share: float) -> float:
    """The nearest-rank percentile ``share`` (0-100) of already sorted values."""
    rank = max(math.ceil(share / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def latency_summary(samples_ns: Sequence[int], wall_s: float, cpu_s: float) -> dict:
    """p50, p95, p99 and mean in milliseconds, requests per second, and CPU milliseconds per request.

    :param samples_ns: the latency of each request.
    :param wall_s: how long the whole run took.
    :param cpu_s: the CPU time the serving side spent on the run, all its threads and processes;
        it varies much less than latency when other work shares the machine.
    """
    ordered = sorted(ns / 1e6 for ns in samples_ns)
    return {
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "mean": statistics.fmean(ordered),
        "count": len(ordered),
        "rps": len(ordered) / wall_s,
        "cpu_ms": cpu_s * 1000 / len(ordered),
    }


def median_of(runs: Sequence[dict], key: str) -> float:
    """The median of one statistic over repeated runs."""
    return statistics.median(run[key] for run in runs)


# -- the store and its server -----------------------------------------------------------------


def make_app(directory: Path):
    """A marketplace app on a fresh SQLite store and index in ``directory``, migrated, with the demo catalog.

    Every storage key is given explicitly, so that variables of the caller's environment
    (``DATABASE_URL``...) never point the benchmark at a real store.
    """
    import flask_migrate

    from marketplace import create_app
    from marketplace.seeding import load_demo

    app = create_app(
        {
            "INSTANCE_PATH": str(directory),
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": f"sqlite:///{directory / 'marketplace.sqlite3'}",
            "INDEX_DIR": str(directory / "index"),
            "SEARCH_BACKEND": "embedded",
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
        load_demo(app.config["SEED_DATA_DIR"])
    return app


def seed_command(app, count: int) -> dict:
    """Run ``flask seed synthetic --solutions COUNT --no-index`` and time it.

    :raises RuntimeError: if the command fails.
    """
    runner = app.test_cli_runner()
    with timed() as result:
        outcome = runner.invoke(args=["seed", "synthetic", "--solutions", str(count), "--no-index"])
    if outcome.exit_code != 0:
        raise RuntimeError(f"flask seed synthetic failed: {outcome.output}") from outcome.exception
    return result


def server_env(directory: Path, workers: int, **extra: str) -> dict:
    """The environment of a gunicorn serving the benchmark store in ``directory`` in production mode."""
    return dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{directory / 'marketplace.sqlite3'}",
        INDEX_DIR=str(directory / "index"),
        SECRET_KEY=SECRET_KEY,
        SEARCH_BACKEND="embedded",
        APP_ENV="production",
        WORKERS=str(workers),
        THREADS="1",
        **extra,
    )


class GunicornServer:
    """``gunicorn -c gunicorn.conf.py APP`` in a subprocess on a free port, stopped on exit.

    ``args`` are further gunicorn options, e.g. ``("--control-socket", path)`` to keep the control
    socket out of the per-user default that every server on the machine would share.
    """

    def __init__(
        self, app_spec: str, env: dict, log_path: Path, ready_path: str, args: Sequence[str] = ()
    ) -> None:
        self.app_spec = app_spec
        self.args = tuple(args)
        self.env = env
        self.log_path = log_path
        self.ready_path = ready_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> GunicornServer:
        env = dict(self.env, BIND=f"127.0.0.1:{self.port}")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *self.args, self.app_spec],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_ready(timeout=120)
        return self

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.app_spec} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                connection = HTTPConnection("127.0.0.1", self.port, timeout=30)
                connection.request("GET", self.ready_path)
                if connection.getresponse().status == 200:
                    connection.close()
                    return
                connection.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.app_spec} did not answer within {timeout} s")

    def worker_pids(self) -> list[int]:
        """The pids of the master's children, i.e. its workers."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]

    def pids(self) -> list[int]:
        """The master and its workers."""
        return [self.process.pid, *self.worker_pids()]

    def __exit__(self, *exc_info) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- calls and requests -----------------------------------------------------------------------


def run_calls(call: Callable, inputs: Sequence, count: int, warmup: int) -> dict:
    """Call ``call`` on ``inputs`` in turn, ``warmup`` times unmeasured and ``count`` times measured."""
    for number in range(warmup):
        call(inputs[number % len(inputs)])
    samples = []
    started, cpu = time.perf_counter(), time.process_time()
    for number in range(count):
        before = time.perf_counter_ns()
        call(inputs[number % len(inputs)])
        samples.append(time.perf_counter_ns() - before)
    return latency_summary(samples, time.perf_counter() - started, time.process_time() - cpu)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class KeepAliveClient:
    """An HTTP/1.1 client on one connection, reconnecting only when the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: HTTPConnection | None = None
        self.connects = 0

    def get(self, path: str) -> None:
        """GET ``path`` and read the whole body.

        :raises RuntimeError: on any status but 200.
        """
        self.send("GET", path)

    def send(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> None:
        """Send one request on the kept-alive connection and read the whole answer.

        :raises RuntimeError: on any status but 200.
        """
        if self.connection is None:
            self.connection = HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.connects += 1
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path} answered {response.status}: {answer[:300]!r}")
        if response.will_close:
            self.close()

    def close(self) -> None:
        """Close the connection."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def run_http(
    port: int,
    paths: Sequence[str],
    count: int,
    concurrency: int,
    warmup: int,
    server_pids: Sequence[int],
    client: type[KeepAliveClient] = KeepAliveClient,
) -> dict:
    """Send ``count`` requests from ``concurrency`` threads, each on its own keep-alive client.

    Each request is ``client.get(path)``: a GET, unless ``client`` sends something else.
    The CPU time is that of ``server_pids`` (the gunicorn master and workers), not the client's.
    """
    clients = [client(port) for _ in range(concurrency)]
    for number in range(warmup):
        clients[number % concurrency].get(paths[number % len(paths)])
    for client in clients:
        client.connects = 0
    samples: list[list[int]] = [[] for _ in clients]
    errors: list[BaseException] = []
    barrier = threading.Barrier(concurrency + 1)

    def drive(worker: int) -> None:
        client, own = clients[worker], samples[worker]
        barrier.wait()
        try:
            for number in range(worker, count, concurrency):
                before = time.perf_counter_ns()
                client.get(paths[number % len(paths)])
                own.append(time.perf_counter_ns() - before)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=drive, args=(worker,)) for worker in range(concurrency)]
    for thread in threads:
        thread.start()
    cpu = sum(process_cpu_seconds(pid) for pid in server_pids)
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cpu = sum(process_cpu_seconds(pid) for pid in server_pids) - cpu
    for client in clients:
        client.close()
    if errors:
        raise errors[0]
    summary = latency_summary([ns for own in samples for ns in own], wall, cpu)
    summary["connects"] = sum(client.connects for client in clients)
    return summary


RECOMMEND_PATH = "/api/v1/recommendations"
SEARCH_PATH = "/api/v1/search/solutions"


class PostClient(KeepAliveClient):
    """The harness's keep-alive client, sending each "path" as a JSON POST body."""

    def get(self, body: str) -> None:  # run_http() calls get() with each of its "paths"
        """POST ``body`` (JSON text) to the recommendation endpoint and read the whole answer.

        :raises RuntimeError: on any status but 200.
        """
        self.send("POST", RECOMMEND_PATH, body.encode(), {"Content-Type": "application/json"})


def request_bodies() -> list[str]:
    """The judged queries' profiles as request bodies."""
    document = json.loads((REPO / "tests" / "relevance" / "judgments.json").read_text(encoding="utf-8"))
    profiles = [{**query["profile"], "limit": 10} for query in document["queries"]]
    return [json.dumps(profile, ensure_ascii=False) for profile in profiles]
