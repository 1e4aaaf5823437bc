"""Fixtures: an app-side receiver and an emulator wired to it, both on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.communication.callautomation import CallAutomationClient
from azure.core.credentials import AzureKeyCredential

from emulator import EmulatorConfig, EmulatorThread, start_in_thread
from tests.integration.emulator.support import (
    ACCESS_KEY,
    RESOURCE_ID,
    AppSide,
    Control,
    ResponseRecorder,
)
from tests.integration.emulator.swagger import Swagger
from tests.support.shared import contract_dir


@pytest.fixture
def app_side() -> Iterator[AppSide]:
    side = AppSide().start()
    try:
        yield side
    finally:
        side.stop()


def make_config(app_side: AppSide, **overrides: object) -> EmulatorConfig:
    values: dict[str, object] = {
        "access_key": ACCESS_KEY,
        "resource_id": RESOURCE_ID,
        "event_webhook": app_side.url("/eventgrid"),
        "connect_delay_seconds": 0.0,
    }
    values.update(overrides)
    return EmulatorConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def emulator(app_side: AppSide) -> Iterator[EmulatorThread]:
    running = start_in_thread(make_config(app_side))
    app_side.issuer = running.base_url
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def acs_contract() -> Path:
    found = contract_dir()
    if found is None:
        pytest.skip("../shared/acs-contract is absent (set ACS_SHARED_DIR to run this test)")
    return found


@pytest.fixture(scope="session")
def swagger(acs_contract: Path) -> Swagger:
    return Swagger(acs_contract)


@pytest.fixture
def recorder() -> ResponseRecorder:
    return ResponseRecorder()


@pytest.fixture
def client(emulator: EmulatorThread, recorder: ResponseRecorder) -> CallAutomationClient:
    """The official sync client; every response it receives is kept by `recorder`."""
    return CallAutomationClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY), raw_response_hook=recorder)


@pytest.fixture
def control(emulator: EmulatorThread) -> Control:
    return Control(emulator.base_url)
