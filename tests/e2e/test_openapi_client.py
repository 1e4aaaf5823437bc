"""A client generated from the served document (openapi-python-client, pinned in
requirements-dev.txt) round-trips a create-call request against the running stack: the request is
built with the generated models, the 201 is parsed by them, and so are a read and a problem."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.e2e.conftest import App, acs_user, pstn

PACKAGE = "generated_acs_client"


@pytest.fixture(scope="module")
def client_package(app: App, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    work = tmp_path_factory.mktemp("openapi-client")
    document = work / "openapi.json"
    document.write_text(app.request("GET", "openapi.json").text, encoding="utf-8")
    config = work / "config.json"
    config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [str(generator), "generate", "--path", str(document), "--config", str(config),
         "--meta", "none", "--output-path", str(work / PACKAGE)],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout  # nothing of the document was skipped
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def generated(package: ModuleType, module: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{module}")


def test_generated_client_round_trips_a_create_call(app: App, client_package: ModuleType) -> None:
    models = generated(client_package, "models")
    create_call = generated(client_package, "api.default.create_call")
    get_call = generated(client_package, "api.default.get_call")
    client = client_package.AuthenticatedClient(
        base_url=app.stack.app_url, token=app.stack.function_key, prefix="",
        auth_header_name="x-functions-key", raise_on_unexpected_status=True)
    user, phone = acs_user(), pstn()
    request = models.CreateCallRequest(
        targets=[models.IdentifierIn(communication_user_id=user["communicationUserId"]),
                 models.IdentifierIn(phone_number=phone["phoneNumber"])],
        source_caller_id_number="+14255550000", operation_context="generated-client")
    assert request.to_dict() == {"targets": [user, phone], "sourceCallerIdNumber": "+14255550000",
                                 "operationContext": "generated-client"}

    with client:
        response = create_call.sync_detailed(client=client, body=request)
        assert response.status_code == 201, response.content
        call = response.parsed
        assert isinstance(call, models.CallOut)
        assert call.to_dict() == json.loads(response.content)  # nothing lost or added in parsing
        assert call.direction is models.Direction.OUTBOUND
        assert isinstance(call.state, models.CallState)
        assert [t.raw_id for t in call.targets] == [user["communicationUserId"],
                                                   f"4:{phone['phoneNumber']}"]
        assert call.targets[1].kind is models.IdentifierKind.PHONENUMBER

        read = get_call.sync(call.call_connection_id, client=client)
        assert isinstance(read, models.CallOut)
        assert read.call_connection_id == call.call_connection_id

        refused = create_call.sync_detailed(
            client=client, body=models.CreateCallRequest(targets=[]))
        assert refused.status_code == 400
        assert isinstance(refused.parsed, models.ProblemOut)
        assert refused.parsed.status == 400
