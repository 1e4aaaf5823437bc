"""The local stack's keys on disk: written under .run/ readable by the owner only (0600).

Nothing here is a production secret; these files exist so a persisted stack keeps the same
credentials across restarts and so scripts can read the function key instead of scraping stdout.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

FUNCTION_KEY_FILE = "function-key"
MASTER_KEY_FILE = "master-key"  # the host's admin key: runs a timer now (docs/operations.md)
AZURITE_KEY_FILE = "azurite-account-key"
# Keys travel in `?code=` and headers: URL-safe characters only, no whitespace.
_FUNCTION_KEY = re.compile(r"^[A-Za-z0-9_\-.~=]{8,256}$")


def write_private(path: Path, value: str) -> None:
    """Replace the file atomically; it is created 0600 and never readable by others meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # the umask may have narrowed it, never widened: be exact
        os.write(descriptor, value.encode("utf-8"))
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def read_private(path: Path) -> str | None:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return value or None


def kept_or_new(path: Path, make: Callable[[], str]) -> str:
    """The value stored at path, else a new one, stored there for the next start."""
    value = read_private(path)
    if value is None:
        value = make()
        write_private(path, value)
    return value


def new_function_key() -> str:
    return secrets.token_urlsafe(24)


def new_storage_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def check_function_key(value: str) -> str:
    if not _FUNCTION_KEY.match(value):
        raise ValueError(
            "FUNCTION_KEY must be 8-256 characters of letters, digits and - _ . ~ = (it travels in URLs)"
        )
    return value


def function_key(run_dir: Path, pinned: str | None, persist: bool) -> str:
    """The pinned key, else (when persisting) the one kept from the last run, else a new one;
    always written to run_dir/function-key for scripts."""
    path = run_dir / FUNCTION_KEY_FILE
    if pinned:
        key = check_function_key(pinned)
    elif persist:
        key = read_private(path) or new_function_key()
    else:
        key = new_function_key()
    write_private(path, key)
    return key


def azurite_key(run_dir: Path, persist: bool) -> str:
    """Persisted data keeps one account key (so its connection string stays valid); else fresh."""
    if persist:
        return kept_or_new(run_dir / AZURITE_KEY_FILE, new_storage_key)
    return new_storage_key()


def master_key(run_dir: Path, persist: bool) -> str:
    """Kept from the last run when persisting, else new; always written to run_dir/master-key,
    so running a timer by hand needs no scraping of the banner."""
    path = run_dir / MASTER_KEY_FILE
    key = (read_private(path) if persist else None) or new_function_key()
    write_private(path, key)
    return key
