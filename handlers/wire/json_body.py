"""Decoding a request body as JSON, with failures in the app's error vocabulary."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any, Final, NoReturn

from callcontrol.domain.errors import FieldProblem, InvalidInput

# Far beyond any body the API or ACS sends (a rule set nests about 8 deep), far below Python's
# recursion limit: a value the decoder could read yet nested too deep to encode again (to store
# it, to answer with it) would fail later, with a 500, where the stack is deeper.
MAX_JSON_DEPTH: Final = 64


class _NotJsonNumber(ValueError):
    """NaN, Infinity or -Infinity: Python's json reads them, RFC 8259 has no such numbers; or a
    number no float holds (1e999), which Python reads as infinity."""


class _RepeatedName(ValueError):
    """An object naming one member twice: Python's json keeps the last, silently."""


def _refuse_constant(literal: str) -> NoReturn:
    raise _NotJsonNumber(literal)


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NotJsonNumber(literal)
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    made = dict(pairs)
    if len(made) < len(pairs):
        counts = Counter(name for name, _ in pairs)
        raise _RepeatedName(next(name for name, count in counts.items() if count > 1))
    return made


def decode_json(body: bytes) -> Any:
    """The body's JSON value; InvalidInput on field "body" when it is not JSON (NaN and
    Infinity included: stored, they would make every later response that carries them
    unreadable), names a member of an object twice (which one was meant?) or is nested deeper
    than MAX_JSON_DEPTH."""
    try:
        value = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite,
                           object_pairs_hook=_object)
    except RecursionError:
        raise _too_deep() from None
    except _RepeatedName as exc:
        raise InvalidInput("body names a member twice",
                           [FieldProblem("body", f"an object names the member {str(exc)!r} twice")]) from None
    except _NotJsonNumber as exc:
        raise InvalidInput("body holds a number that is not finite",
                           [FieldProblem("body", f"{exc} is not a finite number")]) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput("body is not valid JSON",
                           [FieldProblem("body", f"invalid JSON: {exc}")]) from None
    except ValueError:  # an integer past Python's digit limit (thousands of digits)
        raise InvalidInput("body holds a number too large to read",
                           [FieldProblem("body", "a number is too large")]) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise _too_deep()
    return value


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (a scalar: 0), walked a level at a time
    without recursion; only containers are carried down (on the callback path: most members
    are scalars)."""
    depth = 0
    level = [value] if isinstance(value, dict | list) else []
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            break
        below: list[Any] = []
        for item in level:
            members = item.values() if isinstance(item, dict) else item
            below += [member for member in members if isinstance(member, dict | list)]
        level = below
    return depth


def _too_deep() -> InvalidInput:
    return InvalidInput("body is nested too deeply",
                        [FieldProblem("body", f"nested too deeply (at most {MAX_JSON_DEPTH} levels)")])
