"""gunicorn settings for the service; ``scripts/serve`` uses them."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("THREADS", 1))
preload_app = True
accesslog = "-"
timeout = 30


def on_starting(server):
    """Load the read-only taxonomy and analysis chain once, before workers fork, so they share it."""
    from marketplace.config import default_config
    from marketplace.search.service import warm_up

    warm_up(default_config(".")["SEED_DATA_DIR"])
