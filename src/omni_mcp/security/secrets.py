"""Encryption at rest for secret settings: Fernet keys from settings, or a key file made on first use.

The first key encrypts; every key decrypts, so a key is rotated by putting a new one first, running
`omni-mcp secrets rotate` (re-encrypts every stored secret), then removing the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from loguru import logger

from omni_mcp.private_files import ensure_private_folder
from omni_mcp.settings import Settings

KEY_FILE_NAME = "secret.key"


class SecretDecryptionError(ValueError):
    """A stored secret could not be decrypted with any configured key."""


class SecretBox:
    def __init__(self, keys: list[bytes], source: str = "the given keys") -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self.source = source
        """Where the keys came from, for messages: the setting or the key file's path."""
        self._first_key = keys[0]

    def derive_key(self, purpose: str) -> bytes:
        """A key for another use (e.g. signing admin sessions), derived from the first key: no new secret
        to configure, and a different key per purpose."""
        return hmac.new(self._first_key, purpose.encode(), hashlib.sha256).digest()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise SecretDecryptionError(
                "a stored secret cannot be decrypted with the configured keys"
            ) from None

    def rotate(self, token: str) -> str:
        """The same secret encrypted with the first (newest) key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        configured = [key.get_secret_value().encode() for key in settings.security.encryption_keys]
        if configured:
            return cls(configured, "security.encryption_keys")
        chosen = settings.security.key_file
        path = chosen or settings.database.resolved_data_dir() / KEY_FILE_NAME
        ours = chosen is None and settings.database.data_dir is None
        return cls([_key_from_file(path, ours=ours)], f"key file {path}")


def generate_key() -> str:
    """A new key for security.encryption_keys."""
    return Fernet.generate_key().decode("ascii")


def _key_from_file(path: Path, *, ours: bool) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    ensure_private_folder(path.parent, ours=ours)
    key = Fernet.generate_key()
    # Created owner-only and atomically: a concurrent first start must not see a half-written key.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    logger.warning(
        "generated a new encryption key for secret settings at {} (back it up; processes sharing one "
        "database need the same key: set security.encryption_keys on each)",
        path,
    )
    return key
