"""What the local Event Grid topic accepts: a CloudEvents 1.0 batch, checked the way the service does.

The topic's input schema is CloudEvents 1.0 (what ``EventGridPublisherClient`` sends for
``CloudEvent`` objects: ``application/cloudevents-batch+json; charset=utf-8``, a JSON array). A
single structured event (``application/cloudevents+json``) is accepted too. Anything wrong is a
``TopicError`` carrying the HTTP status Event Grid answers (400 format, 413 size).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
SINGLE_CONTENT_TYPE = "application/cloudevents+json"
# Event Grid's limits for a custom topic: the whole array and each event up to 1 MB.
DEFAULT_MAX_BATCH_BYTES = 1024 * 1024
DEFAULT_MAX_EVENT_BYTES = 1024 * 1024
REQUIRED_ATTRIBUTES = ("id", "source", "type")
_STRING_ATTRIBUTES = ("subject", "datacontenttype", "dataschema", "time")
# CloudEvents 1.0: attribute names are lower-case ASCII letters and digits.
_ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]+$")
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


@dataclass
class TopicError(Exception):
    """A refusal in Event Grid's error envelope, with the status it is answered with."""

    status: int
    code: str
    message: str
    details: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}


def bad_request(message: str, details: list[dict[str, str]] | None = None) -> TopicError:
    return TopicError(400, "BadRequest", message, details or [])


def too_large(message: str) -> TopicError:
    return TopicError(413, "RequestEntityTooLarge", message)


@dataclass(frozen=True)
class Limits:
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES


def media_type(content_type: str | None) -> str:
    """``application/cloudevents-batch+json; charset=utf-8`` → ``application/cloudevents-batch+json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_batch(raw: bytes, content_type: str | None, limits: Limits) -> list[dict[str, Any]]:
    """The events of one publish, each checked; the first problem found is raised."""
    kind = media_type(content_type)
    if kind not in (BATCH_CONTENT_TYPE, SINGLE_CONTENT_TYPE):
        raise bad_request(
            "This topic accepts CloudEvents 1.0: send Content-Type "
            f"'{BATCH_CONTENT_TYPE}' (an array) or '{SINGLE_CONTENT_TYPE}' (one event), "
            f"not '{kind or 'none'}'."
        )
    if len(raw) > limits.max_batch_bytes:
        raise too_large(f"The request body is {len(raw)} bytes; a batch may be at most "
                        f"{limits.max_batch_bytes} bytes.")
    try:
        decoded = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("The request body is not valid JSON.") from None
    if kind == SINGLE_CONTENT_TYPE:
        decoded = [decoded]
    if not isinstance(decoded, list):
        raise bad_request(f"A '{BATCH_CONTENT_TYPE}' body must be a JSON array of events.")
    if not decoded:
        raise bad_request("The batch holds no events.")
    for index, event in enumerate(decoded):
        check_event(event, index, limits)
    return decoded


def check_event(event: Any, index: int, limits: Limits) -> None:
    where = f"events[{index}]"
    if not isinstance(event, dict):
        raise _invalid(where, "an event must be a JSON object")
    size = len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > limits.max_event_bytes:
        raise too_large(f"{where} is {size} bytes; an event may be at most {limits.max_event_bytes} bytes.")
    if event.get("specversion") != "1.0":
        raise _invalid(f"{where}.specversion", "is required and must be '1.0'")
    for name in REQUIRED_ATTRIBUTES:
        value = event.get(name)
        if not isinstance(value, str) or not value:
            raise _invalid(f"{where}.{name}", "is required and must be a non-empty string")
    for name in _STRING_ATTRIBUTES:
        if name in event and event[name] is not None and not isinstance(event[name], str):
            raise _invalid(f"{where}.{name}", "must be a string")
    if isinstance(event.get("time"), str) and not _is_rfc3339(event["time"]):
        raise _invalid(f"{where}.time", "must be an RFC 3339 timestamp")
    if event.get("data") is not None and event.get("data_base64") is not None:
        raise _invalid(where, "carries both data and data_base64")
    encoded = event.get("data_base64")
    if encoded is not None and not isinstance(encoded, str):
        raise _invalid(f"{where}.data_base64", "must be a base64 string")
    for name, value in event.items():
        if name in ("data", "data_base64"):
            continue
        if not _ATTRIBUTE_NAME.match(name):
            raise _invalid(f"{where}.{name}", "attribute names are lower-case letters and digits only")
        if isinstance(value, dict | list):
            raise _invalid(f"{where}.{name}", "an attribute value must be a string, number or boolean")


def _invalid(target: str, reason: str) -> TopicError:
    return bad_request(
        f"{target} {reason}.", [{"code": "InputJsonInvalid", "message": f"{target} {reason}."}]
    )


def _is_rfc3339(value: str) -> bool:
    if not _RFC3339.match(value):
        return False
    try:
        # Python < 3.11 quirks aside, fromisoformat takes 'Z' and up to 6 fraction digits.
        trimmed = re.sub(r"(\.\d{6})\d+", r"\1", value).replace("z", "Z")
        datetime.fromisoformat(trimmed.replace("t", "T"))
    except ValueError:
        return False
    return True
