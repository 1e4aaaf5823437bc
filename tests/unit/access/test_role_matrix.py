"""Role matrix: every keyed management route x every kind of caller, in each MANAGEMENT_AUTH
mode, gets the status docs/security.md documents; the caller is in the history.

The routes come from the app (handlers._api.ROUTES), so a route added without a request here
or a row in the documented role map fails. The host's key check is devhost's (devhost/auth.py),
at the auth level the route gets in that mode; the rest runs through function_app.app.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import azure.functions as func
import pytest

from callcontrol.adapters.acs_gateway import AcsGateway
from callcontrol.adapters.store.calls import CallStore
from callcontrol.adapters.store.rules import RuleStore
from callcontrol.composition import Services, use_services
from callcontrol.domain.access import AuthMode
from callcontrol.domain.identifiers import Identifier, parse_strict_identifier
from callcontrol.domain.models import (
    AcsCall,
    CallRecord,
    CallState,
    Operation,
    OperationKind,
    OperationStatus,
    Participant,
)
from callcontrol.settings import load_settings
from devhost import auth as host
from handlers._access import host_auth_level
from handlers._api import ROUTES, RouteSpec
from handlers.wire.responses import OperationOut
from handlers.wire.rules_responses import RuleSetVersionOut
from tests.support.app import http_request, invoke
from tests.support.entra import TestTenant
from tests.support.memory_tables import MemoryTableBackend
from tests.unit.actions.support import FakeAcs

CALL = "call-roles-1"
INVITATION = "invitation-roles-1"
USER = {"communicationUserId": "8:acs:roles_user"}
RAW_USER = "8:acs:roles_user"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KEYS = host.HostKeys(function_key="the-function-key", master_key="the-master-key")
DOCS = Path(__file__).parents[3] / "docs" / "security.md"


class MatrixAcs(FakeAcs):
    """The actions' fake ACS, answering the reads and the create too."""

    async def create_call(self, targets: list[Identifier], **_: Any) -> AcsCall:
        return AcsCall("call-created-1", None, None, CallState.CONNECTING, tuple(targets),
                       None, None, None)

    async def get_call_properties(self, call_connection_id: str) -> AcsCall:
        return AcsCall(call_connection_id, None, None, CallState.CONNECTED, (), None, None, None)

    async def list_participants(self, call_connection_id: str) -> list[Participant]:
        return [Participant(parse_strict_identifier(USER, "test"))]

    async def get_participant(self, call_connection_id: str, who: Identifier) -> Participant:
        return Participant(who)


@dataclass(frozen=True)
class Call:
    path: str
    body: object = None
    route_params: dict[str, str] | None = None


ON_CALL = {"callConnectionId": CALL}
ON_USER = {"callConnectionId": CALL, "rawId": RAW_USER}
# One valid request per keyed route (an action on the stored connected call).
REQUESTS: dict[str, Call] = {
    "create_call": Call("calls", {"targets": [USER]}),
    "list_calls": Call("calls"),
    "get_call": Call(f"calls/{CALL}", route_params=ON_CALL),
    "get_call_events": Call(f"calls/{CALL}/events", route_params=ON_CALL),
    "hang_up": Call(f"calls/{CALL}/hangup", route_params=ON_CALL),
    "transfer_call": Call(f"calls/{CALL}/transfer", {"target": USER}, ON_CALL),
    "list_participants": Call(f"calls/{CALL}/participants", route_params=ON_CALL),
    "add_participant": Call(f"calls/{CALL}/participants", {"participant": USER}, ON_CALL),
    "get_participant": Call(f"calls/{CALL}/participants/{RAW_USER}", route_params=ON_USER),
    "remove_participant": Call(f"calls/{CALL}/participants/{RAW_USER}", route_params=ON_USER),
    "mute_participant": Call(f"calls/{CALL}/participants/{RAW_USER}/mute", route_params=ON_USER),
    "cancel_add_participant": Call(f"calls/{CALL}/invitations/{INVITATION}", route_params={
        "callConnectionId": CALL, "invitationId": INVITATION}),
    "ready": Call("ready"),
    "get_rules": Call("rules"),
    "put_rules": Call("rules", {"rules": [], "defaultAction": {"type": "answer"}}),
    "list_rule_versions": Call("rules/versions"),
    "get_rule_version": Call("rules/versions/0", route_params={"version": "0"}),
    "evaluate_rules": Call("rules/evaluate", {"to": {"rawId": "4:+14255550100"}}),
}
# Offline, readiness fails its probes (no ACS, no settings): admitted all the same.
ADMITTED_STATUS = {"ready": 503}
KEYED = [spec for spec in ROUTES if spec.role is not None]


def documented_roles() -> dict[str, str]:
    """The role map table of docs/security.md: | `name` | METHOD /api/route | role |."""
    rows = re.findall(r"^\| `(\w+)` \| (?:GET|POST|PUT|DELETE) \S+ \| `([\w.]+)` \|", DOCS.read_text(),
                      flags=re.M)
    return dict(rows)


def test_every_keyed_route_has_a_request_and_a_documented_role() -> None:
    assert {spec.name for spec in KEYED} == set(REQUESTS)
    assert {spec.name: spec.role.value for spec in KEYED if spec.role} == documented_roles()


def test_every_function_key_route_of_the_app_names_a_role() -> None:
    from tests.support.app import indexed  # the app as the host indexes it
    keyed = {f.get_function_name() for f in indexed()
             if any(str(b.get("authLevel")) == "FUNCTION" for b in f.get_bindings_dict()["bindings"])}
    assert keyed, "no keyed function found: the check would hold for nothing"
    assert keyed <= set(REQUESTS)


# --- the callers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Caller:
    name: str
    key: str | None
    token: str | None  # "right", "wrong-role", "wrong-audience" or None


def callers(mode: AuthMode) -> list[Caller]:
    base = [Caller("no credential", None, None),
            Caller("wrong audience", None, "wrong-audience"),
            Caller("wrong role", None, "wrong-role"),
            Caller("right role", None, "right"),
            Caller("function key", KEYS.function_key, None)]
    if mode is not AuthMode.KEYS:  # where the host wants the key, token callers hold it too
        base += [Caller(f"key + {c.name}", KEYS.function_key, c.token) for c in base[1:4]]
    return base


def expected(mode: AuthMode, caller: Caller, spec: RouteSpec) -> int:
    """The documented status (docs/security.md#management-api-callers)."""
    success = ADMITTED_STATUS.get(spec.name, spec.success)
    if mode is AuthMode.KEYS:  # keys only: the host decides, tokens are not looked at
        return success if caller.key else 401
    keyed = mode is AuthMode.BOTH or spec.keyed_always  # the host wants the key
    if keyed and caller.key is None:
        return 401  # the host's own refusal
    if caller.token == "right":
        return success
    if caller.token == "wrong-role":
        return 403
    if caller.token == "wrong-audience":
        return 401
    return success if keyed else 401  # a key alone: both yes, entra no (but where kept keyed)


WRONG_ROLE = {"calls.read": "rules.write", "calls.control": "calls.read",
              "rules.read": "calls.control", "rules.write": "rules.read"}


@dataclass
class World:
    tenant: TestTenant
    backend: MemoryTableBackend
    acs: MatrixAcs

    async def send(self, mode: AuthMode, spec: RouteSpec, caller: Caller,
                   oid: str) -> tuple[int, func.HttpResponse | None]:
        level = host_auth_level(spec.auth_level, mode,
                                keyed_always=spec.keyed_always).value.lower()
        if not host.is_authorized(level, caller.key, KEYS):
            return 401, None  # the host answers; the app never runs
        assert spec.role is not None
        headers: dict[str, str] = {}
        if caller.key:
            headers[host.KEY_HEADER] = caller.key
        if caller.token == "right":
            headers["Authorization"] = self.tenant.token(spec.role.value, oid=oid,
                                                         app_displayname="billing-service")
        elif caller.token == "wrong-role":
            headers["Authorization"] = self.tenant.token(WRONG_ROLE[spec.role.value], oid=oid)
        elif caller.token == "wrong-audience":
            headers["Authorization"] = self.tenant.token(spec.role.value, oid=oid,
                                                         audience="api://another-api")
        request = REQUESTS[spec.name]
        response = await invoke(spec.name, http_request(
            spec.method, request.path, body=request.body, headers=headers,
            route_params=request.route_params))
        return response.status_code, response


@pytest.fixture
def world() -> World:
    return World(TestTenant(), MemoryTableBackend(), MatrixAcs())


def wired(world: World, mode: AuthMode) -> Iterator[None]:
    settings = load_settings({"MANAGEMENT_AUTH": mode.value})
    return use_services(lambda: Services(settings, backend=world.backend,
                                         gateway=cast(AcsGateway, world.acs),
                                         caller_tokens=world.tenant.caller_tokens()))


async def store_call(world: World) -> None:
    earlier_add = Operation("add-earlier", OperationKind.ADD_PARTICIPANT, OperationStatus.PENDING,
                            NOW, invitation_id=INVITATION)  # the invitation a cancel names
    await CallStore(world.backend).modify(
        CALL, lambda _: CallRecord(CALL, state=CallState.CONNECTED, created_at=NOW,
                                   updated_at=NOW, operations=(earlier_add,)))


MATRIX = [(mode, spec, caller) for mode in AuthMode for spec in KEYED for caller in callers(mode)]


@pytest.mark.parametrize(("mode", "spec", "caller"), MATRIX,
                         ids=[f"{m.value}-{s.name}-{c.name}" for m, s, c in MATRIX])
async def test_role_matrix(world: World, mode: AuthMode, spec: RouteSpec, caller: Caller) -> None:
    await store_call(world)
    oid = "3f1c0e52-0000-4000-8000-00000000c0de"
    with wired(world, mode):
        status, response = await world.send(mode, spec, caller, oid)
        want = expected(mode, caller, spec)
        assert status == want, response.get_body() if response else "the host refused"
        if response is not None and status in (401, 403):
            assert response.mimetype == "application/problem+json"
        if status == want and want < 400 and spec.method != "GET":
            named = caller.token == "right" and mode is not AuthMode.KEYS
            await assert_actor_recorded(world, spec, oid if named else None)


async def assert_actor_recorded(world: World, spec: RouteSpec, oid: str | None) -> None:
    """The operation (or rule set version) the request made names its caller, as the API
    shows it (the versions list, the call's operations)."""
    kind, who = ("app", oid) if oid else ("key", "function-key")
    if spec.name == "put_rules":
        [version] = await RuleStore(world.backend).versions()
        assert version.actor is not None
        actor = RuleSetVersionOut.model_validate(version.summary()).model_dump(mode="json")["savedBy"]
    elif spec.name == "evaluate_rules":
        return  # a dry run changes nothing
    else:
        call = "call-created-1" if spec.name == "create_call" else CALL
        record = await CallStore(world.backend).find(call)
        assert record is not None
        newest = max((op for op in record.operations if op.context != "add-earlier"),
                     key=lambda op: op.requested_at or NOW)
        actor = OperationOut.model_validate(newest.to_json()).model_dump(mode="json")["actor"]
    assert (actor["kind"], actor["id"]) == (kind, who)
    if oid:
        assert actor.get("name") == "billing-service"


def test_the_host_indexes_keyed_routes_by_the_mode() -> None:
    """What the host (and devhost, which reads the same bindings) sees when it indexes the app
    under each mode: a fresh interpreter, since the levels are fixed at import."""
    import json
    import os
    import subprocess
    import sys

    probe = ("import json; from function_app import app; print(json.dumps({f.get_function_name(): "
             "[str(b.get('authLevel')) for b in f.get_bindings_dict()['bindings'] if 'authLevel' in b]"
             " for f in app.get_functions()}))")
    root = Path(__file__).parents[3]
    for mode, level in (("entra", "ANONYMOUS"), ("both", "FUNCTION"), ("keys", "FUNCTION"),
                        ("nonsense", "FUNCTION")):
        env = {**os.environ, "MANAGEMENT_AUTH": mode}
        out = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, check=True,
                             capture_output=True, text=True).stdout
        levels = json.loads(out.strip().splitlines()[-1])
        assert {levels[spec.name][0] for spec in KEYED if not spec.keyed_always} == {level}, mode
        assert levels["ready"] == ["FUNCTION"]  # kept keyed: the deployment hook holds a key
        assert levels["health"] == ["ANONYMOUS"] and levels["callbacks"] == ["ANONYMOUS"]
