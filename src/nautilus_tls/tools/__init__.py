"""Tooling on top of the protocol: nothing in the protocol packages imports this package.

``certgen`` makes development and test certificates, ``catalog`` builds, measures and renders
the algorithm table (``nautilus-tls algorithms``, docs/algorithms.md, the README table), and
``demo`` runs ``nautilus-tls demo``. They sit just below the CLI in the layers (see
tests/test_layers.py): they may use any protocol module, while errors, wire, crypto, config,
record, handshake, connection and the adapters never reach up to them. That keeps
``import nautilus_tls.connection`` free of measurement code, certificate writing and the
asyncio demo.
"""
