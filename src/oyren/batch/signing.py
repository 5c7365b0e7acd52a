"""Award signatures: Ed25519 keys of the organizer, signing and checking an audit bundle.

A bundle's digest (:func:`oyren.batch.bundle.manifest_digest`) vouches for every file in it, but
anyone who edits a bundle can compute a new one: a digest proves the bundle is the one
published only to someone who compares it with the published value. A signature proves more:
that the holder of the organizer's private key vouched for exactly this bundle. The organizer
signs the bundle's digest when the prizes are awarded; ``signature.json`` beside the manifest
carries the signature, the key's id and the public key; ``oyren verify --key`` accepts it only
from a key the verifier trusts (the organizer publishes its public keys on the winners page, in
its JSON twin and in the bundle itself).

Keys are Ed25519 through the ``cryptography`` library. A private key is a PKCS#8 PEM file that
only the organizer's machine holds (``oyren keys generate``); it is never stored in the
database. A public key is written as 44 characters of base64 (its 32 raw bytes); its id is the
first 16 hex digits of the key's SHA-256. Checking needs no network.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from oyren.errors import BundleError

__all__ = [
    "ALGORITHM",
    "SIGNATURE_FORMAT",
    "PublicKey",
    "Signer",
    "generate_key",
    "load_signer",
    "parse_public_key",
    "signed_message",
    "verify_signature",
]

ALGORITHM = "Ed25519"
SIGNATURE_FORMAT = "oyren-signature/1"


def signed_message(bundle_digest: str) -> bytes:
    """The bytes an award's signature covers: a fixed label and the bundle's digest."""
    return f"oyren audit bundle {bundle_digest}".encode("ascii")


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key: its 32 raw bytes, and the id and text it is known by."""

    raw: bytes

    @property
    def text(self) -> str:
        """The key as published: base64 of its raw bytes."""
        return base64.b64encode(self.raw).decode("ascii")

    @property
    def key_id(self) -> str:
        """A short name for the key: the first 16 hex digits of its SHA-256."""
        return hashlib.sha256(self.raw).hexdigest()[:16]

    def verifies(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this key's signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True


class Signer:
    """The organizer's private key, able to sign bundle digests."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public = PublicKey(raw)

    def sign(self, bundle_digest: str) -> dict[str, Any]:
        """Return ``signature.json``'s content for a bundle with this digest."""
        signature = self._private.sign(signed_message(bundle_digest))
        return {
            "format": SIGNATURE_FORMAT,
            "algorithm": ALGORITHM,
            "key_id": self.public.key_id,
            "public_key": self.public.text,
            "bundle_digest": bundle_digest,
            "signature": base64.b64encode(signature).decode("ascii"),
        }


def generate_key(path: str | Path) -> PublicKey:
    """Write a new private key to ``path`` (readable by its owner only) and ``path.pub``."""
    path = Path(path)
    if path.exists():
        raise BundleError(f"{path} already exists: choose a new file (keys are never overwritten)")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public = Signer(private).public
    Path(f"{path}.pub").write_text(f"{public.text}\n", encoding="ascii")
    return public


def load_signer(path: str | Path) -> Signer:
    """Read the organizer's private key (PKCS#8 PEM, as ``oyren keys generate`` writes it)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"{path}: cannot read the signing key ({exc.strerror})") from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise BundleError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise BundleError(f"{path}: not an Ed25519 key (make one with `oyren keys generate`)")
    return Signer(private)


def parse_public_key(text: str, *, where: str = "the key") -> PublicKey:
    """Read a public key: base64 of its 32 raw bytes, or a PEM block, or a file holding either."""
    value = text.strip()
    if value and not value.startswith("-----") and len(value) != 44 and Path(value).is_file():
        value = Path(value).read_text(encoding="ascii", errors="replace").strip()
        where = text
    if value.startswith("-----BEGIN PUBLIC KEY-----"):
        try:
            loaded = serialization.load_pem_public_key(value.encode("ascii"))
        except ValueError as exc:
            raise BundleError(f"{where}: not a PEM public key ({exc})") from None
        if not isinstance(loaded, Ed25519PublicKey):
            raise BundleError(f"{where}: not an Ed25519 public key")
        return PublicKey(loaded.public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw))  # fmt: skip
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise BundleError(
            f"{where}: not an Ed25519 public key (give its 44 base64 characters, as published "
            "on the winners page, or a file holding them)"
        )
    return PublicKey(raw)


def verify_signature(
    signature: Any, *, bundle_digest: str, trusted: tuple[PublicKey, ...] = ()
) -> tuple[PublicKey | None, list[str]]:
    """Check ``signature.json``'s content against a bundle's digest; return (key, problems).

    With ``trusted`` keys, the signing key must be one of them.
    """
    if not isinstance(signature, dict):
        return None, ["signature.json: not a signature (a JSON object)"]
    if signature.get("format") != SIGNATURE_FORMAT or signature.get("algorithm") != ALGORITHM:
        return None, [
            f"signature.json: format {signature.get('format')!r} with "
            f"{signature.get('algorithm')!r}, expected {SIGNATURE_FORMAT!r} with {ALGORITHM!r}"
        ]
    try:
        key = parse_public_key(str(signature.get("public_key", "")), where="signature.json")
        value = base64.b64decode(str(signature.get("signature", "")), validate=True)
    except (BundleError, binascii.Error, ValueError) as exc:
        return None, [f"signature.json: unreadable ({exc})"]
    problems = []
    if signature.get("key_id") != key.key_id:
        problems.append(f"signature.json: key_id is not the id of its public key ({key.key_id})")
    if signature.get("bundle_digest") != bundle_digest:
        problems.append(
            f"signature.json: signs the bundle {signature.get('bundle_digest')}, but this "
            f"bundle's digest is {bundle_digest}"
        )
    elif not key.verifies(value, signed_message(bundle_digest)):
        problems.append(f"signature.json: the signature is not key {key.key_id}'s")
    if trusted and key.raw not in {k.raw for k in trusted}:
        ids = ", ".join(k.key_id for k in trusted)
        problems.append(
            f"signature.json: signed by key {key.key_id}, which is not a key you trust ({ids})"
        )
    return key, problems
