"""Proof values: what a handshake has checked, as objects the traffic state requires.

A verifier does not answer "yes"; it returns a value that only a successful check makes
(rustls ``ServerCertVerified``, ``HandshakeSignatureValid``, ``FinishedMessageVerified``).
``ClientConnected`` and ``ServerConnected`` take these values as required fields, so a code
path that skips a check has nothing to build the traffic state with: mypy rejects it, and so
does the constructor at run time (a ``None`` or a look-alike object raises ``TypeError``).

The classes cannot be built by calling them: each needs a private minting token, and the
public ``*_verified`` functions below are the one way to mint. They are called by the code
that performs the check:

* :func:`peer_verified` by a :class:`~nautilus_tls.auth.api.PeerVerifier` once it has judged
  the peer's Certificate message (the X.509 plug-in, or a plug-in of one's own: it is the
  plug-in's assertion, as rustls' ``ServerCertVerified::assertion()``);
* :func:`peer_verified_by_key_exchange` by an extension plug-in that authenticated the peer
  inside the key exchange (a PAKE, once the server's PAKE proof verified): the peer then
  sends no Certificate or CertificateVerify, and the proof says so;
* :func:`signature_verified` only by :mod:`nautilus_tls.crypto.signatures` after a signature
  verified against a public key (a plug-in gets one by calling the provider's ``verify_spki``);
* :func:`finished_verified` only by the handshake's Finished check (RFC 8446 §4.4.4).

This module imports nothing from the library: any layer may hold the values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "FinishedVerified",
    "PeerVerified",
    "SignatureVerified",
    "finished_verified",
    "peer_verified",
    "peer_verified_by_key_exchange",
    "require",
    "signature_verified",
]


class _Mint:
    """The private token a proof's constructor demands."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<mint>"


_MINT: Final = _Mint()


def _check_mint(kind: str, mint: object) -> None:
    if mint is not _MINT:
        raise TypeError(f"{kind} is made only by the code that checks it (see auth.proofs)")


@dataclass(frozen=True, slots=True)
class PeerVerified:
    """The peer's Certificate message was judged acceptable by a PeerVerifier.

    ``spki``: the DER SubjectPublicKeyInfo its CertificateVerify must verify under;
    ``identity``: what the peer was verified as (for display and logs); ``certificates``:
    the ``cert_data`` of the entries it sent (the X.509 chain, end-entity first), which
    SessionInfo reports and tickets keep for the re-check on resumption.
    ``by_key_exchange``: the peer proved itself inside the key exchange (a PAKE) instead of
    with a certificate; no CertificateVerify follows (``spki`` and ``certificates`` empty).
    """

    _mint: _Mint = field(repr=False, compare=False)
    spki: bytes = field(repr=False)
    identity: str
    certificates: tuple[bytes, ...] = field(repr=False)
    by_key_exchange: bool = False

    def __post_init__(self) -> None:
        _check_mint("PeerVerified", self._mint)


@dataclass(frozen=True, slots=True)
class SignatureVerified:
    """A CertificateVerify signature under ``scheme`` verified (RFC 8446 §4.4.3)."""

    _mint: _Mint = field(repr=False, compare=False)
    scheme: int

    def __post_init__(self) -> None:
        _check_mint("SignatureVerified", self._mint)


@dataclass(frozen=True, slots=True)
class FinishedVerified:
    """The peer's Finished MAC verified (RFC 8446 §4.4.4)."""

    _mint: _Mint = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_mint("FinishedVerified", self._mint)


def peer_verified(
    *, spki: bytes, identity: str, certificates: tuple[bytes, ...] = ()
) -> PeerVerified:
    """A PeerVerifier's assertion that it accepted the peer (call it only after checking)."""
    return PeerVerified(_MINT, spki, identity, tuple(certificates))


def peer_verified_by_key_exchange(identity: str) -> PeerVerified:
    """An extension plug-in's assertion that the peer proved itself in the key exchange (a
    PAKE's server proof verified); call it only after that check."""
    return PeerVerified(_MINT, b"", identity, (), True)


def signature_verified(scheme: int) -> SignatureVerified:
    """For :mod:`nautilus_tls.crypto.signatures` only, after a signature verified."""
    return SignatureVerified(_MINT, scheme)


def finished_verified() -> FinishedVerified:
    """For the handshake's Finished check only, after verify_data matched."""
    return FinishedVerified(_MINT)


def require(owner: str, name: str, value: object, kind: type, *, optional: bool = False) -> None:
    """A traffic state's run-time guard: ``value`` must be a real ``kind`` proof (a forged
    look-alike or a missing one raises TypeError, as mypy would refuse it statically)."""
    if value is None and optional:
        return
    if type(value) is not kind:
        raise TypeError(f"{owner} needs {name}: a {kind.__name__}, not {type(value).__name__}")
