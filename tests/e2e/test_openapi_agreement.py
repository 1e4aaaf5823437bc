"""The document agrees with the server: what its request schemas allow, the stack accepts; what
they forbid, the stack refuses with a 400 problem.

Each case is checked twice: against the served document's schema (so the table cannot claim what
the document does not say) and against the running stack. "Refused" is a 400 problem naming a
field, produced by our validation; "accepted" is anything else below 500 (a 404 for an unknown
invitation is past validation). The cases are the classes schemathesis found (empty identifier
members, an action without `type`), the edges of every bound, and unknown fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest

from tests.e2e.conftest import App, acs_user, encoded, eventually, pstn
from tests.support.http import Reply

CALLER = "+14255550000"


@dataclass(frozen=True)
class Case:
    name: str
    body: Any
    allowed: bool


def _targets(*targets: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"targets": list(targets), **extra}


def create_cases() -> list[Case]:
    user = acs_user()
    return [
        Case("1:1 ACS user", _targets(user), True),
        Case("group with a phone", _targets(acs_user(), pstn(), sourceCallerIdNumber=CALLER), True),
        Case("raw id of a phone", _targets({"rawId": f"4:{pstn()['phoneNumber']}"},
                                          sourceCallerIdNumber=CALLER), True),
        Case("raw id of an ACS user", _targets({"rawId": acs_user()["communicationUserId"]}), True),
        Case("20 targets", _targets(*(acs_user() for _ in range(20))), True),
        Case("operationContext of 512", _targets(acs_user(), operationContext="x" * 512), True),
        Case("display name of 256", _targets(acs_user(), sourceDisplayName="n" * 256), True),
        Case("empty communicationUserId", _targets({"communicationUserId": ""}), False),
        Case("communicationUserId not 8:acs:", _targets({"communicationUserId": "bob"}), False),
        Case("empty phoneNumber", _targets({"phoneNumber": ""}, sourceCallerIdNumber=CALLER), False),
        Case("phoneNumber not E.164", _targets({"phoneNumber": "0123"}, sourceCallerIdNumber=CALLER),
             False),
        Case("empty rawId", _targets({"rawId": ""}), False),
        Case("phone rawId not E.164", _targets({"rawId": "4:+123"}, sourceCallerIdNumber=CALLER),
             False),
        Case("empty Teams user id", _targets({"microsoftTeamsUserId": ""}), False),
        Case("null member", _targets({"communicationUserId": None}), False),
        Case("empty identifier", _targets({}), False),
        Case("unknown identifier member", _targets({**user, "email": "a@b.c"}), False),
        Case("no targets", _targets(), False),
        Case("21 targets", _targets(*(acs_user() for _ in range(21))), False),
        Case("targets missing", {"operationContext": "x"}, False),
        Case("empty operationContext", _targets(acs_user(), operationContext=""), False),
        Case("operationContext of 513", _targets(acs_user(), operationContext="x" * 513), False),
        Case("display name of 257", _targets(acs_user(), sourceDisplayName="n" * 257), False),
        Case("caller id not E.164", _targets(acs_user(), sourceCallerIdNumber="555"), False),
        Case("unknown field", _targets(acs_user(), callback="http://x"), False),
        Case("not an object", [acs_user()], False),
    ]


def add_cases() -> list[Case]:
    return [
        Case("participant", {"participant": acs_user()}, True),
        Case("timeout 0", {"participant": acs_user(), "invitationTimeoutSeconds": 0}, True),
        Case("timeout 180", {"participant": acs_user(), "invitationTimeoutSeconds": 180}, True),
        Case("phone with caller id", {"participant": pstn(), "sourceCallerIdNumber": CALLER}, True),
        Case("timeout -1", {"participant": acs_user(), "invitationTimeoutSeconds": -1}, False),
        Case("timeout 181", {"participant": acs_user(), "invitationTimeoutSeconds": 181}, False),
        Case("timeout 1.5", {"participant": acs_user(), "invitationTimeoutSeconds": 1.5}, False),
        Case("timeout as text", {"participant": acs_user(), "invitationTimeoutSeconds": "5"}, False),
        Case("timeout true", {"participant": acs_user(), "invitationTimeoutSeconds": True}, False),
        Case("empty communicationUserId", {"participant": {"communicationUserId": ""}}, False),
        Case("participant missing", {"operationContext": "x"}, False),
    ]


def document_schema(document: dict[str, Any], path: str, method: str) -> jsonschema.Validator:
    body = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**body, "components": document["components"]})


def refused(reply: Reply) -> bool:
    """Our validation's answer: a 400 problem naming fields (not ACS's own 4xx, which has acsCode)."""
    if reply.status != 400:
        assert reply.status < 500, reply.text
        return False
    body = reply.json()
    if "acsCode" in body:  # ACS's own 400 passes through: the request was past our validation
        return False
    assert body["errors"], reply.text
    return True


def check(app: App, document: dict[str, Any], path: str, method: str, url: str,
          cases: list[Case]) -> None:
    schema = document_schema(document, path, method)
    disagreements = []
    for case in cases:
        assert schema.is_valid(case.body) == case.allowed, f"the document disagrees: {case.name}"
        reply = app.request(method.upper(), url, case.body)
        if refused(reply) == case.allowed:
            disagreements.append((case.name, reply.status, reply.text))
    assert disagreements == []


@pytest.fixture(scope="module")
def document(app: App) -> dict[str, Any]:
    return dict(app.request("GET", "openapi.json").json())


def connected_call(app: App) -> str:
    created = app.request("POST", "calls", {"targets": [acs_user()]})
    assert created.status == 201, created.text
    call_id = str(created.json()["callConnectionId"])
    eventually(lambda: app.call(call_id)["state"] == "connected", what="connected")
    return call_id


def test_create_call_accepts_what_the_document_allows(app: App, document: dict[str, Any]) -> None:
    check(app, document, "/api/calls", "post", "calls", create_cases())


def test_add_participant_accepts_what_the_document_allows(app: App, document: dict[str, Any]) -> None:
    call_id = connected_call(app)
    check(app, document, "/api/calls/{callConnectionId}/participants", "post",
          f"calls/{call_id}/participants", add_cases())


def test_transfer_and_participant_actions(app: App, document: dict[str, Any]) -> None:
    call_id = connected_call(app)
    base = f"calls/{call_id}"
    refusals = [
        ("/api/calls/{callConnectionId}/transfer", "post", f"{base}/transfer",
         [Case("empty rawId", {"target": {"rawId": ""}}, False),
          Case("target missing", {}, False),
          Case("empty transferee member", {"target": acs_user(),
                                           "transferee": {"communicationUserId": ""}}, False)]),
        ("/api/calls/{callConnectionId}/hangup", "post", f"{base}/hangup",
         [Case("forEveryone as text", {"forEveryone": "yes"}, False)]),
        ("/api/calls/{callConnectionId}/invitations/{invitationId}", "delete",
         f"{base}/invitations/no-such-invitation",
         [Case("empty operationContext", {"operationContext": ""}, False),
          Case("unknown field", {"reason": "x"}, False),
          Case("operationContext", {"operationContext": "cancel-1"}, True)]),
    ]
    for path, method, url, cases in refusals:
        check(app, document, path, method, url, cases)
    # Last: an accepted transfer moves the call away from the app.
    check(app, document, "/api/calls/{callConnectionId}/transfer", "post", f"{base}/transfer",
          [Case("ACS user", {"target": acs_user()}, True)])


def test_path_and_query_parameters(app: App, document: dict[str, Any]) -> None:
    call_id = connected_call(app)
    user = acs_user()
    added = app.request("POST", f"calls/{call_id}/participants", {"participant": user})
    assert added.status == 202, added.text
    get_participant = document["paths"]["/api/calls/{callConnectionId}/participants/{rawId}"]["get"]
    mute = document["paths"]["/api/calls/{callConnectionId}/participants/{rawId}/mute"]["post"]
    raw_id = jsonschema.Draft202012Validator(_parameter(get_participant, "rawId"))
    mutable = jsonschema.Draft202012Validator(_parameter(mute, "rawId"))
    for value, allowed in [("4:+123", False), ("4:+14255550123", True), ("", False),
                           (user["communicationUserId"], True)]:
        assert raw_id.is_valid(value) == allowed, value
        if value:
            reply = app.request("GET", f"calls/{call_id}/participants/{encoded(value)}")
            assert refused(reply) != allowed, (value, reply.text)
    assert not mutable.is_valid("4:+14255550123")
    reply = app.request("POST", f"calls/{call_id}/participants/{encoded('4:+14255550123')}/mute")
    assert refused(reply), reply.text
    listing = document["paths"]["/api/calls"]["get"]
    states = _parameter(listing, "state")["enum"]
    directions = _parameter(listing, "direction")["enum"]
    for state in states:
        assert app.request("GET", f"calls?state={state}").status == 200, state
    for direction in directions:
        assert app.request("GET", f"calls?direction={direction}").status == 200, direction
    assert refused(app.request("GET", "calls?state=ringing")) and "ringing" not in states
    assert refused(app.request("GET", "calls?direction=sideways"))


def _parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(next(p["schema"] for p in operation["parameters"] if p["name"] == name))
