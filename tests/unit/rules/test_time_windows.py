"""Time windows: local wall-clock hours in a named zone, DST, midnight crossing, days."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from callcontrol.domain.rules import decide
from tests.unit.rules._support import holds, make_call, one_rule

NEW_YORK = "America/New_York"
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def window(**fields: Any) -> dict[str, Any]:
    return {"timeWindows": [{"timeZone": NEW_YORK, "start": "09:00", "end": "17:00", **fields}]}


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 1, 5, 13, 30, tzinfo=UTC), False),  # Mon 08:30 EST
        (datetime(2026, 1, 5, 14, 0, tzinfo=UTC), True),  # Mon 09:00 EST: start is inclusive
        (datetime(2026, 1, 5, 21, 59, tzinfo=UTC), True),  # Mon 16:59 EST
        (datetime(2026, 1, 5, 22, 0, tzinfo=UTC), False),  # Mon 17:00 EST: end is exclusive
        (datetime(2026, 7, 6, 13, 30, tzinfo=UTC), True),  # Mon 09:30 EDT: same UTC, summer
        (datetime(2026, 7, 6, 21, 30, tzinfo=UTC), False),  # Mon 17:30 EDT
        (datetime(2026, 1, 10, 15, 0, tzinfo=UTC), False),  # Sat 10:00: not a listed day
    ],
)
def test_business_hours_follow_the_zone_and_its_dst(now: datetime, expected: bool) -> None:
    assert holds(window(days=WEEKDAYS), make_call(), now) is expected


def test_the_dst_switch_moves_the_window_in_utc() -> None:
    # New York springs forward on Sunday 2026-03-08: 13:30 UTC is 08:30 the day before, 09:30 after
    every_day = window()
    assert not holds(every_day, make_call(), datetime(2026, 3, 7, 13, 30, tzinfo=UTC))
    assert holds(every_day, make_call(), datetime(2026, 3, 8, 13, 30, tzinfo=UTC))


def test_a_window_over_the_skipped_hour_still_ends_on_local_time() -> None:
    # 01:30-03:30 local on the spring-forward night: 02:xx does not exist, 03:15 EDT is inside
    night = window(start="01:30", end="03:30")
    assert holds(night, make_call(), datetime(2026, 3, 8, 7, 15, tzinfo=UTC))  # 03:15 EDT
    assert not holds(night, make_call(), datetime(2026, 3, 8, 7, 45, tzinfo=UTC))  # 03:45 EDT


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 1, 9, 21, 59), False),  # Fri before the start
        (datetime(2026, 1, 9, 22, 0), True),  # Fri 22:00
        (datetime(2026, 1, 9, 23, 59), True),
        (datetime(2026, 1, 10, 0, 0), True),  # Sat after midnight: still Friday's window
        (datetime(2026, 1, 10, 5, 59), True),
        (datetime(2026, 1, 10, 6, 0), False),  # end is exclusive
        (datetime(2026, 1, 10, 23, 0), False),  # Sat evening: Saturday is not listed
        (datetime(2026, 1, 9, 1, 0), False),  # Fri early morning belongs to Thursday's window
    ],
)
def test_window_crossing_midnight_belongs_to_its_start_day(local: datetime, expected: bool) -> None:
    night = {
        "timeWindows": [
            {"timeZone": "Europe/Berlin", "days": ["fri"], "start": "22:00", "end": "06:00"}
        ]
    }
    assert holds(night, make_call(), local.replace(tzinfo=BERLIN)) is expected


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 1, 10, 12, 0), True),  # Sat
        (datetime(2026, 1, 11, 23, 59, 59), True),  # Sun, last second: 24:00 is the end
        (datetime(2026, 1, 12, 0, 0), False),  # Mon
        (datetime(2026, 1, 9, 12, 0), False),  # Fri
    ],
)
def test_weekend_all_day(local: datetime, expected: bool) -> None:
    weekend = {
        "timeWindows": [
            {"timeZone": "Europe/Berlin", "days": ["sat", "sun"], "start": "00:00", "end": "24:00"}
        ]
    }
    assert holds(weekend, make_call(), local.replace(tzinfo=BERLIN)) is expected


def test_windows_in_one_list_are_alternatives_across_zones() -> None:
    windows = {
        "timeWindows": [
            {"timeZone": "Asia/Tokyo", "start": "09:00", "end": "10:00"},
            {"timeZone": "Europe/Berlin", "start": "09:00", "end": "10:00"},
        ]
    }
    assert holds(windows, make_call(), datetime(2026, 1, 5, 0, 30, tzinfo=UTC))  # 09:30 Tokyo
    assert holds(windows, make_call(), datetime(2026, 1, 5, 8, 30, tzinfo=UTC))  # 09:30 Berlin
    assert not holds(windows, make_call(), datetime(2026, 1, 5, 4, 0, tzinfo=UTC))


def test_explanation_shows_the_local_time_in_the_windows_zone() -> None:
    decision = decide(make_call(), one_rule(window()), datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    assert decision.rule_id is None
    assert decision.skipped[0].failed == (
        "outside every time window (mon,tue,wed,thu,fri,sat,sun 09:00-17:00 "
        "America/New_York at Mon 07:00)"
    )


def test_decide_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(make_call(), one_rule(window()), datetime(2026, 1, 5, 12, 0))
