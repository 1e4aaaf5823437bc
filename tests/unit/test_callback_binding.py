"""The per-call callback secret (callcontrol.domain.callback_binding) and the token uses the replay
store compares (callcontrol.domain.callback_tokens)."""

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
from callcontrol.domain.callback_tokens import TOKEN_LEEWAY, token_use
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
        binding.admit(credentials(presented))


def test_a_call_from_before_secrets_keeps_accepting_callbacks() -> None:
    CallbackBinding().admit(credentials(None))


def test_a_token_use_repeats_only_with_the_same_body_about_the_same_calls() -> None:
    first = token_use(credentials(None, "t1", b"[1]"), ["a"], NOW)
    assert first is not None
    assert first.remember_until == NOW + timedelta(minutes=5) + TOKEN_LEEWAY
    assert first.repeats(token_use(credentials("s", "t1", b"[1]"), ["a", "a"], NOW) or first)
    for other in (token_use(credentials(None, "t1", b"[2]"), ["a"], NOW),
                  token_use(credentials(None, "t1", b"[1]"), ["b"], NOW),
                  token_use(credentials(None, "t1", b"[1]"), ["a", "b"], NOW),
                  token_use(credentials(None, "t2", b"[1]"), ["a"], NOW)):
        assert other is not None and not other.repeats(first)
    assert token_use(credentials(None), ["a"], NOW) is None  # no jti: nothing to remember
    no_expiry = token_use(credentials(None, "t3", expires=None), ["a"], NOW)
    assert no_expiry is not None and no_expiry.remember_until > NOW


def test_a_call_first_seen_through_a_callback_takes_the_secret_it_presents() -> None:
    secret = new_callback_secret()
    pinned = CallbackBinding().pinned(credentials(secret))
    assert pinned == CallbackBinding.for_secret(secret)
    assert CallbackBinding().pinned(credentials(None)) == CallbackBinding()


def test_the_store_keeps_the_binding_and_older_rows_read_without_one() -> None:
    from callcontrol.adapters.store.codec import decode_call, encode_call
    from callcontrol.domain.models import CallRecord

    secret = new_callback_secret()
    binding = CallbackBinding.for_secret(secret)
    record = CallRecord("call-1", callback_binding=binding)
    stored = encode_call(record)
    assert secret not in str(stored)
    assert decode_call(stored).callback_binding == binding
    assert "callbackSecretSha256" not in str(record.to_json())  # the API never shows it
    older = {k: v for k, v in stored.items() if not k.startswith("callback")}
    assert decode_call(older).callback_binding == CallbackBinding()


def test_token_ids_an_earlier_release_kept_in_the_call_row_are_ignored() -> None:
    from callcontrol.adapters.store.codec import decode_call, encode_call
    from callcontrol.domain.models import CallRecord

    stored = encode_call(CallRecord("call-1", callback_binding=CallbackBinding.for_secret("s")))
    assert "callbackTokens" not in stored  # remembered once per deployment now, not per call
    older = {**stored, "callbackTokens": [{"jti": "t1", "bodySha256": "00",
                                           "expiresAt": NOW.isoformat()}]}
    assert decode_call(older).callback_binding == CallbackBinding.for_secret("s")
