"""The app's services over the in-memory store twin, with callbacks signed by a test signer:
what the handler tests run the functions against."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from callcontrol.adapters.callback_auth import CallbackAuthenticator
from callcontrol.composition import Services, use_services
from callcontrol.settings import load_settings
from tests.support.memory_tables import MemoryTableBackend
from tests.support.signing import TestSigner

ISSUER, AUDIENCE = "http://acs.test", "resource-guid"


@contextmanager
def services_over(backend: MemoryTableBackend, signer: TestSigner) -> Iterator[None]:
    """Every invocation meanwhile gets services on `backend`, trusting `signer`'s tokens."""

    async def keys() -> Mapping[str, Any]:
        return signer.jwks()

    def factory() -> Services:
        auth = CallbackAuthenticator(issuer=ISSUER, audience=AUDIENCE, fetch_jwks=keys)
        return Services(load_settings({}), backend=backend, authenticator=auth)

    with use_services(factory):
        yield
