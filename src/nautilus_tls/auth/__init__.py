"""Authentication as plug-ins (RFC 8446 §4.4): what we present and how we judge the peer.

Modules: ``proofs`` (the values a check returns and the traffic state requires), ``api``
(the :class:`~.api.Credential` and :class:`~.api.PeerVerifier` protocols), ``x509`` (the
X.509 plug-in: certificate chains, the trust store and the X.509 profile).
"""
