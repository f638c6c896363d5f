"""The service's configuration, read once from the environment at start."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent
# Good for a laptop only: `serve` refuses it once MONGODB_URI points at a real database.
DEV_SECRET = "dev-secret-change-me-please-32-bytes!"
DEFAULT_AUDIENCE = "member-state-api"
# Development keys of personal data at rest (db/crypto.py); refused like DEV_SECRET.
DEV_ENCRYPTION_KEY = "ZGV2LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24tdXNlLTE="
DEV_LOOKUP_KEY = "dev-lookup-key-not-for-production-use"


class Settings(BaseSettings):
    """Every setting of the member-state API; the README documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    mongodb_uri: str = Field(
        "", description="MongoDB connection string; empty starts the embedded development server."
    )
    mongodb_database: str = Field("loyalty", description="Database name.")
    mongodb_retry_writes: bool = Field(
        True, description="Retryable writes; the embedded server wants false (see README)."
    )
    redis_url: str = Field("", description="Redis URL for the event bus; empty = in-memory bus.")
    redis_sharded_pubsub: bool = Field(
        False, description="SPUBLISH/SSUBSCRIBE (Redis 7+) instead of PUBLISH/SUBSCRIBE."
    )
    redis_cluster: bool = Field(
        False,
        description="REDIS_URL names a node of a Redis Cluster (7+): events go by sharded "
        "pub/sub to the primary owning each channel's slot, rate-limit counts to their key's.",
    )
    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on.")
    auth_secret: SecretStr = Field(
        SecretStr(DEV_SECRET),
        min_length=32,
        description="HS256 secret that signs and verifies tokens (32+ characters).",
    )
    auth_issuer: str = Field("member-state-api", description="`iss` claim tokens must carry.")
    auth_audience: str = Field(
        DEFAULT_AUDIENCE, min_length=1, description="`aud` claim tokens must carry."
    )
    auth_algorithm: Literal["HS256", "RS256"] = Field(
        "HS256", description="HS256 (AUTH_SECRET) or RS256 (a public key or JWKS file)."
    )
    auth_public_key_file: Path | None = Field(
        None, description="RS256: PEM file of the identity provider's public key."
    )
    auth_jwks_file: Path | None = Field(
        None, description="RS256: JWKS file of the identity provider; keys chosen by `kid`."
    )
    encryption_keys: SecretStr = Field(
        SecretStr(DEV_ENCRYPTION_KEY),
        description="Fernet keys for personal data at rest, comma-separated: the first "
        "encrypts, every one decrypts (rotation).",
    )
    lookup_key: SecretStr = Field(
        SecretStr(DEV_LOOKUP_KEY),
        min_length=32,
        description="HMAC key of identifier and duplicate lookups (32+ characters).",
    )
    program_file: Path = Field(ROOT / "config" / "program.toml", description="Program definition.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )
    data_dir: Path = Field(ROOT / ".data", description="Embedded database files (development).")
    max_query_depth: int = Field(12, ge=2, description="Deepest selection a request may nest.")
    introspection: bool = Field(
        True, description="Answer introspection queries; off in production hides the schema."
    )
    graphiql: bool = Field(True, description="Serve GraphiQL at /graphiql; off in production.")
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest request body accepted (413 above)."
    )
    rate_limit_per_minute: int = Field(
        600, ge=0, description="Operations per token subject per minute (needs Redis); 0 = off."
    )
    subscriber_queue_size: int = Field(
        64, ge=1, description="Events held per subscriber before it is resynced instead."
    )
    direct_delivery: bool = Field(
        True,
        description="Write each live member event once per rendering straight to the sockets "
        "of up-to-date subscribers instead of through each subscription's own operation.",
    )
    ws_ping_interval_seconds: float = Field(
        20.0, gt=0, description="WebSocket ping interval: how a dead socket is found."
    )
    ws_ping_timeout_seconds: float = Field(
        20.0, gt=0, description="A socket whose pong is this late is closed and freed."
    )
    workers: int = Field(
        1, ge=1, description="uvicorn worker processes sharing the port (`serve` only)."
    )
    gc_freeze: bool = Field(
        True, description="gc.freeze() after start-up: full collections skip start-up objects."
    )
    gc_threshold0: int = Field(
        10_000,
        ge=0,
        description="First-generation GC threshold (0 keeps Python's 700). A young collection "
        "stops the process for time in proportion to it: 50,000 gave 40-240 ms pauses under "
        "purchases with 10,000 sockets, 10,000 gives 8-24 ms.",
    )
    ws_per_message_deflate: bool = Field(
        False,
        description="Compress WebSocket messages (permessage-deflate): less traffic, but a "
        "compressor per socket (memory) and a compression per socket and message (CPU).",
    )
    bus_event_format: Literal["binary", "json"] = Field(
        "binary",
        description="How events are written to the bus: binary (BSON) or json, the format of "
        "releases before binary events; this release reads both. Set json while processes of "
        "such a release still run (a rolling deploy), then binary.",
    )
    outbox_grace_seconds: float = Field(
        2.0, gt=0, description="Age at which the outbox relay publishes a change nobody published."
    )
    outbox_relay_interval_seconds: float = Field(
        1.0, gt=0, description="How often each process looks for such changes."
    )
    test_kill_after_commit: bool = Field(
        False, description="Tests only: SIGKILL the process between a commit and its publish."
    )
    jobs_interval_seconds: float = Field(
        60.0,
        ge=0,
        description="How often the scheduled points jobs run inside the service; 0 = never "
        "(run them with `app.py jobs run` instead).",
    )
    tracing: bool = Field(
        False, description="OpenTelemetry spans per GraphQL operation (needs the tracing extra)."
    )

    @property
    def uses_dev_secret(self) -> bool:
        return self.auth_secret.get_secret_value() == DEV_SECRET

    @property
    def uses_dev_keys(self) -> bool:
        return DEV_ENCRYPTION_KEY in self.encryption_key_list or (
            self.lookup_key.get_secret_value() == DEV_LOOKUP_KEY
        )

    @property
    def encryption_key_list(self) -> list[str]:
        raw = self.encryption_keys.get_secret_value()
        return [k.strip() for k in raw.split(",") if k.strip()]
