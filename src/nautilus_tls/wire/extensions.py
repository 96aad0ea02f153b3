"""Typed codecs for the TLS 1.3 extensions we use, and where each extension may appear.

Each ``encode_*`` returns ``extension_data`` bytes; each ``decode_*`` takes them and returns a
value, consuming every byte. Decoding raises :class:`~nautilus_tls.errors.DecodeError`
(``decode_error``) for bytes outside the RFC definition; the only other error is
:class:`~nautilus_tls.errors.PeerMisbehaved` (``illegal_parameter``) where the RFC names it
(two key shares for one group, RFC 8446 §4.2.8; PSK identities and binders that do not pair up,
RFC 8446 §4.2.11). Encoding a value that does not fit raises
:class:`~nautilus_tls.errors.LocalProtocolError` (``internal_error``).

Forms that differ by message are separate functions (``*_ch``, ``*_sh``, ``*_hrr``, ``*_nst``).
Extensions whose body is empty in a message (``early_data`` in ClientHello and
EncryptedExtensions, ``server_name`` in EncryptedExtensions, ``post_handshake_auth``) use
:func:`decode_empty`.

:data:`ALLOWED_IN` is the RFC 8446 §4.2 table; :func:`check_allowed` applies it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from nautilus_tls.errors import AlertDescription, DecodeError, LocalProtocolError, PeerMisbehaved
from nautilus_tls.wire.buffer import Reader, Writer
from nautilus_tls.wire.enums import ExtensionType, HandshakeType, display_name
from nautilus_tls.wire.limits import MAX_LIST_ENTRIES
from nautilus_tls.wire.messages import Bytes, Extension

__all__ = [
    "ALLOWED_IN",
    "HRR",
    "KeyShareEntry",
    "OfferedPsks",
    "PskIdentity",
    "binders_length",
    "check_allowed",
    "decode_alpn",
    "decode_certificate_authorities",
    "decode_cookie",
    "decode_early_data_nst",
    "decode_empty",
    "decode_key_share_ch",
    "decode_key_share_hrr",
    "decode_key_share_sh",
    "decode_pre_shared_key_ch",
    "decode_pre_shared_key_sh",
    "decode_psk_key_exchange_modes",
    "decode_server_name",
    "decode_signature_algorithms",
    "decode_signature_algorithms_cert",
    "decode_supported_groups",
    "decode_supported_versions_ch",
    "decode_supported_versions_sh",
    "encode_alpn",
    "encode_certificate_authorities",
    "encode_cookie",
    "encode_early_data_nst",
    "encode_key_share_ch",
    "encode_key_share_hrr",
    "encode_key_share_sh",
    "encode_pre_shared_key_ch",
    "encode_pre_shared_key_sh",
    "encode_psk_binders",
    "encode_psk_key_exchange_modes",
    "encode_server_name",
    "encode_signature_algorithms",
    "encode_signature_algorithms_cert",
    "encode_supported_groups",
    "encode_supported_versions_ch",
    "encode_supported_versions_sh",
    "get_extension",
]


def _cannot(what: str) -> LocalProtocolError:
    return LocalProtocolError(f"cannot encode {what}", alert=AlertDescription.internal_error)


def _check_len(data: Bytes, lo: int, hi: int, what: str) -> None:
    if not lo <= len(data) <= hi:
        raise _cannot(f"{what}: length {len(data)} outside {lo}..{hi}")


def _check_uint(value: int, bits: int, what: str) -> None:
    if not 0 <= value < (1 << bits):
        raise _cannot(f"{what}: {value} is not a uint{bits}")


def _encode_uint16_list(values: Sequence[int], length_size: int, lo: int, what: str) -> bytes:
    hi = (1 << (8 * length_size)) - 2
    if not lo <= 2 * len(values) <= hi:
        raise _cannot(f"{what}: {len(values)} entries")
    if values and not (min(values) >= 0 and max(values) <= 0xFFFF):
        for v in values:
            _check_uint(v, 16, what)
    w = Writer()
    w.uint16_list(length_size, tuple(values))
    return w.getvalue()


def _decode_uint16_list(data: Bytes, length_size: int, what: str) -> tuple[int, ...]:
    r = Reader(data)
    # RFC 8446 §6.2 decode_error: a list past our MAX_LIST_ENTRIES is out of the range we decode.
    values = r.uint16_list(length_size, min_len=2, max_count=MAX_LIST_ENTRIES)
    r.expect_end(what)
    return values


# -- empty bodies ----------------------------------------------------------------------------


def decode_empty(data: Bytes, what: str = "extension") -> None:
    """An extension whose ``extension_data`` must be empty (early_data in CH/EE, server_name
    in EE, post_handshake_auth)."""
    if data:
        raise DecodeError(f"{what}: expected an empty body, got {len(data)} bytes")


# -- server_name (RFC 6066 §3) ------------------------------------------------------------------

_HOST_NAME = 0


def encode_server_name(host: str) -> bytes:
    """A ServerNameList with one ``host_name`` (ASCII, no trailing dot: A-labels for IDNs)."""
    try:
        name = host.encode("ascii")
    except UnicodeEncodeError:
        raise _cannot(f"server_name {host!r}: not ASCII (use the IDNA A-label)") from None
    if not name or name.endswith(b".") or len(name) > 0xFFFF - 5:
        raise _cannot(f"server_name {host!r}")
    w = Writer()
    with w.prefixed(2):
        w.uint8(_HOST_NAME)
        w.vector(2, name)
    return w.getvalue()


def decode_server_name(data: Bytes) -> str | None:
    """The ``host_name`` of a ClientHello's server_name, or None when the list holds only
    other name types (skipped, as each entry is length-prefixed in practice)."""
    r = Reader(data)
    names = r.sub(2, min_len=1)
    r.expect_end("server_name")
    host: str | None = None
    while not names.at_end():
        name_type = names.uint8()
        name = names.vector(2, min_len=1)
        if name_type != _HOST_NAME:
            continue
        if host is not None:
            # RFC 6066 §3: no more than one name of the same name_type.
            raise DecodeError("server_name: more than one host_name")
        try:
            host = name.decode("ascii")
        except UnicodeDecodeError:
            raise DecodeError("server_name: host_name is not ASCII") from None
        if host.endswith("."):
            # RFC 6066 §3: "without a trailing dot".
            raise DecodeError("server_name: host_name has a trailing dot")
    return host


# -- supported_groups (RFC 8446 §4.2.7), signature_algorithms[_cert] (§4.2.3) ----------------


def encode_supported_groups(groups: Sequence[int]) -> bytes:
    return _encode_uint16_list(groups, 2, 2, "supported_groups")


def decode_supported_groups(data: Bytes) -> tuple[int, ...]:
    return _decode_uint16_list(data, 2, "supported_groups")


def encode_signature_algorithms(schemes: Sequence[int]) -> bytes:
    return _encode_uint16_list(schemes, 2, 2, "signature_algorithms")


def decode_signature_algorithms(data: Bytes) -> tuple[int, ...]:
    return _decode_uint16_list(data, 2, "signature_algorithms")


def encode_signature_algorithms_cert(schemes: Sequence[int]) -> bytes:
    return _encode_uint16_list(schemes, 2, 2, "signature_algorithms_cert")


def decode_signature_algorithms_cert(data: Bytes) -> tuple[int, ...]:
    return _decode_uint16_list(data, 2, "signature_algorithms_cert")


# -- application_layer_protocol_negotiation (RFC 7301 §3.1) ----------------------------------


def encode_alpn(protocols: Sequence[bytes]) -> bytes:
    total = sum(1 + len(proto) for proto in protocols)
    if not protocols or total > 0xFFFF - 2:
        raise _cannot(f"ALPN: {len(protocols)} protocols, {total} bytes")
    w = Writer()
    w.uint16(total)
    for proto in protocols:
        _check_len(proto, 1, 0xFF, "ALPN protocol name")
        w.vector(1, proto)
    return w.getvalue()


def decode_alpn(data: Bytes) -> tuple[bytes, ...]:
    """ProtocolNameList (non-empty; each name 1..255 bytes). In EncryptedExtensions the
    handshake must also check that exactly one name came back."""
    r = Reader(data)
    names = r.sub(2, min_len=2)
    r.expect_end("ALPN")
    protocols: list[bytes] = []
    while not names.at_end():
        protocols.append(names.vector(1, min_len=1))
    return tuple(protocols)


# -- supported_versions (RFC 8446 §4.2.1) ----------------------------------------------------


def encode_supported_versions_ch(versions: Sequence[int]) -> bytes:
    """ClientHello form: ``ProtocolVersion versions<2..254>``."""
    return _encode_uint16_list(versions, 1, 2, "supported_versions")


def decode_supported_versions_ch(data: Bytes) -> tuple[int, ...]:
    return _decode_uint16_list(data, 1, "supported_versions")


def encode_supported_versions_sh(version: int) -> bytes:
    """ServerHello / HelloRetryRequest form: ``ProtocolVersion selected_version``."""
    _check_uint(version, 16, "supported_versions")
    return version.to_bytes(2, "big")


def decode_supported_versions_sh(data: Bytes) -> int:
    return _decode_uint16(data, "supported_versions")


def _decode_uint16(data: Bytes, what: str) -> int:
    if len(data) != 2:
        raise DecodeError(f"{what}: expected 2 bytes, got {len(data)}")
    return int.from_bytes(data, "big")


# -- key_share (RFC 8446 §4.2.8) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    group: int
    key_exchange: bytes


def _write_key_share_entry(w: Writer, entry: KeyShareEntry) -> None:
    _check_uint(entry.group, 16, "key_share group")
    _check_len(entry.key_exchange, 1, 0xFFFF, "key_share key_exchange")
    w.uint16(entry.group)
    w.vector(2, entry.key_exchange)


def encode_key_share_ch(entries: Sequence[KeyShareEntry]) -> bytes:
    """ClientHello form: ``KeyShareEntry client_shares<0..2^16-1>`` (empty asks for HRR)."""
    total = sum(4 + len(entry.key_exchange) for entry in entries)
    if total > 0xFFFF - 2:
        raise _cannot(f"key_share: {total} bytes of shares")
    w = Writer()
    w.uint16(total)
    for entry in entries:
        _write_key_share_entry(w, entry)
    return w.getvalue()


def decode_key_share_ch(data: Bytes) -> tuple[KeyShareEntry, ...]:
    r = Reader(data)
    shares = r.sub(2)
    r.expect_end("key_share")
    entries: list[KeyShareEntry] = []
    groups: set[int] = set()
    while not shares.at_end():
        if len(entries) == MAX_LIST_ENTRIES:
            # RFC 8446 §6.2 decode_error: more shares than we decode (each costs a lookup).
            raise DecodeError(f"key_share: more than {MAX_LIST_ENTRIES} shares")
        group = shares.uint16()
        key_exchange = shares.vector(2, min_len=1)
        if group in groups:
            # RFC 8446 §4.2.8: one share per group; servers MAY abort with illegal_parameter.
            raise PeerMisbehaved(
                f"key_share: two shares for group 0x{group:04x}",
                alert=AlertDescription.illegal_parameter,
            )
        groups.add(group)
        entries.append(KeyShareEntry(group, key_exchange))
    return tuple(entries)


def encode_key_share_sh(entry: KeyShareEntry) -> bytes:
    """ServerHello form: ``KeyShareEntry server_share``."""
    w = Writer()
    _write_key_share_entry(w, entry)
    return w.getvalue()


def decode_key_share_sh(data: Bytes) -> KeyShareEntry:
    r = Reader(data)
    group = r.uint16()
    key_exchange = r.vector(2, min_len=1)
    r.expect_end("key_share")
    return KeyShareEntry(group, key_exchange)


def encode_key_share_hrr(selected_group: int) -> bytes:
    """HelloRetryRequest form: ``NamedGroup selected_group``."""
    _check_uint(selected_group, 16, "key_share selected_group")
    return selected_group.to_bytes(2, "big")


def decode_key_share_hrr(data: Bytes) -> int:
    return _decode_uint16(data, "key_share selected_group")


# -- cookie (RFC 8446 §4.2.2) ----------------------------------------------------------------


def encode_cookie(cookie: bytes) -> bytes:
    _check_len(cookie, 1, 0xFFFF - 2, "cookie")
    return len(cookie).to_bytes(2, "big") + cookie


def decode_cookie(data: Bytes) -> bytes:
    r = Reader(data)
    cookie = r.vector(2, min_len=1)
    r.expect_end("cookie")
    return cookie


# -- psk_key_exchange_modes (RFC 8446 §4.2.9) ------------------------------------------------


def encode_psk_key_exchange_modes(modes: Sequence[int]) -> bytes:
    if not 1 <= len(modes) <= 0xFF:
        raise _cannot(f"psk_key_exchange_modes: {len(modes)} modes")
    for mode in modes:
        _check_uint(mode, 8, "psk_key_exchange_modes")
    return bytes((len(modes), *modes))


def decode_psk_key_exchange_modes(data: Bytes) -> tuple[int, ...]:
    r = Reader(data)
    modes = r.vector(1, min_len=1)
    r.expect_end("psk_key_exchange_modes")
    return tuple(modes)


# -- pre_shared_key (RFC 8446 §4.2.11) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PskIdentity:
    identity: bytes
    obfuscated_ticket_age: int


@dataclass(frozen=True, slots=True)
class OfferedPsks:
    identities: tuple[PskIdentity, ...]
    binders: tuple[bytes, ...]


def binders_length(binder_lengths: Iterable[int]) -> int:
    """Bytes taken by ``PskBinderEntry binders<33..2^16-1>`` (length prefix included): what
    to cut from the end of an encoded ClientHello to get the part the binders cover
    (RFC 8446 §4.2.11.2)."""
    return 2 + sum(1 + n for n in binder_lengths)


def encode_psk_binders(binders: Sequence[bytes]) -> bytes:
    """The ``binders`` vector alone: a ClientHello truncated by :func:`binders_length` plus
    this is the whole ClientHello (pre_shared_key being the last extension)."""
    total = binders_length(len(b) for b in binders) - 2
    if not binders or total > 0xFFFF:
        raise _cannot(f"pre_shared_key: {len(binders)} binders, {total} bytes")
    w = Writer()
    w.uint16(total)
    for binder in binders:
        _check_len(binder, 32, 0xFF, "PSK binder")
        w.vector(1, binder)
    return w.getvalue()


def encode_pre_shared_key_ch(offered: OfferedPsks) -> bytes:
    """ClientHello form: ``OfferedPsks`` (identities, then binders)."""
    if not offered.identities or len(offered.identities) != len(offered.binders):
        raise _cannot("pre_shared_key: identities and binders must pair up")
    total = sum(6 + len(psk.identity) for psk in offered.identities)
    if total > 0xFFFF:
        raise _cannot(f"pre_shared_key: {total} bytes of identities")
    w = Writer()
    w.uint16(total)
    for psk in offered.identities:
        _check_len(psk.identity, 1, 0xFFFF, "PSK identity")
        _check_uint(psk.obfuscated_ticket_age, 32, "obfuscated_ticket_age")
        w.vector(2, psk.identity)
        w.uint32(psk.obfuscated_ticket_age)
    w.raw(encode_psk_binders(offered.binders))
    return w.getvalue()


def decode_pre_shared_key_ch(data: Bytes) -> OfferedPsks:
    r = Reader(data)
    ids = r.sub(2, min_len=7)
    identities: list[PskIdentity] = []
    while not ids.at_end():
        identity = ids.vector(2, min_len=1)
        identities.append(PskIdentity(identity, ids.uint32()))
    bnd = r.sub(2, min_len=33)
    r.expect_end("pre_shared_key")
    binders: list[bytes] = []
    while not bnd.at_end():
        binders.append(bnd.vector(1, min_len=32))
    if len(binders) != len(identities):
        # RFC 8446 §4.2.11: one binder per identity, in the same order.
        raise PeerMisbehaved(
            f"pre_shared_key: {len(identities)} identities but {len(binders)} binders",
            alert=AlertDescription.illegal_parameter,
        )
    return OfferedPsks(tuple(identities), tuple(binders))


def encode_pre_shared_key_sh(selected_identity: int) -> bytes:
    """ServerHello form: ``uint16 selected_identity``."""
    _check_uint(selected_identity, 16, "pre_shared_key selected_identity")
    return selected_identity.to_bytes(2, "big")


def decode_pre_shared_key_sh(data: Bytes) -> int:
    return _decode_uint16(data, "pre_shared_key selected_identity")


# -- early_data (RFC 8446 §4.2.10) -----------------------------------------------------------


def encode_early_data_nst(max_early_data_size: int) -> bytes:
    """NewSessionTicket form: ``uint32 max_early_data_size`` (empty in CH and EE)."""
    _check_uint(max_early_data_size, 32, "max_early_data_size")
    return max_early_data_size.to_bytes(4, "big")


def decode_early_data_nst(data: Bytes) -> int:
    if len(data) != 4:
        raise DecodeError(f"early_data: expected 4 bytes, got {len(data)}")
    return int.from_bytes(data, "big")


# -- certificate_authorities (RFC 8446 §4.2.4) -----------------------------------------------


def encode_certificate_authorities(names: Sequence[bytes]) -> bytes:
    """``DistinguishedName authorities<3..2^16-1>``, each DER name 1..2^16-1 bytes."""
    total = sum(2 + len(name) for name in names)
    if not names or total > 0xFFFF - 2:
        raise _cannot(f"certificate_authorities: {len(names)} names, {total} bytes")
    w = Writer()
    w.uint16(total)
    for name in names:
        _check_len(name, 1, 0xFFFF, "certificate_authorities name")
        w.vector(2, name)
    return w.getvalue()


def decode_certificate_authorities(data: Bytes) -> tuple[bytes, ...]:
    r = Reader(data)
    block = r.sub(2, min_len=3)
    r.expect_end("certificate_authorities")
    names: list[bytes] = []
    while not block.at_end():
        names.append(block.vector(2, min_len=1))
    return tuple(names)


# -- lookup and placement --------------------------------------------------------------------


def get_extension(extensions: Iterable[Extension], ext_type: int) -> bytes | None:
    """The body of the extension of type ``ext_type``, or None when absent."""
    for ext in extensions:
        if ext.ext_type == ext_type:
            return ext.data
    return None


HRR: Final = -1
"""Pseudo message kind for HelloRetryRequest in :data:`ALLOWED_IN` / :func:`check_allowed`
(on the wire it is a ServerHello)."""

_CH = HandshakeType.client_hello
_SH = HandshakeType.server_hello
_EE = HandshakeType.encrypted_extensions
_CT = HandshakeType.certificate
_CR = HandshakeType.certificate_request
_NST = HandshakeType.new_session_ticket

_E = ExtensionType
ALLOWED_IN: Final[dict[int, frozenset[int]]] = {
    # RFC 8446 §4.2 table ("TLS 1.3" column).
    _E.server_name: frozenset({_CH, _EE}),
    _E.max_fragment_length: frozenset({_CH, _EE}),
    _E.status_request: frozenset({_CH, _CR, _CT}),
    _E.supported_groups: frozenset({_CH, _EE}),
    _E.signature_algorithms: frozenset({_CH, _CR}),
    _E.use_srtp: frozenset({_CH, _EE}),
    _E.heartbeat: frozenset({_CH, _EE}),
    _E.application_layer_protocol_negotiation: frozenset({_CH, _EE}),
    _E.signed_certificate_timestamp: frozenset({_CH, _CR, _CT}),
    _E.client_certificate_type: frozenset({_CH, _EE}),
    _E.server_certificate_type: frozenset({_CH, _EE}),
    _E.padding: frozenset({_CH}),
    _E.key_share: frozenset({_CH, _SH, HRR}),
    _E.pre_shared_key: frozenset({_CH, _SH}),
    _E.psk_key_exchange_modes: frozenset({_CH}),
    _E.early_data: frozenset({_CH, _EE, _NST}),
    _E.cookie: frozenset({_CH, HRR}),
    _E.supported_versions: frozenset({_CH, _SH, HRR}),
    _E.certificate_authorities: frozenset({_CH, _CR}),
    _E.oid_filters: frozenset({_CR}),
    _E.post_handshake_auth: frozenset({_CH}),
    _E.signature_algorithms_cert: frozenset({_CH, _CR}),
    # RFC 8449 §4 (record_size_limit) and RFC 9001 §8.2 (quic_transport_parameters).
    _E.record_size_limit: frozenset({_CH, _EE}),
    _E.quic_transport_parameters: frozenset({_CH, _EE}),
    # TLS 1.2-only extensions: a client offering TLS 1.2 as well may send them, but they
    # have no place in any TLS 1.3 server message (RFC 8446 §4.2: "recognizes and which is
    # not specified for the message" -> illegal_parameter).
    _E.ec_point_formats: frozenset({_CH}),
    _E.encrypt_then_mac: frozenset({_CH}),
    _E.extended_master_secret: frozenset({_CH}),
    _E.session_ticket: frozenset({_CH}),
    _E.renegotiation_info: frozenset({_CH}),
}


def check_allowed(
    extensions: Iterable[Extension],
    message_kind: int,
    *,
    extra: Mapping[int, frozenset[int]] | None = None,
) -> None:
    """Reject a known extension in a message where RFC 8446 §4.2 does not allow it
    (illegal_parameter). ``message_kind`` is a :class:`HandshakeType` (server_hello for a
    real ServerHello) or :data:`HRR`. ``extra`` adds entries for plug-in extensions (see
    nautilus_tls.handshake.hooks); it replaces the table's entry for its code points and
    must include it. Unknown types pass: unsolicited ones are the handshake's business
    (unsupported_extension)."""
    for ext in extensions:
        allowed = ALLOWED_IN.get(ext.ext_type)
        if extra is not None and ext.ext_type in extra:
            allowed = extra[ext.ext_type]
        if allowed is not None and message_kind not in allowed:
            raise PeerMisbehaved(
                f"extension {display_name(ExtensionType, ext.ext_type)} is not allowed"
                f" in {_kind_name(message_kind)}",
                alert=AlertDescription.illegal_parameter,
            )


def _kind_name(kind: int) -> str:
    if kind == HRR:
        return "HelloRetryRequest"
    try:
        return HandshakeType(kind).name
    except ValueError:
        return f"message type {kind}"
