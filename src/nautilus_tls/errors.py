"""Errors raised by Nautilus TLS, and the alert each one sends.

The tree::

    TLSError
    ├── ConfigError                  a configuration that cannot work (raised before any I/O)
    ├── ConnectionClosedError        the connection is closed; nothing more can be sent
    └── ProtocolError                has ``.alert``: the alert that ends the connection
        ├── LocalProtocolError       we were asked to do something the protocol forbids
        └── RemoteProtocolError      the peer sent something wrong
            ├── DecodeError          bytes that do not parse           (decode_error)
            ├── PeerMisbehaved       well-formed but forbidden          (usually illegal_parameter)
            ├── PeerIncompatible     nothing in common                  (handshake_failure, ...)
            ├── BadCertificate       certificate or chain rejected      (bad_certificate, unknown_ca, ...)
            ├── AccessDenied         a valid identity that access control refuses (access_denied)
            ├── PeerAlert            the peer sent us a fatal alert     (or close_notify before the end;
            │                        the event for any alert is events.AlertReceived)
            └── MissingCloseNotify   the peer closed TCP without close_notify (no alert involved)

Every protocol error names its alert, so the connection has exactly one place that turns an
error into the alert it sends (:func:`alert_for`). Messages never contain key material.
"""

from __future__ import annotations

from enum import IntEnum


class AlertLevel(IntEnum):
    """An alert's level (RFC 8446 §6): TLS 1.3 treats every alert but close_notify and
    user_canceled as fatal."""

    WARNING = 1
    FATAL = 2


class AlertDescription(IntEnum):
    """RFC 8446 §6 alert codes (plus the ones TLS 1.3 keeps from earlier versions)."""

    close_notify = 0
    unexpected_message = 10
    bad_record_mac = 20
    record_overflow = 22
    handshake_failure = 40
    bad_certificate = 42
    unsupported_certificate = 43
    certificate_revoked = 44
    certificate_expired = 45
    certificate_unknown = 46
    illegal_parameter = 47
    unknown_ca = 48
    access_denied = 49
    decode_error = 50
    decrypt_error = 51
    protocol_version = 70
    insufficient_security = 71
    internal_error = 80
    inappropriate_fallback = 86
    user_canceled = 90
    missing_extension = 109
    unsupported_extension = 110
    unrecognized_name = 112
    bad_certificate_status_response = 113
    unknown_psk_identity = 115
    certificate_required = 116
    no_application_protocol = 120


def alert_name(code: int) -> str:
    try:
        return AlertDescription(code).name
    except ValueError:
        return f"unknown_alert({code})"


class TLSError(Exception):
    """Base class of every error this library raises."""


class ConfigError(TLSError, ValueError):
    """A configuration that cannot work."""


class ConnectionClosedError(TLSError):
    """The connection is closed (cleanly or not); nothing more can be sent or received."""


class ProtocolError(TLSError):
    """A TLS protocol failure; ``alert`` is the alert that ends (or ended) the connection."""

    default_alert: AlertDescription = AlertDescription.internal_error

    def __init__(self, message: str, *, alert: AlertDescription | None = None) -> None:
        super().__init__(message)
        self.alert: AlertDescription = alert if alert is not None else self.default_alert

    def __str__(self) -> str:
        return f"{super().__str__()} (alert: {self.alert.name})"


class LocalProtocolError(ProtocolError):
    """We (the application or this library) tried something the protocol does not allow."""

    default_alert = AlertDescription.internal_error


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow."""

    default_alert = AlertDescription.unexpected_message


class DecodeError(RemoteProtocolError):
    """Bytes that do not parse as the message they claim to be."""

    default_alert = AlertDescription.decode_error


class PeerMisbehaved(RemoteProtocolError):
    """A well-formed message with a forbidden value."""

    default_alert = AlertDescription.illegal_parameter


class PeerIncompatible(RemoteProtocolError):
    """The peer and we have nothing in common (no shared group, suite, scheme or protocol)."""

    default_alert = AlertDescription.handshake_failure


class BadCertificate(RemoteProtocolError):
    """The peer's certificate or chain was rejected."""

    default_alert = AlertDescription.bad_certificate


class AccessDenied(RemoteProtocolError):
    """The peer proved who it is, and that identity may not connect (RFC 8446 §6.2: "a valid
    certificate or PSK was received, but when access control was applied, the sender decided
    not to proceed"): e.g. a DID not on the server's allow-list."""

    default_alert = AlertDescription.access_denied


class PeerAlert(RemoteProtocolError):
    """The peer sent a fatal alert (or close_notify where it is not allowed)."""

    def __init__(self, description: int, level: int = AlertLevel.FATAL) -> None:
        self.description = description
        self.level = level
        desc = (
            AlertDescription(description)
            if description in AlertDescription._value2member_map_
            else None
        )
        super().__init__(
            f"peer sent alert {alert_name(description)}",
            alert=desc if desc is not None else AlertDescription.close_notify,
        )


class MissingCloseNotify(RemoteProtocolError):
    """The peer ended the TCP stream without close_notify: a possible truncation attack
    (RFC 8446 §6.1). No alert was sent or received (the peer is gone), so the message does
    not name one; ``alert`` is close_notify only because every ProtocolError carries one."""

    default_alert = AlertDescription.close_notify

    def __str__(self) -> str:
        return Exception.__str__(self)


class HandshakeTimeout(LocalProtocolError, TimeoutError):
    """The handshake did not finish within the configured time.

    Also a :class:`TimeoutError`, so ``except TimeoutError`` catches it as it catches any
    other timeout. The alert it sends is user_canceled (RFC 8446 §6.1 has no timeout alert),
    but the message does not say so: nobody cancelled anything, the time ran out.
    """

    default_alert = AlertDescription.user_canceled

    def __init__(self, message: str, *, alert: AlertDescription | None = None) -> None:
        # OSError's constructor (TimeoutError's) would read a 2-tuple of args as errno and
        # strerror; ProtocolError's takes the message alone.
        LocalProtocolError.__init__(self, message, alert=alert)

    def __str__(self) -> str:
        return Exception.__str__(self)


def alert_for(error: BaseException) -> AlertDescription:
    """The alert to send for ``error``: the one place an error becomes an alert."""
    if isinstance(error, ProtocolError):
        return error.alert
    return AlertDescription.internal_error
