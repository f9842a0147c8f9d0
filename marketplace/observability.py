"""Operations: JSON logs with a request id, Prometheus metrics, security headers and opt-in CORS."""

from __future__ import annotations

import hmac
import logging
import os
import re
import sys
import time
import uuid

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_cors import CORS
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter
from sqlalchemy.exc import SQLAlchemyError

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED_ENDPOINT = "unmatched"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'"
)

access_log = logging.getLogger("marketplace.access")
log = logging.getLogger(__name__)

REQUESTS = Counter(
    "marketplace_http_requests",
    "HTTP requests answered, by Flask endpoint, method and status.",
    ("endpoint", "method", "status"),
    registry=None,
)
LATENCY = Histogram(
    "marketplace_http_request_duration_seconds",
    "Time to answer an HTTP request, by Flask endpoint, method and status.",
    ("endpoint", "method", "status"),
    registry=None,
)


class JsonFormatter(BaseJsonFormatter):
    """One JSON object per line: time, level, logger, process, request id, message, and any extras."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", ["levelname", "name", "process", "request_id", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__(*args, **kwargs)


class StderrHandler(logging.StreamHandler):
    """Write to whatever ``sys.stderr`` is at the time of the record, as ``logging.lastResort`` does."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        """Ignore: the stream is always the current standard error."""


def init_observability(app: Flask) -> None:
    """Set up logging, the request id, metrics, security headers and CORS; register before other hooks."""
    configure_logging(app.config["LOG_LEVEL"])
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
    origins = cors_origins(app.config["CORS_ORIGINS"])
    if origins:
        CORS(
            app,
            resources={r"/api/*": {"origins": origins}},
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
            max_age=600,
        )


def configure_logging(level: str) -> None:
    """Give every log record a request id; log JSON to stderr unless a JSON handler (gunicorn's) exists."""
    if not getattr(logging.getLogRecordFactory(), "adds_request_id", False):
        logging.setLogRecordFactory(_record_factory(logging.getLogRecordFactory()))
    root = logging.getLogger()
    if not any(isinstance(handler.formatter, JsonFormatter) for handler in root.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.setLevel(level)


def _record_factory(base):
    def factory(*args, **kwargs):
        record = base(*args, **kwargs)
        record.request_id = g.get("request_id") if has_request_context() else None
        return record

    factory.adds_request_id = True
    return factory


def cors_origins(value) -> list[str]:
    """The allowed origins from a comma-separated string or a list; empty means no CORS."""
    if isinstance(value, str):
        value = value.split(",")
    return [origin.strip() for origin in value or () if origin.strip()]


def _start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    duration = time.perf_counter() - g.request_started
    endpoint = request.endpoint or UNMATCHED_ENDPOINT
    labels = (endpoint, request.method, str(response.status_code))
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(duration)
    _add_security_headers(response)
    response.headers[REQUEST_ID_HEADER] = g.request_id
    access_log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,
            "endpoint": endpoint,
            "status": response.status_code,
            "duration_ms": round(duration * 1000, 2),
        },
    )
    return response


def _add_security_headers(response: Response) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    docs = request.path.startswith(current_app.config["OPENAPI_URL_PREFIX"] + "/docs")
    headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else API_CSP)
    if current_app.config["HSTS_SECONDS"]:
        headers.setdefault(
            "Strict-Transport-Security", f"max-age={current_app.config['HSTS_SECONDS']}; includeSubDomains"
        )


class StoreCollector:
    """Gauges read from the store at scrape time: the index lag and the active recommender model."""

    def collect(self):
        """Yield the index lag and the active model version; nothing if the store does not answer."""
        from marketplace.extensions import db
        from marketplace.recommendations.models_store import active_row
        from marketplace.search import outbox

        try:
            lag = outbox.lag()
            model = active_row()
        except SQLAlchemyError as error:
            db.session.rollback()
            log.warning("metrics: store unavailable: %s", type(error).__name__)
            return
        yield GaugeMetricFamily(
            "marketplace_index_lag", "Outbox rows not yet applied to the search index.", value=lag
        )
        if model is not None:
            yield InfoMetricFamily(
                "marketplace_recommender_model",
                "The active recommender model.",
                value={"version": model.version},
            )


def metrics_registry() -> CollectorRegistry:
    """A registry for one scrape: every worker's request metrics (multiprocess mode) and the store gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(StoreCollector())
    return registry


def metrics_view() -> Response:
    """Prometheus metrics in the text format; with ``METRICS_TOKEN`` set, only for that bearer token."""
    from marketplace.errors import Unauthorized

    token = current_app.config["METRICS_TOKEN"]
    given = request.headers.get("Authorization", "").encode()
    if token and not hmac.compare_digest(given, f"Bearer {token}".encode()):
        raise Unauthorized("需要有效的监控令牌")
    return Response(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
