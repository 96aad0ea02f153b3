"""Adaptive negotiation: learn what each server supports and decide per connection, never
below the policy's security floor (issue 18).

* :mod:`~nautilus_tls.adaptive.state`: per-server records and their JSON file;
* :mod:`~nautilus_tls.adaptive.chooser`: the Thompson-sampling choice of key shares;
* :mod:`~nautilus_tls.adaptive.client`: :class:`AdaptiveNegotiation` (the ``ClientConfig``
  field) and the per-handshake hooks, with downgrade memory;
* :mod:`~nautilus_tls.adaptive.server`: the server's optional adaptive choice of suite and
  group.

See docs/adaptive-negotiation.md for the design and the evaluation.
"""
