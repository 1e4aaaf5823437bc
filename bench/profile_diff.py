"""Compare two cProfile dumps of the same workload at two checkouts (bench/inbound_cpu.py writes them).

    .venv/bin/python -m bench.profile_diff /tmp/inbound_cpu/old.prof /tmp/inbound_cpu/here.prof \
        --per 100 [--top 40] [--cumulative]

Functions are matched by file (relative to the checkout or to site-packages / the standard
library) and name, not line, so they match across commits. Prints, per decision (--per: the
number of decisions profiled), the self time by area (app package, SDK, standard library module)
and the functions whose self (or, with --cumulative, cumulative) time changed most, with call
counts. cProfile's own overhead inflates functions called often; compare counts as well as times.
"""

from __future__ import annotations

import argparse
import pstats
import re
from collections import defaultdict
from typing import Any

_SITE = re.compile(r".*/site-packages/")
_STDLIB = re.compile(r".*/lib/python3\.\d+/")
_APP_ROOTS = ("callcontrol/", "handlers/", "devhost/", "tools/", "function_app.py", "emulator/")

Key = tuple[str, str]  # (file, function)


def place(filename: str) -> str:
    if filename.startswith(("~", "<")):
        return filename
    if _SITE.match(filename):
        return "site:" + _SITE.sub("", filename)
    for root in _APP_ROOTS:
        index = filename.find("/" + root)
        if index >= 0:
            return filename[index + 1:]
    if _STDLIB.match(filename):
        return "std:" + _STDLIB.sub("", filename)
    return filename


def area(file: str) -> str:
    """app/<first two levels>, site:<package>, std:<module>."""
    if file.startswith("site:"):
        return "site:" + file[5:].split("/")[0].replace(".py", "")
    if file.startswith("std:"):
        return "std:" + file[4:].split("/")[0].replace(".py", "")
    if file.startswith(_APP_ROOTS):
        return "/".join(file.split("/")[:3 if file.startswith("callcontrol/") else 2])
    return file


def load(path: str) -> dict[Key, list[float]]:
    """(file, function) → [primitive calls, total calls, self s, cumulative s]."""
    stats: dict[Any, Any] = pstats.Stats(path).stats  # type: ignore[attr-defined]
    table: dict[Key, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for (filename, _line, name), (primitive, total, self_s, cumulative, _callers) in stats.items():
        row = table[(place(filename), name)]
        row[0] += primitive
        row[1] += total
        row[2] += self_s
        row[3] += cumulative
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--per", type=float, default=1.0, help="divide by this many decisions")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--cumulative", action="store_true")
    args = parser.parse_args()
    before, after = load(args.before), load(args.after)
    per = args.per

    def ms(value: float) -> float:
        return value * 1000 / per

    total_before = sum(row[2] for row in before.values())
    total_after = sum(row[2] for row in after.values())
    print(f"self time per decision: before {ms(total_before):.2f} ms, after {ms(total_after):.2f} ms, "
          f"difference {ms(total_after - total_before):+.2f} ms\n")
    areas: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for key, row in before.items():
        areas[area(key[0])][0] += row[2]
    for key, row in after.items():
        areas[area(key[0])][1] += row[2]
    print(f"{'area':58} {'before':>8} {'after':>8} {'diff':>8}  (self ms per decision)")
    for name, (b, a) in sorted(areas.items(), key=lambda item: -abs(item[1][1] - item[1][0]))[:args.top]:
        print(f"{name[:58]:58} {ms(b):8.3f} {ms(a):8.3f} {ms(a - b):+8.3f}")
    column = 3 if args.cumulative else 2
    label = "cumulative" if args.cumulative else "self"
    print(f"\n{'function':70} {'calls b':>8} {'calls a':>8} {'before':>8} {'after':>8} {'diff':>8}"
          f"  ({label} ms per decision, calls per decision)")
    keys = set(before) | set(after)
    empty = [0, 0, 0.0, 0.0]

    def change(key: Key) -> float:
        return abs(after.get(key, empty)[column] - before.get(key, empty)[column])

    for key in sorted(keys, key=change, reverse=True)[:args.top]:
        old, new = before.get(key, empty), after.get(key, empty)
        name = f"{key[0]}:{key[1]}"
        print(f"{name[-70:]:70} {old[1] / per:8.1f} {new[1] / per:8.1f} {ms(old[column]):8.3f} "
              f"{ms(new[column]):8.3f} {ms(new[column] - old[column]):+8.3f}")


if __name__ == "__main__":
    main()
