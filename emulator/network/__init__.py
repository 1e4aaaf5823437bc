"""The simulated phone network the calls reach: how each endpoint reacts (phone.py), the legs
ringing on it (ringing.py), how a ring ended (outcomes.py) and what happened (journal.py).
Knows nothing of ACS's calls and connections, of Event Grid, or of the control API."""
