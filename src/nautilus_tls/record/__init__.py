"""The TLS 1.3 record layer over a byte stream (RFC 8446 §5).

``deframer`` splits the stream into records (bounded, O(n) reassembly); ``protection`` seals
and opens records for one direction of one epoch (sequence numbers, nonces, padding, AEAD
limits). The handshake never imports this package: it hands out traffic secrets and the
connection builds a :class:`RecordProtector` from each.
"""

from nautilus_tls.record.deframer import (
    DEFAULT_MAX_BUFFER,
    MAX_CIPHERTEXT_LEN,
    MAX_PLAINTEXT_LEN,
    MAX_RECORD_SIZE,
    RECORD_HEADER_LEN,
    Record,
    RecordDeframer,
    record_header,
)
from nautilus_tls.record.protection import (
    KEY_UPDATE_MARGIN,
    RecordProtector,
    iter_fragments,
    plaintext_record,
)

__all__ = [
    "DEFAULT_MAX_BUFFER",
    "KEY_UPDATE_MARGIN",
    "MAX_CIPHERTEXT_LEN",
    "MAX_PLAINTEXT_LEN",
    "MAX_RECORD_SIZE",
    "RECORD_HEADER_LEN",
    "Record",
    "RecordDeframer",
    "RecordProtector",
    "iter_fragments",
    "plaintext_record",
    "record_header",
]
