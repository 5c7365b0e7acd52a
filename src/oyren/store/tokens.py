"""Encrypting creators' tokens at rest: Fernet keys from the environment, rotation included.

``TIKTOK_TOKEN_KEYS`` holds one or more Fernet keys separated by commas, newest first
(``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``
makes one). The first key encrypts; every key decrypts (``cryptography``'s
:class:`~cryptography.fernet.MultiFernet`), so rotating is: put a new key first, run
``oyren creators rotate-keys`` (every stored token re-encrypted with the new key), then drop the
old key. The key is never read from a settings file and never stored in the database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from oyren.errors import StoreError

__all__ = ["KEYS_ENV", "TokenCipher", "TokenSet"]

KEYS_ENV = "TIKTOK_TOKEN_KEYS"


@dataclass(frozen=True, slots=True)
class TokenSet:
    """A creator's tokens as TikTok gave them, with absolute expiry times (Unix seconds)."""

    open_id: str
    scope: tuple[str, ...]
    access_token: str = field(repr=False)
    expires_at: int
    refresh_token: str = field(repr=False)
    refresh_expires_at: int


class TokenCipher:
    """Encrypts and decrypts token strings with the installation's Fernet keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise StoreError(
                f"{KEYS_ENV} is not set: give a Fernet key to encrypt creators' tokens"
            )
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])
        except (ValueError, TypeError):
            raise StoreError(
                f"{KEYS_ENV} must hold Fernet keys (32 url-safe base64-encoded bytes), "
                "separated by commas"
            ) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TokenCipher:
        """The cipher of ``TIKTOK_TOKEN_KEYS``; a :class:`StoreError` when it is unset or bad."""
        env = os.environ if environ is None else environ
        return cls([k for k in env.get(KEYS_ENV, "").split(",") if k.strip()])

    def encrypt(self, text: str) -> str:
        """Encrypt with the newest key."""
        return self._fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt with whichever key made it; a :class:`StoreError` when none did."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise StoreError(
                f"a stored token cannot be decrypted with the keys in {KEYS_ENV}: "
                "was a key removed before `oyren creators rotate-keys` ran?"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt with the newest key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise StoreError(
                f"a stored token cannot be decrypted with the keys in {KEYS_ENV}"
            ) from None
