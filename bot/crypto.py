"""Encryption at rest for provider API keys: MultiFernet with key rotation.

``DEPLOYBOT_ENCRYPTION_KEYS`` holds comma-separated Fernet keys; the first encrypts, all
decrypt, so a new key is added in front, everything is re-encrypted, and the old key is then
dropped. For local use with SQLite only, a key file is generated next to the database (mode
0600) with a warning; any other database requires the environment variable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

log = logging.getLogger(__name__)


class KeyRingError(Exception):
    """The encryption keys are missing, malformed, or cannot open a stored secret."""


class KeyRing:
    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise KeyRingError("no encryption key configured (DEPLOYBOT_ENCRYPTION_KEYS is empty)")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.strip()))
            except (ValueError, TypeError):
                raise KeyRingError(
                    f"encryption key #{position} in DEPLOYBOT_ENCRYPTION_KEYS is not a valid "
                    "Fernet key (32 url-safe base64-encoded bytes; `deploybot keys generate` "
                    "makes one)"
                ) from None
        self._fernet = MultiFernet(fernets)
        self.size = len(fernets)

    def __repr__(self) -> str:
        return f"KeyRing(keys={self.size})"

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    @classmethod
    def from_env_value(cls, value: SecretStr | str) -> KeyRing:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        return cls([k for k in raw.split(",") if k.strip()])

    @classmethod
    def load(cls, configured: SecretStr | None, *, sqlite: bool, key_file: Path) -> KeyRing:
        """The configured keys, or (SQLite only) a local key file, created if missing."""
        if configured is not None and configured.get_secret_value().strip():
            return cls.from_env_value(configured)
        if not sqlite:
            raise KeyRingError(
                "DEPLOYBOT_ENCRYPTION_KEYS must be set when DATABASE_URL is not SQLite "
                "(generate one with `deploybot keys generate`)"
            )
        if key_file.exists():
            mode = key_file.stat().st_mode & 0o777
            if mode & 0o077:
                log.warning(
                    "encryption key file %s is readable by others (mode %o); run chmod 600",
                    key_file,
                    mode,
                )
            return cls.from_env_value(key_file.read_text())
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key = cls.generate_key()
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        log.warning(
            "No DEPLOYBOT_ENCRYPTION_KEYS set: generated a local encryption key at %s. "
            "Keep it with the database; set DEPLOYBOT_ENCRYPTION_KEYS in production.",
            key_file,
        )
        return cls([key])

    def encrypt(self, secret: SecretStr) -> str:
        return self._fernet.encrypt(secret.get_secret_value().encode()).decode()

    def decrypt(self, token: str) -> SecretStr:
        try:
            return SecretStr(self._fernet.decrypt(token.encode()).decode())
        except InvalidToken:
            raise KeyRingError(
                "a stored secret cannot be decrypted with the configured keys; was the key "
                "that encrypted it removed from DEPLOYBOT_ENCRYPTION_KEYS?"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` under the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise KeyRingError(
                "a stored secret cannot be re-encrypted: none of the configured keys opens it"
            ) from None


def mask(secret: SecretStr, visible: int = 4) -> str:
    """``…abcd``: the last few characters only, for people to tell keys apart."""
    value = secret.get_secret_value()
    if len(value) <= visible * 2:
        return "…" + "•" * min(len(value), 4)
    return "…" + value[-visible:]
