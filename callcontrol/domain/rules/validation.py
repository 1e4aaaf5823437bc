"""The one way a rule set enters the app: validate everything, report every problem by path."""

from __future__ import annotations

from typing import Any, Final

from pydantic import ValidationError

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.rules.flows import flow_problems
from callcontrol.domain.rules.model import RuleSet
from callcontrol.domain.validation_problems import problems_from, summary

OPENAPI_REF_TEMPLATE: Final = "#/components/schemas/{model}"


def parse_rule_set(payload: object) -> RuleSet:
    """Validate a rule set as sent on the wire (camelCase names only).

    Raises:
        InvalidInput: listing one FieldProblem per problem, with fields such as
            `rules[2].conditions.timeWindows[0].timeZone`, `rules[3].id` (repeated id),
            `flows.sales.steps[1].next` or `rules[0].action.flow` (no such flow).
    """
    try:
        rules = RuleSet.model_validate(payload, by_alias=True, by_name=False)
    except ValidationError as exc:
        problems = problems_from(exc)
        raise InvalidInput(summary(problems, "rule set"), problems) from None
    problems = flow_problems(rules)  # the flows, once the rest holds (they name its rules)
    if problems:
        raise InvalidInput(summary(problems, "rule set"), problems)
    return rules


def rule_set_json_schema(ref_template: str = OPENAPI_REF_TEMPLATE) -> dict[str, Any]:
    """JSON Schema of the rule set as accepted on input; nested models go to `$defs`.

    With the default template the `$ref`s point at `#/components/schemas/<Model>`, so the caller
    moves `$defs` into the OpenAPI document's components.
    """
    return RuleSet.model_json_schema(by_alias=True, ref_template=ref_template, mode="validation")
