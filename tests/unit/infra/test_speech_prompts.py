"""Text prompts in Azure (infra/core/speech.bicep): an Azure AI services resource ACS can use with
its own identity, the one grant that connects them, and the app told the endpoint; all behind
one parameter, enableSpeechPrompts (ENABLE_SPEECH_PROMPTS)."""

from __future__ import annotations

import json
from typing import Any

from pycep import BicepParser

from callcontrol.settings import COGNITIVE_SERVICES_ENDPOINT, SETTINGS, Where
from tests.unit.infra.bicep_model import (
    INFRA_DIR,
    MAIN_BICEP,
    app_settings,
    dotted,
    module_of,
    resource_config,
    template,
    the_resource,
)
from tests.unit.infra.pinned import COGNITIVE_SERVICES_USER

SPEECH = INFRA_DIR / "core" / "speech.bicep"
COMMUNICATION = INFRA_DIR / "core" / "communication.bicep"
FUNCTION_APP = INFRA_DIR / "app" / "function-app.bicep"
ACCOUNT = "Microsoft.CognitiveServices/accounts"


def account_problems(parsed: dict[str, Any]) -> list[str]:
    """What would stop ACS from using the resource with its identity, or let keys in."""
    found = [r for r in parsed.get("resources", {}).values()
             if r["type"] == ACCOUNT and not r["existing"]]
    if len(found) != 1:
        return [f"expected one AI services account, found {len(found)}"]
    config = resource_config(found[0])
    properties = config["properties"]
    problems = []
    if config.get("kind") != "AIServices":
        problems.append(f"kind is {config.get('kind')!r}: ACS connects to a multi-service resource")
    if properties.get("disableLocalAuth") is not True:
        problems.append("disableLocalAuth must be true (no keys)")
    # Entra tokens are accepted on the resource's own host only, never on the regional one.
    if properties.get("customSubDomainName") != "name":
        problems.append("customSubDomainName must be the resource's (unique) name")
    if config.get("sku") != {"name": "S0"}:
        problems.append(f"sku is {config.get('sku')}: S0 bills per use, nothing at rest")
    return problems


def test_the_ai_resource_takes_entra_tokens_on_its_own_subdomain() -> None:
    assert account_problems(template(SPEECH)) == []


def test_the_check_catches_keys_a_regional_host_and_a_speech_only_resource() -> None:
    text = SPEECH.read_text()
    broken = (text.replace("disableLocalAuth: true", "disableLocalAuth: false")
              .replace("customSubDomainName: name", "customSubDomainName: ''")
              .replace("kind: 'AIServices'", "kind: 'SpeechServices'"))
    assert broken != text
    assert len(account_problems(dict(BicepParser().parse(text=broken)))) == 3


def test_acs_identity_holds_cognitive_services_user_on_that_resource_only() -> None:
    parsed = template(SPEECH)
    _, grant = the_resource(SPEECH, "Microsoft.Authorization/roleAssignments")
    config = resource_config(grant)
    assert config["scope"] == "speech"
    properties = config["properties"]
    assert properties["principalId"] == "acsPrincipalId"
    assert properties["principalType"] == "ServicePrincipal"
    role = properties["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
    assert parsed["variables"][role]["value"] == COGNITIVE_SERVICES_USER
    # That principal is ACS's system-assigned identity, switched on with the prompts.
    passed = module_of(MAIN_BICEP, SPEECH)["config"]["params"]
    assert dotted(passed["acsPrincipalId"]) == "communication.outputs.principalId"
    output = template(COMMUNICATION)["outputs"]["principalId"]["value"]["operator"]["operands"]
    assert output["condition"] == "systemAssignedIdentity"
    assert dotted(output["true_value"]) == "communication.identity.principalId"
    _, acs = the_resource(COMMUNICATION, "Microsoft.Communication/communicationServices")
    identity = json.dumps(resource_config(acs)["identity"])
    assert '"SystemAssigned"' in identity and "systemAssignedIdentity" in identity
    assert module_of(MAIN_BICEP, COMMUNICATION)["config"]["params"]["systemAssignedIdentity"] == (
        "enableSpeechPrompts")


def test_one_parameter_switches_the_resource_the_identity_and_the_setting() -> None:
    main = template(MAIN_BICEP)
    assert module_of(MAIN_BICEP, SPEECH)["condition"] == "enableSpeechPrompts"
    # On by default: nothing is billed at rest, and text prompts need it (docs/deployment.md).
    assert main["parameters"]["enableSpeechPrompts"]["default"] is True
    given = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    assert given["enableSpeechPrompts"]["value"] == "${ENABLE_SPEECH_PROMPTS=true}"
    assert given["speechLocation"]["value"] == "${SPEECH_LOCATION=}"
    location = module_of(MAIN_BICEP, SPEECH)["config"]["params"]["location"]["operator"]
    assert location["operands"]["true_value"] == "location"  # empty SPEECH_LOCATION


def test_the_app_gets_the_endpoint_only_with_the_resource() -> None:
    assert app_settings()[COGNITIVE_SERVICES_ENDPOINT] == "cognitiveServicesEndpoint"
    assert template(FUNCTION_APP)["parameters"]["cognitiveServicesEndpoint"]["default"] == ""
    passed = module_of(MAIN_BICEP, FUNCTION_APP)["config"]["params"]["cognitiveServicesEndpoint"]
    operands = passed["operator"]["operands"]
    assert operands["condition"] == "enableSpeechPrompts"
    assert dotted(operands["true_value"]) == "speech.outputs.endpoint"
    assert operands["false_value"] == ""
    output = template(SPEECH)["outputs"]["endpoint"]["value"]
    assert dotted(output) == "speech.properties.endpoint"
    # The app may run without it (only audio-file prompts then), so infra may leave it unset.
    [spec] = [s for s in SETTINGS if s.name == COGNITIVE_SERVICES_ENDPOINT]
    assert spec.where is Where.OPTIONAL


def test_the_setting_is_left_unset_not_empty_without_the_resource() -> None:
    # An empty COGNITIVE_SERVICES_ENDPOINT would read as unset anyway; leaving it out says so.
    _, config = the_resource(FUNCTION_APP, "Microsoft.Web/sites/config")
    branches = [value["operator"]["operands"]
                for value in resource_config(config)["properties"]["function"]["parameters"].values()
                if isinstance(value, dict) and COGNITIVE_SERVICES_ENDPOINT in json.dumps(value)]
    assert branches == [{
        "condition": {"function": {"type": "empty",
                                   "parameters": {"item_to_test": "cognitiveServicesEndpoint"}}},
        "true_value": {},
        "false_value": {COGNITIVE_SERVICES_ENDPOINT: "cognitiveServicesEndpoint"},
    }]
