"""Configuration of one emulator instance (what the CLI flags and the Python API set)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_TOPIC = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator"
    "/providers/Microsoft.Communication/communicationServices/acs-emulator"
)


@dataclass
class EmulatorConfig:
    """Everything an emulator instance needs to know before it starts.

    ``access_key`` is the base64 ACS access key the SDK signs with; ``resource_id`` is the
    immutable resource id, used as the audience of callback tokens; ``event_webhook`` is where
    IncomingCall events go (the app's Event Grid endpoint); None disables Event Grid delivery.
    """

    access_key: str
    resource_id: str
    event_webhook: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    # Phone numbers (E.164) owned by this resource: calls to them raise IncomingCall.
    resource_numbers: frozenset[str] = field(default_factory=frozenset)
    eventgrid_topic: str = DEFAULT_TOPIC
    eventgrid_subscription_name: str = "EMULATOR-SUBSCRIPTION"
    # Event Grid's retry schedule (10 s, 30 s, 1 min, ...) is multiplied by this factor.
    eventgrid_retry_factor: float = 0.001
    eventgrid_max_attempts: int = 30
    # How long an IncomingCall's context stays answerable (not documented by ACS).
    incoming_call_ttl_seconds: float = 30.0
    # How long a callee rings before it counts as not answered (create call, transfer).
    ring_timeout_seconds: float = 60.0
    callback_token_lifetime_seconds: int = 300
    # Delay between a 2xx for answer/create and the CallConnected callback.
    connect_delay_seconds: float = 0.01
    participants_page_size: int = 100
    # A cancelled invitation's own AddParticipantFailed (487/0): "after" the cancel's
    # CancelAddParticipantSucceeded (SIP answers the CANCEL before the 487), "before" it, or "none".
    cancelled_invitation_failure: str = "after"
    # Reject HMAC requests whose x-ms-date is further than this from now; 0 disables the check.
    max_clock_skew_seconds: float = 900.0
    # Overrides the token issuer; by default it is the emulator's own base URL.
    issuer: str | None = None
    # The request, callback and Event Grid logs keep this many newest entries each (and at most
    # this many Event Grid validation codes wait to be confirmed).
    log_max_entries: int = 5000
    # Ended calls, their connections and their offers are forgotten this long after the end;
    # an IncomingCall offer this long after its expiry. Forgotten connections still answer 404.
    ended_call_retention_seconds: float = 300.0
    # The local Event Grid topic (POST /api/events): its key (None: a random one per start),
    # the factor on its delivery retry schedule (1.0 = Event Grid's real 10 s, 30 s, 1 min, ...)
    # and its size limits.
    topic_key: str | None = None
    topic_retry_factor: float = 1.0
    topic_delivery_timeout_seconds: float = 30.0
    topic_max_batch_bytes: int = 1024 * 1024
    topic_max_event_bytes: int = 1024 * 1024
    # The ask receiver (/emulator/ask/...): the secret the app signs its ask requests with (UTF-8
    # bytes of this string); None refuses every ask until one is set through the control API.
    ask_secret: str | None = None
    ask_tolerance_seconds: int = 300
    # Every prompt's length and recognize timeout is multiplied by this (tests: 0.01).
    media_time_scale: float = 1.0
