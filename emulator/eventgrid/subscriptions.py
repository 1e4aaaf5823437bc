"""Event subscriptions of the local topic: a webhook, a filter and a retry policy (ARM's names)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from emulator.common.errors import AcsError

MAX_DELIVERY_ATTEMPTS = 30
MAX_TTL_MINUTES = 1440
_NAME = re.compile(r"^[A-Za-z0-9-]{3,64}$")


def bad_input(message: str) -> AcsError:
    return AcsError(400, "InvalidInput", message)


@dataclass(frozen=True)
class SubjectFilter:
    subject_begins_with: str = ""
    subject_ends_with: str = ""
    included_event_types: tuple[str, ...] = ()
    case_sensitive: bool = False

    def matches(self, event: dict[str, Any]) -> bool:
        if self.included_event_types:
            event_type = str(event.get("type", "")).lower()
            if event_type not in {t.lower() for t in self.included_event_types}:
                return False
        subject = event.get("subject")
        subject = subject if isinstance(subject, str) else ""
        begins, ends = self.subject_begins_with, self.subject_ends_with
        if not self.case_sensitive:
            subject, begins, ends = subject.lower(), begins.lower(), ends.lower()
        return subject.startswith(begins) and subject.endswith(ends)

    def to_wire(self) -> dict[str, Any]:
        return {
            "subjectBeginsWith": self.subject_begins_with,
            "subjectEndsWith": self.subject_ends_with,
            "includedEventTypes": list(self.included_event_types) or None,
            "isSubjectCaseSensitive": self.case_sensitive,
        }


@dataclass(frozen=True)
class RetryPolicy:
    max_delivery_attempts: int = MAX_DELIVERY_ATTEMPTS
    event_ttl_minutes: int = MAX_TTL_MINUTES

    def to_wire(self) -> dict[str, int]:
        return {
            "maxDeliveryAttempts": self.max_delivery_attempts,
            "eventTimeToLiveInMinutes": self.event_ttl_minutes,
        }


@dataclass
class Subscription:
    name: str
    endpoint_url: str
    filter: SubjectFilter
    retry_policy: RetryPolicy
    created: float = field(default_factory=time.time)
    deleted: bool = False
    # First attempts go out one at a time in publish order; retries don't wait for this.
    first_attempts: asyncio.Lock = field(default_factory=asyncio.Lock)

    def to_wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpointUrl": self.endpoint_url,
            "filter": self.filter.to_wire(),
            "retryPolicy": self.retry_policy.to_wire(),
            "eventDeliverySchema": "CloudEventSchemaV1_0",
            "provisioningState": "Succeeded",
        }


def parse_subscription(body: Any) -> Subscription:
    """A subscription from the control API's JSON; every refusal names the field."""
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    unknown = set(body) - {"name", "endpointUrl", "filter", "retryPolicy"}
    if unknown:
        raise bad_input(f"unknown fields: {', '.join(sorted(unknown))}")
    name = body.get("name")
    if name is None:
        name = f"sub-{uuid.uuid4().hex[:12]}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise bad_input("name must be 3-64 letters, digits or '-'")
    return Subscription(
        name=name,
        endpoint_url=_endpoint(body.get("endpointUrl")),
        filter=_filter(body.get("filter")),
        retry_policy=_retry_policy(body.get("retryPolicy")),
    )


def _endpoint(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise bad_input("endpointUrl is required (the subscriber's webhook URL)")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_input("endpointUrl must be an absolute http(s) URL")
    return value


def _filter(value: Any) -> SubjectFilter:
    if value is None:
        return SubjectFilter()
    if not isinstance(value, dict):
        raise bad_input("filter must be an object")
    allowed = {"subjectBeginsWith", "subjectEndsWith", "includedEventTypes", "isSubjectCaseSensitive"}
    unknown = set(value) - allowed
    if unknown:
        raise bad_input(f"unknown filter fields: {', '.join(sorted(unknown))}")
    begins = value.get("subjectBeginsWith") or ""
    ends = value.get("subjectEndsWith") or ""
    for field_name, text in (("subjectBeginsWith", begins), ("subjectEndsWith", ends)):
        if not isinstance(text, str):
            raise bad_input(f"filter.{field_name} must be a string")
    types = value.get("includedEventTypes") or []
    if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
        raise bad_input("filter.includedEventTypes must be a list of non-empty strings")
    case_sensitive = value.get("isSubjectCaseSensitive", False)
    if not isinstance(case_sensitive, bool):
        raise bad_input("filter.isSubjectCaseSensitive must be a boolean")
    return SubjectFilter(begins, ends, tuple(types), case_sensitive)


def _retry_policy(value: Any) -> RetryPolicy:
    if value is None:
        return RetryPolicy()
    if not isinstance(value, dict):
        raise bad_input("retryPolicy must be an object")
    unknown = set(value) - {"maxDeliveryAttempts", "eventTimeToLiveInMinutes"}
    if unknown:
        raise bad_input(f"unknown retryPolicy fields: {', '.join(sorted(unknown))}")
    attempts = value.get("maxDeliveryAttempts", MAX_DELIVERY_ATTEMPTS)
    ttl = value.get("eventTimeToLiveInMinutes", MAX_TTL_MINUTES)
    if not _int_between(attempts, 1, MAX_DELIVERY_ATTEMPTS):
        limit = MAX_DELIVERY_ATTEMPTS
        raise bad_input(f"retryPolicy.maxDeliveryAttempts must be an integer from 1 to {limit}")
    if not _int_between(ttl, 1, MAX_TTL_MINUTES):
        limit = MAX_TTL_MINUTES
        raise bad_input(f"retryPolicy.eventTimeToLiveInMinutes must be an integer from 1 to {limit}")
    return RetryPolicy(attempts, ttl)


def _int_between(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
