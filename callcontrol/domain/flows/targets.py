"""Who a flow may call (ring / transfer / redirect targets) and where an `ask` may post."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.flows.fields import Problems
from callcontrol.domain.identifiers import Identifier, IdentifierKind, parse_strict_identifier

# A call can be extended to these; a Teams app (a bot) or an unclassified raw id cannot ring.
CALLABLE_KINDS: Final = frozenset(
    {IdentifierKind.PHONE_NUMBER, IdentifierKind.COMMUNICATION_USER, IdentifierKind.MICROSOFT_TEAMS_USER}
)
_LOOPBACK_NAMES: Final = frozenset({"localhost"})


def identifier(value: Mapping[str, Any], where: str, problems: Problems) -> Identifier | None:
    """A target in any identifier form the API accepts, named `where` when refused."""
    try:
        found = parse_strict_identifier(dict(value), where)
    except InvalidInput as exc:
        problems.extend(exc.problems)
        return None
    if found.kind not in CALLABLE_KINDS or found.raw_id.endswith(":"):
        problems.add(where, "must be a phone number, an ACS user (8:acs:…) or a Teams user (8:orgid:…)")
        return None
    if found.is_withheld:
        problems.add(where, "cannot be a withheld number (4:anonymous)")
        return None
    return found


def ask_url_problem(url: str) -> str | None:
    """Why `url` cannot be an ask endpoint, or None: HTTPS, or plain HTTP to a loopback host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        return "must be an absolute https:// URL"
    if not host or parts.scheme not in ("https", "http"):
        return "must be an absolute https:// URL"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials: requests are signed instead"
    if parts.fragment:
        return "must not have a #fragment"
    if parts.scheme == "http" and not is_loopback(host):
        return "must use https:// (plain http only to a loopback host, for local use)"
    return None


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_text_problem(url: str) -> str | None:
    """Why `url` cannot be sent as written, or None. urlsplit drops tabs, CR and LF and reads a
    space or a lone surrogate as part of a host, so `ask_url_problem` lets such a URL through.
    Checked when a set is stored (rules/flows.py `admission_problems`), not when one is read:
    sets stored before this check must stay readable."""
    if not url.isascii() or not url.isprintable() or " " in url:
        return "must be printable ASCII without spaces (percent-encode the rest; a host in its xn-- form)"
    return None
