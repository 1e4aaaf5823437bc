"""Whether an Azure SDK client's HTTP transport reads proxy settings from the environment.

azure-core's aiohttp transport trusts the environment by default (`use_env_settings`), and
aiohttp then looks up, on EVERY request, a `.netrc` entry for the host (a read in the default
thread pool) and the `*_proxy` variables (another hop through a thread). Measured on Azurite in
one process (docs/benchmarks.md, callback ingestion): a Table request costs about 1.0 ms less CPU
without those two lookups (2.6 against 1.6 ms), a callback's two requests about 2.9 ms.

So the lookups stay on only where they can change something: when the process starts with a
proxy configured (`getproxies()`: HTTP(S)_PROXY, ALL_PROXY, NO_PROXY and the lower-case forms)
the client keeps today's behaviour. A `.netrc` entry is never wanted for these hosts: aiohttp
refuses to send one alongside the SDK's own Authorization header.
"""

from __future__ import annotations

from typing import Any
from urllib.request import getproxies


def transport_options() -> dict[str, Any]:
    """Keyword arguments for an Azure SDK client's constructor (passed on to its transport;
    typed loosely because each client's constructor declares its own keyword arguments)."""
    return {"use_env_settings": bool(getproxies())}
