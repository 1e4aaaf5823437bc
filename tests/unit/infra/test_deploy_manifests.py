"""azure.yaml and host.json validate against the shared schemas and say what deployment needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.unit.infra.bicep_model import REPO_ROOT, shared_dir

AZURE_YAML = REPO_ROOT / "azure.yaml"
HOST_JSON = REPO_ROOT / "host.json"


def schema(name: str) -> dict[str, Any]:
    path = shared_dir() / "schemas" / name
    if not path.is_file():
        pytest.skip(
            f"{path} is absent: the shared schemas are needed (set ACS_SHARED_DIR)"
        )
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def validation_errors(document: Any, against: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(against)
    validator_class.check_schema(against)
    validator = validator_class(against)
    return [
        f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)
    ]


def azure_yaml() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(AZURE_YAML.read_text())
    return loaded


def test_azure_yaml_matches_the_azd_schema() -> None:
    assert validation_errors(azure_yaml(), schema("azure.yaml.json")) == []


def test_host_json_matches_the_host_schema() -> None:
    assert (
        validation_errors(
            json.loads(HOST_JSON.read_text()), schema("host.json.schema.json")
        )
        == []
    )


def test_schema_check_rejects_a_malformed_manifest() -> None:
    # The validation must be able to fail: a hook with an unknown shell is refused.
    broken = azure_yaml()
    broken["hooks"]["postdeploy"]["posix"]["shell"] = "fish"
    assert validation_errors(broken, schema("azure.yaml.json")) != []


def test_azure_yaml_deploys_one_python_function_app() -> None:
    services = azure_yaml()["services"]
    assert list(services) == ["api"]
    assert services["api"]["host"] == "function"
    assert services["api"]["language"] == "python"
    assert (REPO_ROOT / services["api"]["project"]).resolve() == REPO_ROOT


def test_azure_yaml_hooks_point_at_existing_scripts() -> None:
    postdeploy = azure_yaml()["hooks"]["postdeploy"]
    assert postdeploy["posix"]["shell"] == "sh"
    assert postdeploy["windows"]["shell"] == "pwsh"
    for platform in ("posix", "windows"):
        script = REPO_ROOT / Path(postdeploy[platform]["run"])
        assert script.is_file(), script


def test_host_json_keeps_the_contract_the_app_relies_on() -> None:
    host = json.loads(HOST_JSON.read_text())
    assert host["version"] == "2.0"
    assert host["extensions"]["http"]["routePrefix"] == "api"
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.*, 5.0.0)",
    }
    assert "logging" in host
