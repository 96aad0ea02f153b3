"""The DID a peer's certificate names.

Until raw public keys (RFC 7250) are negotiated, a DID peer presents an ordinary X.509
Certificate message holding one self-issued certificate (made by
:func:`nautilus_tls.tools.certgen.make_self_issued`): its SubjectPublicKeyInfo is the DID's
key, and its subjectAltName names the DID as a URI, so a server can learn which DID a client
claims. Nothing in it is trusted by itself: :class:`~.verifier.DidPeerVerifier` takes only
the key from it and checks that key against the DID, and the handshake's CertificateVerify
proves the peer holds the private key.
"""

from __future__ import annotations

from cryptography import x509

from nautilus_tls.did.errors import InvalidDid

__all__ = ["did_of_certificate"]


def did_of_certificate(cert_der: bytes) -> str | None:
    """The first ``did:`` URI in the certificate's subjectAltName, or None."""
    try:
        cert = x509.load_der_x509_certificate(cert_der)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        raise InvalidDid("the peer's certificate does not parse") from None
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith("did:"):
            return uri
    return None
