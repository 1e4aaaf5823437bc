"""Query parameters of GET /api/calls, parsed into a listing query, and the page's `next` link.

Every bad value is a 400 naming its parameter; nothing is silently defaulted or clamped.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import azure.functions as func

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.identifiers import E164
from callcontrol.domain.listing import DEFAULT_LIMIT, MAX_LIMIT, TOKEN_FIELD, CallQuery
from callcontrol.domain.models import CallState, Direction
from handlers._http import parse_enum

LISTING_PARAMETERS: tuple[tuple[str, str, dict[str, object]], ...] = (
    ("limit", f"calls per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})",
     {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    ("state", "filter by call state", {"type": "string", "enum": [s.value for s in CallState]}),
    ("direction", "inbound or outbound", {"type": "string", "enum": [d.value for d in Direction]}),
    ("since", "created at or after this time (ISO 8601 with a UTC offset)",
     {"type": "string", "format": "date-time"}),
    ("until", "created before this time (ISO 8601 with a UTC offset)",
     {"type": "string", "format": "date-time"}),
    ("number", "calls with this E.164 number as caller or callee, inbound and outbound "
     "(encode + as %2B)", {"type": "string", "pattern": E164.pattern}),
    (TOKEN_FIELD, "from the previous page's continuationToken (or follow its next link)",
     {"type": "string"}),
)


# The function key may travel as `?code=` (the host reads it); it is no filter.
KEY_PARAMETER = "code"
KNOWN_PARAMETERS = frozenset({name for name, _, _ in LISTING_PARAMETERS} | {KEY_PARAMETER})


T = TypeVar("T")


class _Problems:
    """Collects every bad parameter, so one 400 names them all, not only the first."""

    def __init__(self) -> None:
        self.found: list[FieldProblem] = []

    def check(self, name: str, parse: Callable[[], T], fallback: T) -> T:
        try:
            return parse()
        except InvalidInput as error:
            self.found.extend(error.problems or [FieldProblem(name, error.detail)])
            return fallback

    def add(self, name: str, reason: str) -> None:
        self.found.append(FieldProblem(name, reason))


def _refuse(name: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{name} {reason}", [FieldProblem(name, reason)])


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    # ASCII digits only: str.isdigit() holds for superscripts (int() refuses them) and for
    # fullwidth and Arabic-Indic digits (int() reads them).
    if not (raw.isascii() and raw.isdigit()):
        raise _refuse("limit", f"must be a whole number between 1 and {MAX_LIMIT}")
    value = int(raw)
    if not 1 <= value <= MAX_LIMIT:
        raise _refuse("limit", f"must be between 1 and {MAX_LIMIT}")
    return value


def _moment(raw: str | None, name: str) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise _refuse(name, "must be an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise _refuse(name, "must carry a UTC offset (e.g. 2026-11-24T09:00:00Z)")
    return moment


def _number(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    # An unencoded '+' arrives as a space (form encoding): the number meant is plain.
    number = "+" + raw[1:] if raw.startswith(" ") else raw
    if E164.fullmatch(number) is None:
        # The value is not echoed: it may be a phone number.
        raise _refuse("number", "must be an E.164 number, e.g. +14255550100 (+ as %2B)")
    return number


def _unknown(name: str) -> str:
    # An ignored filter answered with every call (`?status=connected`): refuse it, by name.
    known = sorted(KNOWN_PARAMETERS - {KEY_PARAMETER})
    near = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"did you mean {near[0]}?" if near else f"known: {', '.join(known)}"
    return f"is not a parameter of this listing; {hint}"


def listing_query(req: func.HttpRequest) -> CallQuery:
    params = req.params
    problems = _Problems()
    for name in params:
        if name not in KNOWN_PARAMETERS:
            problems.add(name, _unknown(name))
    limit = problems.check("limit", lambda: _limit(params.get("limit")), DEFAULT_LIMIT)
    state = problems.check("state", lambda: parse_enum(CallState, params.get("state"), "state"), None)
    direction = problems.check(
        "direction", lambda: parse_enum(Direction, params.get("direction"), "direction"), None)
    since = problems.check("since", lambda: _moment(params.get("since"), "since"), None)
    until = problems.check("until", lambda: _moment(params.get("until"), "until"), None)
    number = problems.check("number", lambda: _number(params.get("number")), None)
    if since is not None and until is not None and until <= since:
        problems.add("until", "must be later than since")
    if problems.found:
        detail = "; ".join(f"{p.field}: {p.reason}" for p in problems.found)
        raise InvalidInput(f"invalid query: {detail}", problems.found)
    token = params.get(TOKEN_FIELD)
    return CallQuery(
        limit=limit,
        state=state,
        direction=direction,
        since=since,
        until=until,
        continuation=token if token else None,
        number=number,
    )


def next_link(req: func.HttpRequest, continuation: str) -> str:
    """The same request (path and filters) with the next page's token, as a relative reference
    (`/api/calls?...`): the body never echoes the request's Host (a client-chosen value, so a
    poisoned link in a shared cache or log) nor its function key (`code=`, a secret)."""
    kept = [(k, _number(v) or v if k == "number" else v) for k, v in req.params.items()
            if k not in (TOKEN_FIELD, KEY_PARAMETER)]  # the number as parsed: '+', not ' '
    query = urlencode([*kept, (TOKEN_FIELD, continuation)])
    return urlunsplit(("", "", urlsplit(req.url).path, query, ""))
