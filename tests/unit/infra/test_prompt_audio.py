"""Audio-file prompts (infra/core/prompt-audio.bicep): an opt-in storage account of its own whose one
container ACS reads without credentials; nothing else is readable anonymously, nothing takes a
key, and the deployment's own storage keeps anonymous access off."""

from __future__ import annotations

import json
from typing import Any

from pycep import BicepParser

from tests.unit.infra.bicep_model import (
    INFRA_DIR,
    MAIN_BICEP,
    module_of,
    resource_config,
    template,
    the_resource,
)

AUDIO = INFRA_DIR / "core" / "prompt-audio.bicep"
STORAGE = INFRA_DIR / "core" / "storage.bicep"
ACCOUNT = "Microsoft.Storage/storageAccounts"
CONTAINER = "Microsoft.Storage/storageAccounts/blobServices/containers"


def audio_problems(parsed: dict[str, Any]) -> list[str]:
    """Anything beyond 'anyone may read a named prompt file over HTTPS'."""
    resources = [r for r in parsed.get("resources", {}).values() if not r["existing"]]
    accounts = [resource_config(r)["properties"] for r in resources if r["type"] == ACCOUNT]
    containers = [resource_config(r)["properties"] for r in resources if r["type"] == CONTAINER]
    if len(accounts) != 1 or len(containers) != 1:
        return [f"expected one account and one container, found {len(accounts)}, {len(containers)}"]
    [account], [container] = accounts, containers
    expected = {"allowSharedKeyAccess": False, "minimumTlsVersion": "TLS1_2",
                "supportsHttpsTrafficOnly": True, "allowCrossTenantReplication": False}
    problems = [f"{name} is {account.get(name)!r}, expected {value!r}"
                for name, value in expected.items() if account.get(name) != value]
    if container.get("publicAccess") != "Blob":
        problems.append(f"publicAccess is {container.get('publicAccess')!r}: 'Blob' reads a named "
                        "file; 'Container' would also list every file")
    others = sorted({r["type"] for r in resources} - {ACCOUNT, CONTAINER,
                                                       "Microsoft.Storage/storageAccounts/blobServices"})
    if others:
        problems.append(f"the account holds more than prompts: {others}")
    return problems


def test_the_audio_account_serves_named_files_and_takes_no_key() -> None:
    assert audio_problems(template(AUDIO)) == []


def test_the_check_catches_a_listable_container_and_shared_keys() -> None:
    text = AUDIO.read_text()
    broken = (text.replace("publicAccess: 'Blob'", "publicAccess: 'Container'")
              .replace("allowSharedKeyAccess: false", "allowSharedKeyAccess: true"))
    assert broken != text
    assert len(audio_problems(dict(BicepParser().parse(text=broken)))) == 2


def test_it_is_opt_in_and_the_deployment_storage_stays_private() -> None:
    main = template(MAIN_BICEP)
    assert module_of(MAIN_BICEP, AUDIO)["condition"] == "enableAudioPromptStorage"
    assert main["parameters"]["enableAudioPromptStorage"]["default"] is False
    given = json.loads((INFRA_DIR / "main.parameters.json").read_text())["parameters"]
    assert given["enableAudioPromptStorage"]["value"] == "${AUDIO_PROMPT_STORAGE=false}"
    _, account = the_resource(STORAGE, ACCOUNT)
    assert resource_config(account)["properties"]["allowBlobPublicAccess"] is False
    for resource in template(STORAGE)["resources"].values():
        if resource["type"] == CONTAINER:
            assert resource_config(resource)["properties"]["publicAccess"] == "None"


def test_the_base_url_is_an_azd_output() -> None:
    output = template(MAIN_BICEP)["outputs"]["AUDIO_PROMPTS_BASE_URL"]["value"]["operator"]
    assert output["operands"]["condition"] == "enableAudioPromptStorage"
    base = template(AUDIO)["outputs"]["baseUrl"]["value"]
    assert base == "${audio.properties.primaryEndpoints.blob}${prompts.name}/"
