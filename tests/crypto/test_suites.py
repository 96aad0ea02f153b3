"""Cipher suite table and AEAD glue (RFC 8446 §B.4, §5.2, §5.5)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nautilus_tls.crypto.keyschedule import traffic_key_iv
from nautilus_tls.crypto.provider import default_provider
from nautilus_tls.crypto.suites import SuiteParams, constant_time_equal, open_record
from nautilus_tls.wire.enums import CipherSuite, ContentType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vectors import load_vector

SECTION3 = "rfc8448/section3_simple_1rtt_handshake.json"
SUPPORTED_SUITES = tuple(CipherSuite(s.code) for s in default_provider().suite_infos())


def suite_params(suite: int) -> SuiteParams | None:
    return default_provider().suite_params(suite)


def _nonce(iv: bytes, seq: int) -> bytes:
    return bytes(a ^ b for a, b in zip(iv, seq.to_bytes(len(iv), "big"), strict=True))


@pytest.mark.parametrize(
    ("suite", "hash_name", "hash_len", "key_len"),
    [
        (CipherSuite.TLS_AES_128_GCM_SHA256, "sha256", 32, 16),
        (CipherSuite.TLS_AES_256_GCM_SHA384, "sha384", 48, 32),
        (CipherSuite.TLS_CHACHA20_POLY1305_SHA256, "sha256", 32, 32),
    ],
)
def test_suite_params_match_rfc8446(
    suite: CipherSuite, hash_name: str, hash_len: int, key_len: int
) -> None:
    params = suite_params(suite)
    assert params == SuiteParams(suite, hash_name, hash_len, key_len, 12)
    assert suite in SUPPORTED_SUITES
    assert params is not None and params.confidentiality_limit >= 1


@pytest.mark.parametrize(
    "value",
    [
        CipherSuite.TLS_AES_128_CCM_SHA256,
        CipherSuite.TLS_AES_128_CCM_8_SHA256,
        CipherSuite.TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
        0x0A0A,
        0xC02F,
    ],
)
def test_unsupported_suites_have_no_params(value: int) -> None:
    assert suite_params(value) is None


def test_aes_gcm_limit_is_below_rfc8446_bound() -> None:
    params = suite_params(CipherSuite.TLS_AES_128_GCM_SHA256)
    assert params is not None and params.confidentiality_limit <= int(2**24.5)


@pytest.mark.parametrize("suite", SUPPORTED_SUITES)
def test_round_trips_record_through_aead(suite: CipherSuite) -> None:
    params = suite_params(suite)
    assert params is not None
    aead = params.new_aead(bytes(range(params.key_len)))
    nonce = bytes(12)
    sealed = aead.encrypt(nonce, b"hello\x17", b"\x17\x03\x03\x00\x16")
    assert open_record(aead, nonce, sealed, b"\x17\x03\x03\x00\x16") == b"hello\x17"


@pytest.mark.parametrize("suite", SUPPORTED_SUITES)
def test_open_record_returns_none_on_tampering(suite: CipherSuite) -> None:
    params = suite_params(suite)
    assert params is not None
    aead = params.new_aead(bytes(params.key_len))
    nonce = bytes(12)
    sealed = bytearray(aead.encrypt(nonce, b"data", b"aad"))
    assert open_record(aead, nonce, bytes(sealed), b"aad!") is None
    sealed[0] ^= 1
    assert open_record(aead, nonce, bytes(sealed), b"aad") is None
    assert open_record(aead, nonce, b"short", b"aad") is None


def test_rejects_wrong_key_length() -> None:
    params = suite_params(CipherSuite.TLS_AES_128_GCM_SHA256)
    assert params is not None
    with pytest.raises(ValueError):
        params.new_aead(bytes(32))


def test_constant_time_equal() -> None:
    assert constant_time_equal(b"abc", b"abc")
    assert not constant_time_equal(b"abc", b"abd")
    assert not constant_time_equal(b"abc", b"ab")


def test_opens_every_protected_rfc8448_record() -> None:
    """RFC 8448 §3: each protected record opens under the key/IV derived from its secret."""
    vec = load_vector(SECTION3)
    summary = vec["summary"]
    params = suite_params(CipherSuite.TLS_AES_128_GCM_SHA256)
    assert params is not None
    secret_for = {
        "server_handshake": "server_handshake_traffic_secret",
        "client_handshake": "client_handshake_traffic_secret",
        "server_application": "server_application_traffic_secret_0",
        "client_application": "client_application_traffic_secret_0",
    }
    opened = 0
    for record in vec["records"]:
        if not record["protected_with"]:
            continue
        prefix = record["protected_with"].split("_write_key")[0]
        key, iv = traffic_key_iv(params, bytes.fromhex(summary[secret_for[prefix]]))
        assert key.hex() == summary[f"{prefix}_write_key"]
        assert iv.hex() == summary[f"{prefix}_write_iv"]
        wire = bytes.fromhex(record["complete_record"])
        plaintext = open_record(
            params.new_aead(key), _nonce(iv, record["sequence_number"]), wire[5:], wire[:5]
        )
        assert plaintext is not None
        inner_type = ContentType[record["content_type"]]
        assert plaintext == bytes.fromhex(record["payload"]) + bytes((inner_type,))
        opened += 1
    assert opened == 7
