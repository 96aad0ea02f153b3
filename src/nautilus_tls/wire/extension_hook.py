"""What an extension plug-in is: the contract between a handshake and an extension it does not
build in (QUIC transport parameters, PAKE, raw-key certificate types, transparency proofs).

It lives at the wire layer because a configuration carries plug-ins as values
(``ClientConfig.extension_hooks``) and the configuration sits below the handshake that runs
them (:mod:`nautilus_tls.handshake.hooks`, which documents when each method is called).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from nautilus_tls.proofs import PeerVerified
from nautilus_tls.wire.enums import ExtensionType, HandshakeType

# The messages a plug-in can be offered in and received from.
HOOKED_MESSAGES = frozenset(
    {
        HandshakeType.client_hello,
        HandshakeType.server_hello,
        HandshakeType.encrypted_extensions,
        HandshakeType.certificate_request,
        HandshakeType.certificate,
        HandshakeType.new_session_ticket,
    }
)

# What the handshake builds and checks itself: a plug-in cannot take these over.
BUILT_IN = frozenset(
    {
        ExtensionType.server_name,
        ExtensionType.supported_groups,
        ExtensionType.signature_algorithms,
        ExtensionType.signature_algorithms_cert,
        ExtensionType.application_layer_protocol_negotiation,
        ExtensionType.key_share,
        ExtensionType.supported_versions,
        ExtensionType.psk_key_exchange_modes,
        ExtensionType.pre_shared_key,
        ExtensionType.early_data,
        ExtensionType.cookie,
        ExtensionType.certificate_authorities,
    }
)


class ExtensionHook(Protocol):
    """One extension as a plug-in.

    - ``ext_type``: its code point;
    - ``messages``: the handshake messages (:class:`~nautilus_tls.wire.enums.HandshakeType`)
      it may appear in;
    - ``offer(message, peer)``: our ``extension_data`` for ``message``, or ``None`` to leave it
      out; ``peer`` is what :meth:`receive` returned for the peer's copy this answers (the
      client's ClientHello copy for a server, the CertificateRequest copy for a client's
      Certificate), ``None`` for a message nobody answers;
    - ``receive(message, data)``: parse and check the peer's ``extension_data`` (``None`` when
      the peer left it out) and return what the application should see; raise a
      :class:`~nautilus_tls.errors.TLSError` carrying the alert the extension's RFC names.
    """

    @property
    def ext_type(self) -> int: ...

    @property
    def messages(self) -> frozenset[int]: ...

    def offer(self, message: int, peer: object | None) -> bytes | None: ...

    def receive(self, message: int, data: bytes | None) -> object: ...


def plugin_problem(hooks: Iterable[ExtensionHook]) -> str | None:
    """Why this set of plug-ins cannot run in one handshake, or ``None``."""
    seen: set[int] = set()
    for hook in hooks:
        code = hook.ext_type
        if not isinstance(code, int) or not 0 <= code <= 0xFFFF:
            return f"extension plug-in code point {code!r} is not a 16-bit integer"
        if code in seen:
            # Two plug-ins for one code point would both offer it: a duplicate on the wire.
            return f"two extension plug-ins for code point {code}"
        seen.add(code)
        if code in BUILT_IN:
            return f"extension {code} is built into the handshake; a plug-in cannot replace it"
        if not hook.messages or not hook.messages <= HOOKED_MESSAGES:
            # A message the handshake never asks plug-ins about would drop it silently.
            return f"extension plug-in {code} names messages without hooks"
    return None


@runtime_checkable
class HandshakeSecretInput(Protocol):
    """What a plug-in's ``receive`` may return to take part in the key schedule (a PAKE).

    - ``handshake_secret_input()``: bytes appended to the key exchange's shared secret in the
      handshake-secret HKDF-Extract (draft-ietf-tls-pake: (EC)DHE || PAKE key), so every
      traffic key depends on both;
    - ``handshake_confirmed()``: called once the peer's Finished has verified, i.e. the peer
      proved it derived the same secret (a PAKE server clears its failure count there).
    """

    def handshake_secret_input(self) -> bytes: ...

    def handshake_confirmed(self) -> None: ...


@runtime_checkable
class AuthenticatesServer(Protocol):
    """What a server plug-in's ``receive`` may return when the plug-in authenticates the
    server to the client in place of a certificate (a PAKE login, draft-ietf-tls-pake).

    A server without a certificate (``ServerConfig.certificates`` empty) then sends neither
    Certificate nor CertificateVerify; with one, it still sends them (PAKE plus certificate).
    """

    def authenticates_server(self) -> bool: ...


@runtime_checkable
class ServerVerification(Protocol):
    """What a client plug-in's ``receive`` may return once it verified the server inside the
    key exchange (a PAKE's server proof: SPAKE2+ confirmV, OPAQUE's server MAC).

    ``server_verified()`` is the proof (:func:`nautilus_tls.proofs.peer_verified_by_key_exchange`)
    that lets the client accept a server that sends no Certificate; a Certificate the server
    does send is still verified as configured.
    """

    def server_verified(self) -> PeerVerified | None: ...
