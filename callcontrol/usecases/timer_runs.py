"""How a timer run reports itself: one readable log line, its counts as fields.

The line reads `reconciler run (timer): examined 3, lookedUp 1, ended 1, …`; the counts travel
as the record's `timerRun` field too, so a JSON log keeps them as an object (`jq`), and `make
run` prints the line in the terminal (tools/call_lines.py shows records with a `timer` field).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any


def log_run(logger: logging.Logger, timer: str, trigger: str, counts: Mapping[str, Any]) -> None:
    readable = ", ".join(f"{name} {_said(value)}" for name, value in counts.items())
    logger.info("%s run (%s): %s", timer, trigger, readable,
                extra={"timer": timer, "timerRun": dict(counts)})


def _said(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
