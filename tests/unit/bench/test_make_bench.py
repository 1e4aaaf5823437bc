"""`make bench` (python -m bench) runs every benchmark once, one after the other (docs/benchmarks.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench.__main__ import BENCHMARKS

BENCH = Path(__file__).resolve().parents[3] / "bench"


def test_make_bench_runs_each_benchmark_once() -> None:
    repeated = [name for name, count in Counter(BENCHMARKS).items() if count > 1]
    assert not repeated, f"make bench would run these more than once: {repeated}"


def test_make_bench_runs_every_benchmark() -> None:
    modules = {f"bench.{p.stem}" for p in BENCH.glob("*_bench.py")}
    modules |= {"bench.cold_start", "bench.inbound_cpu"}  # the two not named *_bench
    assert modules - set(BENCHMARKS) == set()
