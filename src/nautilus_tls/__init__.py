"""Nautilus TLS: post-quantum TLS 1.3 for Python."""
