"""Shared bits of the benchmarks: timing, percentiles, and where results go."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


async def sample(operation: Callable[[], Awaitable[object]], count: int, warmup: int = 20) -> list[float]:
    """Latencies in milliseconds of `count` sequential runs, after a warm-up."""
    for _ in range(warmup):
        await operation()
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        await operation()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(values, 0.5), 3), "p99_ms": round(percentile(values, 0.99), 3),
            "mean_ms": round(statistics.fmean(values), 3), "n": len(values)}


def write(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": name, "at": datetime.now(UTC).isoformat(timespec="seconds"),
              "python": platform.python_version(), **result}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return path
