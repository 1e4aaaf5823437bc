"""CLI: ``python -m emulator --port 0 --access-key K --resource-id R --event-webhook URL``.

The access key may come from the environment variable EMULATOR_ACCESS_KEY instead, and the
webhook from EMULATOR_EVENT_WEBHOOK (its URL carries the host's Event Grid key: not for `ps`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import os
import signal
import sys

from emulator.app import serve
from emulator.config import EmulatorConfig
from logformat import announce, configure_root

ACCESS_KEY_VARIABLE = "EMULATOR_ACCESS_KEY"
TOPIC_KEY_VARIABLE = "EMULATOR_TOPIC_KEY"
ASK_SECRET_VARIABLE = "EMULATOR_ASK_SECRET"
EVENT_WEBHOOK_VARIABLE = "EMULATOR_EVENT_WEBHOOK"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError("must be a number >= 0")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError("must be a number > 0")
    return value


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--access-key",
        default=None,
        help=f"base64 ACS access key (default: ${ACCESS_KEY_VARIABLE}, which keeps it out of `ps`)",
    )
    parser.add_argument("--resource-id", required=True, help="immutable resource id (token audience)")
    parser.add_argument("--event-webhook", default=None,
                        help=f"where IncomingCall events are POSTed (default: ${EVENT_WEBHOOK_VARIABLE}, "
                        "which keeps the URL's key out of `ps`)")
    parser.add_argument(
        "--resource-number",
        action="append",
        default=[],
        metavar="E164",
        help="a phone number of this resource (repeatable): calls to it raise IncomingCall",
    )
    parser.add_argument("--incoming-call-ttl", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--ring-timeout", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument("--eventgrid-retry-factor", type=float, default=0.001)
    parser.add_argument(
        "--issuer", default=None, help="callback token issuer (default: the emulator's base URL)"
    )
    parser.add_argument(
        "--log-max-entries",
        type=_positive_int,
        default=5000,
        help="newest entries kept by each control-API log (requests, callbacks, Event Grid)",
    )
    parser.add_argument(
        "--ended-call-retention",
        type=_non_negative_float,
        default=300.0,
        metavar="SECONDS",
        help="how long ended calls and expired IncomingCall offers are kept before being forgotten",
    )
    parser.add_argument(
        "--topic-key",
        default=None,
        help=f"key of the local Event Grid topic (default: ${TOPIC_KEY_VARIABLE}, else random per start)",
    )
    parser.add_argument(
        "--topic-retry-factor",
        type=_positive_float,
        default=1.0,
        help="multiplies the topic's delivery retry schedule (1 = Event Grid's 10 s, 30 s, 1 min, ...)",
    )
    parser.add_argument(
        "--cancelled-invitation-failure",
        choices=("after", "before", "none"),
        default="after",
        help="a cancelled invitation's own AddParticipantFailed: after the cancel's callback, before or none",
    )
    parser.add_argument(
        "--ask-secret",
        default=None,
        help=f"secret of the ask receiver (default: ${ASK_SECRET_VARIABLE}; none: every ask is refused)",
    )
    parser.add_argument(
        "--media-time-scale",
        type=float,
        default=1.0,
        help="every prompt's length and recognize timeout is multiplied by this (tests: 0.01)",
    )
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    if args.access_key is None:
        args.access_key = os.environ.get(ACCESS_KEY_VARIABLE) or None
    if args.topic_key is None:
        args.topic_key = os.environ.get(TOPIC_KEY_VARIABLE) or None
    if args.ask_secret is None:
        args.ask_secret = os.environ.get(ASK_SECRET_VARIABLE) or None
    if args.event_webhook is None:
        args.event_webhook = os.environ.get(EVENT_WEBHOOK_VARIABLE) or None
    if args.access_key is None:
        parser.error(f"give --access-key or set {ACCESS_KEY_VARIABLE}")
    return args


async def _run(config: EmulatorConfig) -> None:
    served = await serve(config)
    announce(f"emulator listening on {served.base_url}", "emulator")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await served.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    configure_root(args.log_level, sys.stderr)  # LOG_FORMAT=json: one JSON object per line
    try:
        base64.b64decode(args.access_key, validate=True)
    except binascii.Error:
        source = f"--access-key or {ACCESS_KEY_VARIABLE}"
        print(f"error: the access key ({source}) must be base64", file=sys.stderr)
        return 2
    config = EmulatorConfig(
        access_key=args.access_key,
        resource_id=args.resource_id,
        event_webhook=args.event_webhook,
        host=args.host,
        port=args.port,
        resource_numbers=frozenset(args.resource_number),
        incoming_call_ttl_seconds=args.incoming_call_ttl,
        ring_timeout_seconds=args.ring_timeout,
        eventgrid_retry_factor=args.eventgrid_retry_factor,
        issuer=args.issuer,
        log_max_entries=args.log_max_entries,
        ended_call_retention_seconds=args.ended_call_retention,
        topic_key=args.topic_key,
        topic_retry_factor=args.topic_retry_factor,
        cancelled_invitation_failure=args.cancelled_invitation_failure,
        ask_secret=args.ask_secret,
        media_time_scale=args.media_time_scale,
    )
    asyncio.run(_run(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
