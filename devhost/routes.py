"""HTTP trigger route templates: parsing, matching and precedence, ASP.NET Core style.

The Functions host routes with ASP.NET Core, so templates mean here what they mean there:

* `{name}` matches one non-empty path segment; `{name:int}` and the other inline constraints below
  restrict it; `{name?}` may be absent and `{name=value}` defaults when absent (both only in
  trailing position); `{*rest}` / `{**rest}` takes the remainder of the path, slashes included.
* A segment may mix literals and parameters (`{file}.{ext}`); `{{` and `}}` are literal braces.
* Literals compare case-insensitively; one trailing slash on the request path is ignored.
* Segment values are percent-decoded, except that `%2F` stays encoded, as ASP.NET Core leaves it.
* When several templates match, the most specific wins, compared segment by segment: literal, then
  mixed segment, then constrained parameter, then plain parameter, then catch-all (ASP.NET Core's
  inbound precedence). Equal precedence falls back to registration order.

Unknown constraint names fail at indexing, as an unknown constraint fails the real host at startup.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import unquote

from devhost.errors import RouteTemplateError

# Precedence ranks, lower = more specific (ASP.NET Core RoutePrecedence, inbound).
_LITERAL: Final = 1
_MIXED: Final = 2
_CONSTRAINED: Final = 3
_PARAMETER: Final = 4
_CATCH_ALL: Final = 5

_INT32: Final = (-(2**31), 2**31 - 1)
_INT64: Final = (-(2**63), 2**63 - 1)

Check = Callable[[str], bool]


@dataclass(frozen=True)
class Parameter:
    name: str
    checks: tuple[Check, ...]
    constraint_text: tuple[str, ...]  # as written, for messages and ambiguity detection
    optional: bool
    default: str | None
    catch_all: bool

    def accepts(self, value: str) -> bool:
        return all(check(value) for check in self.checks)


@dataclass(frozen=True)
class Segment:
    """One `/`-separated piece of a template: literals and parameters in order."""

    parts: tuple[str | Parameter, ...]
    pattern: re.Pattern[str]

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        return tuple(part for part in self.parts if isinstance(part, Parameter))

    @property
    def lone_parameter(self) -> Parameter | None:
        if len(self.parts) == 1 and isinstance(self.parts[0], Parameter):
            return self.parts[0]
        return None

    @property
    def rank(self) -> int:
        lone = self.lone_parameter
        if lone is None:
            return _LITERAL if not self.parameters else _MIXED
        if lone.catch_all:
            return _CATCH_ALL
        return _CONSTRAINED if lone.checks else _PARAMETER

    def shape(self) -> str:
        """The segment with parameter names erased: two templates with equal shapes are ambiguous."""
        return "".join(
            part.lower() if isinstance(part, str) else "{" + ":".join(part.constraint_text) + "}"
            for part in self.parts
        )


@dataclass(frozen=True)
class RouteTemplate:
    text: str
    segments: tuple[Segment, ...]

    @property
    def precedence(self) -> tuple[int, ...]:
        return tuple(segment.rank for segment in self.segments)

    def shape(self) -> str:
        return "/".join(segment.shape() for segment in self.segments)

    def match(self, raw_segments: Sequence[str]) -> dict[str, str] | None:
        """Route values when the raw (still percent-encoded) path segments match, else None."""
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            lone = segment.lone_parameter
            if lone is not None and lone.catch_all:
                rest = "/".join(decode_segment(raw) for raw in raw_segments[index:])
                if rest:
                    if not lone.accepts(rest):
                        return None
                    values[lone.name] = rest
                elif lone.default is not None:
                    values[lone.name] = lone.default
                return values
            if index >= len(raw_segments):
                return values if _may_be_absent(self.segments[index:], values) else None
            found = _match_segment(segment, decode_segment(raw_segments[index]))
            if found is None:
                return None
            values.update(found)
        return values if len(raw_segments) == len(self.segments) else None


def split_path(raw_path: str) -> list[str]:
    """Split a raw URL path into segments, ignoring the leading slash and one trailing slash."""
    path = raw_path.removeprefix("/").removesuffix("/")
    return path.split("/") if path else []


def decode_segment(raw: str) -> str:
    """Percent-decode one path segment, keeping `%2F` encoded like ASP.NET Core."""
    pieces = re.split("(%2[fF])", raw)
    return "".join(piece if piece.lower() == "%2f" else unquote(piece) for piece in pieces)


def parse_template(text: str) -> RouteTemplate:
    """Parse a route template (without the route prefix); RouteTemplateError names the problem."""
    stripped = text.strip("/")
    raw_segments = stripped.split("/") if stripped else []
    segments = tuple(_parse_segment(text, raw) for raw in raw_segments)
    _check_positions(text, segments)
    names = [param.name.lower() for segment in segments for param in segment.parameters]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise RouteTemplateError(f"route {text!r}: parameter {duplicates[0]!r} appears twice")
    return RouteTemplate(text=text, segments=segments)


def _may_be_absent(rest: Sequence[Segment], values: dict[str, str]) -> bool:
    for segment in rest:
        lone = segment.lone_parameter
        if lone is None or not (lone.optional or lone.catch_all or lone.default is not None):
            return False
        if lone.default is not None:
            values[lone.name] = lone.default
    return True


def _match_segment(segment: Segment, value: str) -> dict[str, str] | None:
    found = segment.pattern.fullmatch(value)
    if found is None:
        return None
    values: dict[str, str] = {}
    for index, param in enumerate(segment.parameters):
        captured = found.group(f"p{index}")
        if not param.accepts(captured):
            return None
        values[param.name] = captured
    return values


def _parse_segment(template: str, raw: str) -> Segment:
    if raw == "":
        raise RouteTemplateError(f"route {template!r}: empty segment ('//')")
    parts: list[str | Parameter] = []
    literal: list[str] = []
    position = 0
    while position < len(raw):
        char = raw[position]
        if raw.startswith("{{", position) or raw.startswith("}}", position):
            literal.append(char)
            position += 2
        elif char == "{":
            end = _closing_brace(template, raw, position)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(
                _parse_parameter(template, raw[position + 1 : end].replace("{{", "{").replace("}}", "}"))
            )
            position = end + 1
        elif char == "}":
            raise RouteTemplateError(f"route {template!r}: unmatched '}}' in segment {raw!r}")
        else:
            literal.append(char)
            position += 1
    if literal:
        parts.append("".join(literal))
    for before, after in itertools.pairwise(parts):
        if isinstance(before, Parameter) and isinstance(after, Parameter):
            raise RouteTemplateError(
                f"route {template!r}: parameters {before.name!r} and {after.name!r} "
                "need a literal between them"
            )
    return Segment(parts=tuple(parts), pattern=_segment_pattern(parts))


def _closing_brace(template: str, raw: str, start: int) -> int:
    position = start + 1
    while position < len(raw):
        if raw.startswith("}}", position):
            position += 2
        elif raw[position] == "}":
            return position
        else:
            position += 1
    raise RouteTemplateError(f"route {template!r}: unclosed '{{' in segment {raw!r}")


def _segment_pattern(parts: Sequence[str | Parameter]) -> re.Pattern[str]:
    # Greedy groups: `{name}.{ext}` splits at the last dot, as ASP.NET matches complex segments
    # from the right.
    pieces = []
    index = 0
    for part in parts:
        if isinstance(part, str):
            pieces.append(re.escape(part))
        else:
            pieces.append(f"(?P<p{index}>.+)")
            index += 1
    return re.compile("".join(pieces), re.IGNORECASE | re.DOTALL)


def _parse_parameter(template: str, body: str) -> Parameter:
    catch_all = body.startswith("*")
    body = body.lstrip("*")
    default: str | None = None
    if "=" in body and "(" not in body.split("=", 1)[0]:
        body, default = body.split("=", 1)
    optional = body.endswith("?")
    body = body.removesuffix("?")
    name, *constraints = _split_constraints(body)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", name):
        raise RouteTemplateError(f"route {template!r}: bad parameter name {name!r}")
    if optional and default is not None:
        raise RouteTemplateError(f"route {template!r}: {name!r} cannot be both optional and defaulted")
    checks = tuple(_constraint_check(template, name, constraint) for constraint in constraints)
    return Parameter(name, checks, tuple(constraints), optional, default, catch_all)


def _split_constraints(body: str) -> list[str]:
    """Split `name:c1:c2(args)` on colons that are not inside parentheses."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        if char == ":" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current.append(char)
    parts.append("".join(current))
    return parts


def _constraint_check(template: str, name: str, constraint: str) -> Check:
    found = re.fullmatch(r"(\w+)(?:\((.*)\))?", constraint, re.DOTALL)
    if found is None:
        raise RouteTemplateError(f"route {template!r}: bad constraint {constraint!r} on {name!r}")
    kind, argument = found.group(1).lower(), found.group(2)
    try:
        return _build_check(kind, argument)
    except (ValueError, re.error) as exc:
        raise RouteTemplateError(f"route {template!r}: constraint {constraint!r} on {name!r}: {exc}") from exc


def _build_check(kind: str, argument: str | None) -> Check:
    simple: dict[str, Check] = {
        "int": lambda value: _integer_in(value, *_INT32),
        "long": lambda value: _integer_in(value, *_INT64),
        "bool": lambda value: value.lower() in {"true", "false"},
        "alpha": lambda value: re.fullmatch(r"[A-Za-z]+", value) is not None,
        "guid": _is_guid,
        "double": _is_number,
        "float": _is_number,
        "decimal": _is_number,
        "datetime": _is_datetime,
        "required": lambda value: value != "",
        "nonfile": lambda value: "." not in value.rsplit("/", 1)[-1],
    }
    if kind in simple:
        if argument is not None:
            raise ValueError(f"{kind} takes no argument")
        return simple[kind]
    if argument is None:
        raise ValueError(
            f"unknown constraint {kind!r}" if kind not in _WITH_ARGUMENT else f"{kind} needs an argument"
        )
    if kind == "regex":
        pattern = re.compile(argument, re.IGNORECASE)
        return lambda value: pattern.search(value) is not None
    numbers = [int(piece) for piece in argument.split(",")]
    if kind == "min" and len(numbers) == 1:
        return lambda value: _integer_in(value, numbers[0], _INT64[1])
    if kind == "max" and len(numbers) == 1:
        return lambda value: _integer_in(value, _INT64[0], numbers[0])
    if kind == "range" and len(numbers) == 2:
        return lambda value: _integer_in(value, numbers[0], numbers[1])
    if kind == "minlength" and len(numbers) == 1:
        return lambda value: len(value) >= numbers[0]
    if kind == "maxlength" and len(numbers) == 1:
        return lambda value: len(value) <= numbers[0]
    if kind == "length" and len(numbers) in (1, 2):
        low, high = (numbers[0], numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])
        return lambda value: low <= len(value) <= high
    if kind in _WITH_ARGUMENT:
        raise ValueError(f"wrong number of arguments for {kind}")
    raise ValueError(f"unknown constraint {kind!r}")


_WITH_ARGUMENT: Final = frozenset({"regex", "min", "max", "range", "minlength", "maxlength", "length"})


def _integer_in(value: str, low: int, high: int) -> bool:
    if re.fullmatch(r"[+-]?\d+", value) is None:
        return False
    return low <= int(value) <= high


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().lower() not in {"nan", "inf", "-inf", "+inf", "infinity", "-infinity"}


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_positions(template: str, segments: Sequence[Segment]) -> None:
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        for param in segment.parameters:
            if param.catch_all and (not last or segment.lone_parameter is None):
                raise RouteTemplateError(
                    f"route {template!r}: catch-all {param.name!r} must be the whole last segment"
                )
        if _segment_may_be_absent(segment):
            if not all(_segment_may_be_absent(later) for later in segments[index + 1 :]):
                raise RouteTemplateError(
                    f"route {template!r}: an optional segment must not be followed by a required one"
                )
        elif any(param.optional for param in segment.parameters) and not last:
            raise RouteTemplateError(f"route {template!r}: optional parameters belong in the last segment")


def _segment_may_be_absent(segment: Segment) -> bool:
    lone = segment.lone_parameter
    return lone is not None and (lone.optional or lone.default is not None or lone.catch_all)
