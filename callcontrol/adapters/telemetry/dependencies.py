"""Dependency spans for the Azure SDK clients: one CLIENT span per HTTP request, on every try.

The spans are made by `DependencySpanPolicy`, a policy of ours in each client's own azure-core
pipeline (`per_retry_policies`: right after the retry policy, so once per try, as azure-core's
DistributedTracingPolicy runs). The span is the one azure-core's policy makes: named after
the method, with the attributes azure-core sets (see request_spans.py) and the W3C
`traceparent` sent with the request. It also starts with the identifiers of the call in hand,
so a dependency can be found by the call's correlationId on its own.

Why not azure-core's policy itself: per request it reads its settings from the environment
several times, looks a tracer up, and changes the context three times. Timed in place in the
telemetry bench, a traced request cost about 400 µs of CPU more than an untraced one through
azure-core's policy, about 300 µs through this one; at 2 to 7 requests per invocation that
difference is what held callback ingestion above the 10% telemetry may add
(bench/telemetry_bench.py, docs/operations.md "What it costs").

Each request traced here tells azure-core's policy to stay out of it (`tracing_options`). So
turning Azure SDK tracing on globally cannot give a request two spans.

Nothing of OpenTelemetry is imported until the first request that telemetry is on for.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Final

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import AsyncHTTPPolicy, AsyncRetryPolicy, RetryPolicy

from callcontrol.observability.context import call_ids
from callcontrol.observability.port import telemetry_enabled

# azure-core's per-request switch for its own tracing policy.
_AZURE_CORE_TRACING_OFF: Final = {"enabled": False}


class DependencySpanPolicy(AsyncHTTPPolicy[Any, Any]):
    """A dependency span per try of a request, while telemetry is installed.

    An async policy rather than a SansIO one: azure-core calls a SansIO policy back on an
    Exception only, so a request cancelled by the caller's deadline would leave its span open
    and unexported; here it ends as an error like any failure. (The app's SDK clients are all
    async.)"""

    _spans: ModuleType | None = None

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        if not telemetry_enabled():
            return await self.next.send(request)
        request.context.options["tracing_options"] = _AZURE_CORE_TRACING_OFF
        spans = self._request_spans()
        ids = call_ids()
        span = spans.start(request.http_request, ids.attributes() if ids is not None else None)
        try:
            response = await self.next.send(request)
        except BaseException as error:  # cancellation included
            spans.end(span, request.http_request, None, request.context.get("retry_count"), error)
            raise
        spans.end(span, request.http_request, response.http_response,
                  request.context.get("retry_count"))
        return response

    @classmethod
    def _request_spans(cls) -> ModuleType:
        if cls._spans is None:
            from callcontrol.adapters.telemetry import request_spans

            cls._spans = request_spans
        return cls._spans


def client_options() -> dict[str, Any]:
    """Keyword arguments for an Azure SDK client's constructor."""
    return {"per_retry_policies": [DependencySpanPolicy()]}


def add_after_retry(policies: list[Any]) -> bool:
    """Puts a DependencySpanPolicy after the retry policy of `policies`, as `per_retry_policies`
    would, unless one is there; False (and unchanged) when there is no retry policy to follow.

    For Table Storage: a TableServiceClient builds its table clients from the policy list it
    was configured with, not from its own pipeline, so the `per_retry_policies` it was given do
    not reach them; the list (`TableServiceClient._policies`) is the one place they do.
    """
    if any(isinstance(policy, DependencySpanPolicy) for policy in policies):
        return True
    retries = [i for i, policy in enumerate(policies) if isinstance(policy, (RetryPolicy, AsyncRetryPolicy))]
    if not retries:
        return False
    policies.insert(retries[-1] + 1, DependencySpanPolicy())
    return True
