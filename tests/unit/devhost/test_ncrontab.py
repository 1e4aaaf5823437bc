"""The NCRONTAB parser: fields, lists, ranges, steps, names, and next occurrences."""

from __future__ import annotations

import datetime

import pytest

from devhost.ncrontab import ScheduleError, parse_schedule

UTC = datetime.UTC


def _at(*parts: int) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=UTC)


def _next(schedule: str, *parts: int, count: int = 1) -> list[datetime.datetime]:
    parsed, moment, found = parse_schedule(schedule), _at(*parts), []
    for _ in range(count):
        moment = parsed.next_after(moment)
        found.append(moment)
    return found


def test_every_second() -> None:
    assert _next("* * * * * *", 2024, 5, 1, 10, 0, 0, count=3) == [
        _at(2024, 5, 1, 10, 0, 1), _at(2024, 5, 1, 10, 0, 2), _at(2024, 5, 1, 10, 0, 3)]


def test_next_is_strictly_after_and_drops_microseconds() -> None:
    parsed = parse_schedule("*/5 * * * * *")
    assert parsed.next_after(_at(2024, 5, 1, 10, 0, 5)) == _at(2024, 5, 1, 10, 0, 10)
    assert parsed.next_after(datetime.datetime(2024, 5, 1, 10, 0, 4, 999_999, tzinfo=UTC)) == _at(
        2024, 5, 1, 10, 0, 5)


def test_every_five_minutes_rolls_over_the_hour_and_the_day() -> None:
    assert _next("0 */5 * * * *", 2024, 12, 31, 23, 57, 0, count=2) == [
        _at(2025, 1, 1, 0, 0, 0), _at(2025, 1, 1, 0, 5, 0)]


def test_ranges_lists_and_steps() -> None:
    parsed = parse_schedule("0,30 1-3,10 9-17/4 * * *")
    assert parsed.seconds == (0, 30)
    assert parsed.minutes == (1, 2, 3, 10)
    assert parsed.hours == (9, 13, 17)
    assert parse_schedule("5/20 * * * * *").seconds == (5, 25, 45)


def test_names_of_months_and_days_case_insensitive() -> None:
    # 9:30 every Monday in January (an example from the timer trigger's documentation).
    assert _next("0 30 9 * Jan Mon", 2024, 1, 2, 0, 0, 0, count=2) == [
        _at(2024, 1, 8, 9, 30, 0), _at(2024, 1, 15, 9, 30, 0)]
    assert parse_schedule("0 0 0 * jul-AUG sat,SUN").weekdays == {0, 6}


def test_weekdays_sunday_is_zero() -> None:
    # 2024-05-05 is a Sunday.
    assert _next("0 0 12 * * 0", 2024, 5, 1, 0, 0, 0) == [_at(2024, 5, 5, 12, 0, 0)]
    assert _next("0 30 9 * * 1-5", 2024, 5, 3, 10, 0, 0) == [_at(2024, 5, 6, 9, 30, 0)]


def test_day_and_weekday_must_both_match() -> None:
    # The 13th that is a Friday: 2024-09-13.
    assert _next("0 0 0 13 * 5", 2024, 5, 1, 0, 0, 0) == [_at(2024, 9, 13, 0, 0, 0)]


def test_leap_day() -> None:
    assert _next("0 0 0 29 2 *", 2024, 3, 1, 0, 0, 0) == [_at(2028, 2, 29, 0, 0, 0)]


def test_five_fields_mean_second_zero() -> None:
    assert _next("*/15 * * * *", 2024, 5, 1, 10, 0, 0) == [_at(2024, 5, 1, 10, 15, 0)]


def test_time_zone_of_the_moment_is_kept() -> None:
    zone = datetime.timezone(datetime.timedelta(hours=2))
    moment = datetime.datetime(2024, 5, 1, 8, 59, 0, tzinfo=zone)
    expected = datetime.datetime(2024, 5, 1, 9, 0, 0, tzinfo=zone)
    assert parse_schedule("0 0 9 * * *").next_after(moment) == expected


@pytest.mark.parametrize(
    ("schedule", "reason"),
    [
        ("* * * * *  * *", "expected 6 fields"),
        ("", "got 0"),
        ("60 * * * * *", "60 is outside 0-59 in the second field"),
        ("* * 24 * * *", "outside 0-23 in the hour field"),
        ("* * * 0 * *", "outside 1-31 in the day field"),
        ("* * * * 13 *", "outside 1-12 in the month field"),
        ("* * * * * 7", "outside 0-6 in the day-of-week field"),
        ("*/0 * * * * *", "must be >= 1"),
        ("5-1 * * * * *", "runs backwards"),
        ("a * * * * *", "'a' in the second field is not a number"),
        ("1,,2 * * * * *", "empty list item"),
        ("* * * * Foo *", "not a number"),
        ("-1 * * * * *", "not a number"),
        ("0 0 0 30 2 *", "never occurs"),
        ("00:05:00", "expected 6 fields"),
    ],
)
def test_bad_schedules_say_why(schedule: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=reason):
        parse_schedule(schedule)
