"""The local Event Grid custom topic: its key, limits, subscriptions, the events it accepted,
and the publish-fault switch (a seeded share of publishes fails with 503)."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from emulator.common.background import Background
from emulator.common.errors import AcsError
from emulator.common.timestamps import timestamp
from emulator.eventgrid.delivery import Deliverer, DeliverySettings
from emulator.eventgrid.events import Limits, TopicError
from emulator.eventgrid.subscriptions import Subscription

INPUT_SCHEMA = "CloudEventSchemaV1_0"


@dataclass
class PublishFault:
    """Fails ``share`` of publishes with ``status``; the same seed fails the same publishes."""

    share: float
    status: int = 503
    seed: int | None = None
    failed: int = 0
    passed: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def strikes(self) -> bool:
        hit = self._random.random() < self.share
        if hit:
            self.failed += 1
        else:
            self.passed += 1
        return hit

    def to_wire(self) -> dict[str, Any]:
        return {"share": self.share, "status": self.status, "seed": self.seed,
                "failed": self.failed, "passed": self.passed}


class EventGridTopic:
    def __init__(self, key: str, limits: Limits, delivery: DeliverySettings, background: Background,
                 log_max_entries: int) -> None:
        self.key = key
        self.limits = limits
        self.subscriptions: dict[str, Subscription] = {}
        self.received: deque[dict[str, Any]] = deque(maxlen=log_max_entries)
        self.publishes: deque[dict[str, Any]] = deque(maxlen=log_max_entries)
        self.fault: PublishFault | None = None
        self.deliverer = Deliverer(delivery, background, log_max_entries)

    def reset(self) -> None:
        """Forget received events, publishes, deliveries, dead letters and the fault; subscriptions stay."""
        self.received.clear()
        self.publishes.clear()
        self.deliverer.reset()
        self.fault = None

    def check_fault(self) -> None:
        if self.fault is not None and self.fault.strikes():
            raise TopicError(self.fault.status, "ServiceUnavailable",
                             "The topic failed this publish (injected by the emulator's publish fault).")

    def record_publish(self, status: int, auth: str | None, count: int, error: str | None) -> None:
        self.publishes.append({"time": timestamp(), "status": status, "auth": auth,
                               "eventCount": count, "error": error})

    def accept(self, events: list[dict[str, Any]], auth: str) -> None:
        """Keep the events and hand each to every subscription whose filter it matches."""
        now = timestamp()
        self.record_publish(200, auth, len(events), None)
        for event in events:
            self.received.append({"receivedAt": now, "event": event})
            for subscription in list(self.subscriptions.values()):
                if subscription.filter.matches(event):
                    self.deliverer.enqueue(subscription, event, now)

    async def subscribe(self, subscription: Subscription) -> Subscription:
        """Handshake first; only a validated webhook is (re)placed under its name."""
        await self.deliverer.handshake(subscription)
        previous = self.subscriptions.get(subscription.name)
        if previous is not None:
            previous.deleted = True
        self.subscriptions[subscription.name] = subscription
        return subscription

    def unsubscribe(self, name: str) -> None:
        subscription = self.subscriptions.pop(name, None)
        if subscription is None:
            raise AcsError(404, "NotFound", f"no event subscription named {name!r}")
        subscription.deleted = True

    def unsubscribe_all(self) -> None:
        for name in list(self.subscriptions):
            self.unsubscribe(name)

    def find(self, name: str) -> Subscription:
        subscription = self.subscriptions.get(name)
        if subscription is None:
            raise AcsError(404, "NotFound", f"no event subscription named {name!r}")
        return subscription
