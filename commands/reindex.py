"""`python -m commands.reindex`: bring every stored call to this release's layout (one-off, after
upgrading: records move to their own row key, every call is indexed in its day's table, index
rows of an earlier release move there; safe to repeat, and while the app runs). Uses the app's
own settings (CallStateStorage, or the table URI with a managed identity), so run it where the
app's settings are in the environment."""

from __future__ import annotations

import asyncio
import sys

from callcontrol.adapters.store.calls import CallStore
from callcontrol.composition.from_settings import table_backend_from_settings
from callcontrol.domain.errors import CallControlError
from callcontrol.settings import load_settings


async def reindex() -> int:
    backend = table_backend_from_settings(load_settings())
    try:
        return await CallStore(backend).reindex()
    finally:
        await backend.close()


def main() -> int:
    try:
        count = asyncio.run(reindex())
    except CallControlError as error:
        print(f"reindex: {error.detail}", file=sys.stderr)
        return 1
    print(f"reindex: {count} call(s) indexed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
