"""No password anywhere, TLS 1.2 at the edges, and dead letters kept no longer than the calls.

- the function app's basic publishing credentials (FTP and SCM) are off;
- the call events topic refuses TLS below 1.2;
- dead-lettered IncomingCalls (they carry the caller's number) are deleted by a lifecycle rule
  after the same number of days the app keeps calls, one parameter feeding both.
"""

from __future__ import annotations

import json
from typing import Any

from callcontrol.settings import CALL_RETENTION_DAYS, SETTINGS
from tests.unit.infra.bicep_model import (
    INFRA_DIR,
    MAIN_BICEP,
    app_settings,
    module_of,
    resource_config,
    resources,
    template,
    the_resource,
)

FUNCTION_APP = INFRA_DIR / "app" / "function-app.bicep"
STORAGE = INFRA_DIR / "core" / "storage.bicep"
CALL_EVENTS_TOPIC = INFRA_DIR / "core" / "call-events-topic.bicep"
PUBLISHING = "Microsoft.Web/sites/basicPublishingCredentialsPolicies"


def publishing_problems(parsed: dict[str, Any]) -> list[str]:
    found = {resource_config(r)["name"]: resource_config(r)["properties"]
             for r in parsed.get("resources", {}).values() if r["type"] == PUBLISHING}
    problems = [f"no {name} publishing policy" for name in ("ftp", "scm") if name not in found]
    problems += [f"{name} basic publishing is allowed" for name, properties in found.items()
                 if properties.get("allow") is not False]
    return problems


def test_basic_publishing_credentials_are_off() -> None:
    assert publishing_problems(template(FUNCTION_APP)) == []
    for _, resource in resources(FUNCTION_APP).items():
        if resource["type"] == PUBLISHING:
            assert resource_config(resource)["parent"] == "functionApp"


def test_publishing_check_catches_an_allowed_endpoint() -> None:
    from pycep import BicepParser

    text = FUNCTION_APP.read_text()
    broken = text.replace("name: 'scm'\n  properties: {\n    allow: false", "name: 'scm'\n  "
                          "properties: {\n    allow: true", 1)
    assert broken != text
    assert publishing_problems(dict(BicepParser().parse(text=broken))) == [
        "scm basic publishing is allowed"]


def test_the_call_events_topic_refuses_old_tls() -> None:
    _, topic = the_resource(CALL_EVENTS_TOPIC, "Microsoft.EventGrid/topics")
    properties = resource_config(topic)["properties"]
    assert properties["minimumTlsVersionAllowed"] == "1.2"
    assert properties["disableLocalAuth"] is True


def test_dead_letters_are_deleted_after_the_call_retention() -> None:
    _, policy = the_resource(STORAGE, "Microsoft.Storage/storageAccounts/managementPolicies")
    config = resource_config(policy)
    assert config["name"] == "default" and config["parent"] == "storage"
    [rule] = config["properties"]["policy"]["rules"]
    assert rule["enabled"] is True and rule["type"] == "Lifecycle"
    assert rule["definition"]["filters"]["prefixMatch"] == ["${deadLetterContainerName}/"]
    delete = rule["definition"]["actions"]["baseBlob"]["delete"]
    assert delete == {"daysAfterModificationGreaterThan": "deadLetterRetentionDays"}
    # One parameter feeds the rule and the app's own retention.
    main = template(MAIN_BICEP)
    assert module_of(MAIN_BICEP, STORAGE)["config"]["params"]["deadLetterRetentionDays"] == (
        "callRetentionDays")
    assert module_of(MAIN_BICEP, FUNCTION_APP)["config"]["params"]["callRetentionDays"] == (
        "callRetentionDays")
    assert app_settings()[CALL_RETENTION_DAYS] == {
        "function": {"type": "string", "parameters": {"value_to_convert": "callRetentionDays"}}}
    # The default is the app's default, in Bicep and in the parameters file.
    [spec] = [s for s in SETTINGS if s.name == CALL_RETENTION_DAYS]
    assert str(main["parameters"]["callRetentionDays"]["default"]) == spec.default
    given = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    assert given["callRetentionDays"]["value"] == f"${{{CALL_RETENTION_DAYS}={spec.default}}}"
