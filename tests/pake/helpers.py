"""Shared values for the PAKE tests (imported as ``pake.helpers``)."""

from __future__ import annotations

from nautilus_tls.pake.ksf import Ksf

# Argon2id at its cheapest: real stretching, test-suite speed. Deployments use Ksf().
KSF = Ksf("argon2id", cost=1, memory=8192)
PASSWORD = b"correct horse battery staple"
