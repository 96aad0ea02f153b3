"""Just enough DER reading to find a SubjectPublicKeyInfo and its algorithm (X.690 §8, §10).

pyca/cryptography re-encodes a public key when asked for its SPKI, and an RSASSA-PSS key
comes back as rsaEncryption: the algorithm that decides between ``rsa_pss_pss_*`` and
``rsa_pss_rsae_*`` (RFC 8446 §4.2.3) is lost. So the SPKI is taken from the certificate's
own bytes, and its algorithm OID read from them. Nothing here builds DER (the few writers
the composite signatures need are in :mod:`.derwrite`), and every read is bounded by the
input: a malformed input raises ``ValueError``.
"""

from __future__ import annotations

__all__ = [
    "algorithm_oid",
    "content_of",
    "oid_of",
    "sequence_elements",
    "spki_algorithm_oid",
    "spki_from_tbs",
    "spki_parts",
]

_SEQUENCE = 0x30
_OID = 0x06
_CONTEXT_0 = 0xA0  # [0] EXPLICIT Version in TBSCertificate


def _element(data: bytes, offset: int, limit: int | None = None) -> tuple[int, int, int]:
    """(tag, content start, end) of the DER element at ``offset``, within ``data[:limit]``."""
    limit = len(data) if limit is None else limit
    if offset + 2 > limit:
        raise ValueError("truncated DER")
    tag = data[offset]
    first = data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        # DER: long form only when needed, and 4 length bytes are far beyond any certificate.
        if count == 0 or count > 4 or start + count > limit:
            raise ValueError("bad DER length")
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + length
    if end > limit:
        raise ValueError("truncated DER")
    return tag, start, end


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, element start, content start, end) of each element in ``data[start:end]``."""
    out = []
    offset = start
    while offset < end:
        tag, content, stop = _element(data, offset, end)
        out.append((tag, offset, content, stop))
        offset = stop
    return out


def spki_from_tbs(tbs: bytes) -> bytes:
    """The SubjectPublicKeyInfo element of a DER TBSCertificate (RFC 5280 §4.1): after the
    optional version, serialNumber, signature, issuer, validity and subject."""
    tag, start, end = _element(tbs, 0)
    if tag != _SEQUENCE or end != len(tbs):
        raise ValueError("TBSCertificate is not one SEQUENCE")
    fields = _children(tbs, start, end)
    if fields and fields[0][0] == _CONTEXT_0:
        fields = fields[1:]
    if len(fields) < 6 or fields[5][0] != _SEQUENCE:
        raise ValueError("TBSCertificate has no SubjectPublicKeyInfo")
    _, element_start, _, stop = fields[5]
    return tbs[element_start:stop]


def _dotted(content: bytes) -> str:
    """An OID's content octets as dotted decimal (X.690 §8.19)."""
    if not content or content[-1] & 0x80:
        raise ValueError("bad OID")
    arcs: list[int] = []
    value = 0
    for byte in content:
        if value == 0 and byte == 0x80:
            raise ValueError("OID arc with a leading zero octet")
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in (first, arcs[0] - 40 * first, *arcs[1:]))


def spki_algorithm_oid(spki: bytes) -> str:
    """The algorithm OID (dotted) of a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7)."""
    tag, start, end = _element(spki, 0)
    if tag != _SEQUENCE or end != len(spki):
        raise ValueError("SubjectPublicKeyInfo is not one SEQUENCE")
    fields = _children(spki, start, end)
    if len(fields) != 2 or fields[0][0] != _SEQUENCE:
        raise ValueError("SubjectPublicKeyInfo has no AlgorithmIdentifier")
    _, _, alg_start, alg_end = fields[0]
    inner = _children(spki, alg_start, alg_end)
    if not inner or inner[0][0] != _OID:
        raise ValueError("AlgorithmIdentifier has no OID")
    _, _, oid_start, oid_end = inner[0]
    return _dotted(spki[oid_start:oid_end])


# --- whole elements, for the composite ML-DSA structures (draft-ietf-lamps-pq-composite-sigs)


def sequence_elements(data: bytes) -> list[bytes]:
    """The encoded elements of ``data``, which must be exactly one SEQUENCE."""
    tag, start, end = _element(data, 0)
    if tag != _SEQUENCE or end != len(data):
        raise ValueError("not one DER SEQUENCE")
    return [data[s:stop] for _, s, _, stop in _children(data, start, end)]


def content_of(element: bytes, tag: int) -> bytes:
    """The content octets of ``element``, which must be exactly one element with ``tag``."""
    found, start, end = _element(element, 0)
    if found != tag or end != len(element):
        raise ValueError(f"expected one DER element with tag {tag:#04x}")
    return element[start:end]


def oid_of(element: bytes) -> str:
    """The dotted OID of an encoded OBJECT IDENTIFIER element."""
    return _dotted(content_of(element, _OID))


def algorithm_oid(element: bytes) -> str:
    """The OID of an encoded AlgorithmIdentifier (parameters, if any, ignored)."""
    inner = sequence_elements(element)
    if not inner:
        raise ValueError("empty AlgorithmIdentifier")
    return oid_of(inner[0])


def spki_parts(spki: bytes) -> tuple[str, bytes]:
    """(algorithm OID, public key octets) of a DER SubjectPublicKeyInfo whose key is a BIT
    STRING of whole octets."""
    fields = sequence_elements(spki)
    if len(fields) != 2:
        raise ValueError("SubjectPublicKeyInfo has not two fields")
    bits = content_of(fields[1], 0x03)
    if not bits or bits[0] != 0:
        raise ValueError("public key BIT STRING has unused bits")
    return algorithm_oid(fields[0]), bits[1:]
