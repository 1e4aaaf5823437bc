"""The OpenAPI document: valid 3.1, generated from the same declarations the app serves."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from callcontrol.domain.models import CallState, Direction
from handlers.openapi import openapi_document
from tests.support.app import http_request, indexed, invoke, json_body


async def test_document_is_served_and_valid() -> None:
    response = await invoke("openapi", http_request("GET", "openapi.json"))
    document = json_body(response)
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_http_route_of_the_app_is_documented() -> None:
    paths = openapi_document()["paths"]
    served = {
        (f"/api/{f.get_trigger().route}", str(m.value if hasattr(m, "value") else m).lower())
        for f in indexed() if f.get_trigger().type == "httpTrigger"
        for m in f.get_trigger().methods
    }
    documented = {(path, method) for path, ops in paths.items() for method in ops}
    assert served == documented


def test_every_operation_that_can_fail_declares_its_4xx_as_problems() -> None:
    # Stands in for Redocly's operation-4xx-response, off in redocly.yaml for the two that cannot.
    document = openapi_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if (path, method) in {("/api/health", "get"), ("/api/openapi.json", "get")}:
                assert list(responses) == ["200"]
                continue
            client_errors = [s for s in responses if s.startswith("4")]
            assert client_errors, (path, method)
            for status in client_errors:
                content = responses[status].get("content")
                keyed = "functionKey" in str(operation["security"]) or (
                    "masterKey" in str(operation["security"]))
                if status == "401" and keyed:
                    assert content is None, "the host's 401 has an empty body"
                else:
                    assert list(content) == ["application/problem+json"], (path, method, status)
            assert "default" in responses


def test_servers_security_and_enums() -> None:
    document = openapi_document()
    assert document["servers"] == [{"url": "/", "description": document["servers"][0]["description"]}]
    callbacks = document["paths"]["/api/callbacks"]["post"]
    assert callbacks["security"] == [{"acsCallbackToken": []}]
    assert callbacks["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CallbackBatch")
    assert document["paths"]["/api/health"]["get"]["security"] == []
    schemas = document["components"]["schemas"]
    assert schemas["CallState"]["enum"] == [s.value for s in CallState]
    assert schemas["CallOut"]["properties"]["direction"]["$ref"].endswith("/Direction")
    assert schemas["Direction"]["enum"] == [d.value for d in Direction]
    listing = {p["name"]: p["schema"] for p in document["paths"]["/api/calls"]["get"]["parameters"]}
    assert listing["state"]["enum"] == [s.value for s in CallState]
    assert "incoming_call" not in json.dumps(document["paths"])  # Event Grid's, not an HTTP route


def test_request_schemas_refuse_unknown_fields() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["CreateCallRequest"]["additionalProperties"] is False
    timeout = schemas["AddParticipantRequest"]["properties"]["invitationTimeoutSeconds"]
    assert {"minimum": 0, "maximum": 180}.items() <= next(
        s for s in timeout["anyOf"] if s.get("type") == "integer").items()


def test_put_rules_documents_its_if_match_header() -> None:
    put = openapi_document()["paths"]["/api/rules"]["put"]
    assert "If-Match" in [p["name"] for p in put["parameters"] if p["in"] == "header"]


def test_the_listing_documents_its_paging() -> None:
    operation = openapi_document()["paths"]["/api/calls"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
    assert "connected" in parameters["state"]["enum"]
    assert parameters["since"]["format"] == parameters["until"]["format"] == "date-time"
    assert parameters["continuationToken"] == {"type": "string"}
    listed = openapi_document()["components"]["schemas"]["CallListOut"]["properties"]
    assert {"value", "continuationToken", "next"} <= set(listed)


def test_ready_documents_its_503_with_the_report() -> None:
    responses = openapi_document()["paths"]["/api/ready"]["get"]["responses"]
    assert responses["503"]["content"] == responses["200"]["content"]


def test_the_job_route_asks_for_the_master_key() -> None:
    document = openapi_document()
    run_job = document["paths"]["/api/jobs/{job}"]["post"]
    assert run_job["security"] == [{"masterKey": []}]
    assert document["components"]["securitySchemes"]["masterKey"]["name"] == "x-functions-key"
    [job] = [p for p in run_job["parameters"] if p["name"] == "job"]
    assert job["schema"]["enum"] == ["outbox", "reconciler", "retention"]
