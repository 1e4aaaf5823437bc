"""Small validators for request bodies; every refusal is ACS's 400/8523."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from emulator.common.errors import invalid_argument


def require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_argument("The request body must be a JSON object.")
    return body


def required_string(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if value is None:
        raise invalid_argument(f"The {field} field is required.")
    if not isinstance(value, str) or not value.strip():
        raise invalid_argument(f"The field {field} must be a non-empty string.")
    return value


def optional_string(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_argument(f"The field {field} must be a string.")
    return value


def callback_uri(body: dict[str, Any], field: str, required: bool = True) -> str | None:
    """An absolute http(s) URI (real ACS insists on https; the emulator allows http)."""
    value = required_string(body, field) if required else optional_string(body, field)
    if value is None:
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise invalid_argument(f"The field {field} is invalid.") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_argument(f"The field {field} is invalid.")
    return value.strip()


def optional_int(body: dict[str, Any], field: str, low: int, high: int) -> int | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid_argument(f"The field {field} must be an integer between {low} and {high}.")
    return value


def cognitive_services_endpoint(body: dict[str, Any]) -> str | None:
    """callIntelligenceOptions of AnswerCall/CreateCall: an object holding only
    cognitiveServicesEndpoint (the swagger forbids other members), an absolute URL."""
    options = body.get("callIntelligenceOptions")
    if options is None:
        return None
    if not isinstance(options, dict):
        raise invalid_argument("The field callIntelligenceOptions must be an object.")
    unknown = sorted(set(options) - {"cognitiveServicesEndpoint"})
    if unknown:
        raise invalid_argument(
            f"The field callIntelligenceOptions has unknown members: {', '.join(unknown)}.")
    return callback_uri(options, "cognitiveServicesEndpoint", required=False)
