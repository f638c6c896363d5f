"""Token edge cases: only a token signed with the configured algorithm and key, for our issuer
and audience, still valid, and with its role's claims, is accepted; a socket is closed with 4401
when its token expires."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.auth import HS256, LEEWAY_SECONDS, RS256, InvalidToken, TokenVerifier, issue
from resolvers.access import Role
from settings import Settings
from tests.support.client import transport_ws
from tests.support.servers import InProcessServer

SECRET = "s" * 64
ISSUER = "member-state-api"
AUDIENCE = "member-state-api"


def claims(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "someone",
        "role": "ADMIN",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def hs256() -> TokenVerifier:
    return TokenVerifier(HS256, ISSUER, AUDIENCE, key=SECRET)


def test_a_good_hs256_token_gives_its_viewer_and_expiry() -> None:
    at = datetime.now(UTC).replace(microsecond=0)
    viewer = hs256().verify(jwt.encode(claims(exp=at + timedelta(minutes=1)), SECRET, HS256))
    assert (viewer.subject, viewer.role) == ("someone", Role.ADMIN)
    assert viewer.expires_at == at + timedelta(minutes=1)


@pytest.mark.parametrize(
    "bad",
    [
        {"exp": datetime.now(UTC) - timedelta(minutes=5)},  # expired beyond the leeway
        {"exp": None},  # no expiry at all
        {"aud": "another-api"},  # wrong audience
        {"aud": None},  # no audience
        {"iss": "someone-else"},  # wrong issuer
        {"role": "ROOT"},  # no such role
        {"role": "MEMBER"},  # a MEMBER token without member_id
        {"role": "POS"},  # a till without stores
        {"role": "KIOSK"},  # a kiosk without stores
        {"role": "POS", "store_ids": "store-001"},  # stores not a list
    ],
)
def test_bad_claims_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidToken):
        hs256().verify(jwt.encode(claims(**bad), SECRET, HS256))


def test_unsigned_and_wrongly_signed_tokens_are_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    unsigned = jwt.encode(claims(), "", algorithm="none")
    other_secret = jwt.encode(claims(), "x" * 40, HS256)
    hs512 = jwt.encode(claims(), SECRET, "HS512")  # right secret, algorithm not configured
    rs256 = jwt.encode(claims(), rsa_key, RS256)
    for token in (unsigned, other_secret, hs512, rs256, "not.a.token", ""):
        with pytest.raises(InvalidToken):
            hs256().verify(token)


def test_a_kiosk_token_carries_its_stores() -> None:
    token = jwt.encode(claims(role="KIOSK", store_ids=["store-007"]), SECRET, HS256)
    viewer = hs256().verify(token)
    assert viewer.role is Role.KIOSK and viewer.store_ids == frozenset({"store-007"})


def test_a_verified_token_is_remembered_until_it_expires() -> None:
    verifier = hs256()
    exp = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    token = jwt.encode(claims(exp=exp), SECRET, HS256)
    viewer = verifier.verify(token)
    # The same viewer, not verified again, for as long as PyJWT would accept the token...
    assert verifier.verify(token) is viewer
    assert verifier.verify(token, now=exp + LEEWAY_SECONDS - 1) is viewer
    # ...and refused as PyJWT refuses it from then on.
    with pytest.raises(InvalidToken, match="ExpiredSignatureError"):
        verifier.verify(token, now=exp + LEEWAY_SECONDS)
    # Remembered per verifier: another key still refuses it.
    with pytest.raises(InvalidToken):
        TokenVerifier(HS256, ISSUER, AUDIENCE, key="x" * 40).verify(token)


def test_the_oldest_remembered_token_is_forgotten_first() -> None:
    verifier = TokenVerifier(HS256, ISSUER, AUDIENCE, key=SECRET, remember=2)
    tokens = [jwt.encode(claims(sub=f"someone-{n}"), SECRET, HS256) for n in range(3)]
    first = [verifier.verify(t) for t in tokens]
    assert verifier.verify(tokens[2]) is first[2]
    assert verifier.verify(tokens[1]) is first[1]
    again = verifier.verify(tokens[0])  # forgotten: verified afresh, the same viewer
    assert again == first[0] and again is not first[0]


def test_rs256_with_a_public_key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    pem = tmp_path / "idp.pem"
    pem.write_text(public_pem(rsa_key))
    settings = Settings(auth_algorithm="RS256", auth_public_key_file=pem)
    verifier = TokenVerifier.from_settings(settings)
    assert verifier.verify(jwt.encode(claims(), rsa_key, RS256)).role is Role.ADMIN
    # The classic confusion: an HS256 token whose "secret" is the public key itself.
    forged = jwt.api_jws.PyJWS()
    forged._algorithms["HS256"].prepare_key = lambda key: key  # type: ignore[method-assign]
    confused = forged.encode(
        json.dumps(claims(), default=lambda d: int(d.timestamp())).encode(),
        public_pem(rsa_key).encode(),
        algorithm="HS256",
    )
    with pytest.raises(InvalidToken):
        verifier.verify(confused)
    with pytest.raises(InvalidToken):
        verifier.verify(jwt.encode(claims(), SECRET, HS256))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken):
        verifier.verify(jwt.encode(claims(), other, RS256))


def test_rs256_with_a_jwks_file_chooses_the_key_by_kid(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "2026-11", "use": "sig", "alg": "RS256"}]}))
    verifier = TokenVerifier.from_settings(Settings(auth_algorithm="RS256", auth_jwks_file=jwks))
    good = jwt.encode(claims(), rsa_key, RS256, headers={"kid": "2026-11"})
    assert verifier.verify(good).subject == "someone"
    for kid in ("2025-01", None):
        headers = {"kid": kid} if kid else None
        with pytest.raises(InvalidToken):
            verifier.verify(jwt.encode(claims(), rsa_key, RS256, headers=headers))


def test_rs256_without_a_key_does_not_start() -> None:
    with pytest.raises(ValueError, match="AUTH_PUBLIC_KEY_FILE"):
        TokenVerifier.from_settings(Settings(auth_algorithm="RS256"))


@pytest.mark.parametrize("audience", ["another-api", None])
async def test_http_refuses_a_token_for_another_audience(
    server: InProcessServer, http: httpx.AsyncClient, settings: Settings, audience: str | None
) -> None:
    secret = settings.auth_secret.get_secret_value()
    token = (
        issue(secret, settings.auth_issuer, subject="x", role=Role.ADMIN, audience=audience)
        if audience
        else jwt.encode(claims(aud=None, iss=settings.auth_issuer), secret, HS256)
    )
    body = (
        await http.post(
            f"{server.url}/graphql",
            json={"query": "{ program { name } }"},
            headers={"authorization": f"Bearer {token}"},
        )
    ).json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_a_socket_is_closed_with_4401_when_its_token_expires(
    server: InProcessServer, settings: Settings
) -> None:
    # Valid for two more seconds: issued 28 s ago for 30 s.
    short = issue(
        settings.auth_secret.get_secret_value(),
        settings.auth_issuer,
        audience=settings.auth_audience,
        subject="short",
        role=Role.ADMIN,
        ttl=timedelta(seconds=30),
        now=datetime.now(UTC) - timedelta(seconds=28),
    )
    fresh = issue(
        settings.auth_secret.get_secret_value(),
        settings.auth_issuer,
        audience=settings.auth_audience,
        subject="short",
        role=Role.ADMIN,
    )
    # A socket whose token expires in hours, connected first, is left alone.
    async with transport_ws(server.ws_url, fresh) as lasting:
        async with transport_ws(server.ws_url, short) as client:
            await client.subscribe(
                'subscription { memberUpdated(memberId: "mbr_none") { version } }'
            )
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(client.ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        await asyncio.sleep(1.0)  # two more sweeps
        await lasting.ws.ping()
        assert lasting.ws.close_code is None
    # The client reconnects with a fresh token and is served again.
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {fresh}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
