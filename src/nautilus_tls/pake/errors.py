"""Errors of the password-authenticated key exchanges, each with the alert it ends TLS with.

A wrong password and an unknown user fail in the same place with the same error
(:class:`PakeAuthenticationFailed`), so neither the message nor the alert tells an attacker
which one happened. Messages never contain passwords, scalars or keys.
"""

from __future__ import annotations

from nautilus_tls.errors import (
    AlertDescription,
    DecodeError,
    LocalProtocolError,
    PeerMisbehaved,
    RemoteProtocolError,
)

__all__ = [
    "MalformedPakeMessage",
    "PakeAuthenticationFailed",
    "PakeInvalidElement",
    "PakeRateLimited",
    "PakeStateError",
]


class MalformedPakeMessage(DecodeError):
    """A PAKE message of the wrong length or layout."""


class PakeInvalidElement(PeerMisbehaved):
    """A group element that is not on the curve, not canonical, or the identity."""


class PakeAuthenticationFailed(RemoteProtocolError):
    """The key confirmation failed: wrong password, unknown user, or a man in the middle.

    RFC 8446 §6.2 sends decrypt_error when a handshake cryptographic check (Finished, a
    signature) fails; a PAKE confirmation MAC is the same kind of check.
    """

    default_alert = AlertDescription.decrypt_error


class PakeRateLimited(RemoteProtocolError):
    """Too many failed logins for one identity: the server refuses before any PAKE work.

    Remote: the peer's attempts caused it, not a fault of ours (a LocalProtocolError would
    also make the adapters log each refusal as a server-side warning, beside the limiter's).
    """

    default_alert = AlertDescription.access_denied


class PakeStateError(LocalProtocolError):
    """A PAKE state machine was driven out of order (a programming error on our side)."""
