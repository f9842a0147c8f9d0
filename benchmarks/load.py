"""Load test with locust: concurrent users against gunicorn on the embedded profile (SQLite and tantivy).

It builds a fresh store in a temporary directory the way an operator would, with the ``flask``
commands (``db upgrade``, ``seed demo``, ``seed synthetic --solutions N`` with indexing,
``matching train --if-missing``), serves it with ``gunicorn -c gunicorn.conf.py wsgi:app`` in
production mode, registers provider and enterprise accounts with their profiles through the API,
and then runs locust headless through its Python API. Each simulated user, after a think time,
sends one of:

* 70 % searches: ``GET /api/v1/search/solutions`` with Chinese queries built from the demo
  vocabulary (products, defects, equipment, processes, scenario names) and, at random, industry,
  scenario, price, delivery-mode filters, sorts and second pages; one in ten only browses filters;
* 20 % recommendations: ``POST /api/v1/recommendations`` with needs in an owner's words (the
  demo's need templates filled from an industry profile), and at random scenarios, budget, city and
  digital level;
* 10 % writes: a provider creating a draft solution (40 %), editing one of its drafts (30 %), or an
  enterprise sending an inquiry about a published solution (30 %).

``POST /api/v1/recommendations`` is rate-limited per address (``RECOMMENDATION_RATE_LIMIT``,
60/minute by default). Every locust user comes from 127.0.0.1, so the run sets
``RECOMMENDATION_RATE_LIMIT`` to ``--recommendation-limit`` (default 1000000/minute): the limiter
still runs on every request, it just never refuses one. Each user holds a provider and an
enterprise account from small pools, so writes are spread over several owners.

Usage (from the repository root; run by hand, not in CI)::

    .venv/bin/python -m benchmarks.load --solutions 100000 --users 50 --duration 60 \\
        --write-doc docs/benchmarks.md
    .venv/bin/python -m benchmarks.load --solutions 2000 --users 10 --duration 10   # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import gevent
from locust import HttpUser, between, constant, events, task
from locust.env import Environment

from benchmarks.harness import REPO, GunicornServer
from benchmarks.report import format_load, machine_description, target_table, write_section
from seed_data.demo import vocabulary

SECRET_KEY = "l" * 48
PASSWORD = "load-test-password-9"
DOC_BEGIN = "<!-- load:begin -->"
DOC_END = "<!-- load:end -->"
SEARCH = "GET /api/v1/search/solutions"
RECOMMEND = "POST /api/v1/recommendations"
CREATE = "POST /api/v1/solutions"
EDIT = "PATCH /api/v1/solutions/{id}"
INQUIRE = "POST /api/v1/solutions/{id}/inquiries"
FLOOR = "GET / (bare Flask floor)"
ENDPOINTS = (SEARCH, RECOMMEND, CREATE, EDIT, INQUIRE, FLOOR)
RATE_LIMIT_KEYS = ("RECOMMENDATION_RATE_LIMIT", "AUTH_RATE_LIMIT", "INQUIRY_RATE_LIMIT")
TARGETS = {"errors": 0, "search_p99_ms": 100.0}
"""Targets of the issue: no failed request, and search answering within 100 ms at the 99th percentile."""

PROFILES = vocabulary.INDUSTRY_PROFILES
INDUSTRY_CODES = tuple(PROFILES)
SCENARIO_CODES = tuple(vocabulary.SCENARIOS)
PRICE_CAPS = (50_000, 100_000, 200_000, 300_000, 500_000)
SORTS = ("newest", "price_asc", "deploy_days")


# -- what users send ---------------------------------------------------------------------------


def search_params(rng: random.Random) -> dict:
    """Query parameters of one search: words from an industry profile, and filters at random."""
    code = rng.choice(INDUSTRY_CODES)
    profile = PROFILES[code]
    params: dict = {}
    if rng.random() < 0.9:
        words = [
            rng.choice(profile[rng.choice(("products", "equipment", "processes", "materials"))]),
            rng.choice(
                (
                    rng.choice(profile["defects"]) + " 检测",
                    vocabulary.SCENARIOS[rng.choice(vocabulary.POPULAR_SCENARIOS)]["name"],
                    rng.choice(profile["energy"]) + " 能耗",
                    "数字化",
                )
            ),
        ]
        params["q"] = " ".join(words[: rng.choice((1, 2, 2))])
    if rng.random() < 0.5:
        params["industry"] = code
    if rng.random() < 0.3:
        params["scenario"] = rng.choice(vocabulary.POPULAR_SCENARIOS)
    if rng.random() < 0.3:
        params["price_max_cny"] = rng.choice(PRICE_CAPS)
    if rng.random() < 0.1:
        params["delivery_mode"] = rng.choice(vocabulary.DELIVERY_MODES)
    if rng.random() < 0.2:
        params["sort"] = rng.choice(SORTS)
    if rng.random() < 0.15:
        params["page"] = 2
    return params


def need_text(rng: random.Random, profile: dict, scenario: str) -> str:
    """An owner's need in their own words: a demo need template filled from the industry profile."""
    template = rng.choice(vocabulary.NEED_PAINS.get(scenario) or vocabulary.NEED_PAINS["quality"])
    return template.format(
        product=rng.choice(profile["products"]),
        defect=rng.choice(profile["defects"]),
        equipment=rng.choice(profile["equipment"]),
        energy=rng.choice(profile["energy"]),
        material=rng.choice(profile["materials"]),
        param=rng.choice(profile["params"]),
    )


def recommendation_body(rng: random.Random) -> dict:
    """The body of one recommendation request."""
    code = rng.choice(INDUSTRY_CODES)
    scenario = rng.choice(vocabulary.POPULAR_SCENARIOS)
    body: dict = {"industry": code, "needs": need_text(rng, PROFILES[code], scenario)}
    if rng.random() < 0.4:
        body["scenarios"] = [scenario]
    if rng.random() < 0.5:
        body["budget_max_cny"] = rng.choice(PRICE_CAPS)
    if rng.random() < 0.5:
        city = rng.choice(vocabulary.CITIES)
        body.update(city=city["city"], province=city["province"])
    if rng.random() < 0.5:
        body["digital_level"] = rng.choice((0, 1, 1, 2))
    return body


def solution_body(rng: random.Random, number: int) -> dict:
    """A provider's new draft solution for an industry of the demo vocabulary."""
    code = rng.choice(INDUSTRY_CODES)
    profile = PROFILES[code]
    scenario = rng.choice(vocabulary.POPULAR_SCENARIOS)
    name = vocabulary.SCENARIOS[scenario]["name"]
    price = rng.choice(PRICE_CAPS) // 2
    return {
        "title": f"{profile['label']}{name}方案（压测{number}）",
        "summary": f"面向{profile['label']}企业的{name}数字化改造，{rng.choice(profile['products'])}产线适用",
        "description": need_text(rng, profile, scenario) + "，本方案按周交付，可先试点一条产线。",
        "industries": [code],
        "scenarios": [scenario],
        "tags": [name],
        "price_min_cny": price,
        "price_max_cny": price * 2,
        "deploy_days": rng.choice((14, 30, 45, 60)),
        "delivery_modes": [rng.choice(vocabulary.DELIVERY_MODES)],
    }


# -- the store, the server and the accounts ----------------------------------------------------


def flask(env: dict, *args: str) -> None:
    """Run one ``flask`` command of the app, echoing what it prints.

    :raises subprocess.CalledProcessError: if it fails.
    """
    print(f"$ flask {' '.join(args)}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "flask", *args], cwd=REPO, env=env, check=True)


def prepare_store(directory: Path, solutions: int) -> dict:
    """Migrate, seed the demo catalog and ``solutions`` synthetic ones, index them and train the matcher.

    :returns: the environment variables that point at this store.
    """
    store = {
        "DATABASE_URL": f"sqlite:///{directory / 'marketplace.sqlite3'}",
        "INDEX_DIR": str(directory / "index"),
        "SECRET_KEY": SECRET_KEY,
        "SEARCH_BACKEND": "embedded",
    }
    config = {**store, "INSTANCE_PATH": str(directory)}
    env = {**os.environ, **store, "FLASK_APP": f"marketplace:create_app({config!r})"}
    flask(env, "db", "upgrade")
    flask(env, "seed", "demo")
    flask(env, "seed", "synthetic", "--solutions", str(solutions))
    flask(env, "matching", "train", "--if-missing")
    return store


def credit_code(number: int) -> str:
    """A valid 统一社会信用代码 for the ``number``-th organisation of the run."""
    from marketplace.common.credit_code import check_character

    body = f"91320500MA{number:07d}"
    return body + check_character(body)


def register(base: str, role: str, number: int) -> str:
    """Register an account of ``role`` with its organisation profile; return its access token.

    :raises requests.HTTPError: if any step is refused.
    """
    import requests  # after locust, whose gevent patching must precede the ssl import

    email = f"load-{role}-{number}@example.cn"
    account = {"email": email, "password": PASSWORD, "role": role, "name": f"压测{role}{number}"}
    requests.post(f"{base}/api/v1/auth/register", json=account, timeout=30).raise_for_status()
    answer = requests.post(
        f"{base}/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=30
    )
    answer.raise_for_status()
    token = answer.json()["access_token"]
    city = vocabulary.CITIES[number % len(vocabulary.CITIES)]
    common = {"credit_code": credit_code(number), "province": city["province"], "city": city["city"]}
    if role == "provider":
        path, profile = (
            "/api/v1/providers",
            {
                "name": f"压测数字化服务商{number}有限公司（演示）",
                "description": "为中小制造企业提供小快轻准的数字化产品。",
                "contact_email": f"sales{number}@example.cn",
                "contact_phone": "0512-66881234",
            },
        )
    else:
        path, profile = (
            "/api/v1/enterprises",
            {
                "name": f"压测精密制造{number}有限公司（演示）",
                "industry": "C2929",
                "size": "small",
                "above_scale": True,
                "tier": "innovative",
                "digital_level": 1,
                "needs": "客户老投诉我们的注塑件有黑点缩水，全靠老师傅拿眼看",
            },
        )
    headers = {"Authorization": f"Bearer {token}"}
    requests.post(f"{base}{path}", json={**common, **profile}, headers=headers, timeout=30).raise_for_status()
    return token


def published_ids(base: str, rng: random.Random, count: int = 30) -> list[int]:
    """Ids of published solutions, found with searches as a user would, for inquiries."""
    import requests

    found: set[int] = set()
    for _ in range(count):
        answer = requests.get(f"{base}/api/v1/search/solutions", params=search_params(rng), timeout=30)
        answer.raise_for_status()
        found.update(item["id"] for item in answer.json()["items"])
    if not found:
        raise RuntimeError("no published solution found to send inquiries about")
    return sorted(found)


# -- the users ----------------------------------------------------------------------------------


def make_user_class(providers: Sequence[str], enterprises: Sequence[str], solution_ids: Sequence[int], wait):
    """A locust user class bound to the run's accounts and published solutions."""
    counter = iter(range(10**9))

    class MarketplaceUser(HttpUser):
        """Someone on the marketplace: mostly searching, at times asking for advice, now and then writing."""

        wait_time = wait

        def on_start(self) -> None:
            number = next(counter)
            self.rng = random.Random(number)
            self.provider = {"Authorization": f"Bearer {providers[number % len(providers)]}"}
            self.enterprise = {"Authorization": f"Bearer {enterprises[number % len(enterprises)]}"}
            self.drafts: list[int] = []
            self.created = 0

        @task(70)
        def search(self) -> None:
            self.client.get("/api/v1/search/solutions", params=search_params(self.rng), name=SEARCH)

        @task(20)
        def recommend(self) -> None:
            self.client.post("/api/v1/recommendations", json=recommendation_body(self.rng), name=RECOMMEND)

        @task(4)
        def create_solution(self) -> None:
            self.created += 1
            body = solution_body(self.rng, self.created)
            answer = self.client.post("/api/v1/solutions", json=body, headers=self.provider, name=CREATE)
            if answer.status_code == 201:
                self.drafts.append(answer.json()["id"])

        @task(3)
        def edit_solution(self) -> None:
            if not self.drafts:
                self.create_solution()
                return
            ident = self.rng.choice(self.drafts)
            body = {"summary": f"面向中小企业的轻量化改造，第{self.rng.randint(1, 99)}版说明"}
            self.client.patch(f"/api/v1/solutions/{ident}", json=body, headers=self.provider, name=EDIT)

        @task(3)
        def inquire(self) -> None:
            ident = self.rng.choice(solution_ids)
            # the service refuses the same message about the same solution within 10 minutes (409)
            number = self.rng.randint(1, 10**6)
            body = {"message": f"您好，想了解这个方案的实施周期和报价，能否线上沟通？（询价单 {number}）"}
            self.client.post(
                f"/api/v1/solutions/{ident}/inquiries", json=body, headers=self.enterprise, name=INQUIRE
            )

    return MarketplaceUser


def make_floor_class(wait):
    """The same users, think time and server settings against the bare Flask app: the baseline."""

    class FloorUser(HttpUser):
        """A user whose every request is the cheapest JSON answer Flask and gunicorn can give."""

        wait_time = wait

        @task
        def floor(self) -> None:
            self.client.get("/", name=FLOOR)

    return FloorUser


def run_locust(
    host: str, user_class, users: int, spawn_rate: float, warmup: float, duration: float
) -> tuple[Environment, float]:
    """Run ``users`` users: ``warmup`` seconds once all have started, then ``duration`` measured ones.

    The warm-up lets every worker load what it loads lazily (the matcher, the index readers).

    :returns: the locust environment, whose statistics cover only the measured part, and its length.
    """
    environment = Environment(user_classes=[user_class], events=events, host=host)
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=spawn_rate)
    while runner.user_count < users:
        gevent.sleep(0.1)
    gevent.sleep(warmup)
    environment.stats.reset_all()
    started = time.monotonic()
    gevent.sleep(duration)
    runner.quit()
    return environment, time.monotonic() - started


# -- the report ---------------------------------------------------------------------------------


def summarise(environment: Environment, wall: float) -> dict:
    """Requests, throughput, p50 and p99 (locust's rounded percentiles) and failures per endpoint."""
    stats = environment.stats
    rows = {}
    for name in ENDPOINTS:
        entry = stats.entries.get((name, name.split()[0]))
        if entry is None or entry.num_requests == 0:
            continue
        rows[name] = {
            "requests": entry.num_requests,
            "rps": entry.num_requests / wall,
            "p50_ms": entry.get_response_time_percentile(0.5),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "max_ms": entry.max_response_time,
            "failures": entry.num_failures,
        }
    total = stats.total
    errors = [
        {"endpoint": error.name, "error": str(error.error), "count": error.occurrences}
        for error in stats.errors.values()
    ]
    return {
        "wall_s": wall,
        "endpoints": rows,
        "total": {
            "requests": total.num_requests,
            "rps": total.num_requests / wall,
            "p50_ms": total.get_response_time_percentile(0.5),
            "p99_ms": total.get_response_time_percentile(0.99),
            "max_ms": total.max_response_time,
            "failures": total.num_failures,
        },
        "errors": errors,
    }


def target_checks(summary: dict) -> list[tuple[str, str, bool]]:
    """Each target of the issue, what was measured, and whether it was met."""
    search = summary["endpoints"].get(SEARCH, {})
    failures = summary["total"]["failures"]
    p99 = search.get("p99_ms")
    return [
        ("no failed request", f"{failures} failed", failures == TARGETS["errors"]),
        (
            f"search p99 ≤ {TARGETS['search_p99_ms']:.0f} ms",
            "no search made" if p99 is None else f"{p99:.0f} ms",
            p99 is not None and p99 <= TARGETS["search_p99_ms"],
        ),
    ]


def render_markdown(report: dict, threads: int, run: dict) -> str:
    """The results of one thread count as markdown for ``docs/benchmarks.md``."""
    machine, summary = run["machine"], run["summary"]
    load = format_load(machine["load_average"])
    lines = [
        f"### THREADS={threads}",
        "",
        f"Run {machine['date']} on {machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']:.1f} GiB, "
        f"Linux {machine['kernel']}, Python {machine['python']}, locust {report['locust']}; "
        f"load average before the run {load}.",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Settings: {report['settings']}",
        "",
        f"Measured over {summary['wall_s']:.1f} s after ramp-up and warm-up: "
        f"{summary['total']['requests']:,} requests, {summary['total']['rps']:.1f} per second.",
        "",
        "The floor is the same users with the same think time against the bare Flask app "
        "(`benchmarks/floor_app.py`) under the same gunicorn settings, right after.",
        "",
        "| endpoint | requests | per second | p50 ms | p99 ms | max ms | failed "
        "| p50 ÷ floor | p99 ÷ floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    floor = summary["floor"]
    rows = [*summary["endpoints"].items(), ("all", summary["total"]), (FLOOR, floor)]
    for name, row in rows:
        lines.append(
            f"| `{name}` | {row['requests']:,} | {row['rps']:.1f} | {row['p50_ms']:.0f} | "
            f"{row['p99_ms']:.0f} | {row['max_ms']:.0f} | {row['failures']} | "
            f"{row['p50_ms'] / floor['p50_ms']:.1f}× | {row['p99_ms'] / floor['p99_ms']:.1f}× |"
        )
    lines += ["", *target_table(target_checks(summary))]
    if summary["errors"]:
        lines += ["", "Failures:", ""]
        lines += [f"- `{e['endpoint']}` × {e['count']}: {e['error'][:200]}" for e in summary["errors"]]
    return "\n".join(lines) + "\n"


# -- the command ---------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solutions", type=int, default=100_000, help="synthetic solutions in the store")
    parser.add_argument("--users", type=int, default=50, help="concurrent locust users")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds, after ramp-up")
    parser.add_argument("--warmup", type=float, default=10.0, help="unmeasured seconds after ramp-up")
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    parser.add_argument(
        "--think",
        default="1,2",
        help="think time between a user's requests, MIN,MAX seconds; 0 sends the next one at once",
    )
    parser.add_argument(
        "--workers", type=int, default=2 * os.cpu_count(), help="gunicorn workers (WORKERS), as served"
    )
    parser.add_argument("--accounts", type=int, default=10, help="provider and enterprise accounts each")
    parser.add_argument(
        "--rate-limit",
        default="1000000/minute",
        help="every per-address rate limit for the run (all users share one address)",
    )
    parser.add_argument(
        "--threads",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1],
        help="comma-separated THREADS values to compare on the same store, e.g. 1,4",
    )
    parser.add_argument("--tmp-dir", type=Path, default=None, help="where the temporary store goes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary store")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure as JSON here")
    parser.add_argument("--write-doc", type=Path, default=None, help="replace the load section of this file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Prepare, serve, load, report; exit status 1 if a target was missed."""
    options = parse_args(argv)
    think = [float(part) for part in options.think.split(",")]
    wait = constant(0) if max(think) == 0 else between(think[0], think[-1])
    command = " ".join(["python -m benchmarks.load", *(argv if argv is not None else sys.argv[1:])])
    directory = Path(tempfile.mkdtemp(prefix="load-", dir=options.tmp_dir))
    limits = {key: options.rate_limit for key in RATE_LIMIT_KEYS}
    runs = {}
    try:
        store = prepare_store(directory, options.solutions)
        accounts: dict = {}
        for threads in options.threads:
            env = {
                **os.environ,
                **store,
                **limits,
                "APP_ENV": "production",
                "WORKERS": str(options.workers),
                "THREADS": str(threads),
            }
            log = directory / f"gunicorn-threads{threads}.log"
            with GunicornServer("wsgi:app", env, log, "/readyz") as server:
                base = f"http://127.0.0.1:{server.port}"
                if not accounts:  # tokens stay valid across servers: same store and SECRET_KEY
                    accounts["providers"] = [register(base, "provider", n) for n in range(options.accounts)]
                    accounts["enterprises"] = [
                        register(base, "enterprise", options.accounts + n) for n in range(options.accounts)
                    ]
                solution_ids = published_ids(base, random.Random(0))
                user_class = make_user_class(
                    accounts["providers"], accounts["enterprises"], solution_ids, wait
                )
                machine = machine_description()
                environment, wall = run_locust(
                    base, user_class, options.users, options.spawn_rate, options.warmup, options.duration
                )
            summary = summarise(environment, wall)
            floor_log = directory / f"gunicorn-floor-threads{threads}.log"
            with GunicornServer("benchmarks.floor_app:app", env, floor_log, "/") as floor:
                floor_run, floor_wall = run_locust(
                    f"http://127.0.0.1:{floor.port}",
                    make_floor_class(wait),
                    options.users,
                    options.spawn_rate,
                    options.warmup,
                    options.duration,
                )
            summary["floor"] = summarise(floor_run, floor_wall)["endpoints"][FLOOR]
            runs[threads] = {"machine": machine, "summary": summary}
        report = {
            "locust": metadata.version("locust"),
            "command": f".venv/bin/{command}",
            "settings": (
                f"{options.solutions:,} synthetic solutions plus the demo catalog; {options.users} users "
                f"(started {options.spawn_rate:g}/s, then {options.warmup:g} s of warm-up, not measured), "
                f"think time {options.think.replace(',', '–')} s; "
                f"mix 70 % search, 20 % recommendations, 10 % writes (create 4 : edit 3 : inquiry 3); "
                f"gunicorn `-c gunicorn.conf.py` with WORKERS={options.workers} (sync worker for THREADS=1, "
                f"gthread above), APP_ENV=production; every per-address rate limit "
                f"({', '.join(RATE_LIMIT_KEYS)}) set to {options.rate_limit} because every user shares "
                f"127.0.0.1; client and server on the same machine; one store, one server per thread count, "
                f"in the order given"
            ),
            "runs": runs,
        }
    finally:
        if not options.keep:
            shutil.rmtree(directory, ignore_errors=True)
    markdown = "\n".join(render_markdown(report, threads, run) for threads, run in report["runs"].items())
    print(markdown)
    if options.json:
        options.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if options.write_doc:
        write_section(
            options.write_doc, "## Load test (`benchmarks/load.py`)\n\n" + markdown, DOC_BEGIN, DOC_END
        )
    met = [met for run in report["runs"].values() for _, _, met in target_checks(run["summary"])]
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
