"""A rule's time windows: local wall-clock hours on given days in an IANA zone."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Final, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, Field, model_validator

from callcontrol.domain.rules.wire_model import WireModel

_CLOCK: Final = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
END_OF_DAY: Final = "24:00"
# _CLOCK or END_OF_DAY, for the JSON schema (ASCII digits: the document's dialect).
_CLOCK_BODY = _CLOCK.pattern.removeprefix("^").removesuffix("$").replace("\\d", "[0-9]")
CLOCK_REGEX: Final = f"^(?:{_CLOCK_BODY}|{END_OF_DAY})$"
START_REGEX: Final = f"^{_CLOCK_BODY}$"  # a window cannot start at the end of the day

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: Final[tuple[Day, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _check_time_zone(name: str) -> str:
    # The tz database also ships files that are not zones (localtime, Factory, posixrules,
    # posix/..., right/...): only the canonical and link names IANA lists are accepted.
    if name not in _iana_zone_names():
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America", over-long names
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return name


@cache
def _iana_zone_names() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_ZONES)


_NOT_ZONES: Final = frozenset({"localtime", "Factory", "posixrules"})


def _check_clock(value: str) -> str:
    if not _CLOCK.fullmatch(value) and value != END_OF_DAY:
        raise ValueError("must be a 24-hour time HH:MM (24:00 allowed as an end)")
    return value


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class TimeWindow(WireModel):
    """Local wall-clock hours on given days in an IANA zone; end < start crosses midnight.

    A window that crosses midnight belongs to the day it starts on: fri 22:00-06:00 holds
    from Friday 22:00 to Saturday 06:00.
    """

    time_zone: Annotated[
        str, AfterValidator(_check_time_zone), Field(examples=["America/Los_Angeles"])
    ]
    days: Annotated[tuple[Day, ...], Field(min_length=1)] = DAYS
    start: Annotated[str, AfterValidator(_check_clock), Field(examples=["09:00"], json_schema_extra={
        "pattern": START_REGEX, "description": "HH:MM, 00:00 to 23:59"})]
    end: Annotated[str, AfterValidator(_check_clock), Field(examples=["17:00"], json_schema_extra={
        "pattern": CLOCK_REGEX, "description": "HH:MM, 00:00 to 24:00; differs from start"})]

    @model_validator(mode="after")
    def _sensible_bounds(self) -> Self:
        if self.start == END_OF_DAY:
            raise ValueError("start must be 00:00 to 23:59")
        if self.start == self.end:
            raise ValueError("start and end must differ (use 00:00 to 24:00 for a whole day)")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def start_minute(self) -> int:
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end)

    @property
    def crosses_midnight(self) -> bool:
        return self.end_minute < self.start_minute

    def describe(self) -> str:
        return f"{','.join(self.days)} {self.start}-{self.end} {self.time_zone}"
