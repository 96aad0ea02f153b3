"""Transcript hash against RFC 8448 §3 (1-RTT), §4 (binder) and §5 (HelloRetryRequest)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from nautilus_tls.crypto.transcript import Transcript, message_hash
from nautilus_tls.errors import LocalProtocolError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vectors import load_vector

SECTION3 = "rfc8448/section3_simple_1rtt_handshake.json"
SECTION4 = "rfc8448/section4_resumed_0rtt_handshake.json"
SECTION5 = "rfc8448/section5_hello_retry_request.json"


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def test_transcript_matches_rfc8448_simple_handshake() -> None:
    s = load_vector(SECTION3)["summary"]
    t = Transcript("sha256")
    t.update(h(s["ClientHello"]))
    t.update(h(s["ServerHello"]))
    assert t.digest().hex() == s["client_handshake_traffic_secret__transcript_hash"]
    # digest() does not finalize: asking twice gives the same answer.
    assert t.digest().hex() == s["server_handshake_traffic_secret__transcript_hash"]
    for name in ("EncryptedExtensions", "server_Certificate", "server_CertificateVerify"):
        t.update(h(s[name]))
    # The server Finished covers everything before it.
    assert (
        t.hash_of(h(s["server_Finished"])).hex()
        == (s["client_application_traffic_secret_0__transcript_hash"])
    )
    t.update(h(s["server_Finished"]))
    assert t.digest().hex() == s["client_application_traffic_secret_0__transcript_hash"]
    t.update(h(s["client_Finished"]))
    assert t.digest().hex() == s["resumption_master_secret__transcript_hash"]
    assert t.message_count == 7


def test_from_messages_equals_updates() -> None:
    s = load_vector(SECTION3)["summary"]
    buffered = [h(s["ClientHello"]), memoryview(h(s["ServerHello"]))]
    t = Transcript.from_messages("sha256", buffered)
    assert t.digest().hex() == s["client_handshake_traffic_secret__transcript_hash"]


def test_hash_of_computes_binder_hash() -> None:
    """RFC 8448 §4: the binder hash is over the ClientHello truncated before the binders."""
    s = load_vector(SECTION4)["summary"]
    t = Transcript("sha256")
    assert t.hash_of(h(s["ClientHello_prefix_without_binders"])).hex() == s["binder_hash"]
    assert t.message_count == 0
    assert t.digest() == hashlib.sha256().digest()


def test_hello_retry_rewrite_matches_rfc8448_section5() -> None:
    s = load_vector(SECTION5)["summary"]
    t = Transcript("sha256")
    t.update(h(s["ClientHello1"]))
    t.rewrite_for_hello_retry()
    for name in ("HelloRetryRequest", "ClientHello2", "ServerHello"):
        t.update(h(s[name]))
    assert t.digest().hex() == s["client_handshake_traffic_secret__transcript_hash"]
    for name in (
        "EncryptedExtensions",
        "server_Certificate",
        "server_CertificateVerify",
        "server_Finished",
    ):
        t.update(h(s[name]))
    assert t.digest().hex() == s["client_application_traffic_secret_0__transcript_hash"]
    t.update(h(s["client_Finished"]))
    assert t.digest().hex() == s["resumption_master_secret__transcript_hash"]


def test_message_hash_layout() -> None:
    ch1 = b"\x01\x00\x00\x02ab"
    digest = hashlib.sha384(ch1).digest()
    assert message_hash("sha384", digest) == b"\xfe\x00\x00\x30" + digest
    t = Transcript("sha384")
    t.update(ch1)
    t.rewrite_for_hello_retry()
    assert t.digest() == hashlib.sha384(message_hash("sha384", digest)).digest()
    with pytest.raises(LocalProtocolError):
        message_hash("sha256", digest)


def test_rejects_rewrite_unless_only_client_hello() -> None:
    t = Transcript("sha256")
    with pytest.raises(LocalProtocolError):
        t.rewrite_for_hello_retry()
    t.update(b"\x01\x00\x00\x00")
    t.update(b"\x02\x00\x00\x00")
    with pytest.raises(LocalProtocolError):
        t.rewrite_for_hello_retry()


def test_rejects_unknown_hash() -> None:
    with pytest.raises(LocalProtocolError):
        Transcript("md5")


def test_copy_is_independent() -> None:
    t = Transcript("sha256")
    t.update(b"\x01\x00\x00\x00")
    c = t.copy()
    c.update(b"\x02\x00\x00\x00")
    assert t.digest() != c.digest()
    assert t.message_count == 1
    assert c.message_count == 2
