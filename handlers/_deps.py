"""Lazily built, per-process (per event loop) dependencies for the handlers.

Nothing is created at import time. The first request that needs a piece builds it from the
settings; a missing setting fails that request with the setting's name. Async clients belong to
the event loop that made them, so the cache is keyed by loop. Tests swap the whole container
with `use_services`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property

from callcontrol.acs_gateway import AcsGateway, gateway_from_settings
from callcontrol.actions import CallActions
from callcontrol.adapters.telemetry import configure_telemetry
from callcontrol.callback_auth import CallbackAuthenticator, authenticator_from_settings
from callcontrol.inbound import InboundCalls, InboundOptions
from callcontrol.service import CallControlService
from callcontrol.settings import Settings, load_settings
from callcontrol.store.azure_tables import table_backend_from_settings
from callcontrol.store.backend import TableBackend
from callcontrol.store.calls import CallStore
from callcontrol.store.claims import ClaimStore
from callcontrol.store.idempotency import IdempotencyStore
from callcontrol.store.rules import RuleSetCache, RuleStore, rules_file_seed


class Services:
    """Everything a handler may need, each part built on first use."""

    def __init__(
        self,
        settings: Settings,
        *,
        backend: TableBackend | None = None,
        gateway: AcsGateway | None = None,
        authenticator: CallbackAuthenticator | None = None,
    ) -> None:
        self.settings = settings
        self._backend = backend
        self._gateway = gateway
        self._authenticator = authenticator

    # Given ones (tests, tools) win; otherwise built from the settings on first use.
    @cached_property
    def backend(self) -> TableBackend:
        return self._backend or table_backend_from_settings(self.settings)

    @cached_property
    def gateway(self) -> AcsGateway:
        return self._gateway or gateway_from_settings(self.settings)

    @cached_property
    def authenticator(self) -> CallbackAuthenticator:
        return self._authenticator or authenticator_from_settings(self.settings)

    @cached_property
    def calls(self) -> CallStore:
        return CallStore(self.backend)

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(self.backend)

    @cached_property
    def actions(self) -> CallActions:
        return CallActions(self.service, lambda: self.gateway,
                           default_caller_id=lambda: self.settings.default_caller_id)

    @cached_property
    def rules(self) -> RuleStore:
        return RuleStore(self.backend, seed=rules_file_seed(self.settings))

    @cached_property
    def rule_cache(self) -> RuleSetCache:
        return RuleSetCache(self.rules, self.settings.rules_cache_seconds)

    @cached_property
    def claims(self) -> ClaimStore:
        return ClaimStore(self.backend)

    @cached_property
    def inbound(self) -> InboundCalls:
        return InboundCalls(
            rules=self.rule_cache, claims=self.claims, calls=self.service,
            gateway=lambda: self.gateway, options=InboundOptions.from_settings(self.settings),
        )

    @cached_property
    def service(self) -> CallControlService:
        # The gateway is resolved only by use cases that reach ACS, so reading calls and
        # ingesting callbacks work without ACS settings.
        return CallControlService(self.calls, lambda: self.gateway)


ServicesFactory = Callable[[], Services]
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Services] = (
    weakref.WeakKeyDictionary()
)
_factory: ServicesFactory | None = None


def observe() -> None:
    """Telemetry and the logging layer, configured once per worker process (idempotent)."""
    configure_telemetry()


def services() -> Services:
    loop = asyncio.get_running_loop()
    found = _by_loop.get(loop)
    if found is None:
        found = _factory() if _factory is not None else Services(load_settings())
        _by_loop[loop] = found
    return found


@contextmanager
def use_services(factory: ServicesFactory) -> Iterator[None]:
    """Run handlers against the given services (tests, tools)."""
    global _factory
    previous = _factory
    _factory = factory
    _by_loop.clear()
    try:
        yield
    finally:
        _factory = previous
        _by_loop.clear()
