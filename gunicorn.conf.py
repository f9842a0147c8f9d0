"""gunicorn settings for the service; ``scripts/serve`` uses them.

Logs are JSON lines on stderr (the app writes one access line per request, so gunicorn's own access
log is off). Request metrics are shared between workers through prometheus_client's multiprocess
mode, in ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory unless set; emptied at start).

The app refuses long request targets (414), big or many header fields (431) and large bodies (413)
itself, in its JSON error shape (``marketplace/common/reading.py``). gunicorn's limits sit well
above the app's, so that gunicorn only refuses what is far beyond them or not HTTP at all (a
non-ASCII request line, a broken chunk); its workers answer those in the same JSON shape too.
"""

import gc
import json
import multiprocessing
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Two workers per core, chosen with benchmarks/load.py (docs/benchmarks.md): with one per core a
# search waits behind CPU-bound recommendations. Each worker is threaded (gthread, 8 threads), so that
# a client sending its request slowly holds one thread, not a whole worker: with sync workers six
# connections trickling a body took /healthz down; with 4 workers x 8 threads 24 of them did not
# (benchmarks/slow_clients.py, docs/benchmarks.md). A worker takes no more connections than it has
# threads, so a connection never queues behind a pinned thread inside a worker (the others wait in
# the listen backlog for any free thread); keep-alive is therefore off. Headers must arrive within
# HEADER_TIMEOUT_SECONDS, bodies within the app's REQUEST_BODY_TIMEOUT_SECONDS. THREADS=1 selects
# the sync worker (bodies bounded, headers not).
workers = int(os.environ.get("WORKERS", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("THREADS", 8))
worker_connections = threads
keepalive = 0
HEADER_TIMEOUT_SECONDS = float(os.environ.get("HEADER_TIMEOUT_SECONDS", 10))
preload_app = True
accesslog = None
timeout = 30
# gunicorn's control socket (gunicornc) defaults to ~/.gunicorn/gunicorn.ctl, shared by every server
# of the user: a second one took it over. It lives in the instance folder, next to the store, unless
# CONTROL_SOCKET names another path; CONTROL_SOCKET=off turns it off.
INSTANCE_DIR = Path(__file__).resolve().parent / "instance"
CONTROL_SOCKET = os.environ.get("CONTROL_SOCKET", str(INSTANCE_DIR / "gunicorn.ctl"))
if CONTROL_SOCKET.lower() in ("", "off"):
    control_socket_disable = True
else:
    control_socket = CONTROL_SOCKET
# Twice the app's bounds (reading.py: 4,094-byte target, 100 fields of 8,190 bytes); 8,190 is the
# most gunicorn allows for the request line.
limit_request_line = 8190
limit_request_fields = 200
limit_request_field_size = 16380

_metrics_dir_is_ours = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
# prometheus_client picks its multiprocess storage when first imported, i.e. when the app preloads.
if _metrics_dir_is_ours:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="marketplace-metrics-")
METRICS_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])

logconfig_dict = {
    "root": {"level": os.environ.get("LOG_LEVEL", "INFO"), "handlers": ["json"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True, "qualname": "gunicorn.error"},
        "gunicorn.access": {
            "level": "WARNING",
            "handlers": [],
            "propagate": False,
            "qualname": "gunicorn.access",
        },
    },
    "handlers": {
        "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    },
    "formatters": {"json": {"()": "marketplace.observability.JsonFormatter"}},
}


class _CapturedError:
    """Stands in for the client socket while gunicorn writes its HTML error page, keeping the bytes."""

    def __init__(self):
        self.data = b""

    def gettimeout(self):
        """Report a blocking socket, as gunicorn expects before it writes."""
        return None

    def setblocking(self, flag):
        """Ignore: nothing is sent."""

    def sendall(self, data):
        """Keep what gunicorn would have sent."""
        self.data += data


class JSONErrors:
    """A worker mixin: gunicorn's own refusals (bad request line, headers past its limits, broken
    chunks) are answered in the app's JSON error shape instead of an HTML page.

    gunicorn decides the status and logs as usual; only the bytes written to the client change.
    """

    def handle_error(self, req, client, addr, exc):
        """Let gunicorn handle the error, then send its status as the one JSON error shape."""
        from http import HTTPStatus

        from marketplace.errors import error_document

        captured = _CapturedError()
        super().handle_error(req, captured, addr, exc)
        try:
            status = int(captured.data.split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = 500
        body = json.dumps(error_document(status)).encode()
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "X-Content-Type-Options: nosniff\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:
            self.log.debug("Failed to send error message.")


class JSONErrorSyncWorker(JSONErrors, SyncWorker):
    """gunicorn's sync worker with JSON refusals."""


class JSONErrorThreadWorker(JSONErrors, ThreadWorker):
    """gunicorn's threaded worker with JSON refusals, cutting off clients whose headers arrive too slowly.

    A thread reading a request's line and headers blocks until they are complete; a connection still
    sending them HEADER_TIMEOUT_SECONDS after its thread took it has its reading side shut (the read
    returns, gunicorn drops the connection). The main loop checks once a second.
    """

    def init_process(self):
        """Start with no header reads in flight."""
        self.header_deadlines = {}
        super().init_process()

    def handle(self, conn):
        """Handle a connection in a worker thread, its headers due within the deadline."""
        self.header_deadlines[conn] = time.monotonic() + HEADER_TIMEOUT_SECONDS
        try:
            return super().handle(conn)
        finally:
            self.header_deadlines.pop(conn, None)

    def handle_request(self, req, conn):
        """The headers are in: the deadline no longer applies (the app bounds the body)."""
        self.header_deadlines.pop(conn, None)
        return super().handle_request(req, conn)

    def murder_pending(self):
        """Close expired waiting connections, and cut off header reads past their deadline."""
        super().murder_pending()
        now = time.monotonic()
        for conn, deadline in list(self.header_deadlines.items()):
            if deadline < now and self.header_deadlines.pop(conn, None) is not None:
                try:
                    conn.sock.shutdown(socket.SHUT_RD)
                except OSError:
                    pass


worker_class = JSONErrorThreadWorker if threads > 1 else JSONErrorSyncWorker


def on_starting(server):
    """Empty the metrics directory; before forking, load the read-only taxonomy and analysis chain,
    the preloaded app's matcher and its embedding model once, so that workers share them and no
    request fits or loads one."""
    from marketplace.config import default_config
    from marketplace.recommendations.models_store import warm_up as warm_up_matcher
    from marketplace.search.engine import warm_up
    from marketplace.search.vectors import warm_up as warm_up_embedder

    METRICS_DIR.mkdir(parents=True, exist_ok=True)
    for path in METRICS_DIR.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    warm_up(default_config(".")["SEED_DATA_DIR"])
    app = server.app.wsgi() if server.cfg.preload_app else None
    if "sqlalchemy" in getattr(app, "extensions", {}):  # not the benchmarks' bare Flask floor
        warm_up_matcher(app)
        warm_up_embedder(app)


def pre_fork(server, worker):
    """Freeze the master's objects (the preloaded app) right before forking, as the ``gc`` docs advise.

    A worker's collections then never walk, and so never write to, the objects it shares with the
    master: the pages stay shared, and full collections cost what the worker itself allocated.
    """
    gc.freeze()


def post_fork(server, worker):
    """Drop the database connections inherited from the preloaded master, without closing them for it.

    The search backend needs nothing here: ``SearchState.backend`` creates a new one in every process.
    """
    from marketplace.extensions import db

    app = worker.app.wsgi()
    if "sqlalchemy" not in getattr(app, "extensions", {}):  # e.g. the benchmarks' bare Flask floor
        return
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def child_exit(server, worker):
    """Let prometheus_client drop a dead worker's live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory if gunicorn made it."""
    if _metrics_dir_is_ours:
        shutil.rmtree(METRICS_DIR, ignore_errors=True)
