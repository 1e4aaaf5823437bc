"""Fixtures: the sample app served by a real devhost on a free loopback port."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.message import Message

import pytest

from devhost.auth import resolve_keys
from devhost.server import BackgroundServer, run_in_background
from devhost.settings import HostConfig
from tests.unit.devhost import sample_app

FUNCTION_KEY = "test-function-key"
MASTER_KEY = "test-master-key"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message  # case-insensitive lookup, like the wire
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def call(
    url: str, method: str = "GET", body: bytes | None = None, headers: Mapping[str, str] | None = None
) -> Reply:
    """One real HTTP request; error statuses come back as replies, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


@pytest.fixture(scope="package")
def server() -> Iterator[BackgroundServer]:
    keys = resolve_keys({"DEVHOST_FUNCTION_KEY": FUNCTION_KEY, "DEVHOST_MASTER_KEY": MASTER_KEY})
    with run_in_background(sample_app.app, HostConfig(keys=keys)) as running:
        yield running
