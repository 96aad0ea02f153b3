"""``nautilus-tls did`` and the DID flags of ``serve`` and ``connect`` (issue 15).

::

    nautilus-tls did create --method key --alg ed25519|ecdsa-p256|mldsa44|mldsa65|mldsa87 --out DIR
    nautilus-tls did create --method web --domain HOST[:PORT] [--path a/b] --alg ... --out DIR
    nautilus-tls connect HOST:PORT --expect-did DID | --expect-spki SHA256HEX [--raw-key F --did DID]
    nautilus-tls serve ... [--raw-key F] [--did DID] [--trust-did DID[,DID...] | --resolve-dids]

``did create`` writes ``DIR/key.pem`` (0600), ``DIR/did.txt``, ``DIR/cert.pem`` (the
self-issued certificate that carries the key in TLS, naming the DID) and for did:web
``DIR/did.json`` (the document to publish at the did:web URL), and prints the DID. Serve
with ``--cert DIR/cert.pem --key DIR/key.pem`` and/or ``--raw-key DIR/key.pem`` (RFC 7250: the
key alone, to clients that accept raw keys); clients pin it with ``--expect-did`` (or
``--expect-spki``), which accepts the key either way. ``did:web`` documents are fetched with
the system roots, or the CAs of ``--did-cafile``.

The DID modules (and their ``did`` extra: base58, h11) are imported only when a DID option
is used, so the rest of the CLI works without them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from nautilus_tls.config import ClientConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.tools import certgen

__all__ = [
    "add_client_flags",
    "add_did_command",
    "add_server_flags",
    "client_kwargs",
    "cmd_did",
    "server_kwargs",
    "session_record",
]

DID_ALGORITHMS = ("ed25519", "ecdsa-p256", "mldsa44", "mldsa65", "mldsa87")
LOCAL_NAMES = ["localhost", "127.0.0.1", "::1"]


class DidUsageError(ValueError):
    """A DID option that cannot work (shown as ``error: ...``, exit status 2)."""


def add_did_command(sub: Any) -> None:
    did = sub.add_parser("did", help="make a DID (did:key or did:web) and its key")
    actions = did.add_subparsers(dest="did_command", required=True)
    create = actions.add_parser("create", help="a new key, its DID and a certificate naming it")
    create.add_argument("--method", choices=("key", "web"), default="key")
    create.add_argument("--alg", choices=DID_ALGORITHMS, default="ed25519")
    create.add_argument("--out", metavar="DIR", required=True, help="directory to write to")
    create.add_argument("--domain", metavar="HOST[:PORT]", help="did:web host (and port)")
    create.add_argument("--path", metavar="A/B", help="did:web path (document at /A/B/did.json)")


def _did_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--did",
        metavar="DID",
        help="name our DID to the peer in the DID extension (0xFFD1), and ask for the peer's",
    )
    p.add_argument(
        "--did-cafile",
        metavar="F",
        help="CAs for fetching did:web documents (default: the system roots)",
    )


def add_client_flags(p: argparse.ArgumentParser) -> None:
    judge = p.add_mutually_exclusive_group()
    judge.add_argument(
        "--expect-did",
        metavar="DID",
        help="accept only a server whose key this DID (did:key or did:web) authorizes",
    )
    judge.add_argument(
        "--expect-spki",
        metavar="SHA256HEX",
        help="accept only a server whose key has this SPKI SHA-256 (raw key or certificate)",
    )
    p.add_argument(
        "--raw-key",
        metavar="F",
        help="present this private key (PEM) as a raw public key (RFC 7250) when asked",
    )
    _did_flags(p)


def add_server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--raw-key",
        metavar="F",
        help="also serve this private key (PEM) as a raw public key (RFC 7250) to clients "
        "that accept one",
    )
    p.add_argument(
        "--trust-did",
        metavar="DID[,DID...]",
        help="require client certificates and accept only clients holding one of these DIDs",
    )
    p.add_argument(
        "--resolve-dids",
        action="store_true",
        help="require client certificates and accept any client whose DID resolves to its key",
    )
    _did_flags(p)


def _resolver(args: argparse.Namespace) -> Any:
    from nautilus_tls.did.resolver import DidResolver
    from nautilus_tls.did.web import DidWebResolver

    cafile = getattr(args, "did_cafile", None)
    config = ClientConfig(trust_store=TrustStore.from_file(cafile)) if cafile else None
    return DidResolver(DidWebResolver(config=config))


def _verifier(args: argparse.Namespace, **kw: Any) -> Any:
    from nautilus_tls.did.errors import InvalidDid
    from nautilus_tls.did.verifier import DidPeerVerifier

    try:
        return DidPeerVerifier(resolver=_resolver(args), **kw)
    except (InvalidDid, ValueError) as exc:
        raise DidUsageError(str(exc)) from None


def _raw_key(path: str) -> Any:
    from nautilus_tls.auth.raw_key import RawPublicKey

    return RawPublicKey.from_file(path)


# A client that judges the server by its key takes a raw key or a certificate (RFC 7250).
_EITHER_TYPE = (2, 0)


def _did_extension(args: argparse.Namespace) -> dict[str, Any]:
    """``extension_hooks`` with the DID extension when ``--did`` is given."""
    if not args.did:
        return {}
    from nautilus_tls.did.errors import InvalidDid
    from nautilus_tls.did.extension import DidExtension

    try:
        return {"extension_hooks": (DidExtension(did=args.did),)}
    except InvalidDid as exc:
        raise DidUsageError(f"--did: {exc}") from None


def client_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = _did_extension(args)
    if args.did_cafile and not args.expect_did:
        raise DidUsageError("--did-cafile is for resolving --expect-did: give both or neither")
    if args.expect_did or args.expect_spki:
        # These verifiers replace the CA check, so --cafile would be ignored and --insecure
        # contradicts them: say so instead of connecting under other rules than asked for.
        pin = "--expect-did" if args.expect_did else "--expect-spki"
        if args.insecure:
            raise DidUsageError(f"{pin} verifies the server; --insecure does not: pick one")
        if args.cafile:
            raise DidUsageError(f"{pin} checks the server's key itself, not a CA: drop --cafile")
    if args.raw_key:
        if args.cert or args.key:
            raise DidUsageError("give --raw-key or --cert/--key, not both")
        kw["client_certificate"] = _raw_key(args.raw_key)
    if args.expect_did:
        kw["verifier"] = _verifier(args, expect_did=args.expect_did)
        kw["server_certificate_types"] = _EITHER_TYPE
    elif args.expect_spki:
        from nautilus_tls.auth.raw_key import SpkiPinVerifier

        kw["verifier"] = SpkiPinVerifier((args.expect_spki,))
        kw["server_certificate_types"] = _EITHER_TYPE
    return kw


def server_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kw: dict[str, Any] = _did_extension(args)
    if args.raw_key:
        kw["raw_public_key"] = _raw_key(args.raw_key)
    trusted = tuple(d for d in (args.trust_did or "").split(",") if d)
    if args.did_cafile and not (trusted or args.resolve_dids):
        raise DidUsageError("--did-cafile needs --trust-did or --resolve-dids")
    if (trusted or args.resolve_dids) and args.client_ca:
        raise DidUsageError(
            "--trust-did/--resolve-dids check client keys against DIDs, not against a CA: "
            "drop --client-ca"
        )
    if trusted or args.resolve_dids:
        verifier = _verifier(args, trust_dids=trusted, resolve_any=args.resolve_dids)
        kw.update(
            client_auth="require", client_verifier=verifier, client_certificate_types=_EITHER_TYPE
        )
    return kw


def session_record(info: SessionInfo) -> dict[str, object]:
    """What ``serve --json-log`` and ``connect --json`` report of the peer's identity: the
    type of its Certificate and the DID it was verified for."""
    return {"certificate_type": info.certificate_type, "peer_did": info.peer_did}


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _did_web(domain: str, path: str | None) -> tuple[str, str]:
    """``(did, host)`` for ``--domain HOST[:PORT] --path A/B`` (did:web spec: the port's
    colon is percent-encoded, path segments are joined with colons)."""
    host, _, port = domain.partition(":")
    did = "did:web:" + host + (f"%3A{port}" if port else "")
    if path:
        did += ":" + ":".join(s for s in path.strip("/").split("/") if s)
    return did, host


def cmd_did(args: argparse.Namespace) -> int:
    from nautilus_tls.crypto.composite import CompositePrivateKey
    from nautilus_tls.did.document import did_document
    from nautilus_tls.did.errors import InvalidDid
    from nautilus_tls.did.key import did_key_from_spki
    from nautilus_tls.did.web import did_web_url

    key = certgen.generate_key(args.alg)
    if isinstance(key, CompositePrivateKey):  # --alg's choices exclude them: keep it so
        raise DidUsageError("composite keys have no did:key multicodec")
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if args.method == "web":
        if not args.domain:
            raise DidUsageError("--method web needs --domain HOST[:PORT]")
        did, host = _did_web(args.domain, args.path)
        try:
            did_web_url(did)
        except InvalidDid as exc:
            raise DidUsageError(str(exc)) from None
        names = [host]
    else:
        if args.domain or args.path:
            raise DidUsageError("--domain and --path are for --method web")
        did, names = did_key_from_spki(spki), LOCAL_NAMES
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "key.pem", certgen.key_to_pem(key), 0o600)
    _write(out / "did.txt", (did + "\n").encode())
    _write(out / "cert.pem", certgen.cert_to_pem(certgen.make_self_issued(key, did, names)))
    if args.method == "web":
        document = json.dumps(did_document(did, spki), indent=2) + "\n"
        _write(out / "did.json", document.encode())
        print(f"publish {out / 'did.json'} at {did_web_url(did)}", file=sys.stderr, flush=True)
    print(did, flush=True)
    return 0
