"""Cryptography for Nautilus TLS: the only package that imports a crypto backend.

Modules: ``suites`` (AEAD table), ``keyschedule`` (RFC 8446 §7), ``transcript``,
``kem`` (key exchange as KEMs), ``signatures`` (CertificateVerify), ``x509``, ``der`` (reading a
certificate's SubjectPublicKeyInfo), and
``provider`` (the :class:`~nautilus_tls.crypto.provider.CryptoProvider` value a config carries:
which of these algorithms a connection can use, plus its randomness and clock).
"""
