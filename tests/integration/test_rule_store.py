"""The rule store's contract (ETags, versions, seeding) and the rule cache, on both backends."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.rules import (
    RULES_TABLE,
    RuleSetCache,
    RuleStore,
    version_etag,
)
from callcontrol.composition.from_settings import rules_file_seed
from callcontrol.domain.errors import NotFound, PreconditionFailed, PreconditionRequired, SettingError
from callcontrol.domain.rules import RuleSet, default_rule_set, parse_rule_set
from callcontrol.settings import load_settings


def rule_set(reason: str = "busy", rule_id: str = "block") -> RuleSet:
    return parse_rule_set({
        "rules": [{"id": rule_id, "conditions": {"from": ["+1900*"]},
                   "action": {"type": "reject", "reason": reason}}],
        "defaultAction": {"type": "answer"},
    })


class Counting:
    """Counts reads per table: the cache promises not to read the rules table while fresh."""

    def __init__(self, inner: TableBackend) -> None:
        self.inner = inner
        self.reads: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def get(self, table: str, partition: str, row: str) -> Any:
        self.reads[table] = self.reads.get(table, 0) + 1
        return await self.inner.get(table, partition, row)


async def test_empty_store_serves_the_shipped_default_as_version_0(backend: TableBackend) -> None:
    store = RuleStore(backend)
    current = await store.current()
    assert (current.version, current.source, current.rules) == (0, "default", default_rule_set())
    assert current.etag.startswith('"0-')
    assert await store.versions() == []
    assert await store.head() is None


async def test_first_put_needs_no_if_match_later_ones_do(backend: TableBackend) -> None:
    store = RuleStore(backend)
    first = await store.replace(rule_set("busy"), None)
    assert (first.version, first.source) == (1, "api")
    with pytest.raises(PreconditionRequired):
        await store.replace(rule_set("forbidden"), None)
    second = await store.replace(rule_set("forbidden"), [first.etag])
    assert second.version == 2 and second.etag != first.etag
    assert (await store.current()).rules == rule_set("forbidden")


async def test_stale_if_match_is_refused_and_changes_nothing(backend: TableBackend) -> None:
    store = RuleStore(backend)
    first = await store.replace(rule_set("busy"), None)
    await store.replace(rule_set("forbidden"), [first.etag])
    with pytest.raises(PreconditionFailed):
        await store.replace(rule_set("none"), [first.etag])
    current = await store.current()
    assert (current.version, current.rules) == (2, rule_set("forbidden"))
    assert [v.version for v in await store.versions()] == [2, 1]


async def test_if_match_star_and_lists(backend: TableBackend) -> None:
    store = RuleStore(backend)
    first = await store.replace(rule_set("busy"), ["*"])
    second = await store.replace(rule_set("none"), ['"nope"', first.etag])
    assert second.version == 2


async def test_if_match_on_an_empty_store_must_name_the_default(backend: TableBackend) -> None:
    store = RuleStore(backend)
    with pytest.raises(PreconditionFailed):
        await store.replace(rule_set(), ['"1-deadbeef"'])
    default = await store.current()
    assert (await store.replace(rule_set(), [default.etag])).version == 1


async def test_every_version_is_kept_and_retrievable(backend: TableBackend) -> None:
    store = RuleStore(backend)
    etag = None
    written = []
    for reason in ("busy", "forbidden", "none"):
        saved = await store.replace(rule_set(reason), [etag] if etag else None)
        written.append(saved)
        etag = saved.etag
    listed = await store.versions()
    assert [(v.version, v.etag, v.source) for v in listed] == [
        (w.version, w.etag, "api") for w in reversed(written)]
    for saved in written:
        again = await store.version(saved.version)
        assert (again.rules, again.etag) == (saved.rules, saved.etag)
        assert again.saved_at is not None
    assert (await store.version(0)).version == 0
    with pytest.raises(NotFound):
        await store.version(4)


async def test_concurrent_writers_with_the_same_etag_one_wins(backend: TableBackend) -> None:
    store = RuleStore(backend)
    base = await store.replace(rule_set("busy"), None)
    results = await asyncio.gather(
        *(store.replace(rule_set("none", f"r{i}"), [base.etag]) for i in range(5)),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1 and won[0].version == 2
    assert all(isinstance(r, PreconditionFailed) for r in results if isinstance(r, BaseException))
    assert [v.version for v in await store.versions()] == [2, 1]
    assert (await store.current()).etag == won[0].etag


def test_etags_differ_for_different_content_at_the_same_version() -> None:
    assert version_etag(1, rule_set("busy")) != version_etag(1, rule_set("forbidden"))
    assert version_etag(1, rule_set("busy")) != version_etag(2, rule_set("busy"))
    assert version_etag(1, rule_set("busy")) == version_etag(1, rule_set("busy"))


# --- seeding from RULES_FILE -------------------------------------------------------------------


def seed_from(tmp_path: Path, payload: object) -> Any:
    path = tmp_path / "rules.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return rules_file_seed(load_settings({"RULES_FILE": str(path)}))


async def test_rules_file_seeds_version_1_once(backend: TableBackend, tmp_path: Path) -> None:
    seed = seed_from(tmp_path, rule_set("forbidden").to_json())
    stores = [RuleStore(backend, seed=seed) for _ in range(4)]
    seen = await asyncio.gather(*(s.current() for s in stores))  # concurrent first starts
    assert {(v.version, v.source) for v in seen} == {(1, "seed")}
    assert len(await stores[0].versions()) == 1
    assert seen[0].rules == rule_set("forbidden")


async def test_seed_never_overwrites_a_stored_set(backend: TableBackend, tmp_path: Path) -> None:
    saved = await RuleStore(backend).replace(rule_set("busy"), None)
    seeded = RuleStore(backend, seed=seed_from(tmp_path, rule_set("forbidden").to_json()))
    current = await seeded.current()
    assert (current.version, current.etag) == (1, saved.etag)


async def test_a_seeded_set_needs_if_match_to_change(backend: TableBackend, tmp_path: Path) -> None:
    store = RuleStore(backend, seed=seed_from(tmp_path, rule_set("forbidden").to_json()))
    with pytest.raises(PreconditionRequired):
        await store.replace(rule_set("busy"), None)
    seeded = await store.current()
    assert (await store.replace(rule_set("busy"), [seeded.etag])).version == 2


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid JSON"),
        ({"rules": [{"id": "x"}], "defaultAction": {"type": "answer"}}, "rules[0].action"),
        (None, "cannot be read"),
    ],
)
async def test_a_bad_rules_file_names_the_setting(
    backend: TableBackend, tmp_path: Path, content: object, reason: str
) -> None:
    if content is None:
        seed = rules_file_seed(load_settings({"RULES_FILE": str(tmp_path / "missing.json")}))
    else:
        seed = seed_from(tmp_path, content)
    with pytest.raises(SettingError, match="RULES_FILE") as failure:
        await RuleStore(backend, seed=seed).current()
    assert reason in failure.value.detail
    assert await backend.query(RULES_TABLE) == []


def test_a_relative_rules_file_is_read_from_the_app_root(tmp_path: Path) -> None:
    (tmp_path / "rules.json").write_text(json.dumps(rule_set("forbidden").to_json()))
    seed = rules_file_seed(load_settings({"RULES_FILE": "rules.json"}), root=tmp_path)
    assert seed() == rule_set("forbidden")
    assert rules_file_seed(load_settings({}))() is None


# --- the cache -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_cache_reads_nothing_while_fresh_then_revalidates_by_etag(backend: TableBackend) -> None:
    counting = Counting(backend)
    store = RuleStore(counting)  # type: ignore[arg-type]
    clock = Clock()
    cache = RuleSetCache(store, 5, monotonic=clock)
    first = await cache.get()
    reads = counting.reads.get(RULES_TABLE, 0)
    for _ in range(20):
        assert await cache.get() is first
    assert counting.reads.get(RULES_TABLE, 0) == reads  # fresh: no table read at all
    clock.now += 5
    assert await cache.get() is first
    assert counting.reads[RULES_TABLE] == reads + 1  # only `head`: nothing changed


async def test_a_change_elsewhere_is_in_force_within_the_ttl(backend: TableBackend) -> None:
    clock = Clock()
    writer = RuleStore(backend)
    cache = RuleSetCache(RuleStore(backend), 5, monotonic=clock)
    assert (await cache.get()).version == 0
    saved = await writer.replace(rule_set("forbidden"), None)
    clock.now += 4.9
    assert (await cache.get()).version == 0  # still within the bound
    clock.now += 0.1
    current = await cache.get()
    assert (current.version, current.etag) == (1, saved.etag)


async def test_concurrent_callers_share_one_revalidation(backend: TableBackend) -> None:
    clock = Clock()
    cache = RuleSetCache(RuleStore(backend), 5, monotonic=clock)
    await asyncio.gather(*(cache.get() for _ in range(10)))
    assert cache.revalidations == 1


async def test_ttl_zero_revalidates_every_time(backend: TableBackend) -> None:
    cache = RuleSetCache(RuleStore(backend), 0)
    for _ in range(3):
        await cache.get()
    assert cache.revalidations == 3


async def test_prime_puts_a_local_write_in_force_at_once(backend: TableBackend) -> None:
    store = RuleStore(backend)
    cache = RuleSetCache(store, 60)
    await cache.get()
    saved = await store.replace(rule_set(), None)
    cache.prime(saved)
    assert (await cache.get()).etag == saved.etag
