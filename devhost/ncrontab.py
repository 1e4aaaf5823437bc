"""NCRONTAB schedules, as the Functions timer trigger reads them.

Six fields, `{second} {minute} {hour} {day} {month} {day-of-week}` (five fields mean second 0, as
NCrontab accepts them too). Each field is `*`, a value, a range `a-b`, a step `*/n` or `a-b/n` or
`a/n` (from a to the field's end), or a comma list of those. Months and days of the week may be
given by their English three-letter names (`Jan`, `Mon`), case-insensitively; day-of-week 0 is Sunday.

As in NCrontab (and unlike Vixie cron), a time must match the day-of-month *and* the day-of-week
fields. The host's other schedule form, a TimeSpan such as `00:05:00`, is not supported.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from devhost.errors import IndexingError

_MONTHS: Final = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# Long enough to reach any day the fields can name: Feb 29 on a given weekday recurs within 28 years.
_SEARCH_DAYS: Final = 366 * 29


class ScheduleError(IndexingError):
    """A schedule that does not parse, or names a time that never comes."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: Sequence[str] = ()
    name_base: int = 0  # the value of names[0]


_FIELDS: Final = (
    _Field("second", 0, 59),
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day-of-week", 0, 6, _DAYS, 0),
)


@dataclass(frozen=True)
class CronSchedule:
    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    def next_after(self, moment: datetime.datetime) -> datetime.datetime:
        """The first occurrence strictly after `moment`, in `moment`'s time zone (whole seconds)."""
        start = moment.replace(microsecond=0) + datetime.timedelta(seconds=1)
        day = start.date()
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                floor = (start.hour, start.minute, start.second) if day == start.date() else (0, 0, 0)
                found = self._first_time_from(floor)
                if found is not None:
                    return datetime.datetime.combine(day, found, tzinfo=moment.tzinfo)
            day += datetime.timedelta(days=1)
        raise ScheduleError(f"schedule {self.text!r} never occurs")

    def _day_matches(self, day: datetime.date) -> bool:
        # date.weekday() is Monday=0; cron's is Sunday=0.
        return day.month in self.months and day.day in self.days and (day.weekday() + 1) % 7 in self.weekdays

    def _first_time_from(self, floor: tuple[int, int, int]) -> datetime.time | None:
        for hour in self.hours:
            if hour < floor[0]:
                continue
            for minute in self.minutes:
                if (hour, minute) < floor[:2]:
                    continue
                for second in self.seconds:
                    if (hour, minute, second) >= floor:
                        return datetime.time(hour, minute, second)
        return None


def parse_schedule(text: str) -> CronSchedule:
    """Parse an NCRONTAB expression; ScheduleError names the field and the reason."""
    parts = text.split()
    if len(parts) == 5:
        parts = ["0", *parts]
    if len(parts) != 6:
        raise ScheduleError(
            f"schedule {text!r}: expected 6 fields (second minute hour day month day-of-week), "
            f"got {len(parts)}"
        )
    values = [_parse_field(part, spec, text) for part, spec in zip(parts, _FIELDS, strict=True)]
    schedule = CronSchedule(
        text=text,
        seconds=tuple(sorted(values[0])),
        minutes=tuple(sorted(values[1])),
        hours=tuple(sorted(values[2])),
        days=frozenset(values[3]),
        months=frozenset(values[4]),
        weekdays=frozenset(values[5]),
    )
    # Fail at startup, not at the first tick, for dates that cannot exist (e.g. 30 February).
    schedule.next_after(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    return schedule


def _parse_field(part: str, spec: _Field, text: str) -> set[int]:
    chosen: set[int] = set()
    for item in part.split(","):
        if not item:
            raise ScheduleError(f"schedule {text!r}: empty list item in the {spec.name} field")
        chosen.update(_parse_item(item, spec, text))
    return chosen


def _parse_item(item: str, spec: _Field, text: str) -> range:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        step = _number(step_text, spec, text, what="step")
        if step < 1:
            raise ScheduleError(
                f"schedule {text!r}: step {step_text!r} in the {spec.name} field must be >= 1"
            )
    if base == "*":
        low, high = spec.low, spec.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _value(first, spec, text), _value(last, spec, text)
        if low > high:
            raise ScheduleError(f"schedule {text!r}: range {base!r} in the {spec.name} field runs backwards")
    else:
        low = _value(base, spec, text)
        high = spec.high if slash else low  # `a/n` means from a to the field's end, every n
    return range(low, high + 1, step)


def _value(token: str, spec: _Field, text: str) -> int:
    lowered = token.lower()
    if lowered in spec.names:
        return spec.names.index(lowered) + spec.name_base
    number = _number(token, spec, text, what="value")
    if not spec.low <= number <= spec.high:
        raise ScheduleError(
            f"schedule {text!r}: {number} is outside {spec.low}-{spec.high} in the {spec.name} field"
        )
    return number


def _number(token: str, spec: _Field, text: str, what: str) -> int:
    if not token.isascii() or not token.isdigit():
        raise ScheduleError(f"schedule {text!r}: {what} {token!r} in the {spec.name} field is not a number")
    return int(token)
