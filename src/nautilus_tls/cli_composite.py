"""Composite ML-DSA (draft-ietf-lamps-pq-composite-sigs) on the command line: ``serve`` with a
composite certificate (``--alg mldsa65-ed25519`` or ``--cert``), ``connect --schemes
mldsa65_ed25519_sha512`` to such a server.

The composite schemes live in an add-on provider (``with_composite``) that a config combines
explicitly, and the policies' default lists leave them out while the draft is a draft. So the
command line turns the add-on on only where it is asked for: by a served key that signs with
nothing else, or by a composite scheme named in ``--schemes``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from nautilus_tls import defaults
from nautilus_tls.config import CertifiedKey
from nautilus_tls.crypto.provider import (
    DEFAULT_PROVIDER,
    CryptoProvider,
    composite_provider,
    with_composite,
)
from nautilus_tls.policy import Resolved, policy_named, resolve

__all__ = ["NAMES", "client_kwargs", "server_kwargs"]

NAMES: CryptoProvider = with_composite(DEFAULT_PROVIDER)
"""The provider whose names ``--schemes`` accepts: the default one and the composite add-on."""
COMPOSITE_SCHEMES = frozenset(s.code for s in composite_provider().scheme_infos())


def _defaults(kw: dict[str, Any]) -> Resolved:
    """The lists the config's policy gives when none is set, the add-on included."""
    return resolve(
        policy_named(str(kw.get("policy", defaults.DEFAULT_POLICY))),
        provider=NAMES,
        min_security_level=int(kw.get("min_security_level", 0)),
        groups=kw.get("groups", ()),
        cipher_suites=kw.get("cipher_suites", ()),
        signature_schemes=(),
    )


def _first_composite(*lists: Iterable[int]) -> list[int]:
    seen: list[int] = []
    for codes in lists:
        seen += [c for c in codes if c in COMPOSITE_SCHEMES and c not in seen]
    return seen


def server_kwargs(kw: dict[str, Any], certified: Sequence[CertifiedKey]) -> dict[str, Any]:
    """ServerConfig arguments for composite keys: the add-on provider, and when ``--schemes``
    was not given, the policy's schemes after the composite ones the keys sign with. Empty
    when no key is composite and ``--schemes`` names no composite scheme."""
    listed: Sequence[int] = kw.get("signature_schemes", ())
    keys = _first_composite(*(ck.signature_schemes(NAMES) for ck in certified))
    if not keys and not _first_composite(listed):
        return {}
    more: dict[str, Any] = {"provider": NAMES}
    if not listed:
        more["signature_schemes"] = (*keys, *_defaults(kw).signature_schemes)
        names = ", ".join(NAMES.scheme_name(s) for s in keys)
        print(
            f"composite certificate: clients must offer its scheme (connect --schemes {names})",
            flush=True,
        )
    return more


def client_kwargs(kw: dict[str, Any]) -> dict[str, Any]:
    """ClientConfig arguments when ``--schemes`` names a composite scheme: the add-on
    provider, and the composite schemes also for the server's chain (its CA signs as its
    leaf does), before the policy's."""
    composite = _first_composite(kw.get("signature_schemes", ()))
    if not composite:
        return {}
    return {
        "provider": NAMES,
        "certificate_schemes": (*composite, *_defaults(kw).certificate_schemes),
    }
