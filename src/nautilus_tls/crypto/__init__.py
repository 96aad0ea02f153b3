"""Cryptography for Nautilus TLS: the only package that imports a crypto backend.

Modules: ``suites`` (AEAD table), ``keyschedule`` (RFC 8446 §7), ``transcript``,
``kem`` (key exchange as KEMs), ``signatures`` (CertificateVerify) and ``x509``.
"""
