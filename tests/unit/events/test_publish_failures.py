"""A publish failure never fails a callback or an action: through function_app.app's handlers, with
a topic that refuses, crashes or hangs; the events stay pending for the outbox timer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import pytest

from callcontrol.adapters.acs_gateway import AcsGateway
from callcontrol.adapters.callback_auth import CallbackAuthenticator
from callcontrol.adapters.telemetry.metrics import OUTBOX_PENDING_CALLS
from callcontrol.composition import Services, services, use_services
from callcontrol.domain.callback_binding import SECRET_PARAMETER, new_callback_secret
from callcontrol.domain.events.call_events import CallEvent
from callcontrol.settings import load_settings
from callcontrol.usecases.outbox import PublishFailed
from tests.conftest import load_event
from tests.support.app import http_request, invoke, json_body
from tests.support.memory_tables import MemoryTableBackend
from tests.support.signing import TestSigner
from tests.support.telemetry import recording
from tests.unit.events.support import CALL_ID

ISSUER, AUDIENCE = "http://acs.test", "resource-guid"


class BrokenTopic:
    def __init__(self, how: str) -> None:
        self.how = how
        self.accepted: list[CallEvent] = []

    async def publish(self, events: Sequence[CallEvent]) -> None:
        if self.how == "refuses":
            raise PublishFailed("503 Service Unavailable")
        if self.how == "crashes":
            raise RuntimeError("a bug in the publisher")
        if self.how == "hangs":
            await asyncio.sleep(60)
        self.accepted.extend(events)


class HangUpOnlyAcs:
    async def hang_up(self, call_connection_id: str, *, for_everyone: bool,
                      repeatability_id: str | None = None) -> None:
        return None


@pytest.fixture
def signer() -> TestSigner:
    return TestSigner(ISSUER, AUDIENCE)


@pytest.fixture(params=["refuses", "crashes", "hangs"])
def topic(request: pytest.FixtureRequest, signer: TestSigner) -> Iterator[BrokenTopic]:
    topic = BrokenTopic(request.param)
    backend = MemoryTableBackend()

    async def keys() -> Mapping[str, Any]:
        return signer.jwks()

    def factory() -> Services:
        auth = CallbackAuthenticator(issuer=ISSUER, audience=AUDIENCE, fetch_jwks=keys)
        settings = load_settings({"EVENTGRID_PUBLISH_TIMEOUT_SECONDS": "1"})
        return Services(settings, backend=backend, authenticator=auth, publisher=topic,
                        gateway=cast(AcsGateway, HangUpOnlyAcs()))

    with use_services(factory):
        yield topic


async def test_callbacks_and_actions_succeed_while_the_topic_fails(topic: BrokenTopic,
                                                                  signer: TestSigner) -> None:
    secret = new_callback_secret()  # the call's own callback URI
    for name in ("call_connected.json", "participants_updated.json"):
        response = await invoke("callbacks", http_request(
            "POST", "callbacks", raw=json.dumps(load_event(name)).encode(),
            headers={"Authorization": signer.bearer()}, params={SECRET_PARAMETER: secret}))
        assert response.status_code == 200, response.get_body()
        assert json_body(response)["applied"] == 1
    response = await invoke("hang_up", http_request(
        "POST", f"calls/{CALL_ID}/hangup", route_params={"callConnectionId": CALL_ID}))
    assert response.status_code == 202, response.get_body()

    relay = services().outbox
    assert relay is not None
    await asyncio.wait_for(relay.idle(), 5)  # the background publish gave up (deadline 1 s)
    pending = await services().call_store.pending_events(CALL_ID, fresh=True)
    assert [e.type for e in pending] == ["call.connected", "call.participants.updated"]
    assert topic.accepted == []

    topic.how = "works"  # the outbox job catches up, and reports the backlog it found
    with recording() as recorded:
        await invoke("run_job", http_request("POST", "jobs/outbox", route_params={"job": "outbox"}))
        [backlog] = recorded.metric_points(OUTBOX_PENDING_CALLS)
    assert backlog.value == 1  # the one call with pending events (the alert's gauge)
    assert [e.type for e in topic.accepted] == ["call.connected", "call.participants.updated"]
    assert await services().call_store.calls_with_pending_events() == []
