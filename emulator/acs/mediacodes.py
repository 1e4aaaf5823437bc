"""resultInformation of the media callbacks, as ACS documents them.

Sources: MicrosoftDocs/azure-docs `articles/communication-services/how-tos/call-automation/
play-action.md` and `recognize-action.md` ("Event codes" tables), and the subcodes of
Azure/azure-sdk-for-net `MediaEventReasonCode.cs` (the same numbers, named).
"""

from __future__ import annotations

from typing import Any


def _result(code: int, sub_code: int, message: str) -> dict[str, Any]:
    return {"code": code, "subCode": sub_code, "message": message}


SUCCESS = _result(200, 0, "Action completed successfully.")
CANCELED = _result(400, 8508, "Action failed, the operation was canceled.")
INVALID_FILE_FORMAT = _result(400, 8535, "Action failed, file format is invalid.")
DOWNLOAD_FAILED = _result(400, 8536, "Action failed, file could not be downloaded.")
MAX_TONES_RECEIVED = _result(200, 8531, "Action completed, max digits received.")
STOP_TONE_DETECTED = _result(200, 8514, "Action completed as stop tone was detected.")
INTER_TONE_TIMEOUT = _result(400, 8532, "Action failed, inter-digit silence timeout reached.")
INITIAL_SILENCE_TIMEOUT = _result(400, 8510, "Action failed, initial silence timeout reached.")
PROMPT_FAILED = _result(500, 8511, "Action failed, encountered failure while trying to play the prompt.")
