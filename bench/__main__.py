"""`make bench`: every benchmark, each printing its ratios against a baseline from the same run.

Results land in bench/results/<name>.json.
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHMARKS = ["bench.cold_start", "bench.emulator_bench", "bench.callback_bench", "bench.management_bench",
              "bench.flow_step_bench",
              "bench.inbound_bench", "bench.inbound_cpu", "bench.concurrency_bench",
              "bench.telemetry_bench", "bench.events_bench", "bench.listing_bench"]


def main() -> int:
    failures = 0
    for name in sys.argv[1:] or BENCHMARKS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            print(f"== {name}: not present, skipped", flush=True)
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            module.main()
        except Exception as exc:  # report and go on: one broken bench must not hide the others
            failures += 1
            print(f"!! {name} failed: {exc!r}", flush=True)
        print(f"== {name} took {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
