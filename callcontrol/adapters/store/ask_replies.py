"""The replies a flow's asks got before the answer, as a decided claim keeps them ("asked" in its
outcome): `{"context", "next"}`, `{"context", "action": {"type": answer|reject|redirect, …}}` or
`{"context", "failed": reason}`. A claim written before they were kept has none."""

from __future__ import annotations

from typing import Any

from callcontrol.domain.errors import StoreError
from callcontrol.domain.flows.events import (
    AskAnswer,
    AskAnswered,
    AskFailed,
    AskReply,
    InlineAction,
    InlineAnswer,
    InlineRedirect,
    InlineReject,
)
from callcontrol.domain.identifiers import parse_lenient_identifier

Json = dict[str, Any]


def encode_ask_replies(replies: tuple[AskReply, ...]) -> list[Json]:
    return [_encode(reply) for reply in replies]


def decode_ask_replies(value: object) -> tuple[AskReply, ...]:
    if not value:
        return ()
    if not isinstance(value, list):
        raise StoreError("a claim's asked replies are not a list")
    return tuple(_decode(item) for item in value)


def _encode(reply: AskReply) -> Json:
    if isinstance(reply, AskFailed):
        return {"context": reply.context, "failed": reply.reason}
    answer = reply.answer
    if answer.action is None:
        return {"context": reply.context, "next": answer.next_step}
    return {"context": reply.context, "action": _encode_action(answer.action)}


def _encode_action(action: InlineAction) -> Json:
    if isinstance(action, InlineReject):
        return {"type": "reject", "reason": action.reason}
    if isinstance(action, InlineRedirect):
        return {"type": "redirect", "target": action.target.to_json()}
    return {"type": "answer"}


def _decode(item: object) -> AskReply:
    if not isinstance(item, dict) or not isinstance(item.get("context"), str):
        raise StoreError("a claim's asked reply has no context")
    context = item["context"]
    if "failed" in item:
        return AskFailed(context, str(item["failed"]))
    if "action" in item:
        return AskAnswered(context, AskAnswer(action=_decode_action(item["action"])))
    return AskAnswered(context, AskAnswer(next_step=str(item["next"])))


def _decode_action(value: object) -> InlineAction:
    kind = value.get("type") if isinstance(value, dict) else None
    if kind == "reject" and isinstance(value, dict):
        return InlineReject(str(value.get("reason", "none")))
    if kind == "redirect" and isinstance(value, dict):
        return InlineRedirect(parse_lenient_identifier(value.get("target")))
    if kind == "answer":
        return InlineAnswer()
    raise StoreError(f"a claim's asked reply has an unknown action {kind!r}")
