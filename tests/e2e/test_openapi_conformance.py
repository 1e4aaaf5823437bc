"""Real responses validate against the response schemas of GET /api/openapi.json, so the
document and the wire cannot drift apart."""

from __future__ import annotations

from typing import Any

import jsonschema

from tests.e2e.conftest import App, acs_user, encoded, eventually, pstn


def validator(document: dict[str, Any], path: str, method: str, status: str) -> Any:
    content = document["paths"][path][method]["responses"][status]["content"]
    schema = next(iter(content.values()))["schema"]
    # Embed the components so the document's own "#/components/…" references resolve.
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def test_responses_match_the_documented_schemas(app: App) -> None:
    document = app.request("GET", "openapi.json").json()
    user, phone = acs_user(), pstn()
    created = app.request("POST", "calls", {"targets": [user, phone],
                                            "sourceCallerIdNumber": "+14255550000"})
    call_schema = validator(document, "/api/calls", "post", "201")
    call_schema.validate(created.json())
    assert not call_schema.is_valid({**created.json(), "surprise": 1}), "the schemas are strict"
    call_id = created.json()["callConnectionId"]
    eventually(lambda: app.call(call_id)["state"] == "connected", what="connected")
    checks = [
        ("/api/calls/{callConnectionId}", "get", "200", app.request("GET", f"calls/{call_id}")),
        ("/api/calls", "get", "200", app.request("GET", "calls")),
        ("/api/calls/{callConnectionId}/events", "get", "200",
         app.request("GET", f"calls/{call_id}/events")),
        ("/api/calls/{callConnectionId}/participants", "get", "200",
         app.request("GET", f"calls/{call_id}/participants")),
        ("/api/calls/{callConnectionId}/participants/{rawId}", "get", "200",
         app.request("GET", f"calls/{call_id}/participants/{encoded(user['communicationUserId'])}")),
        ("/api/calls/{callConnectionId}/participants", "post", "202",
         app.request("POST", f"calls/{call_id}/participants", {"participant": acs_user()})),
        ("/api/rules", "get", "200", app.request("GET", "rules")),
        ("/api/calls/{callConnectionId}/hangup", "post", "202",
         app.request("POST", f"calls/{call_id}/hangup", {"forEveryone": True})),
    ]
    for path, method, status, reply in checks:
        assert str(reply.status) == status, (path, reply.text)
        validator(document, path, method, status).validate(reply.json())
    problem = app.request("GET", "calls?state=nonsense")
    validator(document, "/api/calls", "get", "400").validate(problem.json())
