"""Fuzz targets: ``test_one_input(data)`` raises only on a finding; ``mutate`` is structure-aware.

Four targets:

``server`` / ``client``
    A fresh deterministic server (or client, after it sent its ClientHello) of one scenario
    (full, full-pq, hrr, mtls, resume, early, early-hrr, pake-opaque, pake-spake2plus,
    pake-cert: see :mod:`fuzz.world`) is fed a peer byte stream.
    Input: ``scenario byte || mode byte || payload``.

    * raw mode (mode bit 7 clear): the payload is the peer's wire bytes, fed in chunks whose
      size the low bits of the mode byte pick. Seeds: the recorded peer streams.
    * frames mode (mode bit 7 set): the payload is a list of frames
      ``flags(1) content_type(1) length(2) body``. Flag bit 0: seal the body, as the inner
      plaintext of type ``content_type`` (padded with ``16 * (flags >> 4)`` zeros), under the
      key the connection reads with right now (the harness clones it), so mutations of
      encrypted handshake messages, alerts and KeyUpdates get past the MAC; bit 1: feed the
      body as raw bytes; otherwise a plaintext record of ``content_type`` (bit 2: version
      0x0301). Seeds: the recorded streams, decrypted record by record.

``codec``
    Decoders on their own: a handshake message (``0 || msg_type || body``; a message that
    decodes must re-encode to one that decodes equal), an extension codec (``1 || index ||
    data``, same round-trip rule) or the record deframer plus handshake reassembler (``2 ||
    chunk || stream``).

``quic``
    Datagrams into our QUIC server endpoint, Retry off or on (see :mod:`fuzz.quic_world`).

A finding is any exception that is not this library's own error, an ``internal_error`` alert
caused by peer bytes, a failed connection that is not closed or keeps its keys, or a round
trip that does not hold.
"""

from __future__ import annotations

import dataclasses
import random
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fuzz import pake_world, quic_world, world
from nautilus_tls.connection import Connection
from nautilus_tls.defaults import MAX_LIST_ENTRIES
from nautilus_tls.errors import (
    AlertDescription,
    ConnectionClosedError,
    LocalProtocolError,
    PeerAlert,
    ProtocolError,
    TLSError,
)
from nautilus_tls.events import Event
from nautilus_tls.ledger import staple
from nautilus_tls.ledger.sth import LogKey, TreeHead
from nautilus_tls.pake import tls as pake_tls
from nautilus_tls.record.deframer import RecordDeframer
from nautilus_tls.record.protection import RecordProtector
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ContentType, ExtensionType, HandshakeType
from nautilus_tls.wire.messages import (
    ClientHello,
    Extension,
    HandshakeReassembler,
    decode_handshake,
)

ByteMutator = Callable[[bytes, int], bytes]

FRAMES = 0x80
F_ENC = 0x01
F_RAW = 0x02
F_V301 = 0x04
CHUNKS = (0, 1, 2, 3, 5, 7, 16, 64, 100, 517, 1000, 4096, 16389)
MAX_INPUT = 1 << 17


class Finding(Exception):
    """An invariant the library promises was broken."""


# --- frames ------------------------------------------------------------------------------------


@dataclass
class Frame:
    flags: int
    content_type: int
    body: bytes

    def encode(self) -> bytes:
        body = self.body[:0xFFFF]
        return struct.pack(">BBH", self.flags & 0xFF, self.content_type & 0xFF, len(body)) + body


def parse_frames(data: bytes) -> list[Frame]:
    """Lenient: a short last frame keeps what is there."""
    frames = []
    i = 0
    while i + 4 <= len(data):
        flags, ctype, length = struct.unpack_from(">BBH", data, i)
        frames.append(Frame(flags, ctype, data[i + 4 : i + 4 + length]))
        i += 4 + length
    return frames


def encode_frames(frames: list[Frame]) -> bytes:
    return b"".join(f.encode() for f in frames)


def iter_records(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """``(start, end, fragment start)`` of each whole record header-and-body in ``data``."""
    i = 0
    while i + 5 <= len(data):
        length = int.from_bytes(data[i + 3 : i + 5], "big")
        end = min(len(data), i + 5 + length)
        yield i, end, i + 5
        i = end


def _twin(conn: Connection) -> RecordProtector | None:
    """A copy of the connection's current read protector (same key, same sequence number)."""
    read: Any = conn._read  # the harness reaches in to forge records with the real keys
    if read is None:
        return None
    twin: Any = RecordProtector(read._params, read._secret)
    twin._seq = read._seq
    return twin  # type: ignore[no-any-return]


def _seal_inner(p: RecordProtector, inner: bytes) -> bytes:
    """Seal an arbitrary TLSInnerPlaintext (any type octet, any padding, any size)."""
    q: Any = p
    header = struct.pack(">BHH", ContentType.application_data, 0x0303, len(inner) + 16)
    sealed: bytes = q._aead.encrypt(q._nonce(q._seq), inner, header)
    q._seq += 1
    return header + sealed


def frame_bytes(conn: Connection, frame: Frame) -> bytes:
    if frame.flags & F_RAW:
        return frame.body
    if frame.flags & F_ENC:
        twin = _twin(conn)
        if twin is not None:
            padding = bytes(16 * (frame.flags >> 4))
            return _seal_inner(twin, frame.body + bytes((frame.content_type,)) + padding)
    version = 0x0301 if frame.flags & F_V301 else 0x0303
    return struct.pack(">BHH", frame.content_type, version, len(frame.body)) + frame.body


def stream_to_frames(conn: Connection, stream: bytes) -> list[Frame]:
    """Decrypt a recorded peer stream into frames by replaying it into ``conn``."""
    frames: list[Frame] = []
    for start, end, _frag in iter_records(stream):
        record = stream[start:end]
        ctype = record[0]
        twin = _twin(conn)
        frame = Frame(F_RAW, 0, record)
        if twin is None or ctype != ContentType.application_data:
            frame = Frame(0x00 if record[1:3] == b"\x03\x03" else F_V301, ctype, record[5:])
        else:
            try:
                inner_type, content = twin.open(record[:5], record[5:])
            except ProtocolError:
                pass  # e.g. rejected 0-RTT: keep the ciphertext as it is
            else:
                frame = Frame(F_ENC, inner_type, content)
        frames.append(frame)
        try:
            conn.receive_data(record)
        except TLSError:
            break
        while conn.next_event() is not None:
            pass
        conn.data_to_send()
    return frames


# --- the connection targets --------------------------------------------------------------------


def _new(role: str, sc: world.Scenario) -> Connection:
    if role == "server":
        return world.new_server(sc)
    client = world.new_client(sc)
    client.start()
    client.data_to_send()
    return client


def _drain(conn: Connection) -> None:
    while (event := conn.next_event()) is not None:
        if not isinstance(event, Event):
            raise Finding(f"next_event returned {event!r}")
    conn.data_to_send()


def _check_failed(conn: Connection, exc: ProtocolError) -> None:
    if conn.state != "failed":
        raise Finding(f"{type(exc).__name__} raised but the connection is {conn.state}")
    if conn.error is not exc:
        raise Finding("the raised error is not the connection's error")
    if exc.alert == AlertDescription.internal_error and not isinstance(exc, PeerAlert):
        raise Finding(f"peer input caused internal_error: {exc}") from exc
    if isinstance(exc, LocalProtocolError):
        raise Finding(f"peer input raised LocalProtocolError: {exc}") from exc
    sent = conn.data_to_send()
    if not isinstance(exc, PeerAlert) and not sent:
        raise Finding(f"no alert sent for {exc}")
    if conn._read is not None or conn._write is not None:
        raise Finding("a failed connection keeps its record keys")
    try:
        conn.receive_data(b"\x17\x03\x03\x00\x01\x00")
    except ConnectionClosedError:
        pass
    else:
        raise Finding("a failed connection accepted more data")


def _run(conn: Connection, feed: Callable[[], None]) -> None:
    try:
        feed()
        # The application carries on: send, close, then the transport ends.
        if conn.state == "connected" and not conn.peer_closed:
            conn.send_data(b"fuzz")
        conn.close()
        _drain(conn)
        conn.receive_data(b"")
        _drain(conn)
    except ProtocolError as exc:
        _check_failed(conn, exc)
    except TLSError:
        pass  # ConnectionClosedError, ConfigError: the library's own, no alert implied
    if conn.state in ("closed", "failed") and (
        conn._read is not None or conn._write is not None or conn._handshake.connected
    ):
        raise Finding(f"a {conn.state} connection keeps key material")


def connection_one_input(role: str, data: bytes) -> None:
    if len(data) < 2:
        return
    scenarios = world.scenarios()
    sc = scenarios[data[0] % len(scenarios)]
    mode = data[1]
    payload = data[2:]
    with world.pake_randomness(sc, role).active():
        conn = _new(role, sc)
        _feed(conn, mode, payload)


def _feed(conn: Connection, mode: int, payload: bytes) -> None:
    if mode & FRAMES:

        def feed() -> None:
            for frame in parse_frames(payload):
                conn.receive_data(frame_bytes(conn, frame))
                _drain(conn)

    else:
        chunk = CHUNKS[mode % len(CHUNKS)] or len(payload) or 1

        def feed() -> None:
            for i in range(0, len(payload), chunk):
                conn.receive_data(payload[i : i + chunk])
                _drain(conn)

    _run(conn, feed)


def server_one_input(data: bytes) -> None:
    connection_one_input("server", data)


def client_one_input(data: bytes) -> None:
    connection_one_input("client", data)


@cache
def recorded() -> dict[str, tuple[bytes, bytes]]:
    return {sc.name: world.record_session(sc) for sc in world.scenarios()}


def recorded_frames(role: str, sc: world.Scenario, stream: bytes) -> list[Frame]:
    """A recorded peer stream as frames, decrypted by a fresh ``role`` connection."""
    with world.pake_randomness(sc, role).active():
        return stream_to_frames(_new(role, sc), stream)


def connection_seeds(role: str) -> list[bytes]:
    seeds = []
    for index, sc in enumerate(world.scenarios()):
        c2s, s2c = recorded()[sc.name]
        stream = c2s if role == "server" else s2c
        seeds.append(bytes((index, 0)) + stream)
        seeds.append(bytes((index, 5)) + stream)  # 7-byte chunks
        frames = recorded_frames(role, sc, stream)
        seeds.append(bytes((index, FRAMES)) + encode_frames(frames))
    if role == "server":
        seeds += [bytes((0, 0)) + as_records(h.encode()) for h in oversized_client_hellos()]
    return seeds + pake_hello_seeds(role)


def pake_hello_seeds(role: str) -> list[bytes]:
    """The PAKE sessions with the ``pake`` extension of the first hello changed (frames mode),
    so the fuzzers start from the refusal paths whose lengths they would have to fix across
    three nested length fields: no extension, the locked-out user, an unknown user, both
    methods, a duplicate share, too many shares (server); no answer, the other method's
    answer, a short answer (client)."""
    seeds = []
    for index, sc in enumerate(world.scenarios()):
        if sc.server.pake_store is None:
            continue
        c2s, s2c = recorded()[sc.name]
        frames = recorded_frames(role, sc, c2s if role == "server" else s2c)
        first = frames[0]
        hello = decode_handshake(first.body[0], first.body[4:])
        data = next(e.data for e in hello.extensions if e.ext_type == pake_tls.PAKE_EXTENSION)
        for changed in _pake_variants(role, data):
            if changed is None:
                extensions = tuple(
                    e for e in hello.extensions if e.ext_type != pake_tls.PAKE_EXTENSION
                )
                message = dataclasses.replace(hello, extensions=extensions)
            else:
                message = with_extension(hello, pake_tls.PAKE_EXTENSION, changed)
            flight = [Frame(first.flags, first.content_type, message.encode()), *frames[1:]]
            seeds.append(bytes((index, FRAMES)) + encode_frames(flight))
    return seeds


def _pake_variants(role: str, data: bytes) -> list[bytes | None]:
    if role == "server":
        user, shares = pake_tls.decode_client_hello(data)
        named, share = next(iter(shares.items()))
        both = [(pake_tls.SPAKE2PLUS_P256, bytes(65)), (pake_tls.OPAQUE_3DH_RISTRETTO255, share)]
        encode = pake_tls.encode_client_hello
        return [
            None,
            encode(pake_world.LOCKED_USER, [(named, share)]),
            encode("nobody", [(named, share)]),
            encode(user, both),
            encode(user, [(named, share), (named, share)]),
            encode(user, [(0xFF00 + i, b"\x01") for i in range(11)]),
        ]
    named, answer = pake_tls.decode_server_hello(data)
    other = next(n for n in pake_tls.NAMED_PAKES.values() if n != named)
    return [
        None,
        pake_tls.encode_server_hello(other, answer),
        pake_tls.encode_server_hello(named, answer[:-1]),
    ]


# --- oversized lists (issue 11 item 4) -----------------------------------------------------------

UNKNOWN = 0x2000  # a run of code points no registry knows starts here


def unknown_codes(count: int) -> tuple[int, ...]:
    return tuple(range(UNKNOWN, UNKNOWN + count))


def as_records(message: bytes) -> bytes:
    out = bytearray()
    for start in range(0, len(message), 1 << 14):
        part = message[start : start + (1 << 14)]
        out += bytes((ContentType.handshake, 3, 1)) + len(part).to_bytes(2, "big") + part
    return bytes(out)


def with_extension(hello: ClientHello, ext_type: int, data: bytes) -> ClientHello:
    extensions = tuple(
        Extension(e.ext_type, data) if e.ext_type == ext_type else e for e in hello.extensions
    )
    return dataclasses.replace(hello, extensions=extensions)


@cache
def oversized_client_hellos() -> tuple[ClientHello, ...]:
    """The first ClientHello of the first scenario with one list at and one past
    ``MAX_LIST_ENTRIES`` (suites, groups, schemes), so the fuzzers start from the refusal
    paths for long lists instead of having to grow a list 1,000 entries long."""
    client = world.new_client(world.scenarios()[0])
    client.start()
    flight = client.data_to_send()
    reassembler = HandshakeReassembler(max_message_size=1 << 20)
    for _, end, frag in iter_records(flight):
        reassembler.feed(flight[frag:end])
    message = reassembler.next_message()
    if message is None:
        raise RuntimeError("the recorded client sent no whole ClientHello")
    hello = decode_handshake(message[0], message[1])
    if not isinstance(hello, ClientHello):
        raise RuntimeError("the recorded client's first message is not a ClientHello")
    out = []
    for count in (MAX_LIST_ENTRIES, MAX_LIST_ENTRIES + 1):
        codes = unknown_codes(count)
        out.append(dataclasses.replace(hello, cipher_suites=codes))
        groups = ext.encode_supported_groups(codes)
        out.append(with_extension(hello, ExtensionType.supported_groups, groups))
        schemes = ext.encode_signature_algorithms(codes)
        out.append(with_extension(hello, ExtensionType.signature_algorithms, schemes))
    return tuple(out)


def oversized_codec_seeds() -> list[bytes]:
    """Codec inputs with lists at and past the cap: ClientHellos and the list extensions."""
    seeds = [
        bytes((0, HandshakeType.client_hello)) + h.encode()[4:] for h in oversized_client_hellos()
    ]
    for count in (MAX_LIST_ENTRIES, MAX_LIST_ENTRIES + 1):
        codes = unknown_codes(count)
        for index, (_, _, encode) in enumerate(EXTENSION_CODECS):
            if encode in _LIST_ENCODERS:
                seeds.append(bytes((1, index)) + encode(codes))
            elif encode is ext.encode_key_share_ch:
                shares = tuple(ext.KeyShareEntry(code, b"\x01") for code in codes)
                seeds.append(bytes((1, index)) + encode(shares))
    return seeds


# --- codec ---------------------------------------------------------------------------------------

Decoder = Callable[[bytes], object]
Encoder = Callable[[Any], bytes]

EXTENSION_CODECS: tuple[tuple[int, Decoder, Encoder | None], ...] = (
    (0, ext.decode_server_name, None),
    (10, ext.decode_supported_groups, ext.encode_supported_groups),
    (13, ext.decode_signature_algorithms, ext.encode_signature_algorithms),
    (50, ext.decode_signature_algorithms_cert, ext.encode_signature_algorithms_cert),
    (16, ext.decode_alpn, ext.encode_alpn),
    (43, ext.decode_supported_versions_ch, ext.encode_supported_versions_ch),
    (43, ext.decode_supported_versions_sh, ext.encode_supported_versions_sh),
    (51, ext.decode_key_share_ch, ext.encode_key_share_ch),
    (51, ext.decode_key_share_sh, ext.encode_key_share_sh),
    (51, ext.decode_key_share_hrr, ext.encode_key_share_hrr),
    (44, ext.decode_cookie, ext.encode_cookie),
    (45, ext.decode_psk_key_exchange_modes, ext.encode_psk_key_exchange_modes),
    (41, ext.decode_pre_shared_key_ch, ext.encode_pre_shared_key_ch),
    (41, ext.decode_pre_shared_key_sh, ext.encode_pre_shared_key_sh),
    (42, ext.decode_early_data_nst, ext.encode_early_data_nst),
    (47, ext.decode_certificate_authorities, ext.encode_certificate_authorities),
    # The transparency plug-in's two copies (nautilus_tls.ledger.staple, issue 16).
    (staple.TRANSPARENCY_EXTENSION, staple.decode_known_logs, staple.encode_known_logs),
    (staple.TRANSPARENCY_EXTENSION, staple.decode_items, staple.encode_items),
    # The PAKE plug-in's ClientHello and ServerHello copies (nautilus_tls.pake.tls, issue 14).
    (
        pake_tls.PAKE_EXTENSION,
        pake_tls.decode_client_hello,
        lambda v: pake_tls.encode_client_hello(v[0], list(v[1].items())),
    ),
    (
        pake_tls.PAKE_EXTENSION,
        pake_tls.decode_server_hello,
        lambda v: pake_tls.encode_server_hello(*v),
    ),
)


def transparency_seeds() -> list[bytes]:
    """A ClientHello copy and a stapled proof (fixed log key, so seeds are stable)."""
    key = LogKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    sth = key.sign(TreeHead(3, 1_700_000_000_000, bytes(range(32))))
    item = staple.StapledItem(
        staple.LoggedAs.X509_CHAIN,
        bytes(32),
        2,
        (bytes(32), bytes(range(32))),
        sth,
        1,
        (bytes(32),),
    )
    known = staple.encode_known_logs({key.public.log_id: 3})
    stapled = staple.encode_items(
        [item, dataclasses.replace(item, consistency_from=0, consistency_path=())]
    )
    index = {codec[1]: i for i, codec in enumerate(EXTENSION_CODECS)}
    return [
        bytes((1, index[staple.decode_known_logs])) + known,
        bytes((1, index[staple.decode_known_logs])) + b"\x00\x00",
        bytes((1, index[staple.decode_items])) + stapled,
    ]


def pake_seeds() -> list[bytes]:
    """PAKEClientHello with both methods' share sizes, and both PAKEServerHello shapes."""
    codecs = [codec[1] for codec in EXTENSION_CODECS]
    ch = codecs.index(pake_tls.decode_client_hello)
    sh = codecs.index(pake_tls.decode_server_hello)
    shares = [(pake_tls.OPAQUE_3DH_RISTRETTO255, bytes(96)), (pake_tls.SPAKE2PLUS_P256, bytes(65))]
    return [
        bytes((1, ch)) + pake_tls.encode_client_hello("alice", shares),
        bytes((1, ch)) + pake_tls.encode_client_hello("ünï", shares[1:]),
        bytes((1, sh)) + pake_tls.encode_server_hello(pake_tls.OPAQUE_3DH_RISTRETTO255, bytes(320)),
        bytes((1, sh)) + pake_tls.encode_server_hello(pake_tls.SPAKE2PLUS_P256, bytes(97)),
    ]


_LIST_ENCODERS: tuple[Encoder, ...] = (
    ext.encode_supported_groups,
    ext.encode_signature_algorithms,
    ext.encode_signature_algorithms_cert,
)


def _round_trip(decoded: object, encode: Callable[[], bytes], decode: Decoder) -> None:
    try:
        again = encode()
    except LocalProtocolError as exc:
        raise Finding(f"decoded {decoded!r} but cannot encode it: {exc}") from exc
    if decode(again) != decoded:
        raise Finding(f"round trip changed {decoded!r}")


def codec_one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    kind, sel, body = data[0] % 3, data[1], data[2:]
    try:
        if kind == 0:
            msg = decode_handshake(sel, body)
            raw = msg.encode()
            _round_trip(msg, lambda: raw, lambda b: decode_handshake(b[0], b[4:]))
        elif kind == 1:
            _, decode, encode = EXTENSION_CODECS[sel % len(EXTENSION_CODECS)]
            value = decode(body)
            if encode is not None:
                enc = encode
                _round_trip(value, lambda: enc(value), decode)
        else:
            deframer = RecordDeframer()
            reassembler = HandshakeReassembler(max_message_size=1 << 16)
            chunk = CHUNKS[sel % len(CHUNKS)] or len(body) or 1
            for i in range(0, len(body), chunk):
                deframer.feed(body[i : i + chunk])
                while (record := deframer.next_record()) is not None:
                    if record.content_type == ContentType.handshake:
                        reassembler.feed(record.fragment)
                        while (m := reassembler.next_message()) is not None:
                            decode_handshake(m[0], m[1])
    except Finding:
        raise
    except LocalProtocolError as exc:
        raise Finding(f"decoding raised LocalProtocolError: {exc}") from exc
    except TLSError:
        pass


def codec_seeds() -> list[bytes]:
    seeds: list[bytes] = []
    for role in ("server", "client"):
        for index, sc in enumerate(world.scenarios()):
            c2s, s2c = recorded()[sc.name]
            stream = c2s if role == "server" else s2c
            seeds.append(bytes((2, 0)) + stream)
            reassembler = HandshakeReassembler(max_message_size=1 << 20)
            for frame in recorded_frames(role, sc, stream):
                if frame.content_type == ContentType.handshake and not frame.flags & F_RAW:
                    reassembler.feed(frame.body)
            while (m := reassembler.next_message()) is not None:
                msg_type, body, _ = m
                seeds.append(bytes((0, msg_type)) + body)
                try:
                    decoded = decode_handshake(msg_type, body)
                except TLSError:
                    continue
                for e in getattr(decoded, "extensions", ()):
                    for i, (ext_type, decode, _enc) in enumerate(EXTENSION_CODECS):
                        if ext_type == e.ext_type:
                            try:
                                decode(e.data)
                            except TLSError:
                                continue
                            seeds.append(bytes((1, i)) + e.data)
            del index
    seeds += oversized_codec_seeds()
    seeds += transparency_seeds()
    seeds += pake_seeds()
    return list(dict.fromkeys(seeds))


# --- mutation ------------------------------------------------------------------------------------

_EXTRA_FRAMES = (
    Frame(F_ENC, ContentType.handshake, bytes((24, 0, 0, 1, 1))),  # KeyUpdate, requested
    Frame(F_ENC, ContentType.handshake, bytes((24, 0, 0, 1, 0))),
    Frame(F_ENC, ContentType.alert, b"\x01\x00"),  # close_notify
    Frame(F_ENC, ContentType.alert, b"\x01\x5a"),  # user_canceled
    Frame(F_ENC, ContentType.application_data, b""),
    Frame(F_ENC, ContentType.application_data, b"data"),
    Frame(0, ContentType.change_cipher_spec, b"\x01"),
    Frame(0, ContentType.alert, b"\x02\x28"),
    Frame(F_ENC, ContentType.handshake, bytes((20, 0, 0, 32)) + bytes(32)),  # Finished
    Frame(F_ENC, ContentType.handshake, bytes((5, 0, 0, 0))),  # EndOfEarlyData
)


def _mutate_frames(
    body: bytes, max_size: int, rng: random.Random, byte_mutate: ByteMutator
) -> bytes:
    frames = parse_frames(body)
    if not frames:
        return encode_frames([rng.choice(_EXTRA_FRAMES)])
    i = rng.randrange(len(frames))
    f = frames[i]
    op = rng.randrange(10)
    if op <= 3:
        f.body = byte_mutate(f.body, max(len(f.body) * 2, 64))[:0xFFFF]
    elif op == 4 and f.content_type == ContentType.handshake and len(f.body) >= 4:
        # Mutate one handshake message's body and fix its length field.
        inner = byte_mutate(f.body[4:], max(len(f.body), 64))[: (1 << 16) - 5]
        f.body = f.body[:1] + len(inner).to_bytes(3, "big") + inner
    elif op == 5:
        frames.insert(i, Frame(f.flags, f.content_type, f.body))
    elif op == 6 and len(frames) > 1:
        del frames[i]
    elif op == 7 and len(frames) > 1:
        j = rng.randrange(len(frames))
        frames[i], frames[j] = frames[j], frames[i]
    elif op == 8:
        frames.insert(i, rng.choice(_EXTRA_FRAMES))
    else:
        if rng.random() < 0.5:
            f.flags ^= 1 << rng.randrange(8)
        else:
            f.content_type = rng.choice((20, 21, 22, 23, rng.randrange(256)))
    return encode_frames(frames)[: max(0, max_size - 2)]


def _mutate_raw(body: bytes, max_size: int, rng: random.Random, byte_mutate: ByteMutator) -> bytes:
    records = list(iter_records(body))
    if records and rng.random() < 0.5:
        start, end, frag = rng.choice(records)
        inner = byte_mutate(body[frag:end], max(2 * (end - frag), 64))[:0xFFFF]
        header = body[start:frag][:3] + len(inner).to_bytes(2, "big")
        body = body[:start] + header + inner + body[end:]
    else:
        body = byte_mutate(body, max_size)
    return body[: max(0, max_size - 2)]


def connection_mutate(data: bytes, max_size: int, seed: int, byte_mutate: ByteMutator) -> bytes:
    rng = random.Random(seed)
    if len(data) < 2:
        return byte_mutate(data, max_size)
    scenario, mode, body = data[0], data[1], data[2:]
    if rng.random() < 0.03:
        scenario = rng.randrange(256)
    if rng.random() < 0.03:
        mode = rng.randrange(256)
    if rng.random() < 0.1:
        out = byte_mutate(body, max_size)
    elif mode & FRAMES:
        out = _mutate_frames(body, max_size, rng, byte_mutate)
    else:
        out = _mutate_raw(body, max_size, rng, byte_mutate)
    return bytes((scenario, mode)) + out


def codec_mutate(data: bytes, max_size: int, seed: int, byte_mutate: ByteMutator) -> bytes:
    rng = random.Random(seed)
    if len(data) < 2 or rng.random() < 0.05:
        return byte_mutate(data, max_size)
    return data[:2] + byte_mutate(data[2:], max_size - 2)


# --- registry ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    one_input: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]
    mutate: Callable[[bytes, int, int, ByteMutator], bytes]


TARGETS: dict[str, Target] = {
    "server": Target(
        "server", server_one_input, lambda: connection_seeds("server"), connection_mutate
    ),
    "client": Target(
        "client", client_one_input, lambda: connection_seeds("client"), connection_mutate
    ),
    "codec": Target("codec", codec_one_input, codec_seeds, codec_mutate),
    "quic": Target("quic", quic_world.one_input, quic_world.seeds, quic_world.mutate),
}
