"""Route templates: parsing, matching, constraints and precedence."""

from __future__ import annotations

import pytest

from devhost.errors import RouteTemplateError
from devhost.routes import decode_segment, parse_template, split_path


def _match(template: str, path: str) -> dict[str, str] | None:
    return parse_template(template).match(split_path(path))


def test_literal_and_parameter_segments() -> None:
    assert _match("calls/{id}/events", "/calls/c-1/events") == {"id": "c-1"}
    assert _match("calls/{id}/events", "/calls/c-1") is None
    assert _match("calls/{id}/events", "/calls/c-1/events/more") is None
    assert _match("calls/{id}", "/calls//") is None


def test_literals_are_case_insensitive_values_keep_their_case() -> None:
    assert _match("Calls/{Id}", "/CALLS/AbC") == {"Id": "AbC"}


@pytest.mark.parametrize(
    ("constraint", "good", "bad"),
    [
        ("int", "-42", "4.2"),
        ("int", "2147483647", "2147483648"),
        ("long", "2147483648", "x"),
        ("bool", "TRUE", "yes"),
        ("alpha", "abcXYZ", "abc1"),
        ("guid", "1e8a3b4c-5d6e-4f70-8192-a3b4c5d6e7f8", "not-a-guid"),
        ("double", "1.5", "nan"),
        ("datetime", "2024-05-01T10:00:00", "tomorrow"),
        ("min(10)", "10", "9"),
        ("max(10)", "10", "11"),
        ("range(1,3)", "2", "4"),
        ("minlength(3)", "abc", "ab"),
        ("maxlength(3)", "abc", "abcd"),
        ("length(2)", "ab", "abc"),
        ("length(1,2)", "ab", "abc"),
        ("regex(^[a-z]{{2}}\\d$)", "ab1", "abc"),
    ],
)
def test_constraints(constraint: str, good: str, bad: str) -> None:
    template = f"v/{{x:{constraint}}}"
    assert _match(template, f"/v/{good}") == {"x": good}
    assert _match(template, f"/v/{bad}") is None


def test_several_constraints_all_apply() -> None:
    assert _match("v/{x:int:min(5)}", "/v/7") == {"x": "7"}
    assert _match("v/{x:int:min(5)}", "/v/3") is None


def test_optional_default_and_catch_all() -> None:
    assert _match("pages/{page?}", "/pages") == {}
    assert _match("pages/{page:int?}", "/pages/3") == {"page": "3"}
    assert _match("pages/{page:int?}", "/pages/x") is None
    assert _match("pages/{page=1}", "/pages") == {"page": "1"}
    assert _match("files/{*path}", "/files/a/b%20c/d") == {"path": "a/b c/d"}
    assert _match("files/{**path}", "/files") == {}


def test_mixed_segment() -> None:
    assert _match("docs/{name}.{ext}", "/docs/report.v2.pdf") == {"name": "report.v2", "ext": "pdf"}
    assert _match("docs/{name}.{ext}", "/docs/report") is None


def test_segments_are_percent_decoded_except_slash() -> None:
    assert decode_segment("4%3A%2B1425") == "4:+1425"
    assert decode_segment("a%2Fb%2fc") == "a%2Fb%2fc"
    assert _match("p/{raw}", "/p/a%2Fb") == {"raw": "a%2Fb"}


def test_precedence_orders_literal_before_constraint_before_parameter_before_catch_all() -> None:
    templates = ["calls/{*rest}", "calls/{id}", "calls/{id:int}", "calls/openapi", "calls/{id}.{ext}"]
    ordered = sorted(templates, key=lambda text: parse_template(text).precedence)
    assert ordered == ["calls/openapi", "calls/{id}.{ext}", "calls/{id:int}", "calls/{id}", "calls/{*rest}"]


def test_shape_ignores_parameter_names_but_not_constraints() -> None:
    assert parse_template("Calls/{a}").shape() == parse_template("calls/{b}").shape()
    assert parse_template("calls/{a:int}").shape() != parse_template("calls/{b}").shape()


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("calls/{id", "unclosed"),
        ("calls/id}", "unmatched"),
        ("calls//x", "empty segment"),
        ("calls/{id:banana}", "unknown constraint 'banana'"),
        ("calls/{id:min}", "min needs an argument"),
        ("calls/{id:int(3)}", "int takes no argument"),
        ("calls/{id:range(1)}", "wrong number of arguments"),
        ("calls/{a}{b}", "need a literal between them"),
        ("calls/{*rest}/more", "catch-all"),
        ("calls/{id?}/events", "optional segment must not be followed"),
        ("calls/{id}/x/{ID}", "appears twice"),
        ("calls/{9lives}", "bad parameter name"),
        ("calls/{x?=3}", "both optional and defaulted"),
    ],
)
def test_bad_templates_are_rejected_with_the_reason(template: str, message: str) -> None:
    with pytest.raises(RouteTemplateError, match=None) as raised:
        parse_template(template)
    assert message in str(raised.value)
    assert template in str(raised.value)
