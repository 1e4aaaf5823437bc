"""The settings the code declares (callcontrol.settings.SETTINGS) against what infra provides."""

from __future__ import annotations

import pytest

from callcontrol.settings import SETTINGS, Where
from tests.unit.infra.bicep_model import (
    INFRA_DIR,
    MAIN_BICEP,
    app_settings,
    dotted,
    module_of,
    template,
)

FUNCTION_APP = INFRA_DIR / "app" / "function-app.bicep"
COMMUNICATION = INFRA_DIR / "core" / "communication.bicep"
STORAGE = INFRA_DIR / "core" / "storage.bicep"

# Settings read by the Functions host itself, not by the app's code.
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "PYTHON_ENABLE_OPENTELEMETRY",
}


def test_infra_provides_every_setting_the_code_requires_from_it() -> None:
    provided = set(app_settings())
    required = {spec.name for spec in SETTINGS if spec.where is Where.INFRA}
    assert required, "the settings module declares no infra settings"
    assert required - provided == set()


def test_infra_never_provides_local_only_settings() -> None:
    provided = set(app_settings())
    local_only = {spec.name for spec in SETTINGS if spec.where is Where.LOCAL_ONLY}
    assert local_only & provided == set()


def test_every_provided_setting_is_declared_by_the_code_or_the_platform() -> None:
    declared = {spec.name for spec in SETTINGS} | PLATFORM_SETTINGS
    assert set(app_settings()) - declared == set()


def test_host_storage_is_identity_based() -> None:
    settings = app_settings()
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert settings["AzureWebJobsStorage__accountName"] == "storageAccountName"


def test_identity_settings_carry_the_user_assigned_client_id() -> None:
    settings = app_settings()
    for name in ("AZURE_CLIENT_ID", "CallStateStorage__clientId"):
        assert settings[name] == "identityClientId", name
    passed = module_of(MAIN_BICEP, FUNCTION_APP)["config"]["params"]
    assert dotted(passed["identityClientId"]) == "identity.outputs.clientId"
    assert dotted(passed["identityId"]) == "identity.outputs.id"


def identity_problems(settings: dict[str, object]) -> list[str]:
    """The app's own credential is pinned to the user-assigned identity, and CallStateStorage
    follows the Functions identity-connection convention (URI + managedidentity + client id)."""
    expected = {
        "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
        "AZURE_CLIENT_ID": "identityClientId",
        "CallStateStorage__tableServiceUri": "tableEndpoint",
        "CallStateStorage__credential": "managedidentity",
        "CallStateStorage__clientId": "identityClientId",
    }
    return [f"{name} is {settings.get(name)!r}, expected {value!r}"
            for name, value in expected.items() if settings.get(name) != value]


def test_credentials_are_deterministic_in_azure() -> None:
    assert identity_problems(app_settings()) == []


@pytest.mark.parametrize("name", ["AZURE_TOKEN_CREDENTIALS", "CallStateStorage__credential",
                                  "CallStateStorage__clientId"])
def test_identity_check_catches_a_missing_setting(name: str) -> None:
    broken = {k: v for k, v in app_settings().items() if k != name}
    assert identity_problems(broken) != []


def test_table_uri_is_the_storage_table_endpoint() -> None:
    assert app_settings()["CallStateStorage__tableServiceUri"] == "tableEndpoint"
    passed = module_of(MAIN_BICEP, FUNCTION_APP)["config"]["params"]
    assert dotted(passed["tableEndpoint"]) == "storage.outputs.tableEndpoint"
    output = template(STORAGE)["outputs"]["tableEndpoint"]["value"]
    assert dotted(output) == "storage.properties.primaryEndpoints.table"


def test_acs_settings_come_from_the_acs_resource() -> None:
    settings = app_settings()
    assert settings["ACS_ENDPOINT"] == "https://${acsHostName}"
    assert settings["ACS_RESOURCE_ID"] == "acsImmutableResourceId"
    passed = module_of(MAIN_BICEP, FUNCTION_APP)["config"]["params"]
    assert dotted(passed["acsHostName"]) == "communication.outputs.hostName"
    assert (
        dotted(passed["acsImmutableResourceId"])
        == "communication.outputs.immutableResourceId"
    )


def test_callback_base_url_is_the_app_default_host_name() -> None:
    assert (
        app_settings()["CALLBACK_BASE_URL"]
        == "https://${functionApp.properties.defaultHostName}"
    )


def test_default_caller_id_is_only_set_when_given() -> None:
    # DEFAULT_CALLER_ID is optional: an empty parameter leaves it unset (not set to "").
    function_app = template(FUNCTION_APP)
    assert "DEFAULT_CALLER_ID" in app_settings()
    assert function_app["parameters"]["defaultCallerId"]["type"] == "string"
    assert template(MAIN_BICEP)["parameters"]["defaultCallerId"]["default"] == ""
