"""The emulator's keypad (`POST /emulator/calls/{id}/dtmf`), fuzzed over real HTTP on the running
stack: a call the app answers, then bodies with odd tones (unicode, case, letters that upper-case
to keys, empty, non-strings), odd gaps (negative, huge, strings, booleans, floats) and odd
participants; and odd call ids in the path.

Asserted for every request: never a 5xx; an error is the emulator's `{"error": {"code",
"message"}}`; a press that is answered 200 reports exactly the tones of the keys sent.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ_EXAMPLES
from tools.stack import Stack

CALLER = "+14255550166"
KEYS = "0123456789*#ABCDabcd"
TONES = {**{str(n): name for n, name in enumerate(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"))},
    "*": "asterisk", "#": "pound", "A": "a", "B": "b", "C": "c", "D": "d"}
odd_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
# Keys in any case; letters that upper-case to two (sharp s, ligatures), other scripts' digits.
tones = st.one_of(st.text(st.sampled_from(KEYS), min_size=1, max_size=6), st.text(max_size=6),
                  st.sampled_from(["\u00df", "\ufb00", "\u0661", "\uff11", "1 2", "1\n", "\ud800"]),
                  odd_values)
# Valid gaps only up to 2 ms (a press of six keys 60 s apart would hold the test for minutes).
gaps = st.one_of(st.sampled_from([0, 1, 0.5, 2]),
                 st.sampled_from([-1, 60_001, 10**30, 1e308, True, "5", None]),
                 odd_values.filter(lambda v: not (isinstance(v, int | float) and 2 < v <= 60_000)))
participants = st.one_of(st.just({"phoneNumber": CALLER}), st.just({"rawId": f"4:{CALLER}"}),
                         st.fixed_dictionaries({"rawId": st.text(max_size=12)}), odd_values)


@st.composite
def bodies(draw: st.DrawFn) -> object:
    if draw(st.integers(0, 9)) == 0:
        return draw(odd_values)
    body: dict[str, Any] = {"tones": draw(tones)}
    for key, values in (("gapMs", gaps), ("participant", participants), ("extra", odd_values)):
        if draw(st.booleans()):
            body[key] = draw(values)
    return body


def _answered_call(stack: Stack, session: requests.Session) -> str:
    """A call to the app, answered by the default rule set; its id in the emulator."""
    placed = session.post(f"{stack.emulator_url}/emulator/incoming-calls", timeout=30,
                          json={"from": {"phoneNumber": CALLER}, "to": {"phoneNumber": "+18005550166"}})
    assert placed.status_code == 201, placed.text
    server_call_id = placed.json()["serverCallId"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        calls = session.get(f"{stack.app_url}/api/calls", timeout=30,
                            headers={"x-functions-key": stack.function_key}).json()["value"]
        for call in calls:
            if call.get("serverCallId") == server_call_id and call.get("state") == "connected":
                return str(call["callConnectionId"])
        time.sleep(0.2)
    raise AssertionError("the app did not answer the call")


def test_the_keypad_never_fails_and_reports_the_keys_sent(fuzz_stack: Stack) -> None:
    session = requests.Session()
    call_id = _answered_call(fuzz_stack, session)
    odd_call_ids = st.one_of(st.just(call_id), st.just(call_id), st.text(
        st.characters(codec="utf-8", exclude_characters="/?#%"), max_size=20))

    @settings(max_examples=FUZZ_EXAMPLES * 4, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(body=bodies(), target=odd_call_ids)
    def fuzz(body: object, target: str) -> None:
        path = f"/emulator/calls/{requests.utils.quote(target, safe='')}/dtmf"
        response = session.post(f"{fuzz_stack.emulator_url}{path}", json=body, timeout=30)
        shown = f"{body!r} -> {response.status_code}: {response.text[:300]!r}"
        assert response.status_code < 500, shown
        if response.status_code >= 400:
            is_json = "json" in response.headers.get("content-type", "")
            error = response.json().get("error") if is_json else None
            assert response.status_code == 404 or (isinstance(error, dict) and error.get("message")), shown
            return
        assert response.status_code == 200, shown
        assert isinstance(body, dict) and isinstance(body["tones"], str), shown
        heard = [t["tone"] for t in response.json()["tones"]]
        assert heard == [TONES[key.upper()] for key in body["tones"]], shown

    fuzz()
