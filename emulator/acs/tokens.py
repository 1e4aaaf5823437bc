"""RS256 signing keys for callback tokens, their JWKS and the OpenID configuration."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ALGORITHM = "RS256"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return jwk


def new_signing_key() -> SigningKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(kid=uuid.uuid4().hex, private_key=private_key)


class TokenIssuer:
    """Mints a fresh short-lived token per callback; keys rotate on demand."""

    def __init__(self, audience: str, lifetime_seconds: int = 300) -> None:
        self.audience = audience
        self.lifetime_seconds = lifetime_seconds
        self._current = new_signing_key()
        self._published: list[SigningKey] = [self._current]

    @property
    def current_kid(self) -> str:
        return self._current.kid

    def rotate(self, retain_previous: bool = False) -> str:
        """Sign with a new key from now on; optionally keep publishing the old one."""
        self._current = new_signing_key()
        self._published = [self._current, *self._published] if retain_previous else [self._current]
        return self._current.kid

    def mint(self, issuer: str) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": self.audience,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime_seconds,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(
            claims, self._current.private_key, algorithm=ALGORITHM, headers={"kid": self._current.kid}
        )

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self._published]}


def openid_configuration(issuer: str, own_base_url: str) -> dict[str, Any]:
    """Discovery document; the key set is always this emulator's, whatever `iss` claims."""
    return {
        "issuer": issuer,
        "jwks_uri": f"{own_base_url}/calling/keys",
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "token_endpoint_auth_signing_alg_values_supported": [ALGORITHM],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "claims_supported": ["iss", "aud", "iat", "nbf", "exp", "jti"],
    }
