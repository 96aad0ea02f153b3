"""Just enough DER writing for composite ML-DSA keys and certificates (X.690 §8, §10).

pyca/cryptography cannot encode a SubjectPublicKeyInfo, a PKCS#8 key or a certificate
signature whose algorithm it does not know (the composite OIDs of
draft-ietf-lamps-pq-composite-sigs). These few constructors write the outer structures
around bytes that pyca (or :mod:`.composite`) produced; everything inside a TBSCertificate
other than its key and signature algorithm is still encoded by pyca. Reading stays in
:mod:`.der`.
"""

from __future__ import annotations

__all__ = ["algorithm_identifier", "bit_string", "integer", "octet_string", "oid", "sequence"]


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def sequence(*elements: bytes) -> bytes:
    return _tlv(0x30, b"".join(elements))


def integer(value: int) -> bytes:
    """A non-negative INTEGER (minimal two's complement: a leading zero octet when the top
    bit would read as a sign)."""
    if value < 0:
        raise ValueError("only non-negative integers are written")
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def octet_string(content: bytes) -> bytes:
    return _tlv(0x04, content)


def bit_string(content: bytes) -> bytes:
    """A BIT STRING of whole octets (no unused bits), as keys and signatures are."""
    return _tlv(0x03, b"\x00" + content)


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"bad OID {dotted!r}")
    out = bytearray()
    for arc in (40 * arcs[0] + arcs[1], *arcs[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def algorithm_identifier(dotted: str) -> bytes:
    """An AlgorithmIdentifier with absent parameters (as every composite algorithm's)."""
    return sequence(oid(dotted))
