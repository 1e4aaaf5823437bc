"""Decoding a request body as JSON, with failures in the app's error vocabulary."""

from __future__ import annotations

import json
from typing import Any

from callcontrol.domain.errors import FieldProblem, InvalidInput


def decode_json(body: bytes) -> Any:
    """The body's JSON value; InvalidInput on field "body" when it is not JSON."""
    try:
        return json.loads(body)
    except RecursionError:
        raise InvalidInput("body is nested too deeply",
                           [FieldProblem("body", "nested too deeply")]) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("body is not valid JSON",
                           [FieldProblem("body", f"invalid JSON: {exc}")]) from None
    except ValueError:  # an integer past Python's digit limit (thousands of digits)
        raise InvalidInput("body holds a number too large to read",
                           [FieldProblem("body", "a number is too large")]) from None
