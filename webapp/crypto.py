"""AES-256-GCM encryption of a partner's IT Glue API key under a rotatable master keyring."""

import base64
import binascii
import re
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_KEY_BYTES = 32
# Key ids are short on purpose, so a 43-character key pasted in the wrong place never passes as one.
_KID = re.compile(r"[A-Za-z0-9_-]{1,16}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


class DecryptError(Exception):
    """A token could not be decrypted; the message names the cause, never the key or plaintext."""


def generate_master_key() -> str:
    """Return a new single-entry ENCRYPTION_KEY value, "kid:base64url(32 random bytes)"."""
    return f"{secrets.token_hex(4)}:{_b64encode(secrets.token_bytes(_KEY_BYTES))}"


class Keyring:
    """Master keys by id: the first encrypts, any of them decrypts the tokens it wrote."""

    __slots__ = ("_ciphers", "primary_kid")

    def __init__(self, keys: list[tuple[str, bytes]]):
        if not keys:
            raise ValueError("a keyring needs at least one key")
        ciphers = {}
        for kid, key in keys:
            if not _KID.fullmatch(kid) or len(key) != _KEY_BYTES or kid in ciphers:
                raise ValueError("each key needs a unique short id and exactly 32 bytes")
            ciphers[kid] = AESGCM(key)
        self._ciphers = ciphers
        self.primary_kid = keys[0][0]

    def __repr__(self) -> str:
        return f"Keyring(kids={list(self._ciphers)!r})"

    @classmethod
    def parse(cls, value: str) -> "Keyring":
        """Build a keyring from ENCRYPTION_KEY, "kid:base64url-key[,kid:base64url-key...]"."""
        # Messages name the entry by position only: the value is secret, whatever part is wrong.
        if not value or not value.strip():
            raise ValueError("ENCRYPTION_KEY is empty; generate one with generate_master_key()")
        keys = []
        seen = set()
        for position, entry in enumerate(value.split(","), start=1):
            kid, sep, encoded = entry.strip().partition(":")
            where = f"ENCRYPTION_KEY entry {position}"
            if not sep:
                raise ValueError(f"{where} is not in the form kid:base64url-key")
            if not _KID.fullmatch(kid):
                raise ValueError(f"{where} has an invalid key id (1-16 of A-Z a-z 0-9 _ -)")
            if kid in seen:
                raise ValueError(f"{where} repeats the key id of an earlier entry")
            try:
                key = _b64decode(encoded)
            except ValueError:
                raise ValueError(f"{where} is not valid base64url") from None
            if len(key) != _KEY_BYTES:
                raise ValueError(f"{where} must decode to 32 bytes for AES-256, not {len(key)}")
            seen.add(kid)
            keys.append((kid, key))
        return cls(keys)

    @property
    def kids(self) -> tuple[str, ...]:
        """The key ids in the ring, primary first."""
        return tuple(self._ciphers)

    def encrypt(self, plaintext: str, *, partner_id: int) -> str:
        """Encrypt under the primary key, bound to the partner: "v1.<kid>.<base64url>"."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._ciphers[self.primary_kid].encrypt(
            nonce, plaintext.encode("utf-8"), _aad(partner_id)
        )
        return f"{VERSION}.{self.primary_kid}.{_b64encode(nonce + sealed)}"

    def decrypt(self, token: str, *, partner_id: int) -> str:
        """Return the plaintext of a token written for this partner, or raise DecryptError."""
        kid, blob = self._split(token)
        nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        try:
            plaintext = self._ciphers[kid].decrypt(nonce, sealed, _aad(partner_id))
        except InvalidTag:
            raise DecryptError(
                "the token failed authentication: tampered, written for another partner, "
                "or encrypted under a different key with the same id"
            ) from None
        try:
            return plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptError("the decrypted token is not UTF-8 text") from None

    def rotate(self, token: str, *, partner_id: int) -> str:
        """Re-encrypt a token under the primary key, or return it unchanged if it already is."""
        plaintext = self.decrypt(token, partner_id=partner_id)
        if self._split(token)[0] == self.primary_kid:
            return token
        return self.encrypt(plaintext, partner_id=partner_id)

    def _split(self, token: str) -> tuple[str, bytes]:
        """Return the key id and the nonce-plus-ciphertext of a well-formed token."""
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 3 or parts[0] != VERSION or not _KID.fullmatch(parts[1]):
            raise DecryptError(f"not a {VERSION} token")
        kid, encoded = parts[1], parts[2]
        if kid not in self._ciphers:
            raise DecryptError(f"key id {kid!r} is not in ENCRYPTION_KEY")
        try:
            blob = _b64decode(encoded)
        except ValueError:
            raise DecryptError("the token is not valid base64url") from None
        if len(blob) < _NONCE_BYTES + _TAG_BYTES:
            raise DecryptError("the token is too short")
        return kid, blob


def _aad(partner_id: int) -> bytes:
    """Associated data binding a ciphertext to one partner and one purpose."""
    # A bool or None here would be a caller bug that silently binds to the wrong partner.
    if not isinstance(partner_id, int) or isinstance(partner_id, bool):
        raise TypeError("partner_id must be an int")
    return f"partner:{partner_id}:itglue_api_key".encode()


def _b64encode(data: bytes) -> str:
    """Unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Decode canonical base64url with or without padding, refusing any other character."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    try:
        data = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None
    # Unused low bits in the last character would let two texts decode to the same bytes.
    if _b64encode(data) != stripped:
        raise ValueError("not canonical base64url")
    return data
