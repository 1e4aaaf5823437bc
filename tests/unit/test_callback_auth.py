"""Callback JWT verification: every way a token can be wrong is refused, with its reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import pytest

from callcontrol.adapters.callback_auth import CallbackAuthenticator
from callcontrol.domain.errors import AcsUnavailable, Unauthenticated
from tests.support.signing import TestSigner

ISSUER = "https://acs.example.test"
AUDIENCE = "5b9c0d7e-0000-4000-8000-000000000001"


class Keys:
    """A JWKS endpoint stand-in that counts fetches and can rotate to a new signer."""

    def __init__(self, signer: TestSigner) -> None:
        self.signer = signer
        self.fetches = 0

    async def fetch(self) -> Mapping[str, Any]:
        self.fetches += 1
        return self.signer.jwks()


def make(keys: Keys, refresh_interval: float = 0.0) -> CallbackAuthenticator:
    return CallbackAuthenticator(issuer=ISSUER, audience=AUDIENCE, fetch_jwks=keys.fetch,
                                 refresh_interval=refresh_interval, leeway_seconds=0)


async def test_valid_token_yields_its_claims() -> None:
    signer = TestSigner(ISSUER, AUDIENCE)
    claims = await make(Keys(signer)).verify(signer.bearer())
    assert claims["aud"] == AUDIENCE


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing Authorization"),
        ("Basic abc", "Bearer"),
        ("Bearer not-a-jwt", "malformed"),
    ],
)
async def test_missing_or_malformed_header(header: str | None, reason: str) -> None:
    auth = make(Keys(TestSigner(ISSUER, AUDIENCE)))
    with pytest.raises(Unauthenticated, match=reason):
        await auth.verify(header)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"lifetime": -60}, "expired"),
        ({"aud": "another-resource"}, "audience"),
        ({"iss": "https://evil.example"}, "issuer"),
    ],
)
async def test_wrong_claims_are_refused(overrides: dict[str, Any], reason: str) -> None:
    signer = TestSigner(ISSUER, AUDIENCE)
    with pytest.raises(Unauthenticated, match=reason):
        await make(Keys(signer)).verify(signer.bearer(**overrides))


async def test_token_signed_by_another_key_with_the_same_kid_is_refused() -> None:
    trusted = TestSigner(ISSUER, AUDIENCE)
    forger = TestSigner(ISSUER, AUDIENCE)
    forger.kid = trusted.kid
    with pytest.raises(Unauthenticated, match="rejected"):
        await make(Keys(trusted)).verify(forger.bearer())


async def test_rotated_key_is_fetched_once_then_cached() -> None:
    keys = Keys(TestSigner(ISSUER, AUDIENCE))
    auth = make(keys)
    await auth.verify(keys.signer.bearer())
    keys.signer = TestSigner(ISSUER, AUDIENCE)  # ACS rotates its signing key
    await auth.verify(keys.signer.bearer())
    await auth.verify(keys.signer.bearer())
    assert keys.fetches == 2


async def test_unknown_kids_do_not_flood_the_jwks_endpoint() -> None:
    keys = Keys(TestSigner(ISSUER, AUDIENCE))
    auth = make(keys, refresh_interval=0.1)
    await auth.verify(keys.signer.bearer())
    stranger = TestSigner(ISSUER, AUDIENCE)
    started = time.monotonic()
    results = await asyncio.gather(*(auth.verify(stranger.bearer()) for _ in range(20)),
                                   return_exceptions=True)
    elapsed = time.monotonic() - started
    assert all(isinstance(r, Unauthenticated) for r in results)
    assert keys.fetches == 2  # one look for the forged kid, shared by every request
    assert elapsed < 1
    other_forgers = [TestSigner(ISSUER, AUDIENCE) for _ in range(3)]
    started = time.monotonic()
    for forger in other_forgers:  # new made-up kids: at most one fetch per interval
        with pytest.raises(Unauthenticated):
            await auth.verify(forger.bearer())
    assert time.monotonic() - started >= 0.2


async def test_a_rotation_right_after_a_fetch_waits_instead_of_failing() -> None:
    keys = Keys(TestSigner(ISSUER, AUDIENCE))
    auth = make(keys, refresh_interval=0.2)
    await auth.verify(keys.signer.bearer())
    keys.signer = TestSigner(ISSUER, AUDIENCE)
    claims = await auth.verify(keys.signer.bearer())  # within the interval: waits, then fetches
    assert claims["aud"] == AUDIENCE


async def test_unreachable_jwks_is_a_503_not_a_401() -> None:
    async def broken() -> Mapping[str, Any]:
        raise OSError("connection refused")

    auth = CallbackAuthenticator(issuer=ISSUER, audience=AUDIENCE, fetch_jwks=broken)
    with pytest.raises(AcsUnavailable, match="signing keys"):
        await auth.verify(TestSigner(ISSUER, AUDIENCE).bearer())


async def test_forged_kids_do_not_delay_a_genuine_rotation() -> None:
    keys = Keys(TestSigner(ISSUER, AUDIENCE))
    auth = make(keys, refresh_interval=0.3)
    await auth.verify(keys.signer.bearer())
    keys.signer = TestSigner(ISSUER, AUDIENCE)  # rotation
    forged = [TestSigner(ISSUER, AUDIENCE).bearer() for _ in range(10)]
    started = time.monotonic()
    results = await asyncio.gather(*(auth.verify(token) for token in forged),
                                   auth.verify(keys.signer.bearer()), return_exceptions=True)
    assert not isinstance(results[-1], BaseException), results[-1]
    assert time.monotonic() - started < 1.0  # one interval and one fetch, not ten
    assert keys.fetches == 2


async def test_keys_are_reread_when_old_and_kept_if_the_reread_fails() -> None:
    keys = Keys(TestSigner(ISSUER, AUDIENCE))
    auth = CallbackAuthenticator(issuer=ISSUER, audience=AUDIENCE, fetch_jwks=keys.fetch,
                                 refresh_interval=0, max_age=0.05)
    await auth.verify(keys.signer.bearer())
    await asyncio.sleep(0.1)
    await auth.verify(keys.signer.bearer())
    assert keys.fetches == 2
    withdrawn = keys.signer
    keys.signer = TestSigner(ISSUER, AUDIENCE)
    await asyncio.sleep(0.1)
    with pytest.raises(Unauthenticated, match="unknown key"):
        await auth.verify(withdrawn.bearer())


async def test_a_failed_fetch_is_503_for_everyone_waiting_not_401() -> None:
    signer = TestSigner(ISSUER, AUDIENCE)
    failures = iter([True])

    async def flaky() -> Mapping[str, Any]:
        await asyncio.sleep(0.05)
        if next(failures, False):
            raise OSError("connection reset")
        return signer.jwks()

    auth = CallbackAuthenticator(issuer=ISSUER, audience=AUDIENCE, fetch_jwks=flaky,
                                 refresh_interval=0.2)
    results = await asyncio.gather(*(auth.verify(signer.bearer()) for _ in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, AcsUnavailable) for r in results), results
    await asyncio.sleep(0.25)
    assert (await auth.verify(signer.bearer()))["aud"] == AUDIENCE  # fetched again, accepted


async def test_a_key_published_late_is_found_after_the_interval() -> None:
    early, late = TestSigner(ISSUER, AUDIENCE), TestSigner(ISSUER, AUDIENCE)
    published = [early]

    async def keys() -> Mapping[str, Any]:
        return {"keys": [k for signer in published for k in signer.jwks()["keys"]]}

    auth = CallbackAuthenticator(issuer=ISSUER, audience=AUDIENCE, fetch_jwks=keys,
                                 refresh_interval=0.1)
    await auth.verify(early.bearer())
    with pytest.raises(Unauthenticated):
        await auth.verify(late.bearer())  # not published yet
    published.append(late)
    await asyncio.sleep(0.15)
    assert (await auth.verify(late.bearer()))["aud"] == AUDIENCE
