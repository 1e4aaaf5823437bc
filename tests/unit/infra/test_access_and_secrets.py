"""Role assignments are exactly what the app does; no key, connection string or secret anywhere."""

from __future__ import annotations

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
    COMMUNICATION_AND_EMAIL_SERVICE_OWNER,
    EVENTGRID_DATA_SENDER,
    MONITORING_METRICS_PUBLISHER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_OWNER,
    STORAGE_TABLE_DATA_CONTRIBUTOR,
)

ACCESS = INFRA_DIR / "app" / "access.bicep"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"

# (role, type of the scope, who): the app's identity and the Event Grid topic's identity.
EXPECTED_GRANTS = {
    (STORAGE_BLOB_DATA_OWNER, "Microsoft.Storage/storageAccounts", "appPrincipalId"),
    (
        STORAGE_TABLE_DATA_CONTRIBUTOR,
        "Microsoft.Storage/storageAccounts",
        "appPrincipalId",
    ),
    (MONITORING_METRICS_PUBLISHER, "Microsoft.Insights/components", "appPrincipalId"),
    (
        COMMUNICATION_AND_EMAIL_SERVICE_OWNER,
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
            definition = config["properties"]["roleDefinitionId"]["function"]
            assert definition["type"] == "subscription_resource_id", symbol
            assert (
                definition["parameters"]["resource_type"]
                == "Microsoft.Authorization/roleDefinitions"
            )
            role = parsed["variables"][definition["parameters"]["resource_name_1"]][
                "value"
            ]
            scope = resources(path)[config["scope"]]["type"]
            assert config["properties"]["principalType"] == "ServicePrincipal", symbol
            # Deterministic names keep re-deployments idempotent.
            assert config["name"]["function"]["type"] == "guid", symbol
            found.add((role, scope, config["properties"]["principalId"]))
    return found


def test_role_assignments_are_exactly_what_the_app_does() -> None:
    assert grants() == EXPECTED_GRANTS


def test_each_role_assignment_says_why() -> None:
    lines = ACCESS.read_text().splitlines()
    for index, line in enumerate(lines):
        if ROLE_ASSIGNMENT in line and line.startswith("resource "):
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
