"""The create request's log line ("connect sent to ACS") names the call it made: its
callConnectionId and correlationId were noted only after that line was written (issue 24)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from callcontrol.domain.identifiers import Identifier, parse_strict_identifier
from callcontrol.domain.models import AcsCall, CallState
from callcontrol.observability.context import CallIds, call_ids
from callcontrol.usecases.calls import CreateCall
from tests.unit.actions.support import FakeAcs, Rig

TARGET = parse_strict_identifier({"communicationUserId": "8:acs:create_target"}, "test")


class CreatingAcs(FakeAcs):
    async def create_call(
        self, targets: list[Identifier], *, caller_id: str | None, display_name: str | None,
        operation_context: str | None, repeatability_id: str | None = None,
        callback_secret: str | None = None,
    ) -> AcsCall:
        return AcsCall("created-call-1", "server-1", "correlation-1", CallState.CONNECTING,
                       tuple(targets), None, None, None)


class IdsAtEmission(logging.Handler):
    """What the call's context held when each record was written (what the log layer stamps)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[tuple[str, CallIds | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        ids = call_ids()
        self.seen.append((record.getMessage(), None if ids is None else CallIds(
            call_connection_id=ids.call_connection_id, correlation_id=ids.correlation_id)))


@pytest.fixture
def handler() -> Iterator[IdsAtEmission]:
    made = IdsAtEmission()
    logger = logging.getLogger("callcontrol")
    logger.addHandler(made)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield made
    logger.removeHandler(made)
    logger.setLevel(level)


async def test_the_create_log_line_carries_the_new_calls_ids(handler: IdsAtEmission) -> None:
    rig = Rig()
    rig.acs = CreatingAcs()
    gateway = rig.acs
    rig.calls._gateway = lambda: gateway  # the rig's own fake, swapped for one that creates
    await rig.calls.create_call(CreateCall((TARGET,)))
    [(message, ids)] = [(m, i) for m, i in handler.seen if "sent to ACS" in m]
    assert message.startswith("connect sent to ACS")
    assert ids is not None
    assert (ids.call_connection_id, ids.correlation_id) == ("created-call-1", "correlation-1")
