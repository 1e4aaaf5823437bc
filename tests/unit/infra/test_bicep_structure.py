"""Structural checks on infra/: pinned API versions, module wiring, parameters, Flex Consumption."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from tests.unit.infra.bicep_model import (
    INFRA_DIR,
    MAIN_BICEP,
    bicep_files,
    dotted,
    module_file,
    module_of,
    relative_id,
    resource_config,
    resources,
    template,
    the_resource,
)
from tests.unit.infra.pinned import HOOK_API_VERSIONS, PINNED_API_VERSIONS

FUNCTION_APP = INFRA_DIR / "app" / "function-app.bicep"


def api_version_problems(parsed: dict[str, Any]) -> list[str]:
    problems = []
    for symbol, resource in parsed.get("resources", {}).items():
        pinned = PINNED_API_VERSIONS.get(resource["type"])
        if pinned is None:
            problems.append(f"{symbol}: {resource['type']} is not in the pinned list")
        elif resource["api_version"] != pinned:
            problems.append(f"{symbol}: {resource['api_version']} instead of {pinned}")
    return problems


@pytest.mark.parametrize("path", bicep_files(), ids=relative_id)
def test_every_resource_uses_the_pinned_api_version(path: Path) -> None:
    assert api_version_problems(template(path)) == []


@pytest.mark.parametrize(("file", "old", "new"), [
    ("core/eventgrid-topic.bicep", "systemTopics@2025-02-15", "systemTopics@2022-06-15"),
    ("app/function-app.bicep", "sites@2024-11-01", "sites@2024-04-01"),
    ("app/alerts.bicep", "scheduledQueryRules@2023-12-01", "scheduledQueryRules@2021-08-01"),
])
def test_pinned_check_catches_an_older_api_version(file: str, old: str, new: str) -> None:
    text = (INFRA_DIR / file).read_text()
    assert old in text
    assert api_version_problems(dict(BicepParser().parse(text=text.replace(old, new)))) != []


def test_hook_writes_subscriptions_with_the_topic_api_version() -> None:
    # Event Grid versions its system topics and their subscriptions together.
    assert HOOK_API_VERSIONS["Microsoft.EventGrid/systemTopics/eventSubscriptions"] == (
        PINNED_API_VERSIONS["Microsoft.EventGrid/systemTopics"])


def test_every_pinned_type_is_used() -> None:
    used = {res["type"] for path in bicep_files() for res in resources(path).values()}
    assert set(PINNED_API_VERSIONS) - used == set()


def test_no_registry_modules() -> None:
    # Registry modules (br:, ts:) cannot be restored offline; every module is a local file.
    for path in bicep_files():
        for name, module in template(path).get("modules", {}).items():
            assert module["type"] == "local", f"{path.name}:{name}"
            assert module_file(path, module).is_file(), f"{path.name}:{name}"


@pytest.mark.parametrize("path", bicep_files(), ids=relative_id)
def test_module_calls_match_module_parameters(path: Path) -> None:
    for name, module in template(path).get("modules", {}).items():
        target = template(module_file(path, module))
        declared = target.get("parameters", {})
        passed = set(module["config"].get("params", {}))
        required = {p for p, spec in declared.items() if spec.get("default") is None}
        assert passed - set(declared) == set(), (
            f"{path.name}:{name} passes unknown params"
        )
        assert required - passed == set(), f"{path.name}:{name} misses required params"


def test_main_targets_the_subscription_and_builds_names_from_the_token() -> None:
    main = template(MAIN_BICEP)
    assert main["globals"]["scope"]["value"] == "subscription"
    token = json.dumps(main["variables"]["resourceToken"])
    assert "unique_string" in token and "environmentName" in token
    assert main["variables"]["abbrs"]["value"]["function"]["parameters"][
        "file_path"
    ] == ("./abbreviations.json")
    abbreviations = json.loads((INFRA_DIR / "abbreviations.json").read_text())
    for name, module in main["modules"].items():
        module_name = module["config"]["params"].get("name")
        if module_name is not None:
            assert module_name.endswith("${resourceToken}"), name
            key = module_name.removeprefix("${abbrs.").split("}")[0]
            assert key in abbreviations, f"{name}: abbreviation {key} missing"


def test_parameters_file_matches_main_parameters() -> None:
    declared = template(MAIN_BICEP)["parameters"]
    given = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    required = {p for p, spec in declared.items() if spec.get("default") is None}
    assert set(given) - set(declared) == set()
    assert required - set(given) == set()


def test_zone_redundancy_is_one_parameter_for_plan_and_storage() -> None:
    # checkov cannot evaluate parameters (its CKV_AZURE_225/206 are skipped inline): this is the check.
    main = template(MAIN_BICEP)
    # Off by default (tests/unit/infra/test_scale_groups.py says why); one switch for both.
    assert main["parameters"]["zoneRedundant"]["default"] is False
    plan_path = INFRA_DIR / "app" / "plan.bicep"
    storage_path = INFRA_DIR / "core" / "storage.bicep"
    _, plan = the_resource(plan_path, "Microsoft.Web/serverfarms")
    assert resource_config(plan)["properties"]["zoneRedundant"] == "zoneRedundant"
    _, account = the_resource(storage_path, "Microsoft.Storage/storageAccounts")
    sku = json.dumps(resource_config(account)["sku"]["name"])
    assert '"Standard_ZRS"' in sku and "zoneRedundant" in sku
    for path in (plan_path, storage_path):
        assert module_of(MAIN_BICEP, path)["config"]["params"]["zoneRedundant"] == "zoneRedundant"


def test_function_app_speaks_http2() -> None:
    _, site = the_resource(FUNCTION_APP, "Microsoft.Web/sites")
    assert resource_config(site)["properties"]["siteConfig"]["http20Enabled"] is True


def test_plan_is_flex_consumption() -> None:
    _, plan = the_resource(
        INFRA_DIR / "app" / "plan.bicep", "Microsoft.Web/serverfarms"
    )
    config = resource_config(plan)
    assert config["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert config["properties"]["reserved"] is True


def test_function_app_runs_python_the_project_tests_on() -> None:
    _, site = the_resource(FUNCTION_APP, "Microsoft.Web/sites")
    runtime = resource_config(site)["properties"]["functionAppConfig"]["runtime"]
    assert runtime == {"name": "python", "version": "pythonVersion"}
    passed = module_of(MAIN_BICEP, FUNCTION_APP)["config"]["params"]["pythonVersion"]
    assert passed == "pythonVersion"
    tested_on = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert template(MAIN_BICEP)["variables"]["pythonVersion"]["value"] == tested_on


def test_deployment_container_is_reached_with_the_user_assigned_identity() -> None:
    _, site = the_resource(FUNCTION_APP, "Microsoft.Web/sites")
    config = resource_config(site)
    assert config["kind"] == "functionapp,linux"
    assert config["identity"]["type"] == "UserAssigned"
    storage = config["properties"]["functionAppConfig"]["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["value"] == "${blobEndpoint}${deploymentContainerName}"
    assert storage["authentication"] == {
        "type": "UserAssignedIdentity",
        "userAssignedIdentityResourceId": "identityId",
    }
    assert config["properties"]["httpsOnly"] is True


def test_scale_settings_are_parameters_and_cover_the_event_grid_trigger() -> None:
    function_app = template(FUNCTION_APP)
    _, site = the_resource(FUNCTION_APP, "Microsoft.Web/sites")
    scale = resource_config(site)["properties"]["functionAppConfig"][
        "scaleAndConcurrency"
    ]
    assert scale["instanceMemoryMB"] == "instanceMemoryMB"
    assert scale["maximumInstanceCount"] == "maximumInstanceCount"
    groups = json.dumps(function_app["variables"])
    # An Event Grid trigger scales in its own group, named after the function.
    assert '"name": "function:incoming_call"' in groups
    assert '"name": "http"' in groups
    main = template(MAIN_BICEP)
    memory = main["parameters"]["instanceMemoryMB"]
    assert memory["type"] == "int" and memory["default"] == 2048
    passed = module_of(MAIN_BICEP, FUNCTION_APP)["config"]["params"]
    for name in (
        "instanceMemoryMB",
        "maximumInstanceCount",
        "httpAlwaysReady",
        "incomingCallAlwaysReady",
    ):
        assert passed[name] == name
        assert main["parameters"][name]["type"] == "int"


def test_storage_accepts_only_entra_id() -> None:
    _, account = the_resource(
        INFRA_DIR / "core" / "storage.bicep", "Microsoft.Storage/storageAccounts"
    )
    properties = resource_config(account)["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["defaultToOAuthAuthentication"] is True


def test_monitoring_requires_entra_authentication() -> None:
    path = INFRA_DIR / "core" / "monitoring.bicep"
    _, insights = the_resource(path, "Microsoft.Insights/components")
    _, workspace = the_resource(path, "Microsoft.OperationalInsights/workspaces")
    assert resource_config(insights)["properties"]["DisableLocalAuth"] is True
    assert (
        dotted(resource_config(insights)["properties"]["WorkspaceResourceId"])
        == "logAnalytics.id"
    )
    assert (
        resource_config(workspace)["properties"]["features"]["disableLocalAuth"] is True
    )


def test_event_grid_system_topic_watches_the_acs_resource() -> None:
    path = INFRA_DIR / "core" / "eventgrid-topic.bicep"
    _, topic = the_resource(path, "Microsoft.EventGrid/systemTopics")
    config = resource_config(topic)
    assert (
        config["properties"]["topicType"]
        == "Microsoft.Communication.CommunicationServices"
    )
    assert config["identity"]["type"] == "SystemAssigned"
    passed = module_of(MAIN_BICEP, path)["config"]["params"]
    assert dotted(passed["communicationServiceId"]) == "communication.outputs.id"


def test_acs_data_location_is_a_parameter() -> None:
    path = INFRA_DIR / "core" / "communication.bicep"
    _, acs = the_resource(path, "Microsoft.Communication/communicationServices")
    assert resource_config(acs)["properties"]["dataLocation"] == "dataLocation"
    passed = module_of(MAIN_BICEP, path)["config"]["params"]
    assert passed["dataLocation"] == "acsDataLocation"
    outputs = template(path)["outputs"]
    assert dotted(outputs["hostName"]["value"]) == "communication.properties.hostName"
    assert dotted(outputs["immutableResourceId"]["value"]) == (
        "communication.properties.immutableResourceId"
    )


def test_function_app_is_tagged_for_the_azd_service() -> None:
    tags = json.dumps(module_of(MAIN_BICEP, FUNCTION_APP)["config"]["params"]["tags"])
    assert "'azd-service-name'" in tags and '"api"' in tags
