"""A verifiable append-only log of keys and certificates (RFC 9162 Merkle tree).

The log works on its own: :mod:`.merkle` (tree hashing, inclusion and consistency proofs),
:mod:`.entries` (what is logged: X.509 chains, raw public keys, DIDs), :mod:`.sth` (signed tree
heads), :mod:`.store` with SQLite and PostgreSQL back ends, :mod:`.log` (the log itself),
:mod:`.api` (an ASGI app in the spirit of RFC 9162 §5), :mod:`.client` (its HTTP client) and
:mod:`.monitor`. In the handshake: :mod:`.staple` (the extension's bytes), :mod:`.stapler`
(the server staples proofs it fetched) and :mod:`.transparency` (the client requires and
checks them, ``ClientConfig.require_transparency``). The TLS protocol core never imports this
package at runtime (the config names the client's requirement as a type only); the HTTP and
database packages it needs come with the ``ledger`` extra and are imported only by the
modules that use them.
"""

from __future__ import annotations

from nautilus_tls.ledger.errors import LedgerError, ProofError

__all__ = ["LedgerError", "ProofError"]
