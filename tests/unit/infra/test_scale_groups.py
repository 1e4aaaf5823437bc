"""Scale groups, always-ready instances and zone redundancy: what the plan keeps (and bills) at rest.

Flex Consumption scales the HTTP functions together (group "http") and every other trigger on its
own ("function:<name>"). With zone redundancy the platform keeps at least two always-ready
instances in every group, whatever is configured. So the template must list every group the app
has, raise a count below two to two when zone-redundant, and docs/deployment.md must state the
arithmetic that follows from the app's own functions.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.unit.infra.bicep_model import (
    INFRA_DIR,
    MAIN_BICEP,
    REPO_ROOT,
    module_of,
    resource_config,
    template,
    the_resource,
)

FUNCTION_APP = INFRA_DIR / "app" / "function-app.bicep"
DEPLOYMENT_DOC = REPO_ROOT / "docs" / "deployment.md"
ZONE_MINIMUM = 2  # always-ready instances per scale group the platform keeps when zone-redundant


def app_scale_groups() -> list[str]:
    """The scale groups of the functions the app defines, in the platform's naming."""
    from tests.support.app import indexed  # the app indexes once per process, as in the host

    groups: list[str] = []
    for function in indexed():
        trigger = function.get_trigger().type
        group = "http" if trigger == "httpTrigger" else f"function:{function.get_function_name()}"
        if group not in groups:
            groups.append(group)
    return groups


def evaluate(expression: Any, values: dict[str, Any]) -> Any:
    """Just enough of Bicep to evaluate the always-ready list: names, literals, max(), ?:."""
    if isinstance(expression, str):
        return values.get(expression, expression)
    if isinstance(expression, (int, bool)):
        return expression
    if isinstance(expression, list):
        return [evaluate(item, values) for item in expression]
    if "function" in expression:
        function = expression["function"]
        arguments = [evaluate(value, values) for value in function["parameters"].values()]
        assert function["type"] == "max", function["type"]
        return max(arguments)
    if "operator" in expression:
        operator = expression["operator"]
        assert operator["type"] == "conditional", operator["type"]
        operands = operator["operands"]
        branch = "true_value" if evaluate(operands["condition"], values) else "false_value"
        return evaluate(operands[branch], values)
    return {key: evaluate(value, values) for key, value in expression.items()}


def always_ready(zone_redundant: bool, http: int, incoming_call: int) -> dict[str, int]:
    """The site's functionAppConfig.scaleAndConcurrency.alwaysReady for these parameters."""
    variables = template(FUNCTION_APP)["variables"]
    values: dict[str, Any] = {"zoneRedundant": zone_redundant, "httpAlwaysReady": http,
                              "incomingCallAlwaysReady": incoming_call}
    values["minimumAlwaysReady"] = evaluate(variables["minimumAlwaysReady"]["value"], values)
    groups = evaluate(variables["scaleGroups"]["value"], values)
    # alwaysReady = filter(scaleGroups, group => group.instanceCount > 0)
    rendered = json.dumps(variables["alwaysReady"]["value"])
    assert '"type": "filter"' in rendered and '"input_array": "scaleGroups"' in rendered
    assert '"instanceCount"' in rendered and '"greater_than"' in rendered
    return {group["name"]: group["instanceCount"] for group in groups if group["instanceCount"] > 0}


def test_the_site_uses_the_always_ready_list() -> None:
    _, site = the_resource(FUNCTION_APP, "Microsoft.Web/sites")
    scale = resource_config(site)["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["alwaysReady"] == "alwaysReady"
    assert module_of(MAIN_BICEP, FUNCTION_APP)["config"]["params"]["zoneRedundant"] == (
        "zoneRedundant")


def test_the_template_lists_every_scale_group_of_the_app() -> None:
    listed = [group["name"]
              for group in template(FUNCTION_APP)["variables"]["scaleGroups"]["value"]]
    assert sorted(listed) == sorted(app_scale_groups())


def test_zone_redundancy_is_off_by_default() -> None:
    # Not every Flex Consumption region offers it; on, it bills two instances per group at rest.
    assert template(MAIN_BICEP)["parameters"]["zoneRedundant"]["default"] is False
    given = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    assert given["zoneRedundant"]["value"] == "${ZONE_REDUNDANT=false}"


def test_without_zone_redundancy_nothing_is_kept_warm_unless_asked() -> None:
    assert always_ready(False, 0, 0) == {}
    assert always_ready(False, 1, 0) == {"http": 1}
    assert always_ready(False, 0, 3) == {"function:incoming_call": 3}


@pytest.mark.parametrize(("http", "incoming_call"), [(0, 0), (1, 1), (1, 0), (5, 1)])
def test_with_zone_redundancy_every_group_gets_at_least_two(http: int, incoming_call: int) -> None:
    ready = always_ready(True, http, incoming_call)
    assert set(ready) == set(app_scale_groups())
    assert all(count >= ZONE_MINIMUM for count in ready.values()), ready
    assert ready["http"] == max(http, ZONE_MINIMUM)
    assert ready["function:incoming_call"] == max(incoming_call, ZONE_MINIMUM)


def test_the_guard_can_fail() -> None:
    # Without the minimum (the old template), one always-ready HTTP instance with zone redundancy
    # was accepted: the evaluation above would see 1, and the check reports it.
    variables = template(FUNCTION_APP)["variables"]
    values = {"zoneRedundant": True, "httpAlwaysReady": 1, "incomingCallAlwaysReady": 0,
              "minimumAlwaysReady": 0}
    groups = evaluate(variables["scaleGroups"]["value"], values)
    assert {g["name"]: g["instanceCount"] for g in groups}["http"] == 1 < ZONE_MINIMUM


def test_the_doc_states_the_cost_of_zone_redundancy_from_the_app() -> None:
    groups = app_scale_groups()
    memory = template(MAIN_BICEP)["parameters"]["instanceMemoryMB"]["default"]
    instances = ZONE_MINIMUM * len(groups)
    text = re.sub(r"\s+", " ", DEPLOYMENT_DOC.read_text())
    names = ", ".join(f"`{g.removeprefix('function:')}`"
                      for g in sorted(groups, key=lambda g: g != "http"))
    assert f"{len(groups)} scale groups ({names})" in text
    assert (f"{len(groups)} x {ZONE_MINIMUM} = {instances} always-ready instances of "
            f"{memory} MB, {instances * memory} MB in all") in text


def test_azd_prompts_for_a_flex_consumption_region() -> None:
    # The location parameter carries azd's location metadata and allows only regions that offer
    # Flex Consumption, so the prompt (and a stray AZURE_LOCATION) cannot pick one without it.
    decorators = template(MAIN_BICEP)["parameters"]["location"]["decorators"]
    by_type = {d["type"]: d.get("argument") for d in decorators}
    assert by_type["metadata"] == {"azd": {"type": "location"}}
    regions = by_type["allowed"]
    assert len(regions) == len(set(regions)) >= 20
    assert all(re.fullmatch(r"[a-z]+[0-9]?", region) for region in regions), regions
    assert "eastus" in regions and "westeurope" in regions
    assert not any(region.endswith("euap") for region in regions)  # canary regions are not for apps
    given = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    assert given["location"]["value"] == "${AZURE_LOCATION}"
