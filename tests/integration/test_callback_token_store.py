"""The replay store (callback token ids used once per deployment) on both table backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.callback_tokens import TOKENS_TABLE, CallbackTokenStore
from callcontrol.domain.callback_tokens import TokenUse, calls_digest
from callcontrol.domain.errors import Unauthenticated

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def use(token: str = "t1", body: str = "b1", calls: tuple[str, ...] = ("call-a",),
        until: datetime = NOW + timedelta(minutes=5)) -> TokenUse:
    return TokenUse(token, body, calls_digest(calls), until)


async def test_a_token_is_admitted_once_and_its_redelivery_again(backend: TableBackend) -> None:
    store = CallbackTokenStore(backend)
    await store.admit(use(), NOW)
    await store.admit(use(), NOW + timedelta(seconds=30))  # ACS retrying the same delivery


@pytest.mark.parametrize("replayed", [use(body="forged"), use(calls=("call-b",)),
                                      use(calls=("call-a", "call-b"))])
async def test_the_same_token_with_another_body_or_call_is_a_replay(
    backend: TableBackend, replayed: TokenUse
) -> None:
    store = CallbackTokenStore(backend)
    await store.admit(use(), NOW)
    with pytest.raises(Unauthenticated, match="already used"):
        await store.admit(replayed, NOW)


async def test_racing_first_uses_admit_exactly_one(backend: TableBackend) -> None:
    store = CallbackTokenStore(backend)
    results = await asyncio.gather(*(store.admit(use(body=f"b{n}"), NOW) for n in range(6)),
                                   return_exceptions=True)
    assert sum(result is None for result in results) == 1
    assert all(isinstance(r, Unauthenticated) for r in results if r is not None)


async def test_any_token_id_makes_a_safe_key(backend: TableBackend) -> None:
    store = CallbackTokenStore(backend)
    for token in ("a/b\\c#d?e", "\x00\x1f", "é" * 600, "\ud800"):
        await store.admit(use(token), NOW)
        with pytest.raises(Unauthenticated):
            await store.admit(use(token, body="forged"), NOW)


async def test_rows_go_once_the_token_has_expired_and_not_before(backend: TableBackend) -> None:
    store = CallbackTokenStore(backend)
    await store.admit(use("old", until=NOW + timedelta(seconds=10)), NOW)
    await store.admit(use("fresh", until=NOW + timedelta(minutes=5)), NOW)
    assert await store.purge(NOW, 10) == 0
    assert await store.purge(NOW + timedelta(minutes=1), 10) == 1
    assert len(await backend.query(TOKENS_TABLE)) == 1
    # The expired token's id is free again (its token is refused by the verifier anyway).
    await store.admit(use("old", body="other", until=NOW + timedelta(minutes=6)),
                      NOW + timedelta(minutes=1))


async def test_an_expired_row_retention_has_not_purged_yet_no_longer_counts(
    backend: TableBackend
) -> None:
    store = CallbackTokenStore(backend)
    await store.admit(use(until=NOW + timedelta(seconds=10)), NOW)
    later = NOW + timedelta(minutes=1)
    await store.admit(use(body="new", until=later + timedelta(minutes=5)), later)
    with pytest.raises(Unauthenticated):
        await store.admit(use(body="forged"), later)


async def test_purge_is_bounded(backend: TableBackend) -> None:
    store = CallbackTokenStore(backend)
    for n in range(5):
        await store.admit(use(f"t{n}", until=NOW), NOW - timedelta(minutes=5))
    assert await store.purge(NOW + timedelta(seconds=1), 3) == 3
    assert await store.purge(NOW + timedelta(seconds=1), 3) == 2


async def test_the_retention_timer_purges_expired_token_ids(backend: TableBackend) -> None:
    from callcontrol.adapters.store.calls import CallStore
    from callcontrol.adapters.store.claims import ClaimStore
    from callcontrol.adapters.store.idempotency import IdempotencyStore
    from callcontrol.adapters.store.rules import RuleStore
    from callcontrol.usecases.retention import Retention, RetentionOptions, RunRetention

    tokens = CallbackTokenStore(backend)
    await tokens.admit(use("old", until=NOW - timedelta(seconds=1)), NOW - timedelta(minutes=5))
    await tokens.admit(use("fresh"), NOW)
    calls = CallStore(backend)
    options = RetentionOptions(call_retention=timedelta(days=30), rule_versions_kept=3, batch=500)
    retention = Retention(calls, calls, IdempotencyStore(backend), ClaimStore(backend),
                          RuleStore(backend), options, clock=lambda: NOW, callback_tokens=tokens)

    report = await retention.run(RunRetention("test"))

    assert report.callback_tokens == 1 and report.to_json()["callbackTokens"] == 1
    assert len(await backend.query(TOKENS_TABLE)) == 1
