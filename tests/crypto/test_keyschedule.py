"""RFC 8446 §7 key schedule against RFC 5869 and RFC 8448 §3/§4."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from nautilus_tls.crypto.keyschedule import (
    KeySchedule,
    Stage,
    derive_secret,
    empty_hash,
    export_keying_material,
    finished_key,
    finished_verify_data,
    hash_len,
    hkdf_expand_label,
    hkdf_extract,
    hkdf_label,
    next_traffic_secret,
    resumption_psk,
    traffic_key_iv,
)
from nautilus_tls.crypto.provider import default_provider
from nautilus_tls.errors import LocalProtocolError
from nautilus_tls.wire.enums import CipherSuite

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from vectors import load_vector

SECTION3 = "rfc8448/section3_simple_1rtt_handshake.json"
SECTION4 = "rfc8448/section4_resumed_0rtt_handshake.json"


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def test_hkdf_extract_matches_rfc5869() -> None:
    vec = load_vector("rfc5869_hkdf.json")
    cases = [c for c in vec["test_cases"] if c["hash"] == "SHA-256"]
    assert len(cases) == 3
    for case in cases:
        assert hkdf_extract("sha256", h(case["salt"]), h(case["IKM"])).hex() == case["PRK"]


def test_hkdf_label_matches_worked_encodings() -> None:
    """Every worked HkdfLabel from RFC 8448/9001 (rfc8446_hkdf_label_facts.json)."""
    vec = load_vector("rfc8446_hkdf_label_facts.json")
    worked = vec["worked_encodings_verified"]
    assert len(worked) >= 20
    for item in worked:
        label = item["label"].encode()
        assert label.startswith(b"tls13 ")
        encoded = hkdf_label(label[6:], h(item["context_hex"]), int(item["length"]))
        assert encoded.hex() == item["hkdf_label_hex"], item["source"]
        assert len(encoded) == item["octets"]


def test_hkdf_label_layout() -> None:
    """RFC 8446 §7.1: HKDF-Expand-Label is HKDF-Expand over the HkdfLabel struct."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    secret = bytes(range(32))
    info = b"\x00\x10" + b"\x09tls13 key" + b"\x00"
    expected = HKDFExpand(hashes.SHA256(), 16, info).derive(secret)
    assert hkdf_expand_label("sha256", secret, b"key", b"", 16) == expected


def test_rejects_oversized_label_and_context() -> None:
    with pytest.raises(LocalProtocolError):
        hkdf_expand_label("sha256", bytes(32), b"x" * 250, b"", 32)
    with pytest.raises(LocalProtocolError):
        hkdf_expand_label("sha256", bytes(32), b"key", bytes(256), 32)
    with pytest.raises(LocalProtocolError):
        hkdf_expand_label("sha256", bytes(32), b"key", b"", 255 * 32 + 1)
    with pytest.raises(LocalProtocolError):
        hkdf_expand_label("md5", bytes(32), b"key", b"", 16)


def test_key_schedule_reproduces_rfc8448_simple_handshake() -> None:
    """RFC 8448 §3 end to end: every secret, key, IV and verify_data."""
    s = load_vector(SECTION3)["summary"]
    params = default_provider().suite_params(CipherSuite.TLS_AES_128_GCM_SHA256)
    assert params is not None
    ks = KeySchedule("sha256")
    assert ks.early_secret.hex() == s["early_secret"]
    assert ks.stage is Stage.EARLY

    ks.enter_handshake(h(s["ecdhe_shared_secret"]))
    assert ks.stage is Stage.HANDSHAKE
    th_hs = h(s["client_handshake_traffic_secret__transcript_hash"])
    c_hs, s_hs = ks.handshake_traffic_secrets(th_hs)
    assert c_hs.hex() == s["client_handshake_traffic_secret"]
    assert s_hs.hex() == s["server_handshake_traffic_secret"]
    assert traffic_key_iv(params, s_hs) == (
        h(s["server_handshake_write_key"]),
        h(s["server_handshake_write_iv"]),
    )
    assert traffic_key_iv(params, c_hs) == (
        h(s["client_handshake_write_key"]),
        h(s["client_handshake_write_iv"]),
    )
    assert finished_key("sha256", s_hs).hex() == s["server_finished_key"]
    assert finished_key("sha256", c_hs).hex() == s["client_finished_key"]

    ks.enter_master()
    assert ks.stage is Stage.MASTER
    th_ap = h(s["client_application_traffic_secret_0__transcript_hash"])
    c_ap, s_ap = ks.application_traffic_secrets(th_ap)
    assert c_ap.hex() == s["client_application_traffic_secret_0"]
    assert s_ap.hex() == s["server_application_traffic_secret_0"]
    assert traffic_key_iv(params, s_ap) == (
        h(s["server_application_write_key"]),
        h(s["server_application_write_iv"]),
    )
    assert traffic_key_iv(params, c_ap) == (
        h(s["client_application_write_key"]),
        h(s["client_application_write_iv"]),
    )
    assert ks.exporter_master_secret(th_ap).hex() == s["exporter_master_secret"]
    rms = ks.resumption_master_secret(h(s["resumption_master_secret__transcript_hash"]))
    assert rms.hex() == s["resumption_master_secret"]
    assert (
        resumption_psk("sha256", rms, h(s["ticket_nonce"])).hex() == s["resumption_psk_for_ticket"]
    )


def test_finished_verify_data_matches_rfc8448() -> None:
    """RFC 8448 §3: verify_data over the transcript up to CertificateVerify / server Finished."""
    s = load_vector(SECTION3)["summary"]
    hs = "".join(
        s[k] for k in ("ClientHello", "ServerHello", "EncryptedExtensions", "server_Certificate")
    )
    th_server = hashlib.sha256(h(hs + s["server_CertificateVerify"])).digest()
    verify = finished_verify_data("sha256", h(s["server_handshake_traffic_secret"]), th_server)
    assert verify.hex() == s["server_finished_verify_data"]
    th_client = hashlib.sha256(h(hs + s["server_CertificateVerify"] + s["server_Finished"]))
    verify = finished_verify_data(
        "sha256", h(s["client_handshake_traffic_secret"]), th_client.digest()
    )
    assert verify.hex() == s["client_finished_verify_data"]


def test_key_schedule_reproduces_rfc8448_resumption() -> None:
    """RFC 8448 §4: PSK early secret, binder, early traffic, early exporter, handshake."""
    s = load_vector(SECTION4)["summary"]
    ks = KeySchedule("sha256", psk=h(s["psk"]))
    assert ks.early_secret.hex() == s["early_secret"]
    binder_key = ks.binder_key(external=False)
    assert binder_key.hex() == s["binder_key"]
    assert finished_key("sha256", binder_key).hex() == s["binder_finished_key"]
    binder = finished_verify_data("sha256", binder_key, h(s["binder_hash"]))
    assert binder.hex() == s["binder"]
    th_ch = h(s["client_early_traffic_secret__transcript_hash"])
    assert ks.client_early_traffic_secret(th_ch).hex() == s["client_early_traffic_secret"]
    assert ks.early_exporter_master_secret(th_ch).hex() == s["early_exporter_master_secret"]
    ks.enter_handshake(h(s["ecdhe_shared_secret"]))
    c_hs, s_hs = ks.handshake_traffic_secrets(
        h(s["client_handshake_traffic_secret__transcript_hash"])
    )
    assert c_hs.hex() == s["client_handshake_traffic_secret"]
    assert s_hs.hex() == s["server_handshake_traffic_secret"]
    ks.enter_master()
    th = h(s["client_application_traffic_secret_0__transcript_hash"])
    assert ks.exporter_master_secret(th).hex() == s["exporter_master_secret"]


def test_external_binder_key_uses_ext_label() -> None:
    ks = KeySchedule("sha256", psk=bytes(32))
    expected = derive_secret("sha256", ks.early_secret, b"ext binder", empty_hash("sha256"))
    assert ks.binder_key(external=True) == expected
    assert ks.binder_key(external=False) != expected


def test_rejects_out_of_order_stages() -> None:
    ks = KeySchedule("sha256")
    with pytest.raises(LocalProtocolError):
        ks.handshake_traffic_secrets(bytes(32))
    with pytest.raises(LocalProtocolError):
        ks.enter_master()
    ks.enter_handshake(bytes(32))
    with pytest.raises(LocalProtocolError):
        ks.enter_handshake(bytes(32))
    with pytest.raises(LocalProtocolError):
        ks.binder_key(external=True)
    with pytest.raises(LocalProtocolError):
        ks.application_traffic_secrets(bytes(32))
    ks.enter_master()
    with pytest.raises(LocalProtocolError):
        ks.handshake_traffic_secrets(bytes(32))


def test_sha384_schedule_has_48_byte_secrets() -> None:
    ks = KeySchedule("sha384")
    assert len(ks.early_secret) == 48
    ks.enter_handshake(bytes(32))
    c, s = ks.handshake_traffic_secrets(empty_hash("sha384"))
    assert len(c) == len(s) == 48
    params = default_provider().suite_params(CipherSuite.TLS_AES_256_GCM_SHA384)
    assert params is not None
    key, iv = traffic_key_iv(params, c)
    assert (len(key), len(iv)) == (32, 12)


@pytest.mark.parametrize("hash_name", ["sha256", "sha384"])
def test_schedule_without_psk_equals_one_with_a_zero_psk(hash_name: str) -> None:
    # RFC 8446 §7.1: no PSK means a PSK of Hash.length zeros; the constant early stage taken
    # without a PSK must give the same secrets as the one derived from explicit zeros.
    shared, th = b"\x07" * 32, b"\x5a" * hash_len(hash_name)
    secrets = []
    for ks in (KeySchedule(hash_name), KeySchedule(hash_name, psk=bytes(hash_len(hash_name)))):
        early = ks.early_secret
        ks.enter_handshake(shared)
        hs = ks.handshake_traffic_secrets(th)
        ks.enter_master()
        secrets.append((early, hs, ks.application_traffic_secrets(th)))
    assert secrets[0] == secrets[1]


def test_next_traffic_secret_is_traffic_upd() -> None:
    secret = bytes(range(32))
    assert next_traffic_secret("sha256", secret) == hkdf_expand_label(
        "sha256", secret, b"traffic upd", b"", 32
    )


def test_exporter_follows_rfc8446_7_5() -> None:
    ems = bytes(range(32))
    inner = derive_secret("sha256", ems, b"EXPERIMENTAL label", empty_hash("sha256"))
    expected = hkdf_expand_label("sha256", inner, b"exporter", hashlib.sha256(b"ctx").digest(), 20)
    assert export_keying_material("sha256", ems, b"EXPERIMENTAL label", b"ctx", 20) == expected
    # No context and an empty context are the same in TLS 1.3.
    assert export_keying_material("sha256", ems, b"l", None, 16) == export_keying_material(
        "sha256", ems, b"l", b"", 16
    )


def test_repr_hides_secrets() -> None:
    psk = bytes.fromhex("4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3")
    ks = KeySchedule("sha256", psk=psk)
    text = repr(ks) + str(ks)
    assert ks.early_secret.hex() not in text
    assert psk.hex() not in text
    assert not hasattr(ks, "__dict__")
