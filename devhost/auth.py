"""HTTP auth levels and host keys, as the Functions host applies them.

`anonymous` is open; `function` accepts the function key or the master key; `admin` only the master
key. The key arrives in the `x-functions-key` header or the `code` query parameter (header first).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

FUNCTION_KEY_SETTING: Final = "DEVHOST_FUNCTION_KEY"
MASTER_KEY_SETTING: Final = "DEVHOST_MASTER_KEY"
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

    def __repr__(self) -> str:  # keys never reach a log through a repr
        return f"HostKeys(generated={sorted(self.generated)})"


def resolve_keys(settings: Mapping[str, str]) -> HostKeys:
    """Take the keys from settings; invent random ones for those that are unset or empty."""
    generated = set()
    keys = {}
    for name in (FUNCTION_KEY_SETTING, MASTER_KEY_SETTING):
        value = settings.get(name, "")
        if not value:
            value = secrets.token_urlsafe(32)
            generated.add(name)
        keys[name] = value
    return HostKeys(keys[FUNCTION_KEY_SETTING], keys[MASTER_KEY_SETTING], frozenset(generated))


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


def _same(presented: str, expected: str) -> bool:
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))
