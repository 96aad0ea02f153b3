"""QUIC packet protection keys (RFC 9001 §5): what a QUIC stack derives from the secrets the
handshake hands out per level.

- Initial secrets from the client's first Destination Connection ID (§5.2, version 1 salt);
- packet key, IV and header-protection key of a secret (§5.1, labels "quic key", "quic iv",
  "quic hp") and the next generation's secret ("quic ku", §6.1);
- header protection (§5.4: AES-ECB or ChaCha20 mask over a 16-byte sample) and AEAD packet
  protection (§5.3: nonce = IV xor packet number, associated data = the unprotected header);
- the Retry integrity tag (§5.8).

Primitives (HKDF, AES-GCM, ChaCha20-Poly1305, AES-ECB, ChaCha20) are pyca/cryptography's; the
transport (aioquic, :mod:`nautilus_tls.quic.aioquic_tls`) has its own copy of this layer in C.
This module is the reference the RFC's Appendix A checks, and what a transport of our own
would use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from nautilus_tls.crypto.keyschedule import hkdf_expand_label, hkdf_extract
from nautilus_tls.crypto.suites import AES_128_GCM_SHA256, SuiteParams
from nautilus_tls.errors import DecodeError
from nautilus_tls.wire.enums import CipherSuite

# RFC 9001 §5.2: the QUIC version 1 Initial salt.
INITIAL_SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
# RFC 9001 §5.8: the fixed key and nonce of the version 1 Retry integrity tag.
RETRY_KEY_V1 = bytes.fromhex("be0c690b9f66575a1d766b54e368c84e")
RETRY_NONCE_V1 = bytes.fromhex("461599d35d632bf2239825bb")

SAMPLE_LEN = 16  # RFC 9001 §5.4.2
MAX_CID_LEN = 20  # RFC 9000 §17.2


@dataclass(frozen=True, slots=True)
class PacketKeys:
    """The keys of one direction at one level (RFC 9001 §5.1). Never printed."""

    params: SuiteParams
    key: bytes = field(repr=False)
    iv: bytes = field(repr=False)
    hp: bytes = field(repr=False)


def initial_secrets(dcid: bytes, salt: bytes = INITIAL_SALT_V1) -> tuple[bytes, bytes]:
    """(client, server) Initial secrets for the client's Destination Connection ID (§5.2)."""
    if len(dcid) > MAX_CID_LEN:
        raise ValueError("a connection ID is at most 20 bytes")
    initial = hkdf_extract("sha256", salt, dcid)
    client = hkdf_expand_label("sha256", initial, b"client in", b"", 32)
    server = hkdf_expand_label("sha256", initial, b"server in", b"", 32)
    return client, server


def packet_keys(params: SuiteParams, secret: bytes) -> PacketKeys:
    """Key, IV and header-protection key of ``secret`` (§5.1); the HP key is as long as the
    AEAD key (§5.4)."""
    return PacketKeys(
        params=params,
        key=hkdf_expand_label(params.hash_name, secret, b"quic key", b"", params.key_len),
        iv=hkdf_expand_label(params.hash_name, secret, b"quic iv", b"", params.iv_len),
        hp=hkdf_expand_label(params.hash_name, secret, b"quic hp", b"", params.key_len),
    )


def initial_keys(dcid: bytes) -> tuple[PacketKeys, PacketKeys]:
    """(client, server) Initial packet keys: AEAD_AES_128_GCM with SHA-256 (§5.2)."""
    client, server = initial_secrets(dcid)
    return packet_keys(AES_128_GCM_SHA256, client), packet_keys(AES_128_GCM_SHA256, server)


def next_secret(params: SuiteParams, secret: bytes) -> bytes:
    """The next key phase's secret (§6.1); the HP key does not change with it."""
    return hkdf_expand_label(params.hash_name, secret, b"quic ku", b"", params.hash_len)


def header_protection_mask(keys: PacketKeys, sample: bytes) -> bytes:
    """The 5-byte mask of §5.4.3 (AES-ECB) or §5.4.4 (ChaCha20: the first 4 sample bytes
    are the little-endian block counter, the other 12 the nonce, which is exactly the
    16-byte nonce cryptography's ChaCha20 takes)."""
    if len(sample) != SAMPLE_LEN:
        raise ValueError("a header protection sample is 16 bytes")
    if keys.params.suite is CipherSuite.TLS_CHACHA20_POLY1305_SHA256:
        cipher = Cipher(algorithms.ChaCha20(keys.hp, sample), mode=None)
        return cipher.encryptor().update(bytes(5))
    encryptor = Cipher(algorithms.AES(keys.hp), modes.ECB()).encryptor()
    return (encryptor.update(sample) + encryptor.finalize())[:5]


def _is_long(first: int) -> bool:
    return bool(first & 0x80)


def _xor_header(header: bytearray, pn_offset: int, pn_len: int, mask: bytes) -> None:
    # §5.4.1: 4 bits of a long header's first byte, 5 of a short one's, and the PN bytes.
    header[0] ^= mask[0] & (0x0F if _is_long(header[0]) else 0x1F)
    for i in range(pn_len):
        header[pn_offset + i] ^= mask[1 + i]


def _nonce(keys: PacketKeys, packet_number: int) -> bytes:
    # §5.3: the IV xor the packet number, left-padded to the IV's size.
    return (int.from_bytes(keys.iv, "big") ^ packet_number).to_bytes(len(keys.iv), "big")


def protect(keys: PacketKeys, header: bytes, packet_number: int, payload: bytes) -> bytes:
    """A protected packet from its unprotected ``header`` (ending with the encoded packet
    number, whose length the first byte's low two bits give) and plaintext ``payload``."""
    pn_len = (header[0] & 0x03) + 1
    pn_offset = len(header) - pn_len
    ciphertext = keys.params.new_aead(keys.key).encrypt(
        _nonce(keys, packet_number), payload, header
    )
    sample_at = pn_offset + 4 - len(header)  # §5.4.2: 4 bytes after the PN field starts
    if sample_at < 0 or sample_at + SAMPLE_LEN > len(ciphertext):
        raise ValueError("packet too short to sample for header protection")
    mask = header_protection_mask(keys, ciphertext[sample_at : sample_at + SAMPLE_LEN])
    protected = bytearray(header)
    _xor_header(protected, pn_offset, pn_len, mask)
    return bytes(protected) + ciphertext


def decode_packet_number(truncated: int, pn_len: int, largest_received: int) -> int:
    """The full packet number of a truncated one (RFC 9000 Appendix A.3)."""
    expected = largest_received + 1
    window = 1 << (8 * pn_len)
    half = window // 2
    candidate = (expected & ~(window - 1)) | truncated
    if candidate <= expected - half and candidate < (1 << 62) - window:
        return candidate + window
    if candidate > expected + half and candidate >= window:
        return candidate - window
    return candidate


@dataclass(frozen=True, slots=True)
class OpenedPacket:
    header: bytes  # unprotected, including the packet number
    packet_number: int
    payload: bytes = field(repr=False)


def unprotect(
    keys: PacketKeys, packet: bytes, pn_offset: int, *, largest_received: int = -1
) -> OpenedPacket:
    """Remove header protection and open the AEAD of one packet whose packet number field
    starts at ``pn_offset`` (the caller parsed the header up to there). A packet that does
    not authenticate is a :class:`DecodeError` (RFC 9001 §5.3: the receiver drops it)."""
    if pn_offset + 4 + SAMPLE_LEN > len(packet):
        raise DecodeError("QUIC packet too short to remove header protection")
    sample = packet[pn_offset + 4 : pn_offset + 4 + SAMPLE_LEN]
    mask = header_protection_mask(keys, sample)
    first = packet[0] ^ (mask[0] & (0x0F if _is_long(packet[0]) else 0x1F))
    pn_len = (first & 0x03) + 1
    header = bytearray(packet[: pn_offset + pn_len])
    _xor_header(header, pn_offset, pn_len, mask)
    truncated = int.from_bytes(header[pn_offset:], "big")
    packet_number = decode_packet_number(truncated, pn_len, largest_received)
    try:
        payload = keys.params.new_aead(keys.key).decrypt(
            _nonce(keys, packet_number), packet[len(header) :], bytes(header)
        )
    except InvalidTag:
        raise DecodeError("QUIC packet does not authenticate") from None
    return OpenedPacket(header=bytes(header), packet_number=packet_number, payload=payload)


def retry_integrity_tag(original_dcid: bytes, retry_without_tag: bytes) -> bytes:
    """The Retry packet's integrity tag (§5.8): AES-128-GCM over the Retry pseudo-packet."""
    if len(original_dcid) > MAX_CID_LEN:
        raise ValueError("a connection ID is at most 20 bytes")
    pseudo = bytes((len(original_dcid),)) + original_dcid + retry_without_tag
    return AESGCM(RETRY_KEY_V1).encrypt(RETRY_NONCE_V1, b"", pseudo)
