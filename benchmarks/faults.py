"""Faults against a real gunicorn: does the index lose or keep what the store says; does the service stay up?

It builds a scratch instance the way an operator would (``flask db upgrade``, ``seed demo``,
``seed synthetic``, which builds the index, ``accounts create``), serves it with
``gunicorn -c gunicorn.conf.py`` in production mode, and runs five faults in turn while a
provider and an admin write through the API:

* **index directory removed**: ``INDEX_DIR`` is moved away for a while, a worker is killed so
  that a fresh one starts during the outage, writes go on; then it comes back;
* **writer held**: another process holds tantivy's writer while a published solution is archived
  and new ones are published; the archived one is searched for while the writer is held;
* **rebuild killed**: ``flask index rebuild`` (analysing in ``INDEX_PROCESSES=2`` processes) is
  killed with SIGKILL midway; its analysis processes must exit, ``flask index status`` must list
  the partial version and ``flask index clean`` remove it;
* **slow clients**: six connections declare a 100 KB body and send it one byte every 2 s while
  ``/healthz`` is polled;
* **worker kills**: workers are killed with SIGKILL during a burst of writes from 8 threads.

After each fault it waits for the outbox to drain by itself (no ``flask index sync``: the
serving processes drain on a timer) and compares the store's published solutions with the
index's documents and with what ``GET /api/v1/search/solutions`` pages through: **lost** items
are published in the store but missing from the index or the search, **stale** items are served
although not published. ``/healthz`` is polled every half second throughout; the service stayed
up if every poll answered 200 within 5 s.

Usage (from the repository root; run by hand, not in CI)::

    .venv/bin/python -m benchmarks.faults --write-doc docs/benchmarks.md
    .venv/bin/python -m benchmarks.faults --faults writer_held,worker_kills   # a subset
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.harness import REPO, SECRET_KEY, GunicornServer, server_env
from benchmarks.report import format_load, machine_description, machine_table, write_section

DOC_BEGIN = "<!-- faults:begin -->"
DOC_END = "<!-- faults:end -->"
PASSWORD = "fault-test-password-9"
ADMIN_EMAIL = "faults-admin@example.cn"
PROVIDER_EMAIL = "faults-provider@example.cn"
SEARCH = "/api/v1/search/solutions?"
FAULTS = ("index_removed", "writer_held", "rebuild_killed", "slow_clients", "worker_kills")
HOLD_WRITER = """
import sys, time, tantivy
writer = tantivy.Index.open(sys.argv[1]).writer()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def say(message: str) -> None:
    """One progress line, with the time."""
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the scratch instance ---------------------------------------------------------------------


def app_spec(directory: Path) -> str:
    """The app gunicorn and ``flask`` load: the factory with the scratch instance folder."""
    return f"marketplace:create_app({{'INSTANCE_PATH': {str(directory)!r}}})"


def instance_env(directory: Path, workers: int) -> dict:
    """The environment of every process of the scratch instance (server and commands).

    The server keeps ``gunicorn.conf.py``'s own worker class and threads (the harness pins
    ``THREADS=1`` for its search figures): slow clients are measured against what ships.
    """
    env = server_env(
        directory,
        workers,
        FLASK_APP=app_spec(directory),
        AUTH_RATE_LIMIT="10000/minute",
        INDEX_PROCESSES="2",
    )
    del env["THREADS"]
    return env


def flask(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``flask ARGS`` on the scratch instance; its output is returned, its progress bars dropped."""
    done = subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return done


def build_instance(directory: Path, env: dict, synthetic: int) -> None:
    """Migrate, load the demo catalog and ``synthetic`` solutions, index them, create the admin."""
    for args in (
        ("db", "upgrade"),
        ("seed", "demo"),
        ("seed", "synthetic", "--solutions", str(synthetic)),
        ("index", "ensure"),
        ("accounts", "create", "--email", ADMIN_EMAIL, "--password", PASSWORD, "--role", "admin"),
    ):
        say("flask " + " ".join(args[:3]))
        flask(env, *args)


class Store:
    """The scratch instance read directly: published solutions in the store, documents in the index."""

    def __init__(self, directory: Path) -> None:
        from marketplace import create_app

        self.app = create_app(
            {
                "INSTANCE_PATH": str(directory),
                "SECRET_KEY": SECRET_KEY,
                "DATABASE_URL": f"sqlite:///{directory / 'marketplace.sqlite3'}",
                "INDEX_DIR": str(directory / "index"),
                "SEARCH_BACKEND": "embedded",
                "INDEX_DRAIN_INTERVAL": 0,
            }
        )
        self.index_dir = directory / "index"

    def published(self) -> set[int]:
        """The ids of the solutions published in the store."""
        from sqlalchemy import select

        from marketplace.extensions import db
        from marketplace.models import ListingStatus, Solution

        with self.app.app_context():
            return set(
                db.session.scalars(select(Solution.id).where(Solution.status == ListingStatus.PUBLISHED))
            )

    def indexed(self) -> set[int]:
        """The ids of the solutions in the live index."""
        from indexing.base import SearchRequest
        from marketplace.search.engine import search_state

        with self.app.app_context():
            backend = search_state().backend
            result = backend.search(
                SearchRequest(kind="solution", per_page=1_000_000, facets=(), highlight=False)
            )
            return {hit.id for hit in result.hits}

    def lag(self) -> int:
        """Outbox rows waiting."""
        from marketplace.search import outbox

        with self.app.app_context():
            return outbox.lag()

    def live_version(self) -> Path:
        """The live version directory."""
        return self.index_dir / (self.index_dir / "CURRENT").read_text().strip()


# -- HTTP -------------------------------------------------------------------------------------


def call(port: int, method: str, path: str, body=None, token: str | None = None, timeout: float = 30):
    """One request on a fresh connection; returns the status and the decoded body.

    :raises OSError, http.client.HTTPException: if the connection fails or is cut off.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw or b"null")
        except ValueError:
            return response.status, raw.decode(errors="replace")
    finally:
        connection.close()


def sign_in(port: int, email: str) -> str:
    """An access token for ``email``."""
    status, body = call(port, "POST", "/api/v1/auth/token", {"email": email, "password": PASSWORD})
    if status != 200:
        raise RuntimeError(f"sign-in of {email} answered {status}: {body}")
    return body["access_token"]


def register_provider(port: int) -> str:
    """Register the provider account and its company; return its token."""
    from marketplace.common.credit_code import check_character

    account = {"email": PROVIDER_EMAIL, "password": PASSWORD, "role": "provider", "name": "故障测试服务商"}
    status, body = call(port, "POST", "/api/v1/auth/register", account)
    if status != 201:
        raise RuntimeError(f"registration answered {status}: {body}")
    token = sign_in(port, PROVIDER_EMAIL)
    code = "91320500MA7654321"
    company = {
        "name": "故障测试数字化服务有限公司（演示）",
        "credit_code": code + check_character(code),
        "province": "江苏省",
        "city": "苏州市",
        "description": "故障注入测试用的服务商。",
        "contact_email": "faults@example.cn",
        "contact_phone": "0512-66881234",
    }
    status, body = call(port, "POST", "/api/v1/providers", company, token)
    if status != 201:
        raise RuntimeError(f"provider profile answered {status}: {body}")
    return token


def solution_body(title: str) -> dict:
    """A valid solution titled ``title``."""
    return {
        "title": title,
        "summary": "故障注入期间发布的在线视觉检测方案",
        "description": "工业相机加边缘计算盒，两周上线，替代人工目检。",
        "industries": ["C292"],
        "scenarios": ["quality"],
        "tags": ["视觉质检"],
        "price_min_cny": 30_000,
        "price_max_cny": 80_000,
        "deploy_days": 14,
        "delivery_modes": ["edge"],
    }


class Writes:
    """Writes through the API, with what each acknowledged answer leaves published.

    ``expected`` maps a solution to whether it must be published (the last acknowledged step
    decides); a step cut off by a fault makes the solution ``uncertain`` (it may have committed).
    """

    def __init__(self, port: int, provider: str, admin: str) -> None:
        self.port, self.provider, self.admin = port, provider, admin
        self.expected: dict[int, bool] = {}
        self.uncertain: set[int] = set()
        self.latencies: list[float] = []
        self.refused: Counter = Counter()
        self.cut_off = 0
        self.lock = threading.Lock()
        self.acknowledged = threading.Semaphore(0)

    def _step(self, method: str, path: str, body, token: str) -> dict | None:
        started = time.monotonic()
        try:
            status, answer = call(self.port, method, path, body, token)
        except (OSError, http.client.HTTPException):
            with self.lock:
                self.cut_off += 1
            return None
        with self.lock:
            self.latencies.append(time.monotonic() - started)
            if not 200 <= status < 300:
                self.refused[status] += 1
                return None
        self.acknowledged.release()
        return answer

    def publish(self, title: str) -> int | None:
        """Create, submit and approve a solution; its id once approved, else None."""
        created = self._step("POST", "/api/v1/solutions", solution_body(title), self.provider)
        if created is None:
            return None
        ident = created["id"]
        with self.lock:
            self.expected[ident] = False
        for action, token in (("submit", self.provider), ("approve", self.admin)):
            if self._step("POST", f"/api/v1/solutions/{ident}/{action}", None, token) is None:
                with self.lock:
                    self.uncertain.add(ident)
                return None
        with self.lock:
            self.expected[ident] = True
        return ident

    def archive(self, ident: int) -> bool:
        """Archive a published solution; True once acknowledged."""
        done = self._step("POST", f"/api/v1/solutions/{ident}/archive", None, self.admin) is not None
        with self.lock:
            if done:
                self.expected[ident] = False
            else:
                self.uncertain.add(ident)
        return done

    def max_latency(self, since: int = 0) -> float:
        """The slowest acknowledged write since the ``since``-th."""
        with self.lock:
            return max(self.latencies[since:], default=0.0)


def searched(port: int) -> tuple[set[int], int]:
    """Every solution id ``GET /api/v1/search/solutions`` pages through, and the total it reports."""
    found: set[int] = set()
    page, total = 1, 0
    while True:
        status, body = call(port, "GET", f"/api/v1/search/solutions?per_page=100&page={page}")
        if status != 200:
            raise RuntimeError(f"search answered {status}: {body}")
        total = body["total"]
        found.update(item["id"] for item in body["items"])
        if page * 100 >= total or not body["items"]:
            return found, total
        page += 1


class Probe:
    """Polls ``/healthz`` (and ``/readyz``) every half second in a thread; counts answers."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.port, self.timeout = port, timeout
        self.health: Counter = Counter()
        self.ready: Counter = Counter()
        self.slowest_health = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _ask(self, path: str) -> str:
        try:
            return str(call(self.port, "GET", path, timeout=self.timeout)[0])
        except (OSError, http.client.HTTPException) as error:
            return type(error).__name__

    def _run(self) -> None:
        while not self._stop.is_set():
            asked = time.monotonic()
            self.health[self._ask("/healthz")] += 1
            self.slowest_health = max(self.slowest_health, time.monotonic() - asked)
            self.ready[self._ask("/readyz")] += 1
            self._stop.wait(0.5)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def stayed_up(self) -> bool:
        """Every ``/healthz`` poll answered 200."""
        return set(self.health) == {"200"}


# -- checks -----------------------------------------------------------------------------------


def settle(store: Store, port: int, timeout: float) -> float | None:
    """Wait, without another write, until the outbox is empty; seconds it took, or None."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if store.lag() == 0:
            return time.monotonic() - started
        time.sleep(0.25)
    return None


def consistency(store: Store, port: int, writes: Writes) -> dict:
    """Lost and stale items: store vs index vs search, and acknowledged writes vs store."""
    published, indexed = store.published(), store.indexed()
    found, total = searched(port)
    sure = {ident: must for ident, must in writes.expected.items() if ident not in writes.uncertain}
    status, _ = call(port, "GET", "/readyz")
    return {
        "store_published": len(published),
        "index_documents": len(indexed),
        "search_total": total,
        "lost_from_index": len(published - indexed),
        "stale_in_index": len(indexed - published),
        "lost_from_search": len(published - found),
        "stale_in_search": len(found - published),
        "acknowledged_not_in_store": sum(1 for i, must in sure.items() if must != (i in published)),
        "uncertain_writes": len(writes.uncertain),
        "write_requests_cut_off": writes.cut_off,
        "write_requests_refused": dict(writes.refused),
        "readyz_after": status,
    }


def worker_pids(server: GunicornServer) -> list[int]:
    """The current workers; waits for the master to have some."""
    for _ in range(100):
        pids = server.worker_pids()
        if pids:
            return pids
        time.sleep(0.1)
    return []


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
            found.update(children)
            todo.extend(children)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# -- the faults -------------------------------------------------------------------------------


def index_removed(ctx: dict, outage: float) -> dict:
    """Move ``INDEX_DIR`` away, kill a worker so a fresh one starts, write, bring the index back."""
    store, server, writes, port = ctx["store"], ctx["server"], ctx["writes"], ctx["port"]
    victims = [writes.publish(f"索引迁走前发布的方案{n}号") for n in range(2)]
    away = store.index_dir.with_name("index.away")
    store.index_dir.rename(away)
    say(f"index directory moved away for {outage:g} s; killing a worker so that a fresh one starts")
    os.kill(worker_pids(server)[0], signal.SIGKILL)
    started = time.monotonic()
    search_statuses: Counter = Counter()
    published = [writes.publish(f"索引迁走期间发布的方案{n}号") for n in range(4)]
    for ident in victims:
        if ident is not None:
            writes.archive(ident)
    searches = 0
    while time.monotonic() - started < outage or searches < 5:
        try:
            search_statuses[str(call(port, "GET", SEARCH + urlencode({"q": "方案"}))[0])] += 1
        except (OSError, http.client.HTTPException) as error:
            search_statuses[type(error).__name__] += 1
        searches += 1
        time.sleep(0.2)
    recreated = store.index_dir.exists()
    if recreated:
        shutil.rmtree(store.index_dir)
    away.rename(store.index_dir)
    say("index directory back")
    return {
        "writes_during_outage": sum(1 for ident in published if ident is not None) + len(victims),
        "search_answers_during_outage": dict(search_statuses),
        "index_recreated_while_away": recreated,
    }


def writer_held(ctx: dict, hold: float) -> dict:
    """Hold tantivy's writer elsewhere; archive and publish meanwhile; search for the archived one."""
    store, writes, port = ctx["store"], ctx["writes"], ctx["port"]
    title = "写锁期间下架的方案"
    archived = writes.publish(title)
    query = SEARCH + urlencode({"q": title, "per_page": 50})
    for _ in range(12):  # every worker caches the hit before the writer is held
        call(port, "GET", query)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, str(store.live_version()), str(hold)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    if holder.stdout.readline().strip() != "held":
        raise RuntimeError("the writer could not be held")
    say(f"writer held by pid {holder.pid} for {hold:g} s")
    since = len(writes.latencies)
    writes.archive(archived)
    served = 0
    for _ in range(12):
        status, body = call(port, "GET", query)
        served += status == 200 and any(item["id"] == archived for item in body["items"])
    for n in range(3):
        writes.publish(f"写锁期间发布的方案{n}号")
    held_writes = max(0.0, writes.max_latency(since))
    holder.wait()
    say("writer released")
    return {
        "stale_served_while_held": served,
        "slowest_write_while_held_s": round(held_writes, 3),
    }


def rebuild_killed(ctx: dict) -> dict:
    """SIGKILL ``flask index rebuild`` midway; count surviving children; status and clean the leftovers."""
    store, writes, env = ctx["store"], ctx["writes"], ctx["env"]
    before = {entry.name for entry in store.index_dir.iterdir()}
    rebuild = subprocess.Popen(
        [sys.executable, "-m", "flask", "index", "rebuild"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while True:
        children = {pid for pid in descendants(rebuild.pid) if "spawn_main" in _cmdline(pid)}
        started = {e.name for e in store.index_dir.iterdir() if e.is_dir()} - before
        if children and started:
            break
        if rebuild.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the rebuild ended before it could be killed; raise --synthetic")
        time.sleep(0.02)
    since = len(writes.latencies)
    writes.publish("重建期间发布的方案")
    every = descendants(rebuild.pid)
    rebuild.send_signal(signal.SIGKILL)
    rebuild.wait()
    say(f"rebuild {rebuild.pid} killed with SIGKILL; it had {len(every)} child processes")
    time.sleep(5)
    survivors = sorted(pid for pid in every if alive(pid))
    status = json.loads(flask(env, "index", "status").stdout)
    cleaned = flask(env, "index", "clean").stdout.strip()
    after = json.loads(flask(env, "index", "status").stdout)
    for pid in survivors:  # leave no stray process behind, whatever the result
        os.kill(pid, signal.SIGKILL)
    return {
        "children_alive_5s_after_kill": len(survivors),
        "leftovers_listed": status.get("leftovers"),
        "clean": cleaned,
        "leftovers_after_clean": after.get("leftovers"),
        "slowest_write_during_rebuild_s": round(writes.max_latency(since), 3),
    }


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def slow_clients(ctx: dict, connections: int, duration: float) -> dict:
    """Trickle declared 100 KB bodies, a byte every 2 s, on ``connections`` sockets (the probe polls)."""
    port = ctx["port"]
    head = (
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 102400\r\n\r\n"
    )
    stop = threading.Event()

    def trickle() -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(head)
                while not stop.wait(2.0):
                    sock.sendall(b" ")
        except OSError:
            pass

    threads = [threading.Thread(target=trickle, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    say(f"{connections} slow clients trickling for {duration:g} s while the probe polls /healthz")
    time.sleep(duration)
    stop.set()
    for thread in threads:
        thread.join(5)
    return {}


def worker_kills(ctx: dict, kills: int, solutions: int) -> dict:
    """Kill a worker with SIGKILL ``kills`` times during a burst of writes from 8 threads."""
    server, writes = ctx["server"], ctx["writes"]
    killed = []

    def killer() -> None:
        for _ in range(kills):
            for _ in range(20):
                writes.acknowledged.acquire(timeout=30)
            victim = worker_pids(server)[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    def write(n: int) -> None:
        ident = writes.publish(f"抗故障写入方案{n}号")
        if ident is not None and n % 4 == 0:
            writes.archive(ident)

    thread = threading.Thread(target=killer)
    thread.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(solutions)))
    thread.join()
    return {"workers_killed": len(killed)}


# -- the run ----------------------------------------------------------------------------------


def lost_items(run: dict) -> int:
    """Published items missing from the index or the search, and acknowledged writes not in the store."""
    return run["lost_from_index"] + run["lost_from_search"] + run["acknowledged_not_in_store"]


def stale_items(run: dict) -> int:
    """Unpublished items in the index or the search, and searches that served one while a writer was held."""
    return run["stale_in_index"] + run["stale_in_search"] + run.get("stale_served_while_held", 0)


def run_fault(name: str, action: Callable[[], dict], ctx: dict, settle_timeout: float) -> dict:
    """Run one fault under the probe, let the outbox drain, and check store, index and search."""
    say(f"fault {name}")
    with Probe(ctx["port"]) as probe:
        started = time.monotonic()
        details = action()
        drained = settle(ctx["store"], ctx["port"], settle_timeout)
        found = consistency(ctx["store"], ctx["port"], ctx["writes"])
        elapsed = time.monotonic() - started
    result = {
        "fault": name,
        **details,
        "drained_after_s": None if drained is None else round(drained, 2),
        **found,
        "healthz": dict(probe.health),
        "slowest_healthz_s": round(probe.slowest_health, 3),
        "readyz": dict(probe.ready),
        "stayed_up": probe.stayed_up,
        "seconds": round(elapsed, 1),
    }
    say(
        f"{name}: lost {lost_items(result)}, stale {stale_items(result)}, "
        f"stayed up {probe.stayed_up}, healthz {dict(probe.health)}"
    )
    return result


def render_markdown(report: dict) -> str:
    """The section of ``docs/benchmarks.md``: the machine, the settings, and a table per fault."""
    lines = [
        "A scratch instance is served by a real gunicorn while faults are injected one after the other",
        "(see the module docstring of `benchmarks/faults.py`). After each fault the script waits, without",
        "another write and without `flask index sync`, for the outbox to drain by itself, then compares",
        "the store's published solutions with the index's documents and with every page of",
        "`GET /api/v1/search/solutions`. **Lost**: published in the store but missing from the index or",
        "the search, or an acknowledged write not in the store; **stale**: served or indexed although",
        "not published (for the writer held, also each of the 12 searches made while it was held that",
        "showed the solution archived meanwhile). The service **stayed up** if every `/healthz` poll",
        "(every 0.5 s, 5 s timeout) answered 200. `/readyz` answering 503 while the index directory is",
        "away is intended; search then answers 503 too, and writes succeed and wait in the outbox.",
        "",
        f"Run {report['machine']['date']} "
        f"(load average before: {format_load(report['machine']['load_average'])}).",
        "",
        *machine_table(report["machine"]),
        "",
        report["settings"],
        "",
        "| fault | lost | stale | stayed up | `/healthz` answers | `/readyz` answers | drained after |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        lost, stale = lost_items(run), stale_items(run)
        drained = "—" if run["drained_after_s"] is None else f"{run['drained_after_s']} s"
        lines.append(
            f"| {run['fault']} | {lost} | {stale} | {'yes' if run['stayed_up'] else '**no**'} "
            f"| {_counts(run['healthz'])} | {_counts(run['readyz'])} | {drained} |"
        )
    lines += [
        "",
        "Details per fault (store, index and search compared after the outbox drained by itself; the",
        "faults run one after the other on one store, so an item lost in one fault counts in the next):",
        "",
    ]
    for run in report["runs"]:
        shown = {k: v for k, v in run.items() if k not in {"fault", "healthz", "readyz", "stayed_up"}}
        lines.append(f"- **{run['fault']}**: " + "; ".join(f"{k} {_value(v)}" for k, v in shown.items()))
    return "\n".join(lines) + "\n"


def _counts(counts: dict) -> str:
    return ", ".join(f"{key} × {value}" for key, value in sorted(counts.items())) or "—"


def _value(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    """Build the scratch instance, serve it, run the faults; exit 1 if any lost, stale or went down."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help=f"comma-separated subset of {', '.join(FAULTS)}"
    )
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--synthetic", type=int, default=5000, help="synthetic solutions beside the demo catalog"
    )
    parser.add_argument("--outage", type=float, default=10.0, help="seconds the index directory stays away")
    parser.add_argument("--hold", type=float, default=20.0, help="seconds another process holds the writer")
    parser.add_argument("--slow-seconds", type=float, default=60.0, help="seconds of slow clients")
    parser.add_argument("--slow-connections", type=int, default=6)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--burst", type=int, default=40, help="solutions written during the worker kills")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds to wait for the outbox to drain")
    parser.add_argument("--keep", action="store_true", help="keep the scratch instance")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--write-doc", type=Path)
    options = parser.parse_args(argv)
    chosen = [name.strip() for name in options.faults.split(",") if name.strip()]
    unknown = set(chosen) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")

    directory = Path(tempfile.mkdtemp(prefix="marketplace-faults-"))
    env = instance_env(directory, options.workers)
    machine = machine_description()
    runs = []
    try:
        build_instance(directory, env, options.synthetic)
        store = Store(directory)
        control = ("--control-socket", str(directory / "gunicorn.ctl"))
        with GunicornServer(
            app_spec(directory), env, directory / "gunicorn.log", "/healthz", control
        ) as server:
            port = server.port
            say(f"gunicorn on port {port} with {options.workers} workers")
            writes = Writes(port, register_provider(port), sign_in(port, ADMIN_EMAIL))
            ctx = {"store": store, "server": server, "writes": writes, "port": port, "env": env}
            actions = {
                "index_removed": lambda: index_removed(ctx, options.outage),
                "writer_held": lambda: writer_held(ctx, options.hold),
                "rebuild_killed": lambda: rebuild_killed(ctx),
                "slow_clients": lambda: slow_clients(ctx, options.slow_connections, options.slow_seconds),
                "worker_kills": lambda: worker_kills(ctx, options.kills, options.burst),
            }
            for name in chosen:
                runs.append(run_fault(name, actions[name], ctx, options.settle))
    finally:
        if options.keep:
            say(f"scratch instance kept in {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    report = {
        "machine": machine,
        "settings": (
            f"Scratch instance: SQLite store and embedded index with the demo catalog and "
            f"{options.synthetic:,} synthetic solutions, built with the `flask` commands; gunicorn "
            f"`-c gunicorn.conf.py` with WORKERS={options.workers} (its default worker class and threads), "
            f"APP_ENV=production, "
            f"default `INDEX_DRAIN_INTERVAL` and `INDEX_LAG_BOUND_SECONDS`; index away {options.outage:g} s, "
            f"writer held {options.hold:g} s, {options.slow_connections} slow clients for "
            f"{options.slow_seconds:g} s, {options.kills} worker kills during {options.burst} "
            f"solutions written by 8 threads. Command: `.venv/bin/python -m benchmarks.faults"
            f"{' ' + ' '.join(argv) if argv else ''}`."
        ),
        "runs": runs,
    }
    markdown = render_markdown(report)
    print(markdown)
    if options.json:
        options.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if options.write_doc:
        write_section(
            options.write_doc, "## Faults (`benchmarks/faults.py`)\n\n" + markdown, DOC_BEGIN, DOC_END
        )
    failed = [run["fault"] for run in runs if not run["stayed_up"] or lost_items(run) or stale_items(run)]
    if failed:
        say("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
