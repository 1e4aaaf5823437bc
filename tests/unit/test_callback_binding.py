"""The per-call callback secret and the once-per-body token ids (callcontrol.domain.callback_binding)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from callcontrol.domain.callback_binding import (
    SECRET_PARAMETER,
    CallbackBinding,
    CallbackCredentials,
    body_digest,
    callback_uri,
    new_callback_secret,
)
from callcontrol.domain.errors import Unauthenticated

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def credentials(secret: str | None, jti: str | None = None, body: bytes = b"[]",
                expires: datetime | None = NOW + timedelta(minutes=5)) -> CallbackCredentials:
    return CallbackCredentials(secret, jti, expires, body_digest(body))


def test_the_secret_travels_in_the_uri_and_only_its_digest_is_kept() -> None:
    secret = new_callback_secret()
    uri = callback_uri("https://app.example/api/callbacks", secret)
    assert parse_qs(urlsplit(uri).query)[SECRET_PARAMETER] == [secret]
    binding = CallbackBinding.for_secret(secret)
    assert binding.secret_sha256 is not None and secret not in binding.secret_sha256
    assert new_callback_secret() != secret


@pytest.mark.parametrize("presented", [None, "", "0" * 64, "wrong"])
def test_a_callback_without_the_calls_secret_is_refused(presented: str | None) -> None:
    binding = CallbackBinding.for_secret(new_callback_secret())
    with pytest.raises(Unauthenticated):
        binding.admit(credentials(presented), NOW)


def test_a_call_from_before_secrets_keeps_accepting_callbacks() -> None:
    assert CallbackBinding().admit(credentials(None), NOW) == CallbackBinding()


def test_a_token_id_is_good_for_one_body_only() -> None:
    secret = new_callback_secret()
    binding = CallbackBinding.for_secret(secret).admit(credentials(secret, "t1", b"[1]"), NOW)
    # The same request again (a redelivery): admitted, nothing new remembered.
    assert binding.admit(credentials(secret, "t1", b"[1]"), NOW) == binding
    with pytest.raises(Unauthenticated, match="already used"):
        binding.admit(credentials(secret, "t1", b"[2]"), NOW)
    # Legacy calls are protected by the token ids too.
    legacy = CallbackBinding().admit(credentials(None, "t2", b"[1]"), NOW)
    with pytest.raises(Unauthenticated):
        legacy.admit(credentials(None, "t2", b"[forged]"), NOW)


def test_expired_token_ids_are_forgotten_and_the_memory_is_bounded() -> None:
    binding = CallbackBinding()
    for index in range(100):
        binding = binding.admit(credentials(None, f"t{index}", expires=NOW + timedelta(seconds=1)),
                                NOW)
    assert len(binding.tokens) == 64
    later = binding.admit(credentials(None, "fresh"), NOW + timedelta(seconds=2))
    assert [use.token_id for use in later.tokens] == ["fresh"]


def test_a_call_first_seen_through_a_callback_takes_the_secret_it_presents() -> None:
    secret = new_callback_secret()
    pinned = CallbackBinding().pinned(credentials(secret))
    assert pinned == CallbackBinding.for_secret(secret)
    assert CallbackBinding().pinned(credentials(None)) == CallbackBinding()


def test_the_store_keeps_the_binding_and_older_rows_read_without_one() -> None:
    from callcontrol.adapters.store.codec import decode_call, encode_call
    from callcontrol.domain.models import CallRecord

    secret = new_callback_secret()
    binding = CallbackBinding.for_secret(secret).admit(credentials(secret, "t1"), NOW)
    record = CallRecord("call-1", callback_binding=binding)
    stored = encode_call(record)
    assert secret not in str(stored)
    assert decode_call(stored).callback_binding == binding
    assert "callbackSecretSha256" not in str(record.to_json())  # the API never shows it
    older = {k: v for k, v in stored.items() if not k.startswith("callback")}
    assert decode_call(older).callback_binding == CallbackBinding()
