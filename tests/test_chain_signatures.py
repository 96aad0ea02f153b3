"""signature_algorithms_cert is enforced on the chain a server sends (RFC 8446 §4.2.3,
§4.4.2.2): a pq-only client refuses an ML-DSA leaf that a classical CA signed, unless the
classical chain signature is listed explicitly."""

from __future__ import annotations

import pytest
from pairs import handshake, pump

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.crypto.certgen import make_ca, make_leaf
from nautilus_tls.crypto.x509 import TrustStore, certificate_signature_schemes
from nautilus_tls.errors import AlertDescription, BadCertificate
from nautilus_tls.wire.enums import SignatureScheme


@pytest.fixture(scope="module")
def classical_ca_mldsa_leaf() -> tuple[TrustStore, CertifiedKey]:
    ca_der, ca_key = make_ca("ecdsa-p256", "Classical CA")
    leaf_der, leaf_key = make_leaf(ca_der, ca_key, "mldsa65", ["localhost"])
    return TrustStore.from_certificates([ca_der]), CertifiedKey(
        chain=(leaf_der,), private_key=leaf_key
    )


def test_schemes_name_how_a_certificate_was_signed(
    classical_ca_mldsa_leaf: tuple[TrustStore, CertifiedKey],
) -> None:
    _, leaf = classical_ca_mldsa_leaf
    assert certificate_signature_schemes(leaf.chain[0]) == (SignatureScheme.ecdsa_secp256r1_sha256,)
    ca_der, ca_key = make_ca("mldsa87", "PQ CA")
    pq_leaf, _ = make_leaf(ca_der, ca_key, "mldsa44", ["localhost"])
    assert certificate_signature_schemes(pq_leaf) == (SignatureScheme.mldsa87,)


def test_pq_only_client_refuses_a_classically_signed_chain(
    classical_ca_mldsa_leaf: tuple[TrustStore, CertifiedKey],
) -> None:
    store, leaf = classical_ca_mldsa_leaf
    client = ClientConnection(ClientConfig(policy="pq-only", trust_store=store), "localhost")
    server = ServerConnection(ServerConfig(certificates=(leaf,)))
    client.start()
    with pytest.raises(BadCertificate) as err:
        pump(client, server)
    assert err.value.alert == AlertDescription.unsupported_certificate
    assert "signature_algorithms_cert" in str(err.value)


def test_classical_chain_signature_accepted_when_listed_or_by_default(
    classical_ca_mldsa_leaf: tuple[TrustStore, CertifiedKey],
) -> None:
    store, leaf = classical_ca_mldsa_leaf
    scfg = ServerConfig(certificates=(leaf,))
    listed = ClientConfig(
        policy="pq-only",
        trust_store=store,
        certificate_schemes=(SignatureScheme.mldsa65, SignatureScheme.ecdsa_secp256r1_sha256),
    )
    client, _ = handshake(listed, scfg)
    assert client.info is not None and client.info.signature_scheme == "mldsa65"
    default, _ = handshake(ClientConfig(trust_store=store), scfg)
    assert default.info is not None
