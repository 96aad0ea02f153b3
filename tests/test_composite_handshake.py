"""Handshakes with composite ML-DSA certificates (the ``with_composite`` provider add-on,
draft-ietf-lamps-pq-composite-sigs): both composite schemes between our peers in memory, with
mutual TLS, over asyncio and blocking sockets; malformed composite CertificateVerify
signatures end the handshake with decrypt_error, a certificate whose composite signature does
not verify with bad_certificate (RFC 8446 §4.4.3, §6.2)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache

import pytest
from handshake.violations import A, client_flight, expect_alert, read_sealer, server_flight
from loopback import ADAPTERS
from pairs import handshake

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.crypto import der as derread
from nautilus_tls.crypto.composite import CompositeSignatureScheme
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, with_composite
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.errors import ConfigError
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.tools import certgen
from nautilus_tls.wire.enums import HandshakeType
from nautilus_tls.wire.messages import (
    Certificate,
    CertificateEntry,
    CertificateVerify,
    decode_handshake,
)

PROVIDER = with_composite(DEFAULT_PROVIDER)
CS = CompositeSignatureScheme
SCHEMES = {
    "mldsa65-ecdsa-p256": CS.mldsa65_ecdsa_secp256r1_sha512,
    "mldsa65-ed25519": CS.mldsa65_ed25519_sha512,
}
MLDSA65_SIG = 3309


@dataclasses.dataclass(frozen=True)
class CompositePki:
    ca_der: bytes
    server: CertifiedKey
    client: CertifiedKey
    scheme: int

    @property
    def store(self) -> TrustStore:
        return TrustStore.from_certificates([self.ca_der])


@cache
def composite_pki(alg: str) -> CompositePki:
    ca_der, ca_key = certgen.make_ca(alg, f"Composite test CA ({alg})")
    s_der, s_key = certgen.make_leaf(ca_der, ca_key, alg, ["localhost", "127.0.0.1"])
    c_der, c_key = certgen.make_leaf(ca_der, ca_key, alg, ["client.test"], client=True)
    return CompositePki(
        ca_der,
        CertifiedKey(chain=(s_der,), private_key=s_key),
        CertifiedKey(chain=(c_der,), private_key=c_key),
        SCHEMES[alg],
    )


def client_cfg(alg: str, *, mutual: bool = False, provider: object = PROVIDER) -> ClientConfig:
    p = composite_pki(alg)
    return ClientConfig(
        provider=provider,  # type: ignore[arg-type]
        trust_store=p.store,
        signature_schemes=(p.scheme,),
        certificate_schemes=(p.scheme,),
        client_certificate=p.client if mutual else None,
    )


def server_cfg(alg: str, *, mutual: bool = False) -> ServerConfig:
    p = composite_pki(alg)
    return ServerConfig(
        provider=PROVIDER,
        certificates=(p.server,),
        signature_schemes=(p.scheme,),
        client_auth="require" if mutual else "none",
        client_trust_store=p.store if mutual else None,
        client_certificate_schemes=(p.scheme,) if mutual else (),
    )


ALGS = list(SCHEMES)


# --- handshakes --------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_composite_server_certificate_completes_a_handshake_in_memory(alg: str) -> None:
    client, server = handshake(client_cfg(alg), server_cfg(alg))
    assert client.info is not None and server.info is not None
    name = SCHEMES[alg].name
    assert client.info.signature_scheme == server.info.signature_scheme == name
    assert client.info.peer_certificate_subject.startswith("CN=localhost")


@pytest.mark.parametrize("alg", ALGS)
def test_composite_client_certificate_for_mutual_tls(alg: str) -> None:
    client, server = handshake(client_cfg(alg, mutual=True), server_cfg(alg, mutual=True))
    assert client.info is not None and server.info is not None
    assert server.info.client_certificate_scheme == SCHEMES[alg].name


@pytest.mark.parametrize("adapter", list(ADAPTERS))
@pytest.mark.parametrize("alg", ALGS)
def test_composite_handshakes_over_sockets(adapter: str, alg: str) -> None:
    echo: Callable[[ClientConfig, ServerConfig], tuple[SessionInfo, SessionInfo]] = ADAPTERS[
        adapter
    ]
    client_info, server_info = echo(client_cfg(alg, mutual=True), server_cfg(alg, mutual=True))
    assert client_info.signature_scheme == server_info.signature_scheme == SCHEMES[alg].name


def test_a_config_without_the_add_on_cannot_list_a_composite_scheme() -> None:
    # The default provider does not know 0xFE10: a config cannot list it, so never offers it.
    with pytest.raises(ConfigError, match=r"^signature_schemes: unsupported signature scheme"):
        client_cfg("mldsa65-ecdsa-p256", provider=DEFAULT_PROVIDER)


# --- malformed composite signatures -----------------------------------------------------------


def _cv(raw: bytes) -> CertificateVerify:
    cv = decode_handshake(raw[0], raw[4:])
    assert isinstance(cv, CertificateVerify)
    return cv


def _mangled(signature: bytes, how: str) -> bytes:
    if how == "mldsa-part":
        return bytes([signature[0] ^ 1]) + signature[1:]
    if how == "classical-part":
        return signature[:-1] + bytes([signature[-1] ^ 1])
    if how == "mldsa-only":
        return signature[:MLDSA65_SIG]
    if how == "classical-only":
        return signature[MLDSA65_SIG:]
    assert how == "truncated"
    return signature[:100]


HOWS = ["mldsa-part", "classical-part", "mldsa-only", "classical-only", "truncated"]


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("alg", ALGS)
def test_client_rejects_a_malformed_composite_certificate_verify(alg: str, how: str) -> None:
    f = server_flight(client_cfg(alg), server_cfg(alg))
    cv = _cv(f.msg(HandshakeType.certificate_verify))
    forged = dataclasses.replace(cv, signature=_mangled(cv.signature, how)).encode()
    seal = read_sealer(f.client)
    expect_alert(
        f.client, seal(*f.replaced(HandshakeType.certificate_verify, forged)), A.decrypt_error
    )


@pytest.mark.parametrize("how", ["mldsa-part", "classical-part"])
@pytest.mark.parametrize("alg", ALGS)
def test_server_rejects_a_malformed_composite_client_certificate_verify(alg: str, how: str) -> None:
    f = client_flight(client_cfg(alg, mutual=True), server_cfg(alg, mutual=True))
    cv = _cv(f.msg(HandshakeType.certificate_verify))
    forged = dataclasses.replace(cv, signature=_mangled(cv.signature, how)).encode()
    seal = read_sealer(f.server)
    expect_alert(f.server, seal(f.msg(HandshakeType.certificate), forged), A.decrypt_error)


def _broken_signature(der: bytes, part: str) -> bytes:
    """``der`` with one bit of its composite signature flipped: Certificate ::= SEQUENCE {tbs,
    algorithm, BIT STRING}, the signature ML-DSA first, the classical signature last."""
    signature = derread.content_of(derread.sequence_elements(der)[2], 0x03)[1:]
    start = len(der) - len(signature)
    index = start + 5 if part == "mldsa" else len(der) - 1
    return der[:index] + bytes([der[index] ^ 1]) + der[index + 1 :]


@pytest.mark.parametrize("part", ["mldsa", "classical"])
@pytest.mark.parametrize("alg", ALGS)
def test_client_rejects_a_certificate_whose_composite_signature_is_broken(
    alg: str, part: str
) -> None:
    f = server_flight(client_cfg(alg), server_cfg(alg))
    broken = _broken_signature(composite_pki(alg).server.chain[0], part)
    forged = Certificate(certificate_list=(CertificateEntry(broken),)).encode()
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.replaced(HandshakeType.certificate, forged)), A.bad_certificate)


@pytest.mark.parametrize("part", ["mldsa", "classical"])
@pytest.mark.parametrize("alg", ALGS)
def test_server_rejects_a_client_certificate_whose_composite_signature_is_broken(
    alg: str, part: str
) -> None:
    f = client_flight(client_cfg(alg, mutual=True), server_cfg(alg, mutual=True))
    broken = _broken_signature(composite_pki(alg).client.chain[0], part)
    forged = Certificate(certificate_list=(CertificateEntry(broken),)).encode()
    seal = read_sealer(f.server)
    expect_alert(f.server, seal(forged, f.msg(HandshakeType.certificate_verify)), A.bad_certificate)
