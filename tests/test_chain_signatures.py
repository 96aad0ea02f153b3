"""signature_algorithms_cert is enforced on the chain a server sends (RFC 8446 §4.2.3,
§4.4.2.2): a pq-only client refuses an ML-DSA leaf that a classical CA signed, unless the
classical chain signature is listed explicitly. The server does the same on client chains
(``client_certificate_schemes``, sent in the CertificateRequest), and only a certificate its
own key signed counts as self-signed."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from certificates import pki
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pairs import handshake, pump

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.crypto.transcript import Transcript
from nautilus_tls.crypto.x509 import (
    TrustStore,
    certificate_signature_schemes,
    check_chain_signatures,
)
from nautilus_tls.errors import AlertDescription, BadCertificate, ProtocolError
from nautilus_tls.handshake import server as server_handshake
from nautilus_tls.handshake.common import KeyLog, SendHandshake
from nautilus_tls.tools.certgen import make_ca, make_leaf
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ExtensionType, SignatureScheme
from nautilus_tls.wire.messages import CertificateRequest, decode_handshake


def classical_ca_with_mldsa_leaf(
    ca_name: str, name: str, *, client: bool
) -> tuple[TrustStore, CertifiedKey]:
    """An ECDSA P-256 CA (as a trust store) and an ML-DSA-65 leaf it signed."""
    ca_der, ca_key = make_ca("ecdsa-p256", ca_name)
    leaf_der, leaf_key = make_leaf(ca_der, ca_key, "mldsa65", [name], client=client)
    return TrustStore.from_certificates([ca_der]), CertifiedKey(
        chain=(leaf_der,), private_key=leaf_key
    )


@pytest.fixture(scope="module")
def classical_ca_mldsa_leaf() -> tuple[TrustStore, CertifiedKey]:
    return classical_ca_with_mldsa_leaf("Classical CA", "localhost", client=False)


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


# --- the server side: client chains (issue 11 item 11) -----------------------------------------


@pytest.fixture(scope="module")
def classical_ca_mldsa_client() -> tuple[TrustStore, CertifiedKey]:
    return classical_ca_with_mldsa_leaf("Classical client CA", "client.test", client=True)


def mtls_server(store: TrustStore, **kw: object) -> ServerConfig:
    return ServerConfig(
        certificates=(pki().server,),
        client_auth="require",
        client_trust_store=store,
        **kw,  # type: ignore[arg-type]
    )


def mtls_client(leaf: CertifiedKey) -> ClientConfig:
    return ClientConfig(trust_store=pki().store, client_certificate=leaf)


def test_server_refuses_a_client_chain_signed_with_an_unlisted_scheme(
    classical_ca_mldsa_client: tuple[TrustStore, CertifiedKey],
) -> None:
    store, leaf = classical_ca_mldsa_client
    scfg = mtls_server(store, client_certificate_schemes=(SignatureScheme.mldsa65,))
    client = ClientConnection(mtls_client(leaf), "localhost")
    server = ServerConnection(scfg)
    client.start()
    with contextlib.suppress(ProtocolError):
        pump(client, server)
    assert not server.handshake_complete
    assert isinstance(server.error, BadCertificate)
    assert server.error.alert == AlertDescription.unsupported_certificate
    assert "signature_algorithms_cert" in str(server.error)


def test_server_accepts_a_classically_signed_client_chain_by_default(
    classical_ca_mldsa_client: tuple[TrustStore, CertifiedKey],
) -> None:
    store, leaf = classical_ca_mldsa_client
    client, server = handshake(mtls_client(leaf), mtls_server(store))
    assert client.handshake_complete and server.handshake_complete


def certificate_request_extensions(cfg: ServerConfig) -> dict[int, bytes]:
    """The extensions of the CertificateRequest a server with ``cfg`` sends."""
    ctx = server_handshake.ServerContext(
        config=cfg,
        entropy=cfg.provider.entropy,
        clock=cfg.provider.clock,
        keylog=KeyLog(None, None),
    )
    server_handshake._send_certificate_request(ctx, Transcript("sha256"))
    (sent,) = ctx.actions
    assert isinstance(sent, SendHandshake)
    request = decode_handshake(sent.data[0], sent.data[4:])
    assert isinstance(request, CertificateRequest)
    return {e.ext_type: e.data for e in request.extensions}


def test_certificate_request_carries_signature_algorithms_cert_when_it_differs(
    classical_ca_mldsa_client: tuple[TrustStore, CertifiedKey],
) -> None:
    store, _ = classical_ca_mldsa_client
    only_mldsa = (SignatureScheme.mldsa65,)
    sent = certificate_request_extensions(mtls_server(store, client_certificate_schemes=only_mldsa))
    cert_schemes = ExtensionType.signature_algorithms_cert
    assert ext.decode_signature_algorithms_cert(sent[cert_schemes]) == only_mldsa
    same = mtls_server(store, signature_schemes=only_mldsa, client_certificate_schemes=only_mldsa)
    assert cert_schemes not in certificate_request_extensions(same)


def _named_after_itself(signer: ec.EllipticCurvePrivateKey) -> bytes:
    """A certificate whose issuer is its own subject but which ``signer`` (another key) signed."""
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Looks self-signed")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(signer, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_rejects_a_certificate_that_only_names_itself_as_issuer() -> None:
    impostor = _named_after_itself(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(BadCertificate) as err:
        check_chain_signatures([impostor], [SignatureScheme.mldsa65])
    assert err.value.alert == AlertDescription.unsupported_certificate


def test_a_truly_self_signed_root_is_not_counted() -> None:
    root_der, _ = make_ca("ecdsa-p256", "Real root")
    check_chain_signatures([root_der], [SignatureScheme.mldsa65])
