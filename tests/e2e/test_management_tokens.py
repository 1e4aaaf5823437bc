"""Management callers through the whole stack with MANAGEMENT_AUTH=entra: devhost makes the
routes anonymous as the host would, the emulator's stand-in tenant mints the tokens, the app
checks them against its key set over HTTP and names the caller in the history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import E2E_TIMER_SETTINGS, acs_user
from tests.support.http import Reply, call_json
from tools.stack import Stack, start_stack

RULES = {"rules": [], "defaultAction": {"type": "answer"}}


@pytest.fixture(scope="module")
def entra_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(log_dir=tmp_path_factory.mktemp("entra-stack-logs"),
                          app_overrides={**E2E_TIMER_SETTINGS, "MANAGEMENT_AUTH": "entra"})
    try:
        yield running
    finally:
        running.stop()


def token(stack: Stack, *roles: str, name: str = "billing", **extra: Any) -> str:
    reply = call_json(f"{stack.emulator_url}/emulator/entra/token", "POST",
                      {"roles": list(roles), "name": name, **extra})
    assert reply.status == 200, reply.text
    return f"Bearer {reply.json()['access_token']}"


def api(stack: Stack, method: str, path: str, payload: object = None,
        **headers: str) -> Reply:
    return call_json(f"{stack.app_url}/api/{path}", method, payload, headers)


def test_who_gets_in(entra_stack: Stack) -> None:
    assert api(entra_stack, "GET", "calls").status == 401
    only_key = api(entra_stack, "GET", "calls", **{"x-functions-key": entra_stack.function_key})
    assert only_key.status == 401
    assert only_key.headers["Content-Type"].startswith("application/problem+json")
    wrong_audience = token(entra_stack, "calls.read", audience="api://another")
    assert api(entra_stack, "GET", "calls", Authorization=wrong_audience).status == 401
    assert api(entra_stack, "GET", "calls",
               Authorization=token(entra_stack, "rules.read")).status == 403
    assert api(entra_stack, "GET", "calls",
               Authorization=token(entra_stack, "calls.read")).status == 200


def test_the_caller_is_in_the_history(entra_stack: Stack) -> None:
    writer = token(entra_stack, "rules.write", name="rules-admin")
    assert api(entra_stack, "PUT", "rules", RULES,
               Authorization=token(entra_stack, "rules.read")).status == 403
    assert api(entra_stack, "PUT", "rules", RULES, Authorization=writer).status == 200
    versions = api(entra_stack, "GET", "rules/versions",
                   Authorization=token(entra_stack, "rules.read")).json()["value"]
    assert versions[0]["savedBy"]["name"] == "rules-admin"
    assert versions[0]["savedBy"]["roles"] == ["rules.write"]

    created = api(entra_stack, "POST", "calls", {"targets": [acs_user()]},
                  Authorization=token(entra_stack, "calls.control"))
    assert created.status == 201, created.text
    [operation] = created.json()["operations"]
    assert operation["actor"]["kind"] == "app"
    assert operation["actor"]["name"] == "billing"
