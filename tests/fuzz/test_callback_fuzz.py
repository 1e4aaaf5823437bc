"""The callback sink, fuzzed in process through `function_app.app` over real Table Storage
(Azurite): batches of CloudEvents with validly signed tokens, odd ids (lone surrogates, C0/C1
controls, path characters, hundreds of emoji), odd types, odd data (NaN and Infinity, arrays
nested up to 1,100 deep), and odd whole bodies.

Asserted for every request: no 5xx; every error is problem+json; a refused batch stored nothing
(all or nothing); an accepted one stored each of its calls. Requests go to a call's own URI (with
its secret), as ACS sends them: one naming several calls is refused there (401).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import azure.functions as func
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from callcontrol.adapters.callback_auth import CallbackAuthenticator
from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.calls import CallStore
from callcontrol.composition import Services, use_services
from callcontrol.domain.callback_binding import SECRET_PARAMETER, new_callback_secret
from callcontrol.domain.events.callbacks import EventKind
from callcontrol.domain.opaque_ids import opaque_id_problem
from callcontrol.settings import load_settings
from tests.conftest import azurite_backend
from tests.fuzz.conftest import FUZZ_EXAMPLES
from tests.support.app import http_request, invoke
from tests.support.signing import TestSigner
from tools.azurite import Azurite

ISSUER, AUDIENCE = "http://acs.fuzz", "fuzz-resource"
PROBLEM = "application/problem+json"
SECRET = new_callback_secret()  # every call here is first seen through its callbacks: it takes it
ODD_PIECES = ["\ud800", "\udfff", "\x85", "\x9f", "\x00", "\x7f", "/", "\\", "..", ".", "\n", "#",
              "?", "%2F", " ", "\U0001f600" * 300, "x" * 600, ""]


NESTED = "nested-{}"  # a placeholder encode() writes as that many nested arrays


def valid_id() -> st.SearchStrategy[str]:
    return st.builds(lambda: str(uuid.uuid4()))


odd_ids = st.one_of(
    st.sampled_from(ODD_PIECES),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
    st.tuples(valid_id(), st.sampled_from(ODD_PIECES)).map("".join),
)
ids = st.one_of(valid_id(), valid_id(), odd_ids)
json_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),  # NaN, ±Infinity too
                        st.text(max_size=20))
json_values = st.recursive(json_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
event_types = st.one_of(
    st.sampled_from([f"Microsoft.Communication.{kind.value}" for kind in EventKind]),
    st.text(max_size=30))
identifiers = st.one_of(
    st.builds(lambda n: {"rawId": f"4:+1425555{n:04d}", "kind": "phoneNumber",
                         "phoneNumber": {"value": f"+1425555{n:04d}"}}, st.integers(0, 9999)),
    st.builds(lambda raw: {"rawId": raw}, odd_ids),
    json_values)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"callConnectionId": draw(ids)}
    for name, values in (("serverCallId", st.text(max_size=40)),
                         ("operationContext", st.text(max_size=40)),
                         ("sequenceNumber", st.one_of(st.integers(), json_values)),
                         ("resultInformation", json_values),
                         ("participants", st.lists(st.fixed_dictionaries(
                             {"identifier": identifiers}, optional={"isMuted": json_values}),
                             max_size=3)),
                         ("participant", identifiers),
                         ("invitationId", ids),
                         ("nested", st.integers(1, 1100).map(NESTED.format))):
        if draw(st.booleans()):
            data[name] = draw(values)
    event: dict[str, Any] = {"id": draw(ids), "type": draw(event_types), "data": data,
                             "specversion": "1.0"}
    if draw(st.booleans()):
        event["time"] = draw(st.one_of(st.just("2026-11-24T09:00:01Z"), st.text(max_size=30),
                                       json_values))
    return event


bodies = st.one_of(st.lists(events(), min_size=1, max_size=4), st.lists(events(), max_size=0),
                   json_values)


@pytest.fixture(scope="module")
def signer() -> TestSigner:
    return TestSigner(ISSUER, AUDIENCE)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    made = asyncio.new_event_loop()
    yield made
    made.close()


@pytest.fixture(scope="module")
def table_backend(azurite: Azurite, loop: asyncio.AbstractEventLoop) -> Iterator[TableBackend]:
    made = azurite_backend(azurite)
    yield made
    loop.run_until_complete(made.close())


@pytest.fixture(scope="module")
def wired(signer: TestSigner, table_backend: TableBackend) -> Iterator[None]:
    async def keys() -> Mapping[str, Any]:
        return signer.jwks()

    auth = CallbackAuthenticator(issuer=ISSUER, audience=AUDIENCE, fetch_jwks=keys)
    services = Services(load_settings({}), backend=table_backend, authenticator=auth)
    with use_services(lambda: services):
        yield


def encode(body: object) -> bytes:
    # Lone surrogates are valid JSON escapes ("\ud800"): json.dumps writes them escaped. Arrays
    # nested near the recursion limit are written as text (json.dumps could not).
    return re.sub(r'"nested-(\d+)"', lambda m: "[" * int(m[1]) + "]" * int(m[1]),
                  json.dumps(body)).encode()


def call_ids_in(body: object) -> list[str]:
    found: list[str] = []
    for event in body if isinstance(body, list) else []:
        data = event.get("data") if isinstance(event, dict) else None
        call_id = data.get("callConnectionId") if isinstance(data, dict) else None
        if isinstance(call_id, str) and opaque_id_problem(call_id) is None:
            found.append(call_id)
    return found


@pytest.mark.usefixtures("wired")
def test_the_callback_sink_never_fails_and_a_refused_batch_stores_nothing(
    signer: TestSigner, table_backend: TableBackend, loop: asyncio.AbstractEventLoop
) -> None:
    calls = CallStore(table_backend)

    async def post(body: object) -> tuple[func.HttpResponse, list[bool], list[bool]]:
        """The answer, and for each call the batch names whether it is stored now and whether
        it was before (a short odd id, "0", may name a call an earlier example stored)."""
        known = [await calls.get(call_id) is not None for call_id in call_ids_in(body)]
        request = http_request("POST", "callbacks", raw=encode(body),
                               params={SECRET_PARAMETER: SECRET},
                               headers={"Authorization": signer.bearer(jti=str(uuid.uuid4()))})
        response = await invoke("callbacks", request)
        stored = [await calls.get(call_id) is not None for call_id in call_ids_in(body)]
        return response, stored, known

    @settings(max_examples=FUZZ_EXAMPLES * 4, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(body=bodies)
    def fuzz(body: object) -> None:
        response, stored, known = loop.run_until_complete(post(body))
        status = response.status_code
        shown = f"{status}: {response.get_body()[:300]!r}"
        several_calls = len(set(call_ids_in(body))) > 1  # one call's URI speaks for it alone
        assert status in (200, 400, 413) or (status == 401 and several_calls), shown
        if status == 200:
            assert all(stored), shown
            return
        assert response.mimetype == PROBLEM, shown
        problem = json.loads(response.get_body())
        assert problem["status"] == status and (status == 401 or problem["errors"]), shown
        assert stored == known, f"a refused batch stored a call: {shown}"

    fuzz()
