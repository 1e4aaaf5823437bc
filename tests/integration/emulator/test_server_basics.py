"""CLI start-up, HMAC refusals over real HTTP, the published keys and OpenID document."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import jwt

from emulator import EmulatorThread
from tests.integration.emulator.conftest import make_config
from tests.integration.emulator.support import ACCESS_KEY, RESOURCE_ID, AppSide, get_json, signed_request

ROOT = Path(__file__).resolve().parents[3]


def _raw(
    url: str, method: str = "GET", headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_cli_prints_its_url_and_serves(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator",
            "--port",
            "0",
            "--access-key",
            ACCESS_KEY,
            "--resource-id",
            RESOURCE_ID,
            "--event-webhook",
            "http://127.0.0.1:9/unused",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("emulator listening on http://127.0.0.1:")
        base_url = line.rsplit(" ", 1)[-1]
        status, health = get_json(base_url + "/emulator/health")
        assert status == 200 and health["baseUrl"] == base_url
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_cli_refuses_a_key_that_is_not_base64() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--access-key", "not base64!", "--resource-id", "r"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "base64" in result.stderr


def test_cli_reads_the_access_key_from_the_environment() -> None:
    environment = {**os.environ, "EMULATOR_ACCESS_KEY": ACCESS_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--resource-id", RESOURCE_ID],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        assert base_url.startswith("http://127.0.0.1:")
        path = "/calling/callConnections/unknown?api-version=2026-03-12"
        status, _, reply = signed_request(base_url, "GET", path, key=ACCESS_KEY)
        assert (status, reply["error"]["code"]) == (404, "8522")  # signature accepted
        status, _, _ = signed_request(base_url, "GET", path, key=base64.b64encode(b"other").decode())
        assert status == 401
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_cli_needs_an_access_key_from_the_flag_or_the_environment() -> None:
    environment = {k: v for k, v in os.environ.items() if k != "EMULATOR_ACCESS_KEY"}
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--resource-id", "r"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "EMULATOR_ACCESS_KEY" in result.stderr


def test_unsigned_and_badly_signed_requests_get_401(emulator: EmulatorThread) -> None:
    url = emulator.base_url + "/calling/callConnections/abc?api-version=2026-03-12"
    status, body = _raw(url)
    assert status == 401 and b'"error"' in body
    status, _ = _raw(
        url,
        headers={
            "x-ms-date": "Mon, 01 Jun 2026 12:00:00 GMT",
            "x-ms-content-sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=AAAA",
        },
    )
    assert status == 401


def test_keys_and_openid_configuration_are_published(emulator: EmulatorThread) -> None:
    status, config = get_json(emulator.base_url + "/calling/.well-known/acsopenidconfiguration")
    assert status == 200
    assert config["issuer"] == emulator.base_url
    assert config["jwks_uri"] == emulator.base_url + "/calling/keys"
    assert "RS256" in config["id_token_signing_alg_values_supported"]
    status, jwks = get_json(config["jwks_uri"])
    assert status == 200
    [key] = jwks["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
    assert jwt.PyJWK(key).key is not None


def test_openid_configuration_points_at_the_emulators_own_keys_when_the_issuer_is_overridden(
    app_side: AppSide,
) -> None:
    real_issuer = "https://acscallautomation.communication.azure.com"
    with EmulatorThread(make_config(app_side, issuer=real_issuer)) as running:
        status, config = get_json(running.base_url + "/calling/.well-known/acsopenidconfiguration")
        assert status == 200 and config["issuer"] == real_issuer
        assert config["jwks_uri"] == running.base_url + "/calling/keys"
        status, jwks = get_json(config["jwks_uri"])
        assert status == 200 and [key["kid"] for key in jwks["keys"]] == [running.services.tokens.current_kid]
