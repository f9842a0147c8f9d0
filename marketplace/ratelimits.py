"""Rate limits: a SQLite storage so that workers share one count (the limiter is in ``auth.limits``).

``limits`` (under flask-limiter) ships memory, Redis, Memcached and MongoDB storages; ``memory://``
counts per worker process, so with several gunicorn workers a limit of 10/minute let 23 of 80
attempts through in 5 s. :class:`SQLiteStorage` registers the ``sqlite://`` scheme: counters in one
SQLite file (by default ``instance/ratelimits.sqlite3``) that every worker of the machine updates
atomically, without a server. ``RATELIMIT_STORAGE_URI=redis://…`` still selects Redis.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from pathlib import Path

from limits.storage import Storage

PURGE_PROBABILITY = 0.01
"""Share of increments that also delete expired counters, so the file stays small without a job."""


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file, shared by every process that opens it.

    Each increment is one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement, atomic across
    processes; a counter whose window has passed starts again from the amount. Connections are made
    per thread and per process (a forked worker opens its own).
    """

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options) -> None:
        """Use the file ``uri`` names, SQLAlchemy-style: ``sqlite:///relative`` or ``sqlite:////absolute``."""
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = uri.split("://", 1)[1].removeprefix("/")
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        """What a failing store raises."""
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS counters "
                "(key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires REAL NOT NULL)"
            )
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` to the counter of ``key``, starting a window of ``expiry`` s if none runs.

        :returns: the count in the current window.
        """
        now = time.time()
        connection = self._connection()
        (value,) = connection.execute(
            "INSERT INTO counters (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "value = CASE WHEN counters.expires <= ? THEN excluded.value "
            "ELSE counters.value + excluded.value END, "
            "expires = CASE WHEN counters.expires <= ? THEN excluded.expires ELSE counters.expires END "
            "RETURNING value",
            (key, amount, now + expiry, now, now),
        ).fetchone()
        if random.random() < PURGE_PROBABILITY:
            connection.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        return value

    def get(self, key: str) -> int:
        """The count of ``key`` in its current window (0 if none runs)."""
        row = (
            self._connection()
            .execute("SELECT value FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        """When the current window of ``key`` ends (now if none runs), as a Unix time."""
        now = time.time()
        row = (
            self._connection()
            .execute("SELECT expires FROM counters WHERE key = ? AND expires > ?", (key, now))
            .fetchone()
        )
        return row[0] if row else now

    def check(self) -> bool:
        """Whether the file can be read."""
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter; returns how many there were."""
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        """Forget the counter of ``key``."""
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))
