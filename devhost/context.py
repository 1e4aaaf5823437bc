"""A concrete `func.Context` for functions that declare a `context` parameter."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import azure.functions as func
from azure.functions import _abc as azf_abc


# TraceContext and RetryContext are not re-exported by azure.functions, hence _abc.
class _TraceContext(azf_abc.TraceContext):
    def __init__(self, trace_parent: str, trace_state: str) -> None:
        self._trace_parent = trace_parent
        self._trace_state = trace_state

    @property
    def trace_state(self) -> str:
        return self._trace_state

    @property
    def trace_parent(self) -> str:
        return self._trace_parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(azf_abc.RetryContext):
    """No retry policy runs locally: every invocation is the first and only attempt."""

    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> azf_abc.RpcException:
        raise AttributeError("no retry exception: devhost does not retry invocations")


class InvocationContext(func.Context):
    def __init__(
        self,
        function_name: str,
        function_directory: Path,
        trace_parent: str | None = None,
        trace_state: str = "",
    ) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = str(function_directory)
        self._thread_local = threading.local()
        self._thread_local.invocation_id = self._invocation_id
        self._trace = _TraceContext(trace_parent or _new_trace_parent(), trace_state)

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> threading.local:  # type: ignore[override]
        return self._thread_local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> azf_abc.TraceContext:
        return self._trace

    @property
    def retry_context(self) -> azf_abc.RetryContext:
        return _RetryContext()


def _new_trace_parent() -> str:
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-00"
