"""Does the state machine find the faults of #13? Put each fault back, one at a time, and run it.

Each mutant undoes the heart of one fix in a scratch copy of the tracked tree, then runs
``tests/test_stateful.py`` there. A mutant the machine does not fail on is a class it cannot see.
Run by hand (it takes minutes); the results are recorded in ``docs/integrity.md``::

    .venv/bin/python -m tests.stateful_mutants [--examples 40] [NAME ...]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent

MUTANTS = {
    "merge": (
        "finding 1: a PATCH is not checked as the whole object it makes",
        "marketplace/common/schemas.py",
        "    loaded = strict_json(cls()).load(merged)\n    return {key: loaded[key] for key in patch}",
        "    return patch",
    ),
    "provenance": (
        "finding 2: anyone may mark a number city-accepted",
        "marketplace/common/provenance.py",
        "            elif may_accept:",
        "            elif True:",
    ),
    "case-tags": (
        "finding 3: a case lends its index document the current tags of solutions in review",
        "marketplace/search/documents.py",
        " for s in case.solutions if s.status is ListingStatus.PUBLISHED for name",
        " for s in case.solutions for name",
    ),
    "declared-tier": (
        "finding 7: the dashboard counts the tier an enterprise declares",
        "marketplace/pilots/standings.py",
        'return self.enterprise.verified_tier or "none"',
        "return self.enterprise.tier",
    ),
}


def _scratch_tree(folder: Path) -> Path:
    """A copy of the tracked files (with the working tree's edits) in ``folder``."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    tree = folder / "tree"
    for name in filter(None, files):
        source = ROOT / name.decode()
        if source.is_file():
            target = tree / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return tree


def _mutate(tree: Path, path: str, old: str, new: str) -> None:
    file = tree / path
    source = file.read_text(encoding="utf-8")
    if source.count(old) != 1:
        raise click.ClickException(f"{path}: the text to mutate occurs {source.count(old)} times, not once")
    file.write_text(source.replace(old, new), encoding="utf-8")


def _run(tree: Path, examples: int) -> tuple[bool, float, str]:
    """Run the machine in ``tree``: (it failed, seconds, the first assertion or error line)."""
    env = {**os.environ, "STATEFUL_EXAMPLES": str(examples), "STATEFUL_SHRINK": "0", "TEST_DATABASE_URL": ""}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_stateful.py"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    found = re.findall(r"^E\s+(\S.*)$", result.stdout, re.MULTILINE)
    last = found[0] if found else result.stdout.strip().splitlines()[-1]
    return result.returncode != 0, seconds, last[:160]


@click.command()
@click.option("--examples", default=40, show_default=True, help="Examples per mutant (STATEFUL_EXAMPLES).")
@click.argument("names", nargs=-1, type=click.Choice(sorted(MUTANTS)))
def main(examples: int, names: tuple[str, ...]) -> None:
    """Run the state machine once per mutant and say which it found."""
    for name in names or sorted(MUTANTS):
        what, path, old, new = MUTANTS[name]
        with tempfile.TemporaryDirectory(prefix="mutant-") as folder:
            tree = _scratch_tree(Path(folder))
            _mutate(tree, path, old, new)
            failed, seconds, first = _run(tree, examples)
        verdict = "FOUND" if failed else "missed"
        click.echo(f"{name:<14} {verdict:<7} {seconds:6.0f} s  {what}\n{'':<14} {first}")


if __name__ == "__main__":
    main()
