"""Bearer tokens (JWT) -> the viewer a request acts as.

HS256 with a shared secret, or RS256 with the identity provider's public key (a PEM file or a
JWKS file, whose keys are chosen by the token's `kid`). Exactly one algorithm is accepted, so an
unsigned (`alg: none`) token or one signed with another algorithm is refused like a bad
signature.

A verified token is remembered (by its SHA-256) with its viewer until it expires: a client sends
the same token with every request, its signature and claims cannot change, and only time can
make it invalid; verifying it again cost more than the rest of a small query.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from resolvers.access import STORE_ROLES, Role, Viewer
from settings import DEFAULT_AUDIENCE, Settings


class InvalidToken(Exception):
    """No usable token: the reason is for logs, the client only learns UNAUTHENTICATED."""


HS256 = "HS256"
RS256 = "RS256"
ALGORITHM = HS256
LEEWAY_SECONDS = 30
REMEMBERED = 10_000  # verified tokens kept per process; the oldest is forgotten first


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class TokenVerifier:
    """Checks signature, algorithm, `exp`, `iss` and `aud`, then the role's own claims."""

    algorithm: str
    issuer: str
    audience: str
    key: Any = None  # the HS256 secret or the RS256 public key
    jwks: jwt.PyJWKSet | None = None
    remember: int = REMEMBERED
    # sha256(token) -> (its viewer, the time from which it is refused as expired)
    _verified: dict[bytes, tuple[Viewer, float]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        if settings.auth_algorithm == HS256:
            return cls(
                HS256,
                settings.auth_issuer,
                settings.auth_audience,
                key=settings.auth_secret.get_secret_value(),
            )
        if settings.auth_jwks_file is not None:
            jwks = jwt.PyJWKSet.from_json(settings.auth_jwks_file.read_text(encoding="utf-8"))
            return cls(RS256, settings.auth_issuer, settings.auth_audience, jwks=jwks)
        if settings.auth_public_key_file is None:
            raise ValueError("RS256 needs AUTH_PUBLIC_KEY_FILE or AUTH_JWKS_FILE")
        key = settings.auth_public_key_file.read_text(encoding="utf-8")
        return cls(RS256, settings.auth_issuer, settings.auth_audience, key=key)

    def _key(self, token: str) -> Any:
        if self.jwks is None:
            return self.key
        kid = jwt.get_unverified_header(token).get("kid")
        for candidate in self.jwks.keys:
            if candidate.key_id == kid:
                return candidate.key
        raise InvalidToken("no key in the JWKS file for the token's kid")

    def verify(self, token: str, now: float | None = None) -> Viewer:
        """The token's viewer, or InvalidToken. `now` (Unix seconds) is the time a remembered
        token's expiry is checked against; a token not seen yet is checked by PyJWT at the
        current time."""
        digest = hashlib.sha256(token.encode()).digest()
        known = self._verified.get(digest)
        if known is not None:
            viewer, refused_from = known
            if (time.time() if now is None else now) < refused_from:
                return viewer
            del self._verified[digest]
            raise InvalidToken("ExpiredSignatureError")  # what PyJWT says of it now
        claims = self._decode(token)
        viewer = _viewer(claims)
        if len(self._verified) >= self.remember:
            del self._verified[next(iter(self._verified))]
        # PyJWT refuses once exp <= now - leeway, exp read as an integer
        self._verified[digest] = (viewer, int(claims["exp"]) + LEEWAY_SECONDS)
        return viewer

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key(token),
                algorithms=[self.algorithm],
                issuer=self.issuer,
                audience=self.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": ["sub", "role", "exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from exc
        return claims


def _viewer(claims: dict[str, Any]) -> Viewer:
    try:
        role = Role(claims["role"])
    except ValueError as exc:
        raise InvalidToken("unknown role") from exc
    member_id = claims.get("member_id")
    if role is Role.MEMBER and not isinstance(member_id, str):
        raise InvalidToken("a MEMBER token needs member_id")
    stores = claims.get("store_ids") or []
    if not isinstance(stores, list) or not all(isinstance(s, str) for s in stores):
        raise InvalidToken("store_ids must be a list of strings")
    if role in STORE_ROLES and not stores:
        raise InvalidToken(f"a {role.value} token needs store_ids")
    exp = claims["exp"]
    if not isinstance(exp, int | float):
        raise InvalidToken("exp must be a number")
    expires = datetime.fromtimestamp(exp, UTC)
    return Viewer(str(claims["sub"]), role, member_id, frozenset(stores), expires_at=expires)


def verify(token: str, secret: str, issuer: str, audience: str = DEFAULT_AUDIENCE) -> Viewer:
    """HS256 verification with the given secret (what the development CLI and tests use)."""
    return TokenVerifier(HS256, issuer, audience, key=secret).verify(token)


def issue(
    secret: str,
    issuer: str,
    *,
    subject: str,
    role: Role,
    member_id: str | None = None,
    store_ids: list[str] | None = None,
    ttl: timedelta = timedelta(hours=12),
    now: datetime | None = None,
    audience: str = DEFAULT_AUDIENCE,
) -> str:
    """A signed HS256 token, for development and tests (production tokens come from the IdP)."""
    at = now or datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": subject,
        "role": role.value,
        "iss": issuer,
        "aud": audience,
        "iat": at,
        "exp": at + ttl,
    }
    if member_id:
        claims["member_id"] = member_id
    if store_ids:
        claims["store_ids"] = store_ids
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
