"""devhost: a local stand-in for the Azure Functions host serving a v2 `FunctionApp` over HTTP.

It imports nothing from the app's own packages; it loads `function_app:app` (or any
`module:attribute`) and indexes it with the azure-functions library, like the real Python worker.
"""

from __future__ import annotations

from devhost.settings import HostConfig

__all__ = ["HostConfig"]
