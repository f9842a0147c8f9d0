"""gunicorn in front of the app: its limits, its own refusals, its workers and slow clients."""

from __future__ import annotations

import json
import socket

import pytest

from tests.gunicorn import serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    """gunicorn as configured by gunicorn.conf.py, with two workers."""
    with serve(tmp_path_factory.mktemp("served"), workers=2) as server:
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
