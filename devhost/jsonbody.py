"""Decode a request body as JSON with a bounded nesting depth.

The host refuses a body nested deeper than its JSON reader allows (Json.NET's default MaxDepth is
64) with a 400; Python's decoder would instead recurse until RecursionError, a 500. Depth counts
every array and object, the outermost included.
"""

from __future__ import annotations

import json
from typing import Any, Final

MAX_DEPTH: Final = 64


class BadJsonError(ValueError):
    """The body is not JSON devhost accepts; the message says why."""


def parse_json(body: bytes, max_depth: int = MAX_DEPTH) -> Any:
    try:
        document = json.loads(body.decode("utf-8"))
    except RecursionError:
        raise BadJsonError(f"the body is nested deeper than {max_depth} levels") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadJsonError(f"the body is not valid JSON: {exc}") from exc
    if nesting_depth(document) > max_depth:
        raise BadJsonError(f"the body is nested deeper than {max_depth} levels")
    return document


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
