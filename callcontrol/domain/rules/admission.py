"""What a rule set may not be stored with, though a stored one still reads.

Each check here came after sets were stored without it. The parser reads every stored version
again (the rule store, the incoming-call cache), so a check there would make such a set
unreadable, and the set in force with it every IncomingCall. Checked instead where a set is
stored: PUT /api/rules and a RULES_FILE seed (usecases/rules.py, composition/from_settings.py).
"""

from __future__ import annotations

import re
from typing import Final

from callcontrol.domain.errors import FieldProblem
from callcontrol.domain.flows.fields import child
from callcontrol.domain.flows.model import AskStep
from callcontrol.domain.flows.prompts import PromptKind
from callcontrol.domain.flows.targets import url_text_problem
from callcontrol.domain.rules.flows import flow_of, prompts_of
from callcontrol.domain.rules.model import RuleSet

LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")  # JSON's "\ud800": half of a character
LONE_SURROGATE_REASON: Final = "must be valid Unicode text: it holds a lone surrogate"


def admission_problems(rules: RuleSet) -> list[FieldProblem]:
    """Every reason a validated set may not be stored, by field."""
    if rules.flows is None:
        return []
    problems: list[FieldProblem] = []
    for problem in [*_lone_surrogates(rules.flows, "flows"), *silent_prompt_problems(rules),
                    *_unsendable_urls(rules)]:
        if all(problem.field != earlier.field for earlier in problems):  # one reason a field
            problems.append(problem)
    return problems


def silent_prompt_problems(rules: RuleSet) -> list[FieldProblem]:
    """Text prompts with nothing to say (only white space): ACS refuses to speak them, so their
    step would fail on every call."""
    return [FieldProblem(f"{where}.text", "must have something to say, not only white space")
            for where, prompt in prompts_of(rules)
            if prompt.kind is PromptKind.TEXT and not prompt.value.strip()]


def _unsendable_urls(rules: RuleSet) -> list[FieldProblem]:
    """Ask URLs and file prompts that are not printable ASCII: an ask that could never be sent,
    a file ACS could not fetch."""
    urls = [(f"{where}.file", prompt.value) for where, prompt in prompts_of(rules)
            if prompt.kind is PromptKind.FILE]
    for name in rules.flows or {}:
        flow = flow_of(rules, name)
        steps = flow.steps if flow is not None else ()
        urls += [(f"flows.{name}.steps[{index}].url", step.url) for index, step in enumerate(steps)
                 if isinstance(step, AskStep)]
    return [FieldProblem(where, reason) for where, url in urls
            if (reason := url_text_problem(url)) is not None]


def _lone_surrogates(value: object, where: str) -> list[FieldProblem]:
    """Strings holding half a character (a rule's strings refuse them: pydantic), anywhere in
    the flows section; ACS could not read one in a prompt. Nesting is bounded by the body's."""
    if isinstance(value, str):
        return [FieldProblem(where, LONE_SURROGATE_REASON)] if LONE_SURROGATE.search(value) else []
    if isinstance(value, dict):
        return [problem for key, member in value.items()
                for problem in _lone_surrogates(member, child(where, str(key)))]
    if isinstance(value, list):
        return [problem for index, member in enumerate(value)
                for problem in _lone_surrogates(member, child(where, index))]
    return []
