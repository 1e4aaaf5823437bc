"""The exported JSON Schemas describe what the parsers accept."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from callcontrol.domain.rules import incoming_call_json_schema, parse_rule_set, rule_set_json_schema
from tests.unit.rules._support import VALID, with_change

LOCAL_REFS = "#/$defs/{model}"


def validator() -> jsonschema.Draft202012Validator:
    schema = rule_set_json_schema(ref_template=LOCAL_REFS)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_accepts_the_example_and_the_canonical_form() -> None:
    checker = validator()
    checker.validate(VALID)
    checker.validate(parse_rule_set(VALID).to_json())


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["rules", 0, "conditions", "priority"], 1),
        (["rules", 0, "action", "type"], "voicemail"),
        (["rules", 0, "action", "reason"], "declined"),
        (["rules", 1, "conditions", "timeWindows", 0, "days"], ["monday"]),
        (["rules", 1, "action", "target"], {"phone": "+14255550199"}),
        (["defaultAction"], ...),
    ],
)
def test_schema_refuses_what_the_parser_refuses(path: list[str | int], value: Any) -> None:
    payload = with_change(path, value)
    assert list(validator().iter_errors(payload))


def test_openapi_refs_point_at_components() -> None:
    schema = rule_set_json_schema()
    refs = _refs(schema)
    assert refs and all(ref.startswith("#/components/schemas/") for ref in refs)
    assert {"Rule", "Conditions", "TimeWindow", "RedirectAction"} <= set(schema["$defs"])
    assert "defaultAction" in schema["required"]


def test_incoming_call_schema_is_valid() -> None:
    schema = incoming_call_json_schema(ref_template=LOCAL_REFS)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["to"]
    assert "from" in schema["properties"]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []
