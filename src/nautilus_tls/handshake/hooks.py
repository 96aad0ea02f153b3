"""Extension plug-ins: an extension the handshake does not build in offers, parses and
checks itself.

A plug-in is a value: the handshake gets a tuple of them (no global registry), so two
connections in one process can carry different extensions. Each plug-in names

- ``ext_type``: its code point;
- ``messages``: the handshake messages (:class:`~nautilus_tls.wire.enums.HandshakeType`) it may
  appear in. They extend :data:`nautilus_tls.wire.extensions.ALLOWED_IN` (RFC 8446 §4.2), which
  stays authoritative for the code points it lists: a plug-in can allow its extension in more
  messages, never forbid it where the table allows it;
- ``offer(message, peer)``: our ``extension_data`` for ``message`` or ``None`` to leave it out.
  A client is asked for its ClientHello (``peer`` is ``None``); a server for its
  EncryptedExtensions, only when the client offered the extension (RFC 8446 §4.2: a server
  never sends what the client did not offer), with ``peer`` what ``receive`` returned for the
  client's copy;
- ``receive(message, data)``: parse and check the peer's ``extension_data`` (``None`` when the
  peer left it out, so that a required extension can refuse with missing_extension). It raises
  a :class:`~nautilus_tls.errors.TLSError` whose ``.alert`` is the one the extension's RFC
  names; what it returns is kept by code point and exposed as ``peer_extensions`` of the
  handshake engine and of the TCP connection (for the application, and for the transport,
  e.g. QUIC's transport parameters).

Hooked messages, and who answers whom (RFC 8446 §4.2, §4.4.2):

- ClientHello: the client offers, the server receives;
- ServerHello, EncryptedExtensions: the server answers only what the client offered; the
  client refuses anything else (unsupported_extension) and lets each plug-in it offered check
  the answer or its absence;
- CertificateRequest, NewSessionTicket: the server offers on its own initiative;
- Certificate: plug-in extensions travel in the end-entity entry; the server's answer what
  the ClientHello offered, the client's what the CertificateRequest offered.

The built-in extensions (versions, groups, key shares, signature algorithms, PSK, early data,
cookie, ALPN, SNI, certificate_authorities) are built by client.py / server.py; new ones (QUIC
transport parameters, ECH, PAKE, certificate types, transparency, record_size_limit) come as
plug-ins, given per handshake or per configuration (``extension_hooks``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from nautilus_tls.errors import AlertDescription, LocalProtocolError, RemoteProtocolError
from nautilus_tls.proofs import PeerVerified, require
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.extension_hook import (
    HOOKED_MESSAGES,
    AuthenticatesServer,
    ExtensionHook,
    HandshakeSecretInput,
    ServerVerification,
    plugin_problem,
)
from nautilus_tls.wire.messages import Extension

__all__ = [
    "HOOKED_MESSAGES",
    "ExtensionHook",
    "ExtensionHooks",
    "confirm_plugin_secrets",
    "refuse_unsolicited",
    "with_plugin_secrets",
]


class ExtensionHooks:
    """The plug-ins of one handshake, and the RFC 8446 §4.2 table they extend."""

    __slots__ = ("_allowed", "_hooks")

    def __init__(self, hooks: Iterable[ExtensionHook] = ()) -> None:
        self._hooks = tuple(hooks)
        problem = plugin_problem(self._hooks)
        if problem is not None:
            raise LocalProtocolError(problem, alert=AlertDescription.internal_error)
        allowed = {
            hook.ext_type: ext.ALLOWED_IN.get(hook.ext_type, frozenset()) | hook.messages
            for hook in self._hooks
        }
        self._allowed: Mapping[int, frozenset[int]] = MappingProxyType(allowed)

    def __bool__(self) -> bool:
        return bool(self._hooks)

    @property
    def allowed_in(self) -> Mapping[int, frozenset[int]]:
        """Where each plug-in's extension may appear: the table's entry plus its own."""
        return self._allowed

    def check_allowed(self, extensions: Iterable[Extension], message_kind: int) -> None:
        """:func:`~nautilus_tls.wire.extensions.check_allowed` with the plug-ins' entries."""
        ext.check_allowed(extensions, message_kind, extra=self._allowed)

    def offer(
        self,
        message: int,
        alongside: Iterable[Extension],
        peer: Mapping[int, object] | None = None,
        *,
        only: Iterable[int] | None = None,
    ) -> list[Extension]:
        """Our plug-in extensions for ``message``, to go ``alongside`` the built-in ones.
        ``peer`` is what the plug-ins received from the message this one answers; ``only``,
        when given, limits the offer to those code points (an answer carries only what the
        peer offered, RFC 8446 §4.2)."""
        limit = None if only is None else frozenset(only)
        built_in = {e.ext_type for e in alongside}
        out: list[Extension] = []
        for hook in self._hooks:
            if message not in hook.messages:
                continue
            if limit is not None and hook.ext_type not in limit:
                continue
            if hook.ext_type in built_in:
                # RFC 8446 §4.2: one extension of a type per block; a plug-in cannot
                # replace one the handshake builds in.
                raise LocalProtocolError(
                    f"extension plug-in {hook.ext_type} duplicates a built-in extension",
                    alert=AlertDescription.internal_error,
                )
            data = hook.offer(message, None if peer is None else peer.get(hook.ext_type))
            if data is not None:
                out.append(Extension(ext_type=hook.ext_type, data=data))
        return out

    def receive(
        self,
        message: int,
        extensions: Iterable[Extension],
        into: dict[int, object],
        *,
        only: Iterable[int] | None = None,
    ) -> None:
        """Let each plug-in for ``message`` parse and check the peer's copy (or its absence)
        and keep what it returns in ``into``. ``only`` limits it to the code points we
        offered (an answer to our message)."""
        exts = tuple(extensions)
        limit = None if only is None else frozenset(only)
        for hook in self._hooks:
            if message not in hook.messages or (limit is not None and hook.ext_type not in limit):
                continue
            into[hook.ext_type] = hook.receive(message, ext.get_extension(exts, hook.ext_type))


def with_plugin_secrets(shared_secret: bytes | None, peer: Mapping[int, object]) -> bytes | None:
    """The key exchange's shared secret followed by the plug-ins' secrets (a PAKE's key), in
    code point order. A plug-in secret never stands alone: without a key exchange (psk_ke) it
    is missing_extension, so a PAKE is always combined with the (hybrid) key exchange."""
    inputs = [
        value.handshake_secret_input()
        for _, value in sorted(peer.items())
        if isinstance(value, HandshakeSecretInput)
    ]
    if not inputs:
        return shared_secret
    if shared_secret is None:
        raise RemoteProtocolError(
            "a PAKE login needs a key_share (it is combined with the key exchange)",
            alert=AlertDescription.missing_extension,
        )
    return shared_secret + b"".join(inputs)


def confirm_plugin_secrets(peer: Mapping[int, object]) -> None:
    """The peer's Finished verified: tell the plug-ins whose secrets it covered."""
    for value in peer.values():
        if isinstance(value, HandshakeSecretInput):
            value.handshake_confirmed()


def plugin_authenticates_server(peer: Mapping[int, object]) -> bool:
    """Server side: a plug-in (a PAKE login) authenticates us to this client, so a server
    without a certificate may leave Certificate and CertificateVerify out."""
    return any(
        isinstance(value, AuthenticatesServer) and value.authenticates_server()
        for value in peer.values()
    )


def plugin_server_proof(peer: Mapping[int, object]) -> PeerVerified | None:
    """Client side: the proof that a plug-in verified the server inside the key exchange (a
    PAKE), which lets the server leave its Certificate out; None when no plug-in did."""
    for value in peer.values():
        if isinstance(value, ServerVerification):
            proof = value.server_verified()
            if proof is not None:
                require("a plug-in's server_verified()", "proof", proof, PeerVerified)
                if not proof.by_key_exchange:
                    raise LocalProtocolError(
                        "a plug-in's server proof must come from peer_verified_by_key_exchange"
                    )
                return proof
    return None


def refuse_unsolicited(extensions: Iterable[Extension], offered: Iterable[int], where: str) -> None:
    """RFC 8446 §4.2: an extension in an answer that its question did not offer is
    unsupported_extension."""
    asked = frozenset(offered)
    for e in extensions:
        if e.ext_type not in asked:
            raise RemoteProtocolError(
                f"peer sent unsolicited extension {e.ext_type} in {where}",
                alert=AlertDescription.unsupported_extension,
            )
