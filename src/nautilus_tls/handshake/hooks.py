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

Hooked messages in this step: ClientHello (client offers, server receives) and
EncryptedExtensions (server offers, client receives). The built-in extensions (versions,
groups, key shares, signature algorithms, PSK, early data, cookie, ALPN, SNI) are still built
by client.py / server.py; new ones (QUIC transport parameters, ECH, PAKE, transparency,
record_size_limit) come as plug-ins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Protocol

from nautilus_tls.errors import AlertDescription, LocalProtocolError
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import HandshakeType
from nautilus_tls.wire.messages import Extension

# The messages a plug-in can be offered in and received from in this step.
HOOKED_MESSAGES = frozenset({HandshakeType.client_hello, HandshakeType.encrypted_extensions})


class ExtensionHook(Protocol):
    """One extension as a plug-in (see the module docstring)."""

    @property
    def ext_type(self) -> int: ...

    @property
    def messages(self) -> frozenset[int]: ...

    def offer(self, message: int, peer: object | None) -> bytes | None: ...

    def receive(self, message: int, data: bytes | None) -> object: ...


class ExtensionHooks:
    """The plug-ins of one handshake, and the RFC 8446 §4.2 table they extend."""

    __slots__ = ("_allowed", "_hooks")

    def __init__(self, hooks: Iterable[ExtensionHook] = ()) -> None:
        self._hooks = tuple(hooks)
        seen: set[int] = set()
        allowed: dict[int, frozenset[int]] = {}
        for hook in self._hooks:
            if hook.ext_type in seen:
                # Two plug-ins for one code point would both offer it: a duplicate on the wire.
                raise LocalProtocolError(
                    f"two extension plug-ins for code point {hook.ext_type}",
                    alert=AlertDescription.internal_error,
                )
            seen.add(hook.ext_type)
            allowed[hook.ext_type] = ext.ALLOWED_IN.get(hook.ext_type, frozenset()) | hook.messages
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
        only: Iterable[int] = (),
    ) -> list[Extension]:
        """Our plug-in extensions for ``message``, to go ``alongside`` the built-in ones.
        With ``peer`` (a server answering), only the code points in ``only`` (those the
        client offered) are asked."""
        answer_to = frozenset(only)
        built_in = {e.ext_type for e in alongside}
        out: list[Extension] = []
        for hook in self._hooks:
            if message not in hook.messages:
                continue
            if peer is not None and hook.ext_type not in answer_to:
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
        offered (a client receiving EncryptedExtensions)."""
        exts = tuple(extensions)
        limit = None if only is None else frozenset(only)
        for hook in self._hooks:
            if message not in hook.messages or (limit is not None and hook.ext_type not in limit):
                continue
            into[hook.ext_type] = hook.receive(message, ext.get_extension(exts, hook.ext_type))
