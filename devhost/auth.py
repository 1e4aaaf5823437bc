"""HTTP auth levels and host keys, as the Functions host applies them.

`anonymous` is open; `function` accepts the function key or the master key; `admin` only the master
key. The key arrives in the `x-functions-key` header or the `code` query parameter (header first).
Extension webhooks (`/runtime/webhooks/eventgrid`) take the extension's system key
(`eventgrid_extension` in Azure) or the master key; the admin API (`/admin/...`) only the master key.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

FUNCTION_KEY_SETTING: Final = "DEVHOST_FUNCTION_KEY"
MASTER_KEY_SETTING: Final = "DEVHOST_MASTER_KEY"
EVENTGRID_KEY_SETTING: Final = "DEVHOST_EVENTGRID_KEY"  # the host's `eventgrid_extension` system key
KEY_SETTINGS: Final = (FUNCTION_KEY_SETTING, MASTER_KEY_SETTING, EVENTGRID_KEY_SETTING)
KEY_HEADER: Final = "x-functions-key"
KEY_QUERY: Final = "code"

ANONYMOUS: Final = "anonymous"
FUNCTION: Final = "function"
ADMIN: Final = "admin"
AUTH_LEVELS: Final = frozenset({ANONYMOUS, FUNCTION, ADMIN})


@dataclass(frozen=True)
class HostKeys:
    function_key: str
    master_key: str
    generated: frozenset[str] = frozenset()  # names of the settings that were missing and made up
    eventgrid_key: str = ""  # empty only when built by hand: then no key opens the webhook but master

    def __repr__(self) -> str:  # keys never reach a log through a repr
        return f"HostKeys(generated={sorted(self.generated)})"

    def by_setting(self) -> dict[str, str]:
        """Each key under the name of the setting that provides it."""
        return {
            FUNCTION_KEY_SETTING: self.function_key,
            MASTER_KEY_SETTING: self.master_key,
            EVENTGRID_KEY_SETTING: self.eventgrid_key,
        }


def resolve_keys(settings: Mapping[str, str]) -> HostKeys:
    """Take the keys from settings; invent random ones for those that are unset or empty."""
    generated = set()
    keys = {}
    for name in KEY_SETTINGS:
        value = settings.get(name, "")
        if not value:
            value = secrets.token_urlsafe(32)
            generated.add(name)
        keys[name] = value
    return HostKeys(
        keys[FUNCTION_KEY_SETTING],
        keys[MASTER_KEY_SETTING],
        frozenset(generated),
        eventgrid_key=keys[EVENTGRID_KEY_SETTING],
    )


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The key a request carries: the header wins over `?code=`, as in the real host."""
    return headers.get(KEY_HEADER) or query.get(KEY_QUERY) or None


def is_authorized(level: str, key: str | None, keys: HostKeys) -> bool:
    """Whether a request carrying `key` may call a function with auth level `level`."""
    if level == ANONYMOUS:
        return True
    if key is None:
        return False
    if _same(key, keys.master_key):
        return True
    return level == FUNCTION and _same(key, keys.function_key)


def is_master(key: str | None, keys: HostKeys) -> bool:
    """The admin API takes the master key only."""
    return key is not None and _same(key, keys.master_key)


def opens_eventgrid_webhook(key: str | None, keys: HostKeys) -> bool:
    """The Event Grid webhook takes its system key, or the master key (admin satisfies every level)."""
    if key is None:
        return False
    return _same(key, keys.master_key) or (bool(keys.eventgrid_key) and _same(key, keys.eventgrid_key))


def _same(presented: str, expected: str) -> bool:
    # A header byte outside ASCII reaches us as a lone surrogate (aiohttp decodes with
    # surrogateescape); "surrogatepass" encodes any str, so an odd key is just a wrong key.
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
