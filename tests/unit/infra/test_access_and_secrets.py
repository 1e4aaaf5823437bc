"""Role assignments are exactly what the app does; no key, connection string or secret anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from tests.unit.infra.bicep_model import (
    INFRA_DIR,
    MAIN_BICEP,
    app_settings,
    bicep_files,
    dotted,
    function_names,
    module_of,
    relative_id,
    resource_config,
    resources,
    template,
)
from tests.unit.infra.pinned import (
    ACS_CALLER_ACTIONS,
    ACS_CALLER_ROLE_NAME,
    COGNITIVE_SERVICES_USER,
    COMMUNICATION_AND_EMAIL_SERVICE_OWNER,
    EVENTGRID_DATA_SENDER,
    MONITORING_METRICS_PUBLISHER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_OWNER,
    STORAGE_TABLE_DATA_CONTRIBUTOR,
)

ACCESS = INFRA_DIR / "app" / "access.bicep"
COMMUNICATION = INFRA_DIR / "core" / "communication.bicep"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
ROLE_DEFINITION = "Microsoft.Authorization/roleDefinitions"
# Operations on ACS the app must never hold: keys, delete, and anything wildcarded.
FORBIDDEN_ACS_ACTIONS = re.compile(r"ListKeys|RegenerateKey|delete|\*|EmailServices|LinkNotificationHub",
                                   re.IGNORECASE)

# (role, type of the scope, who): the app's identity and the Event Grid topic's identity.
EXPECTED_GRANTS = {
    (STORAGE_BLOB_DATA_OWNER, "Microsoft.Storage/storageAccounts", "appPrincipalId"),
    (
        STORAGE_TABLE_DATA_CONTRIBUTOR,
        "Microsoft.Storage/storageAccounts",
        "appPrincipalId",
    ),
    (MONITORING_METRICS_PUBLISHER, "Microsoft.Insights/components", "appPrincipalId"),
    # The custom role defined in access.bicep, not the built-in owner role.
    (
        f"custom:{ACS_CALLER_ROLE_NAME}",
        "Microsoft.Communication/communicationServices",
        "appPrincipalId",
    ),
    (
        STORAGE_BLOB_DATA_CONTRIBUTOR,
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "eventGridTopicPrincipalId",
    ),
    # Call events out: the app publishes to its custom topic (core/call-events-topic.bicep).
    (EVENTGRID_DATA_SENDER, "Microsoft.EventGrid/topics", "appPrincipalId"),
    # Text prompts: ACS's own identity speaks with the AI resource (core/speech.bicep).
    (COGNITIVE_SERVICES_USER, "Microsoft.CognitiveServices/accounts", "acsPrincipalId"),
}

SECRETISH = re.compile(
    r"key|secret|password|connection_?string|sas|token|credential", re.IGNORECASE
)
SECRET_VALUE = re.compile(
    r"ConnectionString|AccountKey|SharedAccessSignature|primaryKey|\bkeys\b",
    re.IGNORECASE,
)
LIST_CALL = re.compile(r"\blist[A-Z]\w*\s*\(")

# App settings whose names look secret but hold none, each with the reason.
NOT_SECRET_SETTINGS = {
    # Ingestion endpoint + component id. Local auth is disabled on the component, so it admits
    # telemetry only with the Entra token that APPLICATIONINSIGHTS_AUTHENTICATION_STRING selects.
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "applicationInsights.properties.ConnectionString",
    # The kind of credential (managed identity), not a credential.
    "AzureWebJobsStorage__credential": "managedidentity",
    "CallStateStorage__credential": "managedidentity",
    # Names the credential type the app must use (its managed identity), holds no token.
    "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
}


def grants() -> set[tuple[str, str, str]]:
    found = set()
    for path in bicep_files():
        parsed = template(path)
        for symbol, resource in resources(path).items():
            if resource["type"] != ROLE_ASSIGNMENT:
                continue
            config = resource_config(resource)
            scope = resources(path)[config["scope"]]["type"]
            reference = dotted(config["properties"]["roleDefinitionId"])
            if reference.endswith(".id"):  # a custom role defined in the same template
                role_symbol = reference.removesuffix(".id")
                assert resources(path)[role_symbol]["type"] == ROLE_DEFINITION, symbol
                found.add((f"custom:{custom_role_base_name(path, role_symbol)}", scope,
                           config["properties"]["principalId"]))
                assert config["properties"]["principalType"] == "ServicePrincipal", symbol
                continue
            definition = config["properties"]["roleDefinitionId"]["function"]
            assert definition["type"] == "subscription_resource_id", symbol
            assert (
                definition["parameters"]["resource_type"]
                == "Microsoft.Authorization/roleDefinitions"
            )
            role = parsed["variables"][definition["parameters"]["resource_name_1"]][
                "value"
            ]
            assert config["properties"]["principalType"] == "ServicePrincipal", symbol
            # Deterministic names keep re-deployments idempotent.
            assert config["name"]["function"]["type"] == "guid", symbol
            found.add((role, scope, config["properties"]["principalId"]))
    return found


def custom_role_base_name(path: Path, symbol: str) -> str:
    """The roleName of a custom role up to its uniqueness suffix: '${base} (...)' -> base."""
    role_name = resource_config(resources(path)[symbol])["properties"]["roleName"]
    match = re.fullmatch(r"\$\{(\w+)\} \(.*\)", role_name)
    assert match, role_name
    value: str = template(path)["variables"][match.group(1)]["value"]
    return value


def custom_role_problems(parsed: dict[str, Any]) -> list[str]:
    """The app's ACS role: only the listed actions, no data actions, assignable in the group only."""
    problems = []
    definitions = [r for r in parsed.get("resources", {}).values()
                   if r["type"] == ROLE_DEFINITION and not r["existing"]]
    if len(definitions) != 1:
        return [f"expected one custom role, found {len(definitions)}"]
    properties = resource_config(definitions[0])["properties"]
    [permissions] = properties["permissions"]
    actions = permissions["actions"]
    if isinstance(actions, str):  # a variable
        actions = parsed["variables"][actions]["value"]
    problems += [f"the role allows {a}" for a in actions if FORBIDDEN_ACS_ACTIONS.search(a)]
    if set(actions) != ACS_CALLER_ACTIONS:
        problems.append(f"the role's actions are {sorted(actions)}")
    if permissions["dataActions"] or permissions["notActions"] or permissions["notDataActions"]:
        problems.append("the role has data actions or exclusions")
    if properties["type"] != "CustomRole":
        problems.append("not a custom role")
    scopes = properties["assignableScopes"]
    resource_group_id = {"operator": {"type": "property_accessor", "operands": {
        "operand_1": {"function": {"type": "resource_group", "parameters": {
            "resource_group_name": None, "subscription_id": None}}},
        "operand_2": "id"}}}
    if scopes != [resource_group_id]:
        problems.append(f"assignable at {json.dumps(scopes)}, not only resourceGroup().id")
    return problems


def test_the_acs_role_is_a_narrow_custom_role() -> None:
    assert custom_role_problems(template(ACCESS)) == []
    # Nothing grants the built-in owner role (it can list and regenerate the keys).
    assert COMMUNICATION_AND_EMAIL_SERVICE_OWNER not in ACCESS.read_text()


@pytest.mark.parametrize("extra", ["Microsoft.Communication/CommunicationServices/ListKeys/action",
                                   "Microsoft.Communication/*"])
def test_the_role_check_catches_a_key_or_wildcard_action(extra: str) -> None:
    text = ACCESS.read_text().replace(
        "  'Microsoft.Communication/CommunicationServices/Write'\n",
        f"  'Microsoft.Communication/CommunicationServices/Write'\n  '{extra}'\n", 1)
    assert custom_role_problems(dict(BicepParser().parse(text=text))) != []


def test_acs_accepts_no_keys() -> None:
    [acs] = [r for r in resources(COMMUNICATION).values()
             if r["type"] == "Microsoft.Communication/communicationServices"]
    assert resource_config(acs)["properties"]["disableLocalAuth"] is True


def test_the_app_names_the_role_it_is_granted() -> None:
    # When ACS refuses the identity, /api/ready and its log name this role; the alert matches it.
    from callcontrol.composition import ACS_ROLE

    assert ACS_ROLE.startswith(ACS_CALLER_ROLE_NAME)
    assert template(ACCESS)["variables"]["acsCallerRoleName"]["value"] == ACS_CALLER_ROLE_NAME


def test_role_assignments_are_exactly_what_the_app_does() -> None:
    assert grants() == EXPECTED_GRANTS


def test_each_role_assignment_says_why() -> None:
    lines = ACCESS.read_text().splitlines()
    for index, line in enumerate(lines):
        if (ROLE_ASSIGNMENT in line or ROLE_DEFINITION in line) and line.startswith("resource "):
            assert lines[index - 1].startswith("//"), (
                f"access.bicep:{index + 1} has no reason above it"
            )


def test_grants_go_to_the_app_identity_and_the_topic_identity() -> None:
    passed = module_of(MAIN_BICEP, ACCESS)["config"]["params"]
    assert dotted(passed["appPrincipalId"]) == "identity.outputs.principalId"
    assert (
        dotted(passed["eventGridTopicPrincipalId"])
        == "eventGridTopic.outputs.principalId"
    )
    assert (
        dotted(passed["deadLetterContainerName"])
        == "storage.outputs.deadLetterContainerName"
    )


def secret_findings(text: str, parsed: dict[str, Any]) -> list[str]:
    """Every way a template could carry a secret: list*() calls, @secure params, secret outputs."""
    findings = [f"calls {m.group(0)}" for m in LIST_CALL.finditer(text)]
    findings += [
        f"calls {name}()" for name in function_names(parsed) if name.startswith("list")
    ]
    for name, parameter in parsed.get("parameters", {}).items():
        if any(d.get("type") == "secure" for d in parameter.get("decorators", [])):
            findings.append(f"secure parameter {name}")
    for name, output in parsed.get("outputs", {}).items():
        if SECRETISH.search(name) or SECRET_VALUE.search(dotted(output["value"])):
            findings.append(f"output {name}")
    return findings


@pytest.mark.parametrize("path", bicep_files(), ids=relative_id)
def test_template_holds_no_secret(path: Path) -> None:
    assert secret_findings(path.read_text(), template(path)) == []


def test_secret_scan_catches_keys_and_secrets() -> None:
    # The scan must be able to fail: a template leaking a key in three ways is caught thrice over.
    leaky = (
        "@secure()\nparam adminPassword string\n"
        "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {\n  name: 'x'\n}\n"
        "output storageKey string = st.listKeys().keys[0].value\n"
    )
    findings = secret_findings(leaky, dict(BicepParser().parse(text=leaky)))
    assert "secure parameter adminPassword" in findings
    assert "output storageKey" in findings
    assert any(f.startswith("calls list") for f in findings)


def test_app_settings_hold_no_secret() -> None:
    for name, value in app_settings().items():
        rendered = dotted(value)
        if name in NOT_SECRET_SETTINGS:
            assert rendered == NOT_SECRET_SETTINGS[name], name
            continue
        assert not SECRETISH.search(name), f"{name} looks like a secret"
        assert not SECRET_VALUE.search(rendered), f"{name} = {rendered}"


def test_app_insights_connection_string_comes_from_a_keyless_component() -> None:
    path = INFRA_DIR / "app" / "function-app.bicep"
    component = resources(path)["applicationInsights"]
    assert component["existing"] is True
    assert component["type"] == "Microsoft.Insights/components"
    _, created = next(
        (s, r)
        for s, r in resources(INFRA_DIR / "core" / "monitoring.bicep").items()
        if r["type"] == "Microsoft.Insights/components"
    )
    assert resource_config(created)["properties"]["DisableLocalAuth"] is True
    settings = app_settings()
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identityClientId};Authorization=AAD"
    )
