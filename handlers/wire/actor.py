"""The caller as responses show it (`Actor.to_json`): on operations and rule set versions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from callcontrol.domain.access import ActorKind, Role


class ActorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ActorKind = Field(description="app (an app-only token: a managed identity), user (a "
                                        "delegated token) or key (a function key holder)")
    id: str = Field(description="the Entra ID object id; function-key for a key holder")
    name: str | None = Field(default=None, description="the display name the token carried")
    appId: str | None = Field(default=None, description="the client application's id")
    roles: list[Role] = Field(default_factory=list, description="the app roles it held")
