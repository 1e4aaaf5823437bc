"""One arrow (or loop) on a call's timeline, and the time parsing its builders share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

ACS = "acs"
APP = "app"


@dataclass
class Step:
    time: float
    source: str
    target: str
    label: str
    kind: str
    detail: str = ""
    failed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "from": self.source,
            "to": self.target,
            "label": self.label,
            "kind": self.kind,
            "detail": self.detail,
            "failed": self.failed,
        }


def iso_seconds(value: str) -> float | None:
    """Unix seconds of an ISO 8601 instant (the app's times), None when it is not one."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
