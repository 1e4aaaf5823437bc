"""JSON Schemas built at run time from the official swagger files in ../shared (no hand copy).

Swagger 2.0 definitions are draft-4 schemas with `x-ms-*` extensions the validator ignores;
cross-file `$ref`s are resolved by giving each document the URI it has in azure-rest-api-specs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPECS = "https://specs.invalid/specification/"
CALL_AUTOMATION = SPECS + "communication/data-plane/CallAutomation/stable/2026-03-12/ca.json"
COMMON = SPECS + "communication/data-plane/Common/stable/2025-06-30/common.json"
# The Event Grid definitions point at an older common.json of the same identifier shape.
COMMON_2023 = SPECS + "communication/data-plane/Common/stable/2023-11-15/common.json"
EVENTGRID_ACS = SPECS + "eventgrid/data-plane/Microsoft.Communication/stable/2018-01-01/acs.json"
EVENTGRID = SPECS + "eventgrid/data-plane/Microsoft.EventGrid/stable/2018-01-01/EventGrid.json"
# Live callbacks carry these in `data`; the swagger event models do not (contract §4, §9).
LIVE_ONLY_DATA_FIELDS = ("version", "publicEventType")


class Swagger:
    def __init__(self, contract: Path) -> None:
        def load(relative: str) -> Any:
            return json.loads((contract / relative).read_text())

        common = load("spec/communication-common.2025-06-30.json")
        documents = {
            CALL_AUTOMATION: load("spec/communicationservicescallautomation.2026-03-12.json"),
            COMMON: common,
            COMMON_2023: common,
            EVENTGRID_ACS: load("events/schema/eventgrid-AcsIncomingCallEventData.json"),
            EVENTGRID: load("spec/eventgrid-EventGrid.2018-01-01.json"),
        }
        self.spec = documents[CALL_AUTOMATION]
        self._registry: Registry[Any] = Registry().with_resources(
            (uri, Resource(contents=doc, specification=DRAFT4)) for uri, doc in documents.items()
        )

    def validate(self, instance: Any, definition: str, document: str = CALL_AUTOMATION) -> None:
        schema = {"$ref": f"{document}#/definitions/{definition}"}
        jsonschema.Draft4Validator(schema, registry=self._registry).validate(instance)

    def response_definition(self, path: str, method: str, status: int) -> str | None:
        """The definition the swagger names for one operation's success response."""
        response = self.spec["paths"][path][method.lower()]["responses"][str(status)]
        schema = response.get("schema")
        if schema is None:
            return None
        ref: str = schema["$ref"]
        return ref.rsplit("/", 1)[-1]

    def validate_callback(self, event: dict[str, Any]) -> None:
        """A callback CloudEvent: the envelope, then `data` against the event's own definition."""
        jsonschema.Draft4Validator(
            {"$ref": f"{EVENTGRID}#/definitions/CloudEventEvent"}, registry=self._registry
        ).validate(event)
        name = event["type"].removeprefix("Microsoft.Communication.")
        data = {k: v for k, v in event["data"].items() if k not in LIVE_ONLY_DATA_FIELDS}
        self.validate(data, name)

    def validate_incoming_call(self, event: dict[str, Any]) -> None:
        jsonschema.Draft4Validator(
            {"$ref": f"{EVENTGRID}#/definitions/EventGridEvent"}, registry=self._registry
        ).validate(event)
        self.validate(event["data"], "AcsIncomingCallEventData", EVENTGRID_ACS)
