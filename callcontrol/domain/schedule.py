"""NCRONTAB schedules of the app's jobs, evaluated by the app (the one timer function asks which
job is due; the host reads only that timer's own schedule).

Six fields: second minute hour day month day-of-week (0 = Sunday), each `*`, a number, a range
`a-b`, a step `*/n` or `a-b/n`, or a comma list of those. Times are compared as given (UTC).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Final

from callcontrol.domain.errors import SettingError

_BOUNDS: Final = (("second", 0, 59), ("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31),
                  ("month", 1, 12), ("day-of-week", 0, 6))
_MINUTE: Final = datetime.timedelta(minutes=1)


@dataclass(frozen=True)
class Schedule:
    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]

    def occurs_between(self, after: datetime.datetime, until: datetime.datetime) -> bool:
        """True if an occurrence falls in (after, until], whole seconds."""
        minute = after.replace(second=0, microsecond=0)
        while minute <= until:
            if self._minute_matches(minute):
                for second in self.seconds:
                    moment = minute.replace(second=second)
                    if after < moment <= until:
                        return True
            minute += _MINUTE
        return False

    def _minute_matches(self, moment: datetime.datetime) -> bool:
        return (moment.minute in self.minutes and moment.hour in self.hours
                and moment.day in self.days and moment.month in self.months
                and (moment.weekday() + 1) % 7 in self.weekdays)


def parse_schedule(name: str, text: str) -> Schedule:
    """The schedule in setting `name`; SettingError names the setting and the field at fault."""
    fields = text.split()
    if len(fields) != len(_BOUNDS):
        raise SettingError(name, f"{text!r} is not an NCRONTAB schedule: expected 6 fields "
                                 "(second minute hour day month day-of-week)")
    sets = [_field(name, text, field, *bounds) for field, bounds in zip(fields, _BOUNDS, strict=True)]
    return Schedule(text, *sets)


def _field(setting: str, text: str, field: str, what: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    try:
        for item in field.split(","):
            base, _, step_text = item.partition("/")
            step = int(step_text) if step_text else 1
            if base == "*":
                start, end = low, high
            else:
                first, _, last = base.partition("-")
                start = int(first)
                end = int(last) if last else (high if step_text else start)
            if step < 1 or not low <= start <= end <= high:
                raise ValueError(item)
            values.update(range(start, end + 1, step))
    except ValueError:
        raise SettingError(setting, f"{text!r}: the {what} field {field!r} is not a number, "
                                    f"range or step within {low}-{high}") from None
    return frozenset(values)
