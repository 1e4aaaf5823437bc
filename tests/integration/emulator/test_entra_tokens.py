"""The emulator's stand-in Entra ID tenant: its tokens pass the app's own caller check, which
fetches the key set over HTTP, as it fetches the tenant's in Azure."""

from __future__ import annotations

import pytest

from callcontrol.adapters.caller_auth import connect_caller_tokens
from callcontrol.domain.access import ActorKind, Role
from callcontrol.domain.errors import Unauthenticated
from emulator import EmulatorThread
from tests.support.http import call_json

AUDIENCE = "api://call-control-local"  # what the local stack sets (tools/stack.py)


def mint(emulator: EmulatorThread, **body: object) -> str:
    reply = call_json(f"{emulator.base_url}/emulator/entra/token", "POST", body)
    assert reply.status == 200, reply.text
    return f"Bearer {reply.json()['access_token']}"


async def test_a_minted_token_names_its_caller_with_its_roles(emulator: EmulatorThread) -> None:
    tokens = connect_caller_tokens(issuers=[f"{emulator.base_url}/emulator/entra/v2.0"],
                                   audiences=[AUDIENCE],
                                   jwks_url=f"{emulator.base_url}/emulator/entra/keys")
    actor = await tokens.actor(mint(emulator, roles=["calls.read", "rules.write"], name="billing"))
    assert (actor.kind, actor.name) == (ActorKind.APP, "billing")
    assert actor.roles == frozenset({Role.CALLS_READ, Role.RULES_WRITE})
    again = await tokens.actor(mint(emulator, roles=[], name="billing"))
    assert again.id == actor.id  # one name, one principal, as a managed identity keeps its id
    with pytest.raises(Unauthenticated, match="audience"):
        await tokens.actor(mint(emulator, roles=["calls.read"], audience="api://another"))


def test_a_malformed_request_is_refused(emulator: EmulatorThread) -> None:
    reply = call_json(f"{emulator.base_url}/emulator/entra/token", "POST", {"roles": "calls.read"})
    assert reply.status == 400
