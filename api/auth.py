"""Bearer tokens (JWT, HS256) -> the viewer a request acts as."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from resolvers.access import Role, Viewer


class InvalidToken(Exception):
    """No usable token: the reason is for logs, the client only learns UNAUTHENTICATED."""


ALGORITHM = "HS256"
LEEWAY_SECONDS = 30


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def verify(token: str, secret: str, issuer: str) -> Viewer:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["sub", "role", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from exc
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
    if role is Role.POS and not stores:
        raise InvalidToken("a POS token needs store_ids")
    return Viewer(str(claims["sub"]), role, member_id, frozenset(stores))


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
) -> str:
    """A signed token, for development and tests (production tokens come from the IdP)."""
    at = now or datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": subject,
        "role": role.value,
        "iss": issuer,
        "iat": at,
        "exp": at + ttl,
    }
    if member_id:
        claims["member_id"] = member_id
    if store_ids:
        claims["store_ids"] = store_ids
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
