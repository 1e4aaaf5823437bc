"""Fixtures: the sample app served by a real devhost on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devhost.auth import resolve_keys
from devhost.server import BackgroundServer, run_in_background
from devhost.settings import HostConfig
from tests.support.http import Reply, call
from tests.unit.devhost import sample_app

__all__ = ["EVENTGRID_KEY", "FUNCTION_KEY", "MASTER_KEY", "Reply", "call", "server"]

FUNCTION_KEY = "test-function-key"
MASTER_KEY = "test-master-key"
EVENTGRID_KEY = "test-eventgrid-system-key"


@pytest.fixture(scope="package")
def server() -> Iterator[BackgroundServer]:
    keys = resolve_keys({
        "DEVHOST_FUNCTION_KEY": FUNCTION_KEY, "DEVHOST_MASTER_KEY": MASTER_KEY,
        "DEVHOST_EVENTGRID_KEY": EVENTGRID_KEY,
    })
    with run_in_background(sample_app.app, HostConfig(keys=keys)) as running:
        yield running
