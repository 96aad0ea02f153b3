"""did:web (src/nautilus_tls/did/web.py): URL mapping, and resolution over our own TLS
client against a real local HTTPS server of ours (tests/did_server.py)."""

from __future__ import annotations

import json
import socket
import time

import pytest
from certificates import pki, unrelated_pki
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from did_server import document_server

from nautilus_tls.did.document import did_document
from nautilus_tls.did.errors import DidDocumentError, DidResolutionError, InvalidDid
from nautilus_tls.did.web import DidWebResolver, did_web_url

WELL_KNOWN = "/.well-known/did.json"


def _spki() -> bytes:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def _resolver(**kw: object) -> DidWebResolver:
    return DidWebResolver(config=pki().client_config(), timeout=5.0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000", "https://example.com:3000/.well-known/did.json"),
        ("did:web:example.com%3A3000:a", "https://example.com:3000/a/did.json"),
    ],
)
def test_maps_did_web_to_the_spec_url(did: str, url: str) -> None:
    assert str(did_web_url(did)) == url


@pytest.mark.parametrize(
    "did",
    [
        "did:web:",
        "did:web:exa mple.com",
        "did:web:example.com%3A99999",
        "did:web:example.com%3Ahttp",
        "did:web:example.com:..",
        "did:web:example.com:a%2Fb",
        "did:web:example.com#frag",
        "did:key:z6Mk",
        "did:web:user@example.com",
    ],
)
def test_rejects_malformed_did_web(did: str) -> None:
    with pytest.raises(InvalidDid):
        did_web_url(did)


def test_resolves_the_authentication_key_over_our_tls_client() -> None:
    spki = _spki()
    with document_server({}) as server:
        did = f"did:web:{server.authority}"
        server.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, spki)).encode())
        (key,) = _resolver().authentication_keys(did)
    assert key.spki == spki and server.hits == {WELL_KNOWN: 1}


def test_resolves_the_path_form() -> None:
    spki = _spki()
    with document_server({}) as server:
        did = f"did:web:{server.authority}:users:alice"
        server.routes["/users/alice/did.json"] = (200, json.dumps(did_document(did, spki)).encode())
        assert _resolver().authentication_keys(did)[0].spki == spki


def test_caches_for_the_ttl_then_fetches_again() -> None:
    now = [1000.0]
    resolver = _resolver(ttl=60.0, clock=lambda: now[0])
    with document_server({}) as server:
        did = f"did:web:{server.authority}"
        server.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, _spki())).encode())
        first = resolver.authentication_keys(did)
        now[0] += 59
        assert resolver.authentication_keys(did) == first
        assert server.hits[WELL_KNOWN] == 1
        rotated = _spki()
        server.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, rotated)).encode())
        now[0] += 2
        assert resolver.authentication_keys(did)[0].spki == rotated
        assert server.hits[WELL_KNOWN] == 2


def test_refuses_a_document_without_an_authentication_entry() -> None:
    with document_server({}) as server:
        did = f"did:web:{server.authority}"
        document = did_document(did, _spki())
        del document["authentication"]
        server.routes[WELL_KNOWN] = (200, json.dumps(document).encode())
        with pytest.raises(DidDocumentError, match="no authentication key"):
            _resolver().authentication_keys(did)


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ((404, b"nope"), "HTTP 404"),
        ((200, b"{not json"), "not JSON"),
        ((200, b"[" * 70_000), "exceeds"),
    ],
)
def test_reports_http_errors_clearly(route: tuple[int, bytes], message: str) -> None:
    with (
        document_server({WELL_KNOWN: route}) as server,
        pytest.raises(DidResolutionError, match=message),
    ):
        _resolver().authentication_keys(f"did:web:{server.authority}")


def test_does_not_cache_failures() -> None:
    with document_server({}) as server:
        did = f"did:web:{server.authority}"
        resolver = _resolver()
        with pytest.raises(DidResolutionError):
            resolver.authentication_keys(did)
        server.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, _spki())).encode())
        assert resolver.authentication_keys(did)


def test_verifies_the_server_certificate() -> None:
    # The server's certificate is from pki(); a resolver trusting another CA refuses it.
    with document_server({WELL_KNOWN: (200, b"{}")}) as server:
        resolver = DidWebResolver(config=unrelated_pki().client_config(), timeout=5.0)
        with pytest.raises(DidResolutionError, match=r"TLS with .* failed"):
            resolver.authentication_keys(f"did:web:{server.authority}")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_host_fails_fast_with_a_clear_error() -> None:
    started = time.monotonic()
    with pytest.raises(DidResolutionError, match="unreachable"):
        _resolver().authentication_keys(f"did:web:localhost%3A{_closed_port()}")
    assert time.monotonic() - started < 5


def test_silent_host_times_out_instead_of_hanging(black_hole: int) -> None:
    resolver = DidWebResolver(config=pki().client_config(), timeout=1.0)
    started = time.monotonic()
    with pytest.raises(DidResolutionError):
        resolver.authentication_keys(f"did:web:localhost%3A{black_hole}")
    assert time.monotonic() - started < 4


def test_refreshes_a_document_that_expires_within_fresh_for() -> None:
    now = [1000.0]
    resolver = _resolver(ttl=60.0, clock=lambda: now[0])
    with document_server({}) as server:
        did = f"did:web:{server.authority}"
        server.routes[WELL_KNOWN] = (200, json.dumps(did_document(did, _spki())).encode())
        resolver.authentication_keys(did)
        now[0] += 20  # 40 s left: fresh enough for 30, not for 50
        resolver.authentication_keys(did, fresh_for=30.0)
        assert server.hits[WELL_KNOWN] == 1
        resolver.authentication_keys(did, fresh_for=50.0)
        assert server.hits[WELL_KNOWN] == 2
