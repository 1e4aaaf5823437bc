"""Management API over the inbound rule set: read, replace (If-Match), versions, dry run."""

from __future__ import annotations

import re
from datetime import datetime

import azure.functions as func

from callcontrol.domain.access import Role
from callcontrol.domain.clock import utc_now
from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.events.incoming_call import parse_incoming_call
from callcontrol.domain.rules import RuleSet, parse_rule_set
from callcontrol.domain.rules.versions import RuleSetVersion
from callcontrol.usecases.rules import EvaluateRules, GetRuleSetVersion, ReplaceRuleSet
from handlers._access import caller
from handlers._api import api_route
from handlers._http import json_response, read_json
from handlers._services import services
from handlers.wire.requests import EvaluateRulesBody

bp = func.Blueprint()
# What `_instant` reads (datetime.fromisoformat, 3.11): years 1900-9000, an upper-case T and Z,
# seconds optional with up to 6 decimals, always an offset.
AT_PATTERN = ("^(?:19[0-9]{2}|[2-8][0-9]{3}|9000)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
              "T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,6})?)?"
              "(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$")
RULE_ERRORS = (400, 401, 503)
VERSION = re.compile(r"^[0-9]{1,10}$")  # ASCII digits; ten keep it a table-key-sized integer


def _with_etag(version: RuleSetVersion) -> func.HttpResponse:
    return json_response(version.rules.to_json(),
                         headers={"ETag": version.etag, "Cache-Control": "no-cache"})


@api_route(bp, Role.RULES_READ, name="get_rules",
           route="rules", method="GET", response="ruleSet",
           summary="The inbound rule set in force, with its ETag", errors=(401, 503))
async def get_rules(req: func.HttpRequest) -> func.HttpResponse:
    return _with_etag(await services().rules.current())


@api_route(bp, Role.RULES_WRITE, name="put_rules",
           route="rules", method="PUT", body=RuleSet, response="ruleSet",
           summary="Replace the rule set: If-Match with the current ETag (required once a set exists)",
           headers=(("If-Match", "the ETag of the set being replaced; required once a set exists"),),
           errors=(400, 401, 412, 428, 503))
async def put_rules(req: func.HttpRequest) -> func.HttpResponse:
    rules = parse_rule_set(read_json(req))  # everything is validated before anything is read
    saved = await services().rules.replace(
        ReplaceRuleSet(rules, if_match_tags(req.headers.get("If-Match")), actor=caller()))
    return _with_etag(saved)


@api_route(bp, Role.RULES_READ, name="list_rule_versions",
           route="rules/versions", method="GET",
           response="ruleSetVersionList", summary="Every stored version of the rule set, newest first",
           errors=(401, 503))
async def list_rule_versions(req: func.HttpRequest) -> func.HttpResponse:
    versions = await services().rules.versions()
    return json_response({"value": [v.summary() for v in versions]})


@api_route(bp, Role.RULES_READ, name="get_rule_version",
           route="rules/versions/{version}", method="GET",
           response="ruleSet", summary="One stored version of the rule set (0 = the shipped default)",
           errors=(400, 401, 404, 503), path=(("version", {"pattern": VERSION.pattern}),))
async def get_rule_version(req: func.HttpRequest) -> func.HttpResponse:
    raw = req.route_params.get("version", "")
    if not VERSION.fullmatch(raw):
        raise InvalidInput("version must be a whole number",
                           [FieldProblem("version", "must be a whole number such as 3")])
    return _with_etag(await services().rules.version(GetRuleSetVersion(int(raw))))


@api_route(bp, Role.RULES_READ, name="evaluate_rules",
           route="rules/evaluate", method="POST", body=EvaluateRulesBody,
           response="evaluation", errors=RULE_ERRORS,
           query=(("at", "instant with offset for time windows, years 1900-9000 (default: now)",
                   {"type": "string", "format": "date-time", "pattern": AT_PATTERN}),),
           summary="Dry run: the rule and action an IncomingCall (event or data) would get")
async def evaluate_rules(req: func.HttpRequest) -> func.HttpResponse:
    body = read_json(req)
    # A flow's script travels beside the call: {"script": {...}, ...the call or its event}.
    script = body.pop("script", None) if isinstance(body, dict) else None
    call = parse_incoming_call(body, require_call_context=False)
    evaluation = await services().rules.evaluate(
        EvaluateRules(call, _instant(req.params.get("at")), script))
    version = evaluation.version
    flow = {"flow": evaluation.flow.to_json()} if evaluation.flow is not None else {}
    return json_response({**evaluation.decision.to_json(), "ruleSetVersion": version.version,
                          "etag": version.etag, "evaluatedAt": evaluation.at.isoformat(), **flow})


def if_match_tags(header: str | None) -> tuple[str, ...] | None:
    """The entity tags of an If-Match header; None when it is absent or blank.

    Tags are compared strongly (RFC 9110): a weak tag (W/"...") never matches. An unquoted
    tag is taken as if quoted, a common slip with curl.
    """
    if header is None or not header.strip():
        return None
    tags: list[str] = []
    for part in header.split(","):
        tag = part.strip()
        if not tag:
            continue
        if tag != "*" and not tag.startswith(('"', "W/")):
            tag = f'"{tag}"'
        tags.append(tag)
    return tuple(tags)


def _instant(value: str | None) -> datetime:
    if value is None or not value.strip():
        return utc_now()
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or not 1900 <= at.year <= 9000:
        # The year bound keeps time-zone arithmetic away from datetime's limits.
        raise InvalidInput("at must be an ISO 8601 instant with an offset",
                           [FieldProblem("at", "must look like 2026-01-05T10:00:00+00:00")])
    return at
