"""The emulator's parts wired together; one instance per running emulator."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from emulator.acs.callbacks import CallbackDispatcher
from emulator.acs.faults import FaultInjector
from emulator.acs.mediasettings import MediaSettings
from emulator.acs.prompts import PromptPlayer
from emulator.acs.registry import Registry
from emulator.acs.repeatability import RepeatabilityStore
from emulator.acs.requestlog import LoggedRequest
from emulator.acs.tokens import TokenIssuer
from emulator.ask.receiver import AskReceiver, AskSettings
from emulator.common.background import Background
from emulator.common.identifiers import Identifier, from_raw_id
from emulator.config import EmulatorConfig
from emulator.eventgrid.delivery import DeliverySettings as TopicDeliverySettings
from emulator.eventgrid.events import Limits
from emulator.eventgrid.system_topic import DeliverySettings, EventGridPublisher
from emulator.eventgrid.topic import EventGridTopic
from emulator.network.phone import PhoneNetwork


class CancelledInvitationFailure(StrEnum):
    """Whether a cancelled invitation also reports its own AddParticipantFailed (487/0), and
    whether before or after CancelAddParticipantSucceeded: the sources do not settle it."""

    AFTER = "after"
    BEFORE = "before"
    NONE = "none"


@dataclass
class RuntimeSettings:
    """Tunables the control API may change while the emulator runs."""

    incoming_call_ttl_seconds: float
    ring_timeout_seconds: float
    connect_delay_seconds: float
    participants_page_size: int
    cancelled_invitation_failure: CancelledInvitationFailure = CancelledInvitationFailure.AFTER


@dataclass
class Services:
    config: EmulatorConfig
    settings: RuntimeSettings
    background: Background
    tokens: TokenIssuer
    callbacks: CallbackDispatcher
    eventgrid: EventGridPublisher
    network: PhoneNetwork
    registry: Registry
    faults: FaultInjector
    repeatability: RepeatabilityStore
    topic: EventGridTopic
    ask: AskReceiver
    media: MediaSettings
    prompts: PromptPlayer
    request_log: deque[LoggedRequest] = field(default_factory=deque)
    base_url: str = ""
    event_webhook: str | None = None
    # The ACS identity the app calls out as when a request names no source.
    bot_identity: Identifier = field(default_factory=lambda: from_raw_id("8:acs:emulator_bot"))

    @property
    def issuer(self) -> str:
        return self.config.issuer or self.base_url


def build_services(config: EmulatorConfig) -> Services:
    background = Background()
    media = MediaSettings(time_scale=config.media_time_scale)
    tokens = TokenIssuer(config.resource_id, config.callback_token_lifetime_seconds)
    holder: dict[str, Services] = {}

    def issuer() -> str:
        return holder["services"].issuer

    def webhook() -> str | None:
        return holder["services"].event_webhook

    def validation_url(code: str) -> str:
        return f"{holder['services'].base_url}/emulator/eventgrid/validate?code={code}"

    services = Services(
        config=config,
        settings=RuntimeSettings(
            incoming_call_ttl_seconds=config.incoming_call_ttl_seconds,
            ring_timeout_seconds=config.ring_timeout_seconds,
            connect_delay_seconds=config.connect_delay_seconds,
            participants_page_size=config.participants_page_size,
            cancelled_invitation_failure=CancelledInvitationFailure(config.cancelled_invitation_failure),
        ),
        background=background,
        tokens=tokens,
        callbacks=CallbackDispatcher(tokens, issuer, background, log_max_entries=config.log_max_entries),
        eventgrid=EventGridPublisher(
            webhook,
            config.eventgrid_subscription_name,
            DeliverySettings(config.eventgrid_retry_factor, config.eventgrid_max_attempts),
            validation_url,
            background,
            log_max_entries=config.log_max_entries,
        ),
        network=PhoneNetwork(config.resource_numbers),
        registry=Registry(config.ended_call_retention_seconds),
        faults=FaultInjector(),
        repeatability=RepeatabilityStore(),
        topic=build_topic(config, background),
        ask=AskReceiver(AskSettings(config.ask_secret, config.ask_tolerance_seconds), config.log_max_entries),
        media=media,
        prompts=PromptPlayer(media),
        request_log=deque(maxlen=config.log_max_entries),
        event_webhook=config.event_webhook,
        bot_identity=from_raw_id(f"8:acs:{config.resource_id}_{uuid.uuid4()}"),
    )
    holder["services"] = services
    return services


def build_topic(config: EmulatorConfig, background: Background) -> EventGridTopic:
    key = config.topic_key or base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    return EventGridTopic(
        key,
        Limits(config.topic_max_batch_bytes, config.topic_max_event_bytes),
        TopicDeliverySettings(config.topic_retry_factor, config.topic_delivery_timeout_seconds),
        background,
        config.log_max_entries,
    )
