"""Pure predicates behind each condition type: parties against patterns, headers, clocks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.rules.model import PHONE_PREFIX, WILDCARD, VoipHeaderCondition
from callcontrol.domain.rules.time_windows import DAYS, TimeWindow


def party_matches(pattern: str, party: Identifier) -> bool:
    """`+...` patterns test the phone number; raw-id patterns the raw id (case-insensitively).

    A phone raw id is also tried without its asserted-id suffix, so `4:+14255550123` matches a
    party that shows up as `4:+14255550123_<assertedId>`.
    """
    body = pattern.removesuffix(WILDCARD)
    is_prefix = body != pattern
    if body.startswith("+"):
        candidates = [party.value] if party.is_phone else []
    else:
        candidates = [party.raw_id]
        if party.is_phone:
            candidates.append(PHONE_PREFIX + party.value)
    wanted = body.casefold()
    for candidate in candidates:
        value = candidate.casefold()
        if value.startswith(wanted) if is_prefix else value == wanted:
            return True
    return False


def first_matching_pattern(patterns: Iterable[str], party: Identifier | None) -> str | None:
    if party is None:
        return None
    return next((pattern for pattern in patterns if party_matches(pattern, party)), None)


def header_holds(condition: VoipHeaderCondition, value: str | None) -> bool:
    """`value` is the header's value in the call, None when the call does not carry it."""
    if condition.equals is not None:
        return value == condition.equals
    return (value is not None) == bool(condition.exists)


def window_contains(window: TimeWindow, now: datetime) -> bool:
    """Whether the aware instant `now` falls inside the window's local wall-clock hours."""
    local = now.astimezone(window.zone)
    seconds = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    start, end = window.start_minute * 60, window.end_minute * 60
    today = DAYS[local.weekday()]
    if not window.crosses_midnight:
        return today in window.days and start <= seconds < end
    yesterday = DAYS[(local - timedelta(days=1)).weekday()]
    return (today in window.days and seconds >= start) or (
        yesterday in window.days and seconds < end
    )


def local_time_label(window: TimeWindow, now: datetime) -> str:
    """`Mon 09:30` in the window's zone, for explanations."""
    return now.astimezone(window.zone).strftime("%a %H:%M")
