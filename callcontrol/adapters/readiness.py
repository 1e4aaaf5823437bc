"""Readiness probes that reach outside: Table Storage, ACS with the app's credential, the
callback signing keys. Each returns a sentence on success and raises NotReady with one an
operator can act on otherwise (see usecases/readiness.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
from azure.core.exceptions import ClientAuthenticationError

from callcontrol.adapters.acs_gateway import AcsGateway
from callcontrol.adapters.store.backend import TableBackend
from callcontrol.domain.errors import AcsRejected, AcsUnavailable, NotFound
from callcontrol.usecases.readiness import NotReady

logger = logging.getLogger(__name__)

PROBE_TABLE: Final = "readiness"
_REFUSED: Final = (401, 403)


class TableProbe:
    """A write and a read of one row of its own table (created on first use)."""

    name = "tableStorage"

    def __init__(self, backend: Callable[[], TableBackend], *, instance: str | None = None) -> None:
        self._backend = backend  # resolved on use: building it may fail on a missing setting
        self._row = instance or uuid.uuid4().hex

    async def check(self) -> str:
        written = datetime.now(UTC).isoformat()
        await self._backend().upsert(PROBE_TABLE, {"PartitionKey": "probe", "RowKey": self._row,
                                                 "WrittenAt": written})
        found = await self._backend().get(PROBE_TABLE, "probe", self._row)
        if found is None or found.get("WrittenAt") != written:
            raise NotReady(f"a row written to table {PROBE_TABLE} did not read back")
        return f"wrote and read back a row of table {PROBE_TABLE}"


class AcsProbe:
    """GetCall of a call that cannot exist: ACS must answer 404, which proves the endpoint is
    ACS and the app's credential is accepted; 401/403 names what to grant."""

    name = "acs"

    def __init__(self, gateway: Callable[[], AcsGateway], *, refused_hint: str) -> None:
        self._gateway = gateway
        self._refused_hint = refused_hint  # what to fix when ACS refuses the credential

    async def check(self) -> str:
        probe_id = f"readiness-probe-{uuid.uuid4()}"
        try:
            await self._gateway().get_call_properties(probe_id)
        except NotFound:
            return "ACS answered 404 for an unknown call: the app's credential is accepted"
        except AcsRejected as refused:
            if refused.info.status in _REFUSED:
                raise NotReady(f"ACS refused the app's credential (HTTP {refused.info.status}): "
                               f"{self._refused_hint}") from None
            raise NotReady(f"ACS answered HTTP {refused.info.status} ({refused.info.code}) "
                           "where 404 was expected") from None
        except AcsUnavailable as unavailable:
            if isinstance(unavailable.__cause__, ClientAuthenticationError):
                raise NotReady("the app could not get a token for ACS with its identity: "
                               f"{unavailable.__cause__.message}") from None
            raise NotReady(f"ACS did not answer: {unavailable.detail}") from None
        raise NotReady("ACS answered 200 for a call id that cannot exist: is ACS_ENDPOINT "
                       "an ACS resource?")


JwksFetch = Callable[[], Awaitable[Mapping[str, Any]]]


class JwksProbe:
    """The key set the callback tokens are checked with can be fetched and holds keys.

    Its messages name the setting, not the URL: /api/ready names no host or port (security.md);
    the URL goes to the log.
    """

    name = "callbackKeys"
    setting = "ACS_CALLBACK_JWKS_URL"

    def __init__(self, url: Callable[[], str], *, fetch: JwksFetch | None = None) -> None:
        self._url = url  # resolved on use: a missing setting is this probe's failure
        self._fetch = fetch

    async def _get(self, url: str) -> Mapping[str, Any]:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as reply:
            if reply.status != 200:
                raise NotReady(f"{self.setting} answered HTTP {reply.status}")
            document: Mapping[str, Any] = await reply.json(content_type=None)
            return document

    async def check(self) -> str:
        url = self._url()
        try:
            document = await (self._fetch() if self._fetch is not None else self._get(url))
        except aiohttp.ClientError as exc:
            logger.warning("readiness: the callback key set at %s could not be fetched: %r", url, exc)
            raise NotReady(f"{self.setting} could not be fetched: {type(exc).__name__}") from None
        except ValueError:
            raise NotReady(f"{self.setting} did not answer JSON") from None
        keys = document.get("keys") if isinstance(document, Mapping) else None
        usable = [k for k in keys or [] if isinstance(k, Mapping) and k.get("kid")]
        if not usable:
            raise NotReady(f"{self.setting} holds no signing keys")
        return f"{len(usable)} signing key(s) at {self.setting}"
