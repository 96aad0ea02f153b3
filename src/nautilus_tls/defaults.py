"""Every default and every limit, in one place, so that a reader (or a distribution) can find
and change them without reading protocol code.
"""

from __future__ import annotations

from typing import Final

from nautilus_tls.wire import limits as wire_limits
from nautilus_tls.wire.enums import CipherSuite, NamedGroup, SignatureScheme

# Key exchange: hybrid post-quantum first, classical accepted for compatibility.
DEFAULT_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.X25519MLKEM768,
    NamedGroup.SecP256r1MLKEM768,
    NamedGroup.SecP384r1MLKEM1024,
    NamedGroup.MLKEM768,
    NamedGroup.MLKEM1024,
    NamedGroup.x25519,
    NamedGroup.secp256r1,
    NamedGroup.secp384r1,
)

# The client sends a share for its first preference only; a HelloRetryRequest covers a miss.
# (A 1,216-byte hybrid share per group would make every ClientHello several KiB.)
DEFAULT_KEY_SHARE_GROUPS: tuple[NamedGroup, ...] = (NamedGroup.X25519MLKEM768,)

DEFAULT_CIPHER_SUITES: tuple[CipherSuite, ...] = (
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
    CipherSuite.TLS_AES_128_GCM_SHA256,
)

# Schemes we accept in CertificateVerify, in preference order: ML-DSA first.
# RSA PKCS#1 v1.5 and SHA-1 are never allowed here (RFC 8446 §4.2.3).
DEFAULT_SIGNATURE_SCHEMES: tuple[SignatureScheme, ...] = (
    SignatureScheme.mldsa65,
    SignatureScheme.mldsa87,
    SignatureScheme.mldsa44,
    SignatureScheme.ed25519,
    SignatureScheme.ecdsa_secp256r1_sha256,
    SignatureScheme.ecdsa_secp384r1_sha384,
    SignatureScheme.rsa_pss_rsae_sha256,
    SignatureScheme.rsa_pss_rsae_sha384,
    SignatureScheme.rsa_pss_rsae_sha512,
    SignatureScheme.rsa_pss_pss_sha256,
)

# Schemes we accept in certificate chains (signature_algorithms_cert): the above plus the
# PKCS#1 v1.5 signatures that CAs still use.
DEFAULT_CERTIFICATE_SCHEMES: tuple[SignatureScheme, ...] = (
    *DEFAULT_SIGNATURE_SCHEMES,
    SignatureScheme.rsa_pkcs1_sha256,
    SignatureScheme.rsa_pkcs1_sha384,
    SignatureScheme.rsa_pkcs1_sha512,
)

MIDDLEBOX_COMPATIBILITY = True

# Security policy (nautilus_tls.policy): the preset used when a config names none; the
# lists above are exactly the "hybrid" preset. A minimum security level of 0 filters nothing.
DEFAULT_POLICY: Final = "hybrid"
DEFAULT_MIN_SECURITY_LEVEL = 0
# Whose preference order picks the cipher suite and group: "server" or "client".
DEFAULT_PREFERENCE: Final = "server"

# Record layer (RFC 8446 §5.1, §5.2).
MAX_PLAINTEXT = 1 << 14
MAX_CIPHERTEXT = (1 << 14) + 256

# Limits against memory exhaustion and busy loops.
MAX_HANDSHAKE_MESSAGE_SIZE = 256 * 1024  # ML-DSA-87 chains are ~15 KiB; leave ample room
# The smallest max_handshake_message_size a config may set: a ClientHello with several
# post-quantum key shares (e.g. X25519MLKEM768 + X25519HQC256) is 9-25 KiB, past one record.
MIN_HANDSHAKE_MESSAGE_SIZE = 16 * 1024
MAX_RECEIVE_BUFFER = 1024 * 1024  # undecoded ciphertext held at once (a read is at most 64 KiB)
MAX_CERTIFICATE_CHAIN_LENGTH = 10
# Total DER bytes of a peer's certificate chain (three SLH-DSA certificates fit).
MAX_CERTIFICATE_CHAIN_SIZE = 192 * 1024
# Handshake bytes a peer may send before the handshake completes (all its messages
# together: both ClientHellos, certificates...); bounds the work one handshake can cost.
MAX_HANDSHAKE_BYTES = 1024 * 1024
# Code points in one list a peer sends: defined next to the decoders (wire/limits.py).
MAX_LIST_ENTRIES = wire_limits.MAX_LIST_ENTRIES
# A refusal message names at most this many of the peer's offers ("... and 970 more").
MAX_NAMES_IN_ERRORS = 16
# Servers (asyncio adapter): handshakes in progress at once. More connections wait, reading
# paused, as many again at most (their wait counts against the handshake timeout); beyond
# that they are refused (closed at once).
MAX_CONCURRENT_HANDSHAKES = 256
# Servers (asyncio adapter): a connection takes its handshake slot with its first byte; one
# that sends nothing for this long is closed. And connections from one address whose handshake
# has not finished (idle ones included): more are refused, so that one host cannot take every
# slot and the whole wait queue.
FIRST_BYTE_TIMEOUT_SECONDS = 5.0
MAX_HANDSHAKES_PER_ADDRESS = 256
MAX_EMPTY_RECORDS_IN_ROW = 32
MAX_WARNING_ALERTS_IN_ROW = 4
MAX_KEY_UPDATES_IN_ROW = 32
MAX_CHANGE_CIPHER_SPEC_RECORDS = 1
HANDSHAKE_TIMEOUT_SECONDS = 10.0
# After sending close_notify, how long adapters wait for the peer to close before closing anyway.
CLOSE_TIMEOUT_SECONDS = 5.0
# After a fatal alert: how long adapters keep reading (and dropping) before closing, so the
# peer has the alert before any RST (a lingering close).
FAILED_CLOSE_LINGER_SECONDS = 1.0

# Application reads: how much decrypted plaintext one connection buffers before it stops
# reading from the socket (backpressure instead of unbounded growth).
MAX_BUFFERED_PLAINTEXT = 256 * 1024

# Send a KeyUpdate this many records before the AEAD confidentiality limit.
KEY_UPDATE_MARGIN_RECORDS = 1 << 16

EXPORTER_MAX_LENGTH = 255 * 48

# Resumption (RFC 8446 §4.6.1): tickets per full handshake, and the longest lifetime allowed.
SESSION_TICKETS = 2
MAX_SESSION_TICKETS = 16
# A client keeps at most this many tickets from one connection; later ones are ignored.
MAX_TICKETS_KEPT_PER_CONNECTION = 16
MAX_TICKET_LIFETIME = 7 * 24 * 3600
# 0-RTT: how far the client's claimed ticket age may be from ours (RFC 8446 §8.3).
TICKET_AGE_TOLERANCE_SECONDS = 10.0
# When early data is rejected, records that fail to decrypt are skipped up to this many
# bytes (or the server's max_early_data if larger) before the connection fails.
EARLY_DATA_SKIP_LIMIT = 16384
# ... and up to this many records more than full ones would need: each skipped record is
# charged its size on the wire, at least a header and an AEAD tag, so empty records are not
# free, and their count is capped.
EARLY_DATA_SKIP_EXTRA_RECORDS = 32
# PSK identities looked at in one ClientHello (each may cost a ticket decryption).
MAX_PSK_IDENTITIES = 4
