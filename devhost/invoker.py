"""Call user functions the way the Python worker does.

Arguments are bound by name: the trigger value to the parameter named after the trigger binding and
an invocation context to `context` when declared. `async def` functions run on the server's event
loop; plain functions run in a thread pool so a slow one does not stall every other request.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from devhost.context import InvocationContext
from devhost.indexing import CONTEXT_PARAMETER, IndexedFunction


class Invoker:
    def __init__(self, max_workers: int | None = None) -> None:
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="devhost-fn")

    async def invoke(self, function: IndexedFunction, trigger_value: Any, context: InvocationContext) -> Any:
        """Run `function` once and return what it returned; its exceptions propagate."""
        arguments: dict[str, Any] = {function.trigger_parameter: trigger_value}
        if function.wants_context:
            arguments[CONTEXT_PARAMETER] = context
        if function.is_async:
            return await function.user_function(**arguments)
        call = functools.partial(function.user_function, **arguments)
        # Copy the caller's context variables into the worker thread, as asyncio.to_thread does.
        snapshot = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(self._executor, snapshot.run, call)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
