"""What the benchmarks share to report their figures in ``docs/benchmarks.md``.

Each benchmark renders its own section as markdown and writes it between its own markers with
:func:`write_section`, so that a run replaces only its section. The pieces here are those the
sections have in common: the machine (:func:`machine_description`, :func:`machine_table`,
:func:`format_load`), the table of targets (:func:`target_table`), the ratio of repeated runs to
the baseline measured beside them (:func:`median_ratio`), and the JSON form of a report
(:func:`json_ready`).
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

VERSIONED_PACKAGES = ("tantivy", "rjieba", "opencc", "flask", "gunicorn", "sqlalchemy", "werkzeug")
"""The packages whose versions the machine description names."""


def machine_description() -> dict:
    """CPU model, cores, memory, OS, Python and package versions, date and load average."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gib": int(meminfo["MemTotal"].split()[0]) / 1024**2,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {name: metadata.version(name) for name in VERSIONED_PACKAGES},
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": os.getloadavg(),
    }


def format_load(load: Sequence[float]) -> str:
    """A load average (1, 5 and 15 minutes) as ``0.52 / 0.61 / 0.70``."""
    return " / ".join(f"{value:.2f}" for value in load)


def machine_table(machine: dict) -> list[str]:
    """The lines of a markdown table of a :func:`machine_description`: CPU, RAM, OS, Python, packages."""
    packages = ", ".join(f"{name} {version}" for name, version in machine["packages"].items())
    return [
        "| machine | |",
        "|---|---|",
        f"| CPU | {machine['cpu']}, {machine['cores']} cores |",
        f"| RAM | {machine['ram_gib']:.1f} GiB |",
        f"| OS | Linux {machine['kernel']} |",
        f"| Python | {machine['python']} |",
        f"| packages | {packages} |",
    ]


def target_table(checks: Sequence[tuple[str, str, bool]]) -> list[str]:
    """The lines of a markdown table of targets: what each asks, what was measured, and whether it was met."""
    lines = ["| target | measured | met |", "|---|---|---|"]
    for target, measured, met in checks:
        lines.append(f"| {target} | {measured} | {'yes' if met else '**no**'} |")
    return lines


def median_ratio(runs: Sequence[dict], baselines: Sequence[dict], key: str) -> float:
    """The median over repeats of ``run[key] / baseline[key]``, each run beside the baseline of its repeat.

    :raises ValueError: if there are not as many baselines as runs.
    """
    return statistics.median(run[key] / base[key] for run, base in zip(runs, baselines, strict=True))


def write_section(path: Path, markdown: str, begin: str, end: str) -> None:
    """Replace the section of ``path`` between the markers ``begin`` and ``end`` with ``markdown``.

    The file, or the section at its end, is created if missing.
    """
    section = f"{begin}\n{markdown}{end}\n"
    if not path.exists():
        path.write_text(f"# Benchmarks\n\n{section}", encoding="utf-8")
        return
    text = path.read_text(encoding="utf-8")
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1].removeprefix("\n")
        path.write_text(head + section + tail, encoding="utf-8")
    else:
        path.write_text(text.rstrip("\n") + "\n\n" + section, encoding="utf-8")


def json_ready(value):
    """``value`` with every tuple key of its dicts joined with `` | ``, so that it can be dumped as JSON."""
    if isinstance(value, dict):
        return {" | ".join(k) if isinstance(k, tuple) else k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
