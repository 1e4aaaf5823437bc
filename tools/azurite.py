"""Azurite's table service, pinned in package.json, started with a fresh random account key.

The key is made per run unless given (Azurite takes custom accounts from AZURITE_ACCOUNTS), so
no storage key is ever written in this repository; `make run PERSIST=1` keeps one under .run/.
"""

from __future__ import annotations

import base64
import secrets
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tools.processes import ROOT, ensure_free, free_port, start, stop, wait_for_port

ACCOUNT = "callcontrol"
AZURITE_TABLE = ROOT / "node_modules" / ".bin" / "azurite-table"


@dataclass
class Azurite:
    process: subprocess.Popen[bytes]
    port: int
    account: str
    key: str

    @property
    def table_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.account}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account};"
            f"AccountKey={self.key};TableEndpoint={self.table_endpoint};"
        )

    def stop(self) -> bool:
        """True when it stopped of itself, False when it had to be killed."""
        # Azurite's table service saves its database on SIGINT only (SIGTERM kills it at once,
        # losing up to its 5 s autosave interval of writes to a persisted location).
        return stop(self.process, timeout=10.0, sig=signal.SIGINT)


def start_azurite(
    *, port: int = 0, location: Path | None = None, log: Path | None = None, key: str | None = None
) -> Azurite:
    """Start the table service; in memory unless a data folder is given.

    ``key`` is the account key (base64); a random one when None. Data kept in ``location`` is
    reached with whatever key the next start is given, so a persisted stack passes the same one.
    """
    if not AZURITE_TABLE.exists():
        raise RuntimeError("Azurite is not installed: run `npm ci` (make does it for you)")
    port = port or free_port()
    ensure_free(port)
    key = key or base64.b64encode(secrets.token_bytes(32)).decode()
    command = [str(AZURITE_TABLE), "--tableHost", "127.0.0.1", "--tablePort", str(port),
               "--disableTelemetry", "--skipApiVersionCheck", "--disableProductStyleUrl",
               "--silent"]
    if location is None:
        command.append("--inMemoryPersistence")
    else:
        location.mkdir(parents=True, exist_ok=True)
        command += ["--location", str(location)]
    process = start(command, env={"AZURITE_ACCOUNTS": f"{ACCOUNT}:{key}"}, log=log)
    try:
        wait_for_port(port, process, timeout=30)
    except BaseException:  # Ctrl-C during start-up too: never leave a child behind
        stop(process)
        raise
    return Azurite(process, port, ACCOUNT, key)
