"""The text of a solution or case as the matcher reads it, the same at training and at request time."""

from __future__ import annotations

from marketplace.models import BenchmarkCase, Solution


def solution_text(solution: Solution) -> str:
    """Title, summary, description and tags."""
    return " ".join([solution.title, solution.summary, solution.description, *solution.tags])


def case_text(case: BenchmarkCase) -> str:
    """Title and summary, plus the titles, summaries and tags of the solutions the case used.

    A case's own story is short and told in outcomes ("合格率提升至99.8%"); what it did is
    described by the solutions it used, in the words an enterprise's need shares with them.
    """
    used = [" ".join([s.title, s.summary, *s.tags]) for s in case.solutions]
    return " ".join([case.title, case.summary, *used])
