"""Decode a request body as JSON with a bounded nesting depth.

The host refuses a body nested deeper than its JSON reader allows (Json.NET's default MaxDepth is
64) with a 400; Python's decoder would instead recurse until RecursionError, a 500. Depth counts
every array and object, the outermost included.

An integer longer than Python's int() accepts (sys.get_int_max_str_digits, 4,300 digits) is a 400
too: int() raises a plain ValueError for it, which would otherwise be a 500.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Final

MAX_DEPTH: Final = 64


class BadJsonError(ValueError):
    """The body is not JSON devhost accepts; the message says why."""


def parse_json(body: bytes, max_depth: int = MAX_DEPTH) -> Any:
    try:
        document = json.loads(body.decode("utf-8"), parse_int=_bounded_int)
    except RecursionError:
        raise BadJsonError(f"the body is nested deeper than {max_depth} levels") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadJsonError(f"the body is not valid JSON: {exc}") from exc
    if nesting_depth(document) > max_depth:
        raise BadJsonError(f"the body is nested deeper than {max_depth} levels")
    return document


def _bounded_int(text: str) -> int:
    limit = sys.get_int_max_str_digits()
    digits = len(text.lstrip("-"))
    if limit and digits > limit:
        raise BadJsonError(f"the body holds an integer of {digits} digits (at most {limit})")
    return int(text)


def nesting_depth(document: Any) -> int:
    """How many arrays/objects deep `document` goes; iterative, so any depth is safe to measure."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest
