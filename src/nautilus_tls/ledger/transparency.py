"""The client side of stapled log proofs: ask for them, check them, remember tree heads.

``ClientConfig(require_transparency=RequireTransparency(log_keys))`` makes a client offer the
transparency extension (:mod:`.staple`) in its ClientHello and accept the server's chain only
with a stapled inclusion proof, under a tree head signed by one of ``log_keys``, for an entry
that is exactly that chain (or its end-entity key). It is two plug-ins from one value:

- :class:`TransparencyHook`, an extension plug-in (:mod:`nautilus_tls.handshake.hooks`): its
  ClientHello copy lists the trusted logs with the newest tree size seen of each; it parses
  the server's end-entity copy, checks every item from a trusted log (tree head signature,
  inclusion proof of the item's leaf, consistency with the newest head remembered for that
  log) and keeps the result as ``SessionInfo.peer_extensions`` evidence, which
  ``SessionInfo.transparency`` reads;
- :class:`TransparencyVerifier`, wrapping the X.509 (or any) verifier: after the chain is
  judged, it requires an item whose leaf hash is this chain's, and verifies it again. The
  hook sees only the extension's bytes, the verifier sees the chain, so the binding of proof
  to certificate is made here.

Alerts (RFC 8446 §6.2): bytes that do not parse are decode_error; evidence that is there but
false (a tree head signature that does not verify, an inclusion proof that does not lead to
the signed root, a tree head inconsistent with one seen before: a forked log) is
bad_certificate, "a certificate ... contained signatures that did not verify correctly"; no
evidence for this chain from a trusted log (nothing stapled, only untrusted logs, proofs for
other certificates) is certificate_unknown: the certificate itself may be fine, it is just
not shown to be logged.

Split views (a log showing different clients different histories): :class:`TreeHeadMemory` keeps the newest verified
tree head per log, in memory or in a small JSON file. A newer head is remembered only with a
consistency proof from the remembered one (stapled by the server, which fetches it from the
log when a client's ClientHello shows an older size); a head of the same size with another
root, or a consistency proof that fails, is a fork and refused. A newer head without a proof
is accepted for its inclusion proof but not remembered, so the next handshake asks again.

With ``anchors`` (:class:`.anchor.AnchorCheck`) a stapled tree head must also be the one
anchored on a chain for its size: not anchored (or the chain unreachable) is
certificate_unknown, anchored with another root is bad_certificate (a split view).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from nautilus_tls import safe_json
from nautilus_tls.errors import AlertDescription, BadCertificate
from nautilus_tls.ledger.entries import Entry, EntryType
from nautilus_tls.ledger.errors import (
    AnchorError,
    AnchorMismatchError,
    LedgerError,
    ProofError,
    SignatureError,
)
from nautilus_tls.ledger.merkle import verify_consistency, verify_inclusion
from nautilus_tls.ledger.staple import (
    MAX_KNOWN_LOGS,
    TRANSPARENCY_EXTENSION,
    LoggedAs,
    StapledItem,
    decode_items,
    encode_known_logs,
)
from nautilus_tls.ledger.sth import LogPublicKey, SignedTreeHead, verify_tree_head
from nautilus_tls.session_info import TransparencyReport
from nautilus_tls.wire.enums import HandshakeType

if TYPE_CHECKING:
    from nautilus_tls.auth.api import PeerVerifier
    from nautilus_tls.crypto.provider import CryptoProvider
    from nautilus_tls.proofs import PeerVerified, SignatureVerified
    from nautilus_tls.wire.messages import CertificateEntry

__all__ = [
    "RequireTransparency",
    "TransparencyHook",
    "TransparencyVerifier",
    "TreeHeadMemory",
    "chain_leaf_hash",
]


# A tree head is accepted for a week after the log signed it: logs re-sign at least hourly
# (TransparencyLog.resign_after) and staplers keep proofs for at most a day when the log is
# down, so a fresh deployment stays well inside it.
DEFAULT_MAX_TREE_HEAD_AGE = 7 * 24 * 3600.0
CLOCK_SKEW = 300.0  # seconds a head may be ahead of our clock


def _not_logged(reason: str) -> BadCertificate:
    return BadCertificate(
        f"the server's certificate is not in a trusted log (no valid proof): {reason}",
        alert=AlertDescription.certificate_unknown,
    )


def chain_leaf_hash(chain: Sequence[bytes], logged_as: LoggedAs) -> bytes:
    """The leaf hash the log has for this presented chain, logged as ``logged_as``."""
    if logged_as is LoggedAs.X509_CHAIN:
        # The chain was judged already; the entry is only hashed, so no re-parse is needed.
        return Entry(EntryType.X509_CHAIN, chain=tuple(chain)).leaf_hash()
    try:
        key = x509.load_der_x509_certificate(chain[0]).public_key()
    except ValueError:
        # An RFC 7250 raw public key entry is the SubjectPublicKeyInfo itself.
        return Entry(EntryType.RAW_PUBLIC_KEY, spki=bytes(chain[0])).leaf_hash()
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return Entry(EntryType.RAW_PUBLIC_KEY, spki=spki).leaf_hash()


class TreeHeadMemory:
    """The newest verified tree head of each log; in a JSON file when ``path`` is given
    (written atomically, owner-only), else in memory. Safe to share between threads."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._heads: dict[bytes, SignedTreeHead] = {}
        if self._path is not None and self._path.exists():
            self._heads = self._load(self._path)

    def __repr__(self) -> str:
        return f"TreeHeadMemory(path={self._path!s}, logs={len(self._heads)})"

    @staticmethod
    def _load(path: Path) -> dict[bytes, SignedTreeHead]:
        try:
            raw = safe_json.loads(path.read_text(encoding="utf-8"))
            heads = {
                bytes.fromhex(k): SignedTreeHead.decode(bytes.fromhex(v)) for k, v in raw.items()
            }
        except (OSError, ValueError, AttributeError, LedgerError) as exc:
            raise LedgerError(f"cannot read the tree head file {path}: {exc}") from None
        if any(sth.log_id != log_id for log_id, sth in heads.items()):
            raise LedgerError(f"tree head file {path} files a head under another log")
        return heads

    def _save(self) -> None:
        if self._path is None:
            return
        text = json.dumps({k.hex(): v.encode().hex() for k, v in self._heads.items()})
        tmp = self._path.with_name(self._path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self._path)

    def get(self, log_id: bytes) -> SignedTreeHead | None:
        with self._lock:
            return self._heads.get(log_id)

    def known_sizes(self, log_ids: Iterable[bytes]) -> dict[bytes, int]:
        with self._lock:
            return {i: (h.tree_size if (h := self._heads.get(i)) else 0) for i in log_ids}

    def observe(self, sth: SignedTreeHead, item: StapledItem) -> bool | None:
        """Check a verified head against the remembered one; remember it when it is proved
        to extend it. True: consistent; None: nothing to compare with; raises ProofError
        for a fork."""
        with self._lock:
            old = self._heads.get(sth.log_id)
            consistent = _consistent(old, sth, item)
            if old is None or (consistent and sth.tree_size > old.tree_size):
                self._heads[sth.log_id] = sth
                self._save()
            return consistent


def _consistent(old: SignedTreeHead | None, new: SignedTreeHead, item: StapledItem) -> bool | None:
    if old is None or new.tree_size < old.tree_size:
        # An older head than ours proves nothing about ours without a proof the other way.
        return None
    if new.tree_size == old.tree_size:
        if not hmac.compare_digest(old.root_hash, new.root_hash):
            raise ProofError("two tree heads of the same size differ: the log forked")
        return True
    if old.tree_size == 0:
        return True  # every tree extends the empty one
    if item.consistency_from != old.tree_size:
        return None
    verify_consistency(
        old.tree_size, new.tree_size, old.root_hash, new.root_hash, item.consistency_path
    )
    return True


def _check_item(item: StapledItem, keys: Sequence[LogPublicKey], leaf_hash: bytes) -> None:
    """Raise bad_certificate unless the item's head is signed by its (trusted) log and its
    inclusion proof leads from ``leaf_hash`` to the signed root."""
    try:
        verify_tree_head(item.sth, keys)
        verify_inclusion(
            leaf_hash, item.leaf_index, item.sth.tree_size, item.inclusion_path, item.sth.root_hash
        )
    except SignatureError as exc:
        raise BadCertificate(f"stapled log proof refused: {exc}") from None
    except ProofError as exc:
        raise BadCertificate(f"stapled log proof refused: {exc}") from None


def _check_fresh(sth: SignedTreeHead, now: float, max_age: float | None) -> None:
    """A signed head from the future is false evidence (bad_certificate); one older than
    ``max_age`` no longer shows the certificate in the log's current view (certificate_unknown)."""
    signed_at = sth.tree_head.timestamp_ms / 1000
    if signed_at > now + CLOCK_SKEW:
        raise BadCertificate(
            f"stapled tree head refused: signed {signed_at - now:.0f}s in the future"
        )
    if max_age is not None and now - signed_at > max_age:
        raise _not_logged(
            f"its tree head is {now - signed_at:.0f}s old (at most {max_age:.0f}s accepted)"
        )


class TreeHeadAnchors(Protocol):
    """Where tree heads are anchored (:class:`.anchor.AnchorCheck`): ``check`` raises
    NotAnchoredError, AnchorMismatchError (a split view) or AnchorError (unreachable)."""

    def check(self, sth: SignedTreeHead) -> None: ...


def _check_anchored(anchors: TreeHeadAnchors, sth: SignedTreeHead) -> None:
    try:
        anchors.check(sth)
    except AnchorMismatchError as exc:
        raise BadCertificate(f"stapled tree head refused: {exc}") from None
    except AnchorError as exc:
        raise _not_logged(f"its tree head is not shown to be anchored: {exc}") from None


@dataclass(frozen=True, slots=True)
class _Checked:
    item: StapledItem
    consistent: bool | None


@dataclass(frozen=True, slots=True)
class StapledEvidence:
    """What the hook verified in one handshake (``SessionInfo.peer_extensions`` value)."""

    checked: tuple[_Checked, ...]
    anchored: bool = False  # every checked head was found anchored

    def report_for(self, chain: tuple[bytes, ...]) -> TransparencyReport | None:
        if not chain:
            return None
        for c in self.checked:
            if chain_leaf_hash(chain, c.item.logged_as) == c.item.leaf_hash:
                sth = c.item.sth
                return TransparencyReport(
                    log_id=sth.log_id.hex(),
                    index=c.item.leaf_index,
                    tree_size=sth.tree_size,
                    verified=True,
                    consistent=c.consistent,
                    anchored=True if self.anchored else None,
                )
        return None


def _trusted_items(data: bytes, keys: Sequence[LogPublicKey]) -> list[StapledItem]:
    trusted = {k.log_id for k in keys}
    return [item for item in decode_items(data) if item.sth.log_id in trusted]


class TransparencyHook:
    """The client's extension plug-in (built by :class:`RequireTransparency`)."""

    messages = frozenset({HandshakeType.client_hello, HandshakeType.certificate})
    # ClientConfig puts this plug-in in extension_hooks for its require_transparency, and
    # takes it out again when a replace() changes the requirement.
    made_by_config = True

    def __init__(self, requirement: RequireTransparency) -> None:
        self._req = requirement

    @property
    def ext_type(self) -> int:
        return TRANSPARENCY_EXTENSION

    def offer(self, message: int, peer: object | None) -> bytes | None:
        if message != HandshakeType.client_hello:
            return None
        ids = [k.log_id for k in self._req.log_keys]
        return encode_known_logs(self._req.tree_heads.known_sizes(ids))

    def receive(self, message: int, data: bytes | None) -> object:
        if message != HandshakeType.certificate or data is None:
            return None  # the verifier refuses a chain without evidence
        checked = []
        for item in _trusted_items(data, self._req.log_keys):
            _check_item(item, self._req.log_keys, item.leaf_hash)
            try:
                consistent = self._req.tree_heads.observe(item.sth, item)
            except ProofError as exc:
                raise BadCertificate(f"the log shows a split view (forked log): {exc}") from None
            if self._req.anchors is not None:
                _check_anchored(self._req.anchors, item.sth)
            checked.append(_Checked(item, consistent))
        return StapledEvidence(tuple(checked), anchored=self._req.anchors is not None)


class TransparencyVerifier:
    """A PeerVerifier that judges the chain with ``inner``, then requires a stapled proof
    that exactly this chain (or its key) is in a trusted log."""

    def __init__(
        self,
        inner: PeerVerifier,
        log_keys: Sequence[LogPublicKey],
        max_tree_head_age: float | None = DEFAULT_MAX_TREE_HEAD_AGE,
    ) -> None:
        self._inner = inner
        self._keys = tuple(log_keys)
        self._max_age = max_tree_head_age

    def verify_identity(
        self, entries: Sequence[CertificateEntry], server_name: str | None, now: float
    ) -> PeerVerified:
        peer = self._inner.verify_identity(entries, server_name, now)
        staple = next(
            (e.data for e in entries[0].extensions if e.ext_type == TRANSPARENCY_EXTENSION), None
        )
        if staple is None:
            raise _not_logged("the server stapled no log proof")
        items = _trusted_items(staple, self._keys)
        if not items:
            raise _not_logged("the stapled proofs are from logs this client does not trust")
        chain = tuple(e.cert_data for e in entries)
        for item in items:
            leaf = chain_leaf_hash(chain, item.logged_as)
            if leaf == item.leaf_hash:
                _check_item(item, self._keys, leaf)
                _check_fresh(item.sth, now, self._max_age)
                return peer
        raise _not_logged("no stapled proof is for this certificate")

    def verify_resumed(
        self, certificates: tuple[bytes, ...], server_name: str | None, now: float
    ) -> PeerVerified:
        # The ticket's original handshake had the proof (the fingerprint below ties tickets
        # to this requirement); a resumed handshake carries no Certificate to staple to.
        return self._inner.verify_resumed(certificates, server_name, now)

    def verify_signature(
        self,
        peer: PeerVerified,
        scheme: int,
        signature: bytes,
        content: bytes,
        provider: CryptoProvider,
    ) -> SignatureVerified:
        return self._inner.verify_signature(peer, scheme, signature, content, provider)

    def fingerprint(self) -> bytes | None:
        h = hashlib.sha256(b"transparency v1")
        h.update(self._inner.fingerprint() or b"no verification")
        for log_id in sorted(k.log_id for k in self._keys):
            h.update(log_id)
        return h.digest()


class RequireTransparency:
    """``ClientConfig.require_transparency``: the logs a server's chain must be proved in,
    and where their newest tree heads are remembered (:class:`TreeHeadMemory`)."""

    def __init__(
        self,
        log_keys: Iterable[LogPublicKey],
        tree_heads: TreeHeadMemory | None = None,
        *,
        anchors: TreeHeadAnchors | None = None,
        max_tree_head_age: float | None = DEFAULT_MAX_TREE_HEAD_AGE,
    ) -> None:
        self.log_keys = tuple(log_keys)
        # A stapled tree head older than this (seconds; None: any age) is refused: a log or
        # server that keeps showing an old view (a freeze) cannot do so for longer.
        if max_tree_head_age is not None and not max_tree_head_age > 0:
            raise LedgerError("max_tree_head_age must be positive (or None)")
        self.max_tree_head_age = max_tree_head_age
        # Also require each stapled tree head to be the one anchored on a chain for its size.
        self.anchors = anchors
        if not 1 <= len({k.log_id for k in self.log_keys}) <= MAX_KNOWN_LOGS:
            raise LedgerError(f"require transparency under 1 to {MAX_KNOWN_LOGS} log keys")
        self.tree_heads = tree_heads if tree_heads is not None else TreeHeadMemory()
        self.hook = TransparencyHook(self)

    def __repr__(self) -> str:
        ids = ", ".join(k.log_id.hex()[:16] for k in self.log_keys)
        return f"RequireTransparency(logs=[{ids}])"

    def verifier(self, inner: PeerVerifier) -> TransparencyVerifier:
        return TransparencyVerifier(inner, self.log_keys, self.max_tree_head_age)
