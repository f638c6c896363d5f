"""Personal data at rest: authenticated encryption of values, keyed hashes for lookups.

Names, email, phone, birthday and identifier values are stored as Fernet tokens (AES-128-CBC
with HMAC-SHA256, from the `cryptography` package): unreadable and tamper-evident without the
key. `MultiFernet` encrypts with the first key and decrypts with any, which is how keys rotate.
Lookups (the identifiers collection's `_id`, duplicate match keys) use HMAC-SHA256 of the
normalised value under a separate lookup key, so an identifier is still one indexed read and
equal values still meet, yet the database holds no plaintext.

The cipher is configured once per process at start (`configure`), like logging: every encoder
in db/ uses it, and documents, events and idempotency records all go through the same codec.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from settings import DEV_ENCRYPTION_KEY, DEV_LOOKUP_KEY

# Fernet tokens are base64 of a version byte 0x80 and a timestamp: they all start like this.
# A value without it was written before encryption was enabled and is read as it is.
_TOKEN_PREFIX = "gAAAAA"


class UndecryptableData(Exception):
    """A stored value none of the configured keys opens (a key was dropped too early)."""


@dataclass(frozen=True)
class PersonalDataCipher:
    fernet: MultiFernet
    lookup_key: bytes

    @classmethod
    def of(cls, keys: list[str], lookup_key: str) -> PersonalDataCipher:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        return cls(MultiFernet([Fernet(k.encode()) for k in keys]), lookup_key.encode())

    def encrypt(self, value: str | None) -> str | None:
        return None if value is None else self.fernet.encrypt(value.encode()).decode()

    def decrypt(self, stored: str | None) -> str | None:
        if stored is None or not stored.startswith(_TOKEN_PREFIX):
            return stored
        try:
            return self.fernet.decrypt(stored.encode()).decode()
        except InvalidToken as exc:
            raise UndecryptableData("no configured key decrypts a stored value") from exc

    def lookup(self, value: str) -> str:
        """The keyed hash equal values share; irreversible without the lookup key."""
        return hmac.new(self.lookup_key, value.encode(), hashlib.sha256).hexdigest()


# Until `configure` runs (tools and tests that use the codec alone): the development keys.
_cipher = PersonalDataCipher.of([DEV_ENCRYPTION_KEY], DEV_LOOKUP_KEY)


def configure(cipher: PersonalDataCipher) -> None:
    global _cipher
    _cipher = cipher


def cipher() -> PersonalDataCipher:
    return _cipher
