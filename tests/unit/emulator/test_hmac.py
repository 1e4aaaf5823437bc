"""HMAC verification against the vectors the SDK's own signing policy produced."""

from __future__ import annotations

import json
from typing import Any

import pytest

from emulator.acs import auth
from tests.support.shared import contract_file


def _vectors() -> list[dict[str, Any]]:
    path = contract_file("examples/sdk-wire/hmac-sha256-test-vectors.json")
    vectors: list[dict[str, Any]] = json.loads(path.read_text())["vectors"]
    return vectors


def _request(vector: dict[str, Any], **changes: Any) -> auth.SignedRequest:
    fields: dict[str, Any] = {
        "method": vector["method"],
        "path_and_query": vector["pathAndQuerySigned"],
        "host": vector["hostSigned"],
        "date": vector["x-ms-date"],
        "content_hash": vector["x-ms-content-sha256"],
        "authorization": vector["Authorization"],
        "body": vector["body"].encode("utf-8"),
    }
    fields.update(changes)
    return auth.SignedRequest(**fields)


def test_every_vector_verifies_and_reproduces_the_sdk_signature() -> None:
    for vector in _vectors():
        assert auth.content_hash(vector["body"].encode("utf-8")) == vector["x-ms-content-sha256"]
        string_to_sign = auth.string_to_sign(
            vector["method"],
            vector["pathAndQuerySigned"],
            vector["x-ms-date"],
            vector["hostSigned"],
            vector["x-ms-content-sha256"],
        )
        assert string_to_sign == vector["stringToSign"]
        signature = auth.sign(vector["accessKeyBase64"], string_to_sign)
        assert vector["Authorization"].endswith("&Signature=" + signature)
        assert auth.verify(vector["accessKeyBase64"], _request(vector)) is None


@pytest.mark.parametrize(
    ("change", "reason_fragment"),
    [
        ({"date": None}, "x-ms-date"),
        ({"authorization": None}, "Authorization"),
        ({"authorization": "Bearer abc"}, "HMAC"),
        ({"content_hash": None}, "x-ms-content-sha256"),
        ({"body": b"tampered"}, "does not match the body"),
        ({"host": "evil.example"}, "signature"),
        ({"method": "PUT"}, "signature"),
        ({"date": "Mon, 01 Jun 2026 12:00:01 GMT"}, "signature"),
    ],
)
def test_any_change_to_a_signed_part_is_refused(change: dict[str, Any], reason_fragment: str) -> None:
    vector = _vectors()[0]
    reason = auth.verify(vector["accessKeyBase64"], _request(vector, **change))
    assert reason is not None and reason_fragment in reason


def test_a_wrong_key_is_refused() -> None:
    vector = _vectors()[0]
    assert auth.verify("b3RoZXIta2V5", _request(vector)) is not None


def test_path_sent_with_decoded_colons_verifies_against_the_encoded_signature() -> None:
    # contract §11: the aio SDK signs 4%3A%2B1... but aiohttp puts 4:%2B1... on the wire
    vector = next(v for v in _vectors() if "participants/4%3A" in v["pathAndQuerySigned"])
    on_the_wire = vector["pathAndQuerySigned"].replace("%3A", ":")
    assert auth.verify(vector["accessKeyBase64"], _request(vector, path_and_query=on_the_wire)) is None


def test_a_different_path_is_not_accepted_as_a_variant() -> None:
    vector = next(v for v in _vectors() if "participants/4%3A" in v["pathAndQuerySigned"])
    other = vector["pathAndQuerySigned"].replace("cc-1", "cc-2")
    assert auth.verify(vector["accessKeyBase64"], _request(vector, path_and_query=other)) is not None


def test_stale_dates_are_refused_when_a_skew_limit_is_set() -> None:
    vector = _vectors()[0]
    reason = auth.verify(vector["accessKeyBase64"], _request(vector), max_clock_skew_seconds=900)
    assert reason is not None and "clock skew" in reason


def test_path_variants_keep_the_received_form_first() -> None:
    variants = list(auth.path_variants("/calling/callConnections/c1/participants/8:acs:x?api-version=1"))
    assert variants[0] == "/calling/callConnections/c1/participants/8:acs:x?api-version=1"
    assert "/calling/callConnections/c1/participants/8%3Aacs%3Ax?api-version=1" in variants
