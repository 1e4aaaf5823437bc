"""Decoding a request body as JSON, with failures in the app's error vocabulary."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from callcontrol.domain.errors import FieldProblem, InvalidInput


class _NotJsonNumber(ValueError):
    """NaN, Infinity or -Infinity: Python's json reads them, RFC 8259 has no such numbers."""


def _refuse_constant(literal: str) -> NoReturn:
    raise _NotJsonNumber(literal)


def decode_json(body: bytes) -> Any:
    """The body's JSON value; InvalidInput on field "body" when it is not JSON (NaN and
    Infinity included: stored, they would make every later response that carries them unreadable)."""
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise InvalidInput("body is nested too deeply",
                           [FieldProblem("body", "nested too deeply")]) from None
    except _NotJsonNumber as exc:
        raise InvalidInput("body is not valid JSON",
                           [FieldProblem("body", f"invalid JSON: {exc} is not a JSON number")]) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("body is not valid JSON",
                           [FieldProblem("body", f"invalid JSON: {exc}")]) from None
    except ValueError:  # an integer past Python's digit limit (thousands of digits)
        raise InvalidInput("body holds a number too large to read",
                           [FieldProblem("body", "a number is too large")]) from None
