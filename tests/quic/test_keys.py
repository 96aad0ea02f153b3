"""RFC 9001 packet protection keys reproduce Appendix A byte for byte, and agree with
aioquic's own packet protection (the transport our QUIC runs on)."""

from __future__ import annotations

from typing import Any

import pytest
from vectors import load_vector

from nautilus_tls.crypto.suites import CHACHA20_POLY1305_SHA256
from nautilus_tls.errors import DecodeError
from nautilus_tls.quic import keys

V: dict[str, Any] = load_vector("rfc9001_appendix_a.json")
A1 = V["A.1_keys"]


def _h(value: str) -> bytes:
    return bytes.fromhex(value)


def test_derives_the_appendix_a1_initial_secrets_keys_ivs_and_hp_keys() -> None:
    client_secret, server_secret = keys.initial_secrets(_h(V["client_dcid"]))
    assert client_secret.hex() == A1["client_initial_secret"]
    assert server_secret.hex() == A1["server_initial_secret"]
    client, server = keys.initial_keys(_h(V["client_dcid"]))
    assert (client.key.hex(), client.iv.hex(), client.hp.hex()) == (
        A1["client_key"],
        A1["client_iv"],
        A1["client_hp"],
    )
    assert (server.key.hex(), server.iv.hex(), server.hp.hex()) == (
        A1["server_key"],
        A1["server_iv"],
        A1["server_hp"],
    )


@pytest.mark.parametrize(("name", "side"), [("A.2_client_initial", 0), ("A.3_server_initial", 1)])
def test_protects_the_appendix_initial_packets_byte_for_byte(name: str, side: int) -> None:
    case = V[name]
    packet_keys = keys.initial_keys(_h(V["client_dcid"]))[side]
    header, payload = _h(case["unprotected_header"]), _h(case["payload_plaintext"])
    protected = keys.protect(packet_keys, header, case["packet_number"], payload)
    assert protected.hex() == case["protected_packet"]
    sample_at = len(header) - case["packet_number_length"] + 4
    sample = protected[sample_at : sample_at + 16]
    assert sample.hex() == case["sample"]
    assert keys.header_protection_mask(packet_keys, sample).hex() == case["mask"]
    assert protected[: len(header)].hex() == case["protected_header"]


@pytest.mark.parametrize(("name", "side"), [("A.2_client_initial", 0), ("A.3_server_initial", 1)])
def test_opens_the_appendix_initial_packets(name: str, side: int) -> None:
    case = V[name]
    packet_keys = keys.initial_keys(_h(V["client_dcid"]))[side]
    header = _h(case["unprotected_header"])
    pn_offset = len(header) - case["packet_number_length"]
    opened = keys.unprotect(packet_keys, _h(case["protected_packet"]), pn_offset)
    assert opened.header == header
    assert opened.packet_number == case["packet_number"]
    assert opened.payload == _h(case["payload_plaintext"])


def test_drops_a_tampered_packet_as_not_authenticating() -> None:
    case = V["A.3_server_initial"]
    packet_keys = keys.initial_keys(_h(V["client_dcid"]))[1]
    tampered = bytearray(_h(case["protected_packet"]))
    tampered[-1] ^= 1
    with pytest.raises(DecodeError, match="authenticate"):
        keys.unprotect(packet_keys, bytes(tampered), 18)


def test_uses_the_other_side_initial_keys_only_for_that_side() -> None:
    case = V["A.2_client_initial"]
    server_keys = keys.initial_keys(_h(V["client_dcid"]))[1]
    with pytest.raises(DecodeError):
        keys.unprotect(server_keys, _h(case["protected_packet"]), 18)


def test_reproduces_the_appendix_a4_retry_integrity_tag() -> None:
    case = V["A.4_retry"]
    retry = _h(case["retry_packet"])
    tag = keys.retry_integrity_tag(_h(case["original_destination_connection_id"]), retry[:-16])
    assert tag.hex() == case["retry_integrity_tag"] == retry[-16:].hex()


def test_reproduces_the_appendix_a5_chacha20_short_header_packet() -> None:
    case = V["A.5_chacha20_poly1305_short_header"]
    packet_keys = keys.packet_keys(CHACHA20_POLY1305_SHA256, _h(case["secret"]))
    assert (packet_keys.key.hex(), packet_keys.iv.hex(), packet_keys.hp.hex()) == (
        case["key"],
        case["iv"],
        case["hp"],
    )
    assert keys.next_secret(CHACHA20_POLY1305_SHA256, _h(case["secret"])).hex() == case["ku"]
    protected = keys.protect(
        packet_keys, _h(case["unprotected_header"]), case["packet_number"], _h("01")
    )
    assert protected.hex() == case["protected_packet"]
    # The 3-byte encoded packet number 0xbff4 expands to 654360564 next to its neighbours.
    opened = keys.unprotect(packet_keys, protected, 1, largest_received=case["packet_number"] - 1)
    assert opened.packet_number == case["packet_number"]
    assert opened.payload == b"\x01"


def test_decodes_the_rfc9000_appendix_a3_packet_number_example() -> None:
    # RFC 9000 A.3: largest 0xa82f30ea, 2-byte 0x9b32 -> 0xa82f9b32.
    assert keys.decode_packet_number(0x9B32, 2, 0xA82F30EA) == 0xA82F9B32


def test_header_protection_never_prints_key_material() -> None:
    packet_keys = keys.initial_keys(_h(V["client_dcid"]))[0]
    assert A1["client_key"] not in repr(packet_keys)
    assert A1["client_hp"] not in repr(packet_keys)


def test_agrees_with_aioquic_packet_protection_for_the_initial_packets() -> None:
    from aioquic.quic.crypto import CryptoPair

    dcid = _h(V["client_dcid"])
    case = V["A.2_client_initial"]
    pair = CryptoPair()
    pair.setup_initial(cid=dcid, is_client=True, version=1)
    header, payload = _h(case["unprotected_header"]), _h(case["payload_plaintext"])
    theirs = pair.encrypt_packet(header, payload, case["packet_number"])
    ours = keys.protect(keys.initial_keys(dcid)[0], header, case["packet_number"], payload)
    assert ours == theirs
