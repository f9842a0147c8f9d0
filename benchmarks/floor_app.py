"""The floor of the HTTP benchmarks: a bare Flask app that answers ``{"ok": true}`` and nothing else.

The benchmarks serve it with the service's own gunicorn settings
(``gunicorn -c gunicorn.conf.py benchmarks.floor_app:app``, through ``benchmarks/harness.py``), so
that every HTTP figure can be read as a multiple of the cheapest JSON response Flask and gunicorn
can give on the same machine.
"""

from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def ok():
    """Answer the smallest JSON response."""
    return jsonify(ok=True)
