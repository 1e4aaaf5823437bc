"""The fuzz tier: property-based requests against the running stack and the callback sink.

Bounded on purpose: `FUZZ_EXAMPLES` examples per operation (default 25), so the tier costs about
a minute on a 2-core machine. Raise it locally for a deeper run: `FUZZ_EXAMPLES=500 make fuzz`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.stack import Stack, start_stack

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="session")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("fuzz-stack-logs")
    running = start_stack(log_dir=logs)
    try:
        yield running
    finally:
        running.stop()
        _print_log_tails(logs)


def _print_log_tails(logs: Path) -> None:
    for log in sorted(logs.glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-15:]
        print(f"--- {log.name} (last lines) ---", *tail, sep="\n")
