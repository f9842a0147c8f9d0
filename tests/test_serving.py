"""gunicorn in front of the app: its limits, its own refusals, its workers and slow clients."""

from __future__ import annotations

import json
import runpy
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.gunicorn import ROOT, serve

pytestmark = pytest.mark.slow


BODY_TIMEOUT = 3
HEADER_TIMEOUT = 3


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    """gunicorn as configured by gunicorn.conf.py (its default worker class), two workers, short deadlines."""
    env = {"REQUEST_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT), "HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT)}
    with serve(tmp_path_factory.mktemp("served"), workers=2, env=env) as server:
        yield server.port


def exchange(port: int, raw: bytes) -> tuple[int, dict, dict]:
    """Send raw bytes on a fresh connection; return the status, the headers and the JSON body."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    assert headers.get("content-type", "").startswith("application/json"), data[:300]
    return int(lines[0].split()[1]), headers, json.loads(body)


def get(target: bytes, extra: bytes = b"") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra + b"\r\n"


def assert_shape(body: dict, status: int) -> None:
    assert set(body) == {"code", "status", "message", "errors"} and body["code"] == status, body


@pytest.mark.parametrize(
    ("raw", "status", "by_app"),
    [
        (get(b"/api/v1/solutions?q=" + b"a" * 5_000), 414, True),
        (get(b"/api/v1/solutions?q=" + b"a" * 9_000), 414, False),
        (get(b"/healthz", b"X-Big: " + b"a" * 9_000 + b"\r\n"), 431, True),
        (get(b"/healthz", b"X-Big: " + b"a" * 20_000 + b"\r\n"), 431, False),
        (get(b"/healthz", b"".join(b"X-H%d: 1\r\n" % n for n in range(150))), 431, True),
        (get(b"/healthz", b"".join(b"X-H%d: 1\r\n" % n for n in range(300))), 431, False),
        (get("/api/v1/solutions?q=视觉".encode()), 400, False),
    ],
    ids=[
        "url-app",
        "url-gunicorn",
        "field-app",
        "field-gunicorn",
        "fields-app",
        "fields-gunicorn",
        "non-ascii",
    ],
)
def test_refusals_are_json_in_the_one_shape(port, raw, status, by_app):
    """What the app can see it refuses itself (with a request id); what only gunicorn sees is JSON too."""
    answered, headers, body = exchange(port, raw)
    assert answered == status
    assert_shape(body, status)
    assert ("x-request-id" in headers) is by_app


def test_an_oversized_chunked_body_is_413(port):
    """A chunked body past MAX_CONTENT_LENGTH (2 MiB) is a 413, not a 400 about truncated JSON."""
    payload = b'{"industry": "C29", "needs": "' + b"a" * 3_000_000 + b'"}'
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(payload[i : i + 65536]), payload[i : i + 65536])
        for i in range(0, len(payload), 65536)
    )
    head = (
        b"POST /api/v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    status, _, body = exchange(port, head + chunks + b"0\r\n\r\n")
    assert status == 413
    assert_shape(body, 413)


def trickle(port: int, declared: int = 100_000) -> socket.socket:
    """Open a connection that declares a ``declared``-byte JSON body and has sent one byte of it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        b"POST /api/v1/recommendations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n{" % declared
    )
    return sock


def healthz_seconds(port: int) -> float:
    """Time one ``GET /healthz`` on a fresh connection (inf if it does not answer within 3 s)."""
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            sock.sendall(get(b"/healthz"))
            if not sock.recv(64).startswith(b"HTTP/1.1 200"):
                return float("inf")
    except OSError:
        return float("inf")
    return time.monotonic() - started


def test_health_answers_while_slow_clients_trickle_bodies(port):
    """Six connections trickling a declared 100 KB body pin no worker: /healthz answers within a second."""
    slow = [trickle(port) for _ in range(6)]
    try:
        time.sleep(0.5)
        for _ in range(3):
            for sock in slow:
                sock.sendall(b" ")
            with ThreadPoolExecutor(4) as pool:
                latencies = list(pool.map(lambda _: healthz_seconds(port), range(4)))
            assert max(latencies) < 1.0, latencies
            time.sleep(0.5)
    finally:
        for sock in slow:
            sock.close()


def test_a_body_sent_too_slowly_is_a_408(port):
    """A client still sending its body REQUEST_BODY_TIMEOUT_SECONDS after its headers gets a JSON 408."""
    sock = trickle(port)
    started = time.monotonic()
    data, answered = b"", None
    try:
        while time.monotonic() - started < BODY_TIMEOUT + 5:
            try:
                sock.sendall(b" ")
            except OSError:
                pass
            sock.settimeout(0.5)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            answered = answered or time.monotonic() - started
            data += chunk
            if not chunk:
                break
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    assert BODY_TIMEOUT - 0.5 < answered < BODY_TIMEOUT + 2, answered
    assert_shape(json.loads(data.partition(b"\r\n\r\n")[2]), 408)


def test_headers_sent_too_slowly_are_cut_off(port):
    """A client trickling its headers is disconnected HEADER_TIMEOUT_SECONDS after it started."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=1)
    started = time.monotonic()
    closed = None
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        while time.monotonic() - started < HEADER_TIMEOUT + 6:
            try:
                sock.sendall(b"X")
                if sock.recv(64) == b"":
                    closed = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = time.monotonic() - started
                break
    finally:
        sock.close()
    assert closed is not None and closed < HEADER_TIMEOUT + 3, closed


def gunicorn_settings(monkeypatch, tmp_path, **env) -> dict:
    """The names gunicorn.conf.py defines, read with ``env`` set."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_the_control_socket_is_the_instances_own(monkeypatch, tmp_path):
    """Not gunicorn's shared ``~/.gunicorn/gunicorn.ctl`` (a second server took it over), but instance/."""
    monkeypatch.delenv("CONTROL_SOCKET", raising=False)
    settings = gunicorn_settings(monkeypatch, tmp_path)
    assert settings["control_socket"] == str(ROOT / "instance" / "gunicorn.ctl")
    assert not settings.get("control_socket_disable")
    settings = gunicorn_settings(monkeypatch, tmp_path, CONTROL_SOCKET=str(tmp_path / "ctl"))
    assert settings["control_socket"] == str(tmp_path / "ctl")
    assert gunicorn_settings(monkeypatch, tmp_path, CONTROL_SOCKET="off")["control_socket_disable"] is True


def test_two_servers_keep_their_own_control_sockets(tmp_path):
    """Each running server answers on its own socket; starting another does not take it over."""
    with serve(tmp_path / "one", workers=1) as first, serve(tmp_path / "two", workers=1) as second:
        for server, folder in ((first, "one"), (second, "two")):
            socket_path = tmp_path / folder / "gunicorn.ctl"
            deadline = time.monotonic() + 10
            while not socket_path.is_socket() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert socket_path.is_socket()
            with socket.socket(socket.AF_UNIX) as control:
                control.connect(str(socket_path))
            assert server.process.poll() is None


def test_sign_in_limits_hold_across_workers(port):
    """AUTH_RATE_LIMIT (10/minute) is one count for all workers: 30 wrong sign-ins, 10 get through."""
    from tests.gunicorn import call

    statuses = []
    for n in range(30):
        statuses.append(
            call(port, "POST", "/api/v1/auth/token", {"email": f"g{n}@example.cn", "password": "x"})[0]
        )
    assert statuses.count(401) == 10 and statuses.count(429) == 20, statuses
