"""RFC 8448 traces replayed through the real client and server (connection + handshake +
record layers), with the trace's randoms and private keys injected.

Client role: the trace's ClientHello is what our client sends (the hello builder is swapped
for one that returns the trace's bytes; the key shares still come from our KEM code with the
injected private keys). The server's records from the trace are fed in; every secret our
client derives (seen through the key log), and every record our client writes that does not
carry a fresh signature, must equal the trace byte for byte.

Server role: the trace's ClientHello is fed to our server with the trace's server random
and key; the ServerHello record and the handshake secrets must match. Later server records
cannot match: RSA-PSS signatures are randomized, so the CertificateVerify (and everything
hashed after it) differs by design.
"""

from __future__ import annotations

from typing import Any

import pytest
from vectors import load_vector

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.events import ConnectionClosed, DataReceived, SessionTicketReceived
from nautilus_tls.handshake import client as client_module
from nautilus_tls.wire.enums import CipherSuite, NamedGroup, SignatureScheme
from nautilus_tls.wire.messages import ClientHello, decode_handshake

SCHEMES = (
    SignatureScheme.ecdsa_secp256r1_sha256,
    SignatureScheme.ecdsa_secp384r1_sha384,
    SignatureScheme.rsa_pss_rsae_sha256,
    SignatureScheme.rsa_pss_rsae_sha384,
    SignatureScheme.rsa_pss_rsae_sha512,
    SignatureScheme.ed25519,
)


class TraceEntropy:
    """Hands out the trace's random values and private keys in the order the code asks."""

    def __init__(self, randoms: list[bytes], keys: dict[int, list[bytes]]) -> None:
        self._randoms = list(randoms)
        self._keys = {g: list(v) for g, v in keys.items()}

    def random_bytes(self, n: int) -> bytes:
        value = self._randoms.pop(0)
        assert len(value) == n
        return value

    def private_key_for(self, group: int) -> bytes | None:
        return self._keys[group].pop(0)


def _h(value: str) -> bytes:
    return bytes.fromhex(value)


def _client_hello(raw_hex: str) -> ClientHello:
    raw = _h(raw_hex)
    msg = decode_handshake(raw[0], raw[4:])
    assert isinstance(msg, ClientHello)
    return msg


def _records(trace: dict[str, Any], sender: str) -> list[dict[str, Any]]:
    return [r for r in trace["records"] if r["sender"] == sender]


def _replay_client(
    trace: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    *,
    hellos: list[str],
    keys: dict[int, list[bytes]],
    groups: tuple[int, ...],
    compat: bool,
) -> tuple[ClientConnection, list[str], list[bytes]]:
    summary = trace["summary"]
    scripted = [_client_hello(summary[name]) for name in hellos]
    monkeypatch.setattr(client_module, "_client_hello", lambda *a, **k: scripted.pop(0))
    first = scripted[0]
    randoms = [first.random] + ([first.legacy_session_id] if compat else [])
    lines: list[str] = []
    config = ClientConfig(
        groups=groups,
        key_share_groups=(groups[0],),
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
        signature_schemes=SCHEMES,
        insecure_skip_verify=True,  # the trace's certificates have no SAN and have expired
        middlebox_compatibility=compat,
        keylog_callback=lines.append,
        keylog_file=None,
    )
    client = ClientConnection(config, "server", entropy=TraceEntropy(randoms, keys))
    client.start()
    written = [client.data_to_send()]
    for record in _records(trace, "server"):
        if record["content_type"] == "alert":
            continue
        client.receive_data(_h(record["complete_record"]))
        out = client.data_to_send()
        if out:
            written.append(out)
    return client, lines, written


def _secrets(lines: list[str]) -> dict[str, str]:
    return {line.split()[0]: line.split()[2] for line in lines}


def _check_secrets(lines: list[str], summary: dict[str, str]) -> None:
    secrets = _secrets(lines)
    assert secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"] == summary["client_handshake_traffic_secret"]
    assert secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"] == summary["server_handshake_traffic_secret"]
    assert secrets["CLIENT_TRAFFIC_SECRET_0"] == summary["client_application_traffic_secret_0"]
    assert secrets["SERVER_TRAFFIC_SECRET_0"] == summary["server_application_traffic_secret_0"]
    assert secrets["EXPORTER_SECRET"] == summary["exporter_master_secret"]


def test_section3_client_reproduces_every_secret_and_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trace = load_vector("rfc8448/section3_simple_1rtt_handshake.json")
    summary = trace["summary"]
    client, lines, written = _replay_client(
        trace,
        monkeypatch,
        hellos=["ClientHello"],
        keys={NamedGroup.x25519: [_h(summary["client_x25519_private_key"])]},
        groups=(NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1),
        compat=False,
    )
    ours = _records(trace, "client")
    assert written[0] == _h(ours[0]["complete_record"])  # ClientHello record (0x0301)
    assert written[1] == _h(ours[1]["complete_record"])  # {Finished}
    _check_secrets(lines, summary)
    assert client.info is not None and client.info.signature_scheme == "rsa_pss_rsae_sha256"

    events = []
    while (e := client.next_event()) is not None:
        events.append(e)
    assert any(isinstance(e, SessionTicketReceived) for e in events)

    app = next(r for r in ours if r["content_type"] == "application_data")
    client.send_data(_h(app["payload"]))
    assert client.data_to_send() == _h(app["complete_record"])
    server_app = next(
        r for r in _records(trace, "server") if r["content_type"] == "application_data"
    )
    assert [e for e in events if isinstance(e, DataReceived)] == [
        DataReceived(data=_h(server_app["payload"]))
    ]

    client.close()
    alert = next(r for r in ours if r["content_type"] == "alert")
    assert client.data_to_send() == _h(alert["complete_record"])
    server_alert = next(r for r in _records(trace, "server") if r["content_type"] == "alert")
    client.receive_data(_h(server_alert["complete_record"]))
    assert client.next_event() == ConnectionClosed(clean=True)
    assert client.state == "closed"


def test_section5_hello_retry_client(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = load_vector("rfc8448/section5_hello_retry_request.json")
    summary = trace["summary"]
    client, lines, written = _replay_client(
        trace,
        monkeypatch,
        hellos=["ClientHello1", "ClientHello2"],
        keys={
            NamedGroup.x25519: [_h(summary["client_x25519_private_key"])],
            NamedGroup.secp256r1: [_h(summary["client_p256_private_key"])],
        },
        groups=(NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1),
        compat=False,
    )
    ours = [r for r in _records(trace, "client") if r["content_type"] != "alert"]
    assert written == [_h(r["complete_record"]) for r in ours]
    _check_secrets(lines, summary)
    assert client.info is not None and client.info.hello_retry and client.info.group == "secp256r1"


def test_section6_client_authentication_with_empty_client_certificate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The trace's client RSA key is not published, so our client answers the
    # CertificateRequest with an empty Certificate: every secret up to the application
    # traffic secrets still has to match, and the flight has to be well formed.
    trace = load_vector("rfc8448/section6_client_authentication.json")
    summary = trace["summary"]
    client, lines, written = _replay_client(
        trace,
        monkeypatch,
        hellos=["ClientHello"],
        keys={NamedGroup.x25519: [_h(summary["client_x25519_private_key"])]},
        groups=(NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1),
        compat=False,
    )
    assert written[0] == _h(_records(trace, "client")[0]["complete_record"])
    _check_secrets(lines, summary)
    assert client.info is not None and client.info.signature_scheme == "ecdsa_secp256r1_sha256"
    assert client.info.client_certificate_scheme is None


def test_section7_compatibility_mode_client(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = load_vector("rfc8448/section7_compatibility_mode.json")
    summary = trace["summary"]
    _client, lines, written = _replay_client(
        trace,
        monkeypatch,
        hellos=["ClientHello"],
        keys={NamedGroup.x25519: [_h(summary["client_x25519_private_key"])]},
        groups=(NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1),
        compat=True,
    )
    ours = [r for r in _records(trace, "client") if r["content_type"] != "alert"]
    # ClientHello, then CCS + {Finished} written together.
    assert written == [
        _h(ours[0]["complete_record"]),
        _h(ours[1]["complete_record"]) + _h(ours[2]["complete_record"]),
    ]
    _check_secrets(lines, summary)


def _rsa_server_config(lines: list[str]) -> ServerConfig:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key_data = load_vector("rfc8448/section2_server_rsa_private_key.json")
    k = key_data["rsa_private_key"]

    def n(name: str) -> int:
        return int(k[name], 16)

    public = rsa.RSAPublicNumbers(n("public exponent"), n("modulus (public)"))
    private = rsa.RSAPrivateNumbers(
        n("prime1"),
        n("prime2"),
        n("private exponent"),
        n("exponent1"),
        n("exponent2"),
        n("coefficient"),
        public,
    ).private_key()
    return ServerConfig(
        certificates=(
            CertifiedKey(chain=(_h(key_data["server_certificate_der"]),), private_key=private),
        ),
        groups=(NamedGroup.x25519, NamedGroup.secp256r1),
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
        keylog_callback=lines.append,
        keylog_file=None,
    )


def test_section3_server_reproduces_server_hello_and_handshake_secrets() -> None:
    trace = load_vector("rfc8448/section3_simple_1rtt_handshake.json")
    summary = trace["summary"]
    lines: list[str] = []
    entropy = TraceEntropy(
        [_h(summary["ServerHello"])[6:38]],
        {NamedGroup.x25519: [_h(summary["server_x25519_private_key"])]},
    )
    server = ServerConnection(_rsa_server_config(lines), entropy=entropy)
    server.receive_data(_h(_records(trace, "client")[0]["complete_record"]))
    out = server.data_to_send()
    sh_record = _h(_records(trace, "server")[0]["complete_record"])
    assert out.startswith(sh_record)
    secrets = _secrets(lines)
    assert secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"] == summary["client_handshake_traffic_secret"]
    assert secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"] == summary["server_handshake_traffic_secret"]


def test_section4_resumed_0rtt_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """§4: the §3 ticket resumed with 0-RTT data. Our binder, early data record,
    EndOfEarlyData and Finished records must equal the trace byte for byte."""
    from nautilus_tls.session.client_store import ClientTicket, MemorySessionStore, session_key

    first = load_vector("rfc8448/section3_simple_1rtt_handshake.json")["summary"]
    trace = load_vector("rfc8448/section4_resumed_0rtt_handshake.json")
    summary = trace["summary"]
    nst = decode_handshake(_h(first["NewSessionTicket"])[0], _h(first["NewSessionTicket"])[4:])
    hello = _client_hello(summary["ClientHello"])
    monkeypatch.setattr(client_module, "_client_hello", lambda *a, **k: hello)
    store = MemorySessionStore()
    store.put(
        session_key("server", alpn=()),
        ClientTicket(
            ticket=nst.ticket,  # type: ignore[union-attr]
            psk=_h(summary["psk"]),
            suite=CipherSuite.TLS_AES_128_GCM_SHA256,
            lifetime=30,
            age_add=0xFAD6AAC5,
            received_at=1_000_000.0,
            max_early_data=0x400,
            server_name="server",
            alpn=None,
        ),
    )
    lines: list[str] = []
    config = ClientConfig(
        groups=(NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1),
        key_share_groups=(NamedGroup.x25519,),
        cipher_suites=(CipherSuite.TLS_AES_128_GCM_SHA256,),
        signature_schemes=SCHEMES,
        insecure_skip_verify=True,
        middlebox_compatibility=False,
        keylog_callback=lines.append,
        keylog_file=None,
        session_store=store,
    )
    client_records = _records(trace, "client")
    early_payload = _h(client_records[1]["payload"])
    entropy = TraceEntropy(
        [hello.random], {NamedGroup.x25519: [_h(summary["client_x25519_private_key"])]}
    )
    client = ClientConnection(
        config, "server", early_data=early_payload, entropy=entropy, clock=lambda: 1_000_001.0
    )
    client.start()
    assert client.data_to_send() == _h(client_records[0]["complete_record"]) + _h(
        client_records[1]["complete_record"]
    )
    secrets = _secrets(lines)
    assert secrets["CLIENT_EARLY_TRAFFIC_SECRET"] == summary["client_early_traffic_secret"]

    written = b""
    for record in _records(trace, "server"):
        if record["content_type"] in ("alert", "application_data"):
            continue
        client.receive_data(_h(record["complete_record"]))
        written += client.data_to_send()
    # {EndOfEarlyData} under the early key, then {Finished} under the handshake key.
    assert written == _h(client_records[2]["complete_record"]) + _h(
        client_records[3]["complete_record"]
    )
    _check_secrets(lines, summary)
    info = client.info
    assert info is not None and info.resumed and info.early_data == "accepted"
    assert info.signature_scheme is None

    app = next(
        r
        for r in client_records
        if r["content_type"] == "application_data"
        and r["protected_with"].startswith("client_application")
    )
    client.send_data(_h(app["payload"]))
    assert client.data_to_send() == _h(app["complete_record"])
