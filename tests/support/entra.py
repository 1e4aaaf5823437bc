"""A test Entra ID tenant: mints access tokens for the management API with app roles, and
serves its key set to the app's verifier (no network)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from callcontrol.adapters.caller_auth import EntraCallerTokens
from tests.support.signing import TestSigner

TENANT = "00000000-0000-0000-0000-0000000000aa"
API_CLIENT_ID = "11111111-1111-1111-1111-111111111111"
API_ID_URI = "api://call-control-test"
ISSUER_V2 = f"https://login.microsoftonline.com/{TENANT}/v2.0"


class TestTenant:
    __test__ = False

    def __init__(self) -> None:
        self.signer = TestSigner(ISSUER_V2, API_CLIENT_ID)

    def token(self, *roles: str, oid: str | None = None, audience: str = API_CLIENT_ID,
              **claims: Any) -> str:
        """An app-only (client credentials) v2 token, as a managed identity gets."""
        principal = oid or str(uuid.uuid4())
        return self.signer.bearer(aud=audience, oid=principal, sub=principal, tid=TENANT,
                                  azp=str(uuid.uuid4()), idtyp="app", roles=list(roles), **claims)

    def caller_tokens(self) -> EntraCallerTokens:
        async def keys() -> Mapping[str, Any]:
            return self.signer.jwks()

        return EntraCallerTokens(issuers=[ISSUER_V2], audiences=[API_CLIENT_ID, API_ID_URI],
                                 fetch_jwks=keys)
