"""What `make run` prints for reading the calls matches the management API's mode
(docs/local-stack.md, "Tokens for the management API")."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tools.devstack import banner
from tools.stack import Stack


def _stack() -> Stack:
    azurite = cast(Any, SimpleNamespace(table_endpoint="http://127.0.0.1:10002/callcontrol"))
    return Stack(azurite=azurite, emulator_url="http://127.0.0.1:8089",
                 app_url="http://127.0.0.1:7071", access_key="a2V5", resource_id="rid",
                 function_key="the-function-key", master_key="the-master-key",
                 eventgrid_key="eg", topic_key="tk", ask_secret="secret")


@pytest.mark.parametrize("mode", ["", "keys", "both"])
def test_with_keys_the_banner_reads_the_calls_with_the_function_key(mode: str) -> None:
    printed = banner(_stack(), Path(".run"), False, "http://127.0.0.1:8090/", mode)
    assert "http://127.0.0.1:7071/api/calls?code=the-function-key" in printed
    assert "Bearer" not in printed


def test_under_entra_the_banner_reads_the_calls_with_a_token_not_the_key() -> None:
    # A function key opens no management route under entra: the ?code= lines answered 401.
    printed = banner(_stack(), Path(".run"), False, "http://127.0.0.1:8090/", "entra")
    assert "?code=" not in printed
    assert "http://127.0.0.1:8089/emulator/entra/token" in printed
    assert "curl -s -H \"Authorization: Bearer $TOKEN\" 'http://127.0.0.1:7071/api/calls'" in printed
    assert "so\ndoes the call console, which calls the app with the key: it shows a 502" in printed
