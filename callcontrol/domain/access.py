"""Who called the management API (the actor) and what the caller may do (roles).

An actor is recorded on every operation and rule set version and carried in call events
(`cause.actor`), so "who did what" survives in the history. A function key names no one: every
key holder is the same actor (the host does not tell the app which key was used).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from callcontrol.domain.errors import Forbidden


class AuthMode(Enum):
    """How management callers authenticate (the MANAGEMENT_AUTH setting)."""

    KEYS = "keys"  # the host checks function keys; every caller is the key holder
    ENTRA = "entra"  # the routes are anonymous at the host; the app requires a token with a role
    BOTH = "both"  # the host checks keys; a token, when sent, names the caller and limits it


class Role(Enum):
    """The app roles of the management API (Entra ID app roles, `roles` token claim)."""

    CALLS_READ = "calls.read"  # read calls, their events and participants
    CALLS_CONTROL = "calls.control"  # create calls and act on them (hang up, transfer, add…)
    RULES_READ = "rules.read"  # read the rule set, its versions, dry-run an evaluation
    RULES_WRITE = "rules.write"  # replace the rule set


class ActorKind(Enum):
    KEY = "key"  # a function key holder (keys name no one)
    APP = "app"  # an Entra ID application or managed identity (app-only token)
    USER = "user"  # a signed-in user (delegated token)


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str  # the Entra object id (oid) of the caller; "function-key" for a key holder
    name: str | None = None  # a display name when the token carries one (never trusted for auth)
    app_id: str | None = None  # the client application's id (azp / appid)
    roles: frozenset[Role] = frozenset()

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": self.kind.value, "id": self.id}
        if self.name is not None:
            body["name"] = self.name
        if self.app_id is not None:
            body["appId"] = self.app_id
        if self.roles:
            body["roles"] = sorted(role.value for role in self.roles)
        return body

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Actor:
        """Lenient: roles this release does not know are dropped, not refused (stored rows)."""
        known = {role.value: role for role in Role}
        return cls(ActorKind(value["kind"]), str(value["id"]), value.get("name"),
                   value.get("appId"),
                   frozenset(known[r] for r in value.get("roles", ()) if r in known))


# A function key opens every route (that is what a key is): all roles, no one in particular.
KEY_HOLDER: Final = Actor(ActorKind.KEY, "function-key", roles=frozenset(Role))


def require(actor: Actor, role: Role) -> None:
    """Raise Forbidden unless the actor holds `role`."""
    if role not in actor.roles:
        raise Forbidden(f"this operation requires the app role {role.value}")
