"""Measure the throughput of the Chinese analysis chain on one core.

Texts are synthetic solution listings (title, summary and description joined) from
``seed_data.synthetic``; a share of them can be turned into traditional characters to exercise the
conversion step. Prints documents per second for the whole ``analyse`` call and for its stages.

Usage: ``python -m benchmarks.analysis_bench [-n 3000] [--traditional-share 0.2] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import opencc

from indexing.analysis import Analyzer

SEED_DIR = Path(__file__).resolve().parent.parent / "seed_data"


def synthetic_texts(count: int, seed: int) -> list[str]:
    """Return ``count`` listing texts of a few hundred characters each."""
    try:
        from seed_data.synthetic import iter_synthetic_solutions
    except ImportError:
        return _lexicon_texts(count, seed)
    providers = [f"bench-{index}" for index in range(20)]
    return [
        "\n".join((record["title"], record["summary"], record["description"]))
        for record in iter_synthetic_solutions(count, providers, seed=seed)
    ]


def _lexicon_texts(count: int, seed: int, chars: int = 300) -> list[str]:
    """Stitch lexicon terms into texts, when no synthetic generator is available."""
    lines = (SEED_DIR / "lexicon" / "domain.txt").read_text(encoding="utf-8").splitlines()
    terms = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts: list[str] = []
        while sum(map(len, parts)) < chars:
            parts.append(rng.choice(terms) + rng.choice(("的", "和", "，", "。", "系统", "提升")))
        texts.append("".join(parts))
    return texts


def fit_length(texts: Sequence[str], chars: int) -> list[str]:
    """Join consecutive texts and cut them so that each result has exactly ``chars`` characters."""
    fitted: list[str] = []
    buffer = ""
    for text in texts:
        buffer = f"{buffer}\n{text}" if buffer else text
        while len(buffer) >= chars:
            fitted.append(buffer[:chars])
            buffer = buffer[chars:]
    return fitted


def docs_per_second(function: Callable[[str], object], texts: Sequence[str], repeat: int) -> float:
    """Run ``function`` over ``texts`` ``repeat`` times; return the best rate in CPU time.

    CPU time rather than wall time, so that other processes on a shared machine skew it less.
    """
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for text in texts:
            function(text)
        best = min(best, time.process_time() - started)
    return len(texts) / best


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, build the texts and the analyser, and print the rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--count", type=int, default=3000, help="number of texts")
    parser.add_argument("--traditional-share", type=float, default=0.2, help="share converted to 繁體")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts")
    parser.add_argument("--chars", type=int, default=300, help="characters per text (0: as generated)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    texts = synthetic_texts(args.count, args.seed)
    if args.chars:
        while len(texts) < args.count * 2 and len(fit_length(texts, args.chars)) < args.count:
            texts += synthetic_texts(args.count, args.seed + len(texts))
        texts = fit_length(texts, args.chars)[: args.count]
    to_traditional = opencc.OpenCC("s2t")
    rng = random.Random(args.seed)
    texts = [to_traditional.convert(t) if rng.random() < args.traditional_share else t for t in texts]
    chars = sum(map(len, texts)) / len(texts)

    started = time.perf_counter()
    analyzer = Analyzer.from_seed_data(SEED_DIR)
    built = time.perf_counter() - started

    print(f"analyser {analyzer.version}: built in {built * 1000:.0f} ms")
    print(f"{len(texts)} texts, {chars:.0f} characters on average, {args.traditional_share:.0%} traditional")
    normalised = [analyzer.normalise(text) for text in texts]
    stages = (
        ("analyse (whole chain)", analyzer.analyse, texts),
        ("normalise", analyzer.normalise, texts),
        ("segment only (rjieba cut)", analyzer._segmenter.cut, normalised),
    )
    for label, function, inputs in stages:
        rate = docs_per_second(function, inputs, args.repeat)
        print(f"{label:28s} {rate:9.0f} docs/s  {1e6 / rate:7.1f} µs/doc")


if __name__ == "__main__":
    main()
