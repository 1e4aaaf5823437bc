"""Event Grid's delivery rules, the same for both topics (§6): which answers are a success, which
are final, and the redelivery schedule."""

from __future__ import annotations

SUCCESS_STATUSES = frozenset({200, 201, 202, 203, 204})
NO_RETRY_STATUSES = frozenset({400, 401, 403, 413})
# Event Grid's documented schedule in seconds, then every 12 h.
RETRY_SCHEDULE_SECONDS = (10, 30, 60, 300, 600, 1800, 3600, 10800, 21600)
LATER_RETRY_SECONDS = 43200


def retry_delay(attempt: int, factor: float) -> float:
    """Delay before redelivery number ``attempt`` (1-based), compressed by ``factor``."""
    if attempt <= len(RETRY_SCHEDULE_SECONDS):
        return RETRY_SCHEDULE_SECONDS[attempt - 1] * factor
    return LATER_RETRY_SECONDS * factor
