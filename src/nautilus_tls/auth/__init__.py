"""Authentication as plug-ins (RFC 8446 §4.4): what we present and how we judge the peer.

Modules: ``api`` (the :class:`~.api.Credential` and :class:`~.api.PeerVerifier` protocols),
``x509`` (the X.509 plug-in: certificate chains, the trust store and the X.509 profile). The
proof values the checks return live in :mod:`nautilus_tls.proofs`, at the bottom layer, so
that crypto (signatures) and the handshake (Finished) can mint them too.
"""
