"""Log output of the local processes (devhost, the emulator): text, or JSON with LOG_FORMAT=json.

A package of its own because both import it and must stay apart: the emulator and devhost do not
import each other, and neither imports the app or tools/ (pyproject's import contracts); it
imports nothing of ours. The app (under the Functions host) does not format its own records.
Fields a record carries beyond the standard ones (the app stamps callConnectionId,
correlationId, … on its records) are shown in both formats: as keys of the JSON object, or as
`key=value` after the text message.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, Final, TextIO

LOG_FORMAT: Final = "LOG_FORMAT"
_STANDARD: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime"}
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """What was stamped on the record beyond the standard attributes (private ones skipped)."""
    return {key: value for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **extra_fields(record),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = extra_fields(record)
        if not extras:
            return text
        head, newline, rest = text.partition("\n")  # keep a traceback below the line
        fields = " ".join(f"{key}={value}" for key, value in extras.items())
        return f"{head} [{fields}]{newline}{rest}"


def wants_json() -> bool:
    return os.environ.get(LOG_FORMAT, "text").strip().lower() == "json"


def formatter_from_env() -> logging.Formatter:
    return JsonFormatter() if wants_json() else TextFormatter()


def announce(text: str, logger_name: str, stream: TextIO | None = None) -> None:
    """Start-up lines for a person (what listens where), on stdout: as they are, or with
    LOG_FORMAT=json one JSON record per line, so that a log file holding them stays JSON lines
    from its first line (`jq` reads it whole)."""
    out = stream or sys.stdout
    if wants_json():
        formatter = JsonFormatter()
        for line in text.splitlines():
            out.write(formatter.format(logging.LogRecord(
                logger_name, logging.INFO, __file__, 0, line, None, None)) + "\n")
    else:
        out.write(text + "\n")
    out.flush()


def configure_root(level: str | int, stream: TextIO) -> None:
    """Like logging.basicConfig, with the formatter LOG_FORMAT asks for."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter_from_env())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
