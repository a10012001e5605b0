"""API keys: ``tt_<prefix>_<secret>``, shown once; only a SHA-256 of the whole key is stored.

The secret is 256 random bits, so a fast hash is enough (no password-stretching is needed for a
key nobody chose); the prefix finds the row without scanning, and comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Final

_KEY = re.compile(r"tt_([a-z0-9]{12})_([A-Za-z0-9_-]{43})")
PREFIX_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly made key: ``key`` is shown to its owner once, ``hash`` is stored."""

    id: str
    key: str
    hash: str


def new_key() -> NewKey:
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(12))
    key = f"tt_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(prefix, key, digest(key))


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    match = _KEY.fullmatch(key)
    return match.group(1) if match else None


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(digest(key), stored_hash)
