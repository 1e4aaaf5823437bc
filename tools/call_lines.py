"""What `make run` prints while it runs: one short line per call event from devhost's JSON log.

The app logs each meaningful step of a call once, at INFO, with the call's identifiers stamped
on the record (decision, action sent, callback applied with the state change, operation
settled). This follows devhost's log file and turns those records into lines such as

    10:02:03  call 5e1f0c2a · corr 9d41a7b0  callback CallConnected applied: connecting → connected

plus a timer's run (by schedule or by hand: its counts), and any warning or error, from whichever
logger, so failures are not silent either. A call is
named as everywhere a person reads (the API, the console): by its callConnectionId (an
`inbound-…` id for a call the app rejected or redirected), the correlationId beside it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

APP_LOGGERS = ("callcontrol", "handlers")


def call_line(entry: dict[str, Any]) -> str | None:
    """The terminal line for one JSON log entry, or None when it is not worth a line."""
    level = str(entry.get("level", ""))
    logger = str(entry.get("logger", ""))
    call = who_is(entry)
    timer = entry.get("timer") if logger.startswith(APP_LOGGERS) else None
    is_call_event = logger.startswith(APP_LOGGERS) and level == "INFO" and (call or timer)
    if not is_call_event and level not in ("WARNING", "ERROR", "CRITICAL"):
        return None
    clock = str(entry.get("time", ""))[11:19]
    who = call or (f"timer {timer}" if timer else logger)
    prefix = "" if level == "INFO" else f"{level} "
    first_line = str(entry.get("message", "")).partition("\n")[0]
    return f"{clock}  {who}  {prefix}{first_line}"


def short_id(call_id: str) -> str:
    """Enough of an id to tell calls apart: an `inbound-…` record's id is told by what follows."""
    return call_id[:16] if call_id.startswith("inbound-") else call_id[:8]


def who_is(entry: dict[str, Any]) -> str | None:
    """`call <callConnectionId> · corr <correlationId>`, as much as the entry knows; None."""
    call_id, correlation_id = entry.get("callConnectionId"), entry.get("correlationId")
    names = ([f"call {short_id(str(call_id))}"] if call_id else []) + (
        [f"corr {str(correlation_id)[:8]}"] if correlation_id else [])
    return " · ".join(names) or None


def follow(path: Path, offset: int, stopped: threading.Event, echo: Callable[[str], None],
           poll_seconds: float = 0.2) -> None:
    """Echo the call lines of what is appended to `path` after `offset`, until `stopped`."""
    pending = b""
    while not stopped.wait(poll_seconds):
        if not path.exists():
            continue
        with path.open("rb") as log:
            log.seek(offset)
            chunk = log.read()
        offset += len(chunk)
        *complete, pending = (pending + chunk).split(b"\n")
        for raw in complete:
            try:
                entry = json.loads(raw)
            except ValueError:
                continue  # a plain line (start-up banner): the banner says it already
            if isinstance(entry, dict) and (line := call_line(entry)) is not None:
                echo(line)


def start_following(path: Path, stopped: threading.Event,
                    echo: Callable[[str], None]) -> threading.Thread:
    """Follow from the file's current end: what the run logged before is in the file."""
    offset = path.stat().st_size if path.exists() else 0
    thread = threading.Thread(target=follow, args=(path, offset, stopped, echo), daemon=True)
    thread.start()
    return thread
