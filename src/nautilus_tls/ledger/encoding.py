"""Base64 (RFC 4648 §4) for binary values in the API's JSON, strict in what it decodes."""

from __future__ import annotations

import base64
import binascii

from nautilus_tls.ledger.errors import LedgerError

__all__ = ["b64decode", "b64encode"]


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(value: object, what: str) -> bytes:
    """Decode a JSON value that must be a base64 string; anything else is a LedgerError."""
    if not isinstance(value, str):
        raise LedgerError(f"{what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise LedgerError(f"{what} is not valid base64") from None
