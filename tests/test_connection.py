"""The sans-I/O connection over in-memory pairs: handshakes, data, KeyUpdate, close, alerts."""

from __future__ import annotations

from pathlib import Path

import pytest
from certificates import CLIENT_NAME, pki
from pairs import client_config, drain, handshake, pump, server_config

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.crypto.x509 import TrustStore, X509Profile
from nautilus_tls.errors import (
    AlertDescription,
    BadCertificate,
    ConfigError,
    MissingCloseNotify,
    ProtocolError,
    RemoteProtocolError,
)
from nautilus_tls.events import ConnectionClosed, DataReceived, HandshakeCompleted, KeyUpdated
from nautilus_tls.wire.enums import CipherSuite, NamedGroup


def test_default_handshake_is_hybrid_post_quantum_with_mldsa() -> None:
    client, server = handshake(client_config(), server_config())
    assert client.handshake_complete and server.handshake_complete
    info = client.info
    assert info is not None
    assert info.group == "X25519MLKEM768"
    assert info.signature_scheme == "mldsa65"
    assert info.cipher_suite == "TLS_AES_256_GCM_SHA384"
    assert (
        info.peer_certificate_subject is not None and "localhost" in info.peer_certificate_subject
    )
    assert not info.hello_retry
    assert any(isinstance(e, HandshakeCompleted) for e in drain(client))
    assert any(isinstance(e, HandshakeCompleted) for e in drain(server))


def test_application_data_flows_both_ways() -> None:
    client, server = handshake(client_config(), server_config())
    drain(client), drain(server)
    client.send_data(b"ping")
    pump(client, server)
    assert [e.data for e in drain(server) if isinstance(e, DataReceived)] == [b"ping"]
    big = bytes(range(256)) * 300  # spans several records
    server.send_data(big)
    pump(client, server)
    got = b"".join(e.data for e in drain(client) if isinstance(e, DataReceived))
    assert got == big


def test_data_to_send_buffer_hands_over_a_bulk_write_without_copying_it() -> None:
    client, server = handshake(client_config(), server_config())
    drain(client), drain(server)
    assert client.data_to_send_buffer() == b""
    big = bytes(range(256)) * 300  # several records: sealed into one bytearray
    client.send_data(big)
    first = client.data_to_send_buffer()
    assert type(first) is bytearray
    client.send_data(b"small")
    second = client.data_to_send_buffer()
    assert second is not first  # a fresh buffer each time: the first is the caller's now
    server.receive_data(bytes(first))
    server.receive_data(bytes(second))
    got = b"".join(e.data for e in drain(server) if isinstance(e, DataReceived))
    assert got == big + b"small"
    first[:] = b"\x00" * len(first)  # the caller may reuse what it was given
    client.send_data(b"after")
    server.receive_data(client.data_to_send())
    assert [e.data for e in drain(server) if isinstance(e, DataReceived)] == [b"after"]


def test_a_key_update_inside_one_read_switches_keys_between_records() -> None:
    # Data, KeyUpdate and more data in one read: the run of records is opened up to the
    # KeyUpdate, which installs the next key for the records after it.
    client, server = handshake(client_config(), server_config())
    drain(client), drain(server)
    before, after = bytes(40_000), b"y" * 40_000
    client.send_data(before)
    client.request_key_update(request_peer=False)
    client.send_data(after)
    server.receive_data(client.data_to_send())
    events = drain(server)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["DataReceived", "KeyUpdated", "DataReceived"], kinds
    assert [e.data for e in events if isinstance(e, DataReceived)] == [before, after]


def test_key_update_requested_by_client_ratchets_both_directions() -> None:
    client, server = handshake(client_config(), server_config())
    drain(client), drain(server)
    client.request_key_update(request_peer=True)
    pump(client, server)
    server_events = drain(server)
    assert KeyUpdated(direction="receive", requested_by_peer=False) in server_events
    assert KeyUpdated(direction="send", requested_by_peer=True) in server_events
    client.send_data(b"after update")
    server.send_data(b"reply")
    pump(client, server)
    assert [e.data for e in drain(server) if isinstance(e, DataReceived)] == [b"after update"]
    assert [e.data for e in drain(client) if isinstance(e, DataReceived)] == [b"reply"]


def test_exporters_agree() -> None:
    client, server = handshake(client_config(), server_config())
    for ctx in (None, b"", b"context"):
        a = client.export_keying_material(b"EXPERIMENTAL-test", ctx, 32)
        b = server.export_keying_material(b"EXPERIMENTAL-test", ctx, 32)
        assert a == b and len(a) == 32
    # RFC 8446 §7.5: in TLS 1.3 no context computes the same value as an empty context.
    assert client.export_keying_material(b"x", None, 16) == client.export_keying_material(
        b"x", b"", 16
    )
    assert client.export_keying_material(b"x", b"a", 16) != client.export_keying_material(
        b"y", b"a", 16
    )


def test_close_notify_is_clean_both_ways() -> None:
    client, server = handshake(client_config(), server_config())
    drain(client), drain(server)
    client.close()
    pump(client, server)
    assert ConnectionClosed(clean=True) in drain(server)
    server.close()
    pump(client, server)
    assert ConnectionClosed(clean=True) in drain(client)
    assert client.state == "closed" and server.state == "closed"


def test_eof_without_close_notify_is_reported_as_truncation() -> None:
    client, _server = handshake(client_config(), server_config())
    drain(client)
    client.receive_data(b"")
    closed = [e for e in drain(client) if isinstance(e, ConnectionClosed)]
    assert closed and not closed[0].clean and "truncation" in (closed[0].error or "")


def test_eof_without_close_notify_names_no_alert() -> None:
    client, _server = handshake(client_config(), server_config())
    client.receive_data(b"")
    assert isinstance(client.error, MissingCloseNotify)
    assert "close_notify" in str(client.error) and "(alert:" not in str(client.error)


def test_ragged_eof_allow_ends_the_stream_cleanly_after_whole_records() -> None:
    client, server = handshake(client_config(ragged_eof="allow"), server_config())
    drain(client)
    server.send_data(b"last words")
    client.receive_data(server.data_to_send())
    client.receive_data(b"")  # TCP FIN, no close_notify
    assert drain(client) == [DataReceived(data=b"last words"), ConnectionClosed(clean=True)]
    assert client.error is None and client.peer_closed
    client.close()
    assert client.state == "closed"


def test_ragged_eof_allow_still_rejects_a_cut_off_record() -> None:
    client, server = handshake(client_config(ragged_eof="allow"), server_config())
    drain(client)
    server.send_data(b"cut off")
    client.receive_data(server.data_to_send()[:-3])
    client.receive_data(b"")
    assert isinstance(client.error, MissingCloseNotify)
    assert "middle of a record" in str(client.error)


def test_ragged_eof_allow_does_not_end_a_handshake_cleanly() -> None:
    client = ClientConnection(client_config(ragged_eof="allow"), "localhost")
    client.start()
    client.receive_data(b"")
    assert isinstance(client.error, MissingCloseNotify)


def test_rejects_unknown_ragged_eof_setting() -> None:
    with pytest.raises(ConfigError, match="ragged_eof"):
        server_config(ragged_eof="ignore")


def test_hello_retry_when_client_share_is_not_servers_choice() -> None:
    cfg = client_config(key_share_groups=(NamedGroup.x25519,))
    client, server = handshake(cfg, server_config())
    assert client.info is not None and client.info.hello_retry
    assert client.info.group == "X25519MLKEM768"
    assert server.info is not None and server.info.hello_retry


def test_classical_share_accepted_when_server_has_no_pq_preference() -> None:
    cfg = client_config(key_share_groups=(NamedGroup.x25519,))
    client, _ = handshake(cfg, server_config(prefer_post_quantum=False))
    assert client.info is not None and not client.info.hello_retry and client.info.group == "x25519"


def test_hello_retry_without_compatibility_mode() -> None:
    cfg = client_config(key_share_groups=(NamedGroup.secp256r1,), middlebox_compatibility=False)
    client, _ = handshake(
        cfg, server_config(groups=(NamedGroup.SecP256r1MLKEM768, NamedGroup.secp256r1))
    )
    assert client.info is not None and client.info.group == "SecP256r1MLKEM768"


def test_alpn_negotiated_and_mismatch_gets_no_application_protocol() -> None:
    client, server = handshake(
        client_config(alpn_protocols=(b"h2", b"http/1.1")),
        server_config(alpn_protocols=(b"http/1.1",)),
    )
    assert client.info is not None and client.info.alpn == "http/1.1"
    client = ClientConnection(client_config(alpn_protocols=(b"h2",)), "localhost")
    server = ServerConnection(server_config(alpn_protocols=(b"http/1.1",)))
    client.start()
    with pytest.raises(ProtocolError) as err:
        server.receive_data(client.data_to_send())
    assert err.value.alert == AlertDescription.no_application_protocol
    with pytest.raises(ProtocolError) as err2:
        client.receive_data(server.data_to_send())
    assert isinstance(err2.value, RemoteProtocolError)


def test_mutual_tls_required_and_provided() -> None:
    p = pki()
    cfg = client_config(client_certificate=p.client)
    _client, server = handshake(
        cfg, server_config(client_auth="require", client_trust_store=p.store)
    )
    assert server.info is not None
    assert (
        server.info.peer_certificate_subject is not None
        and CLIENT_NAME in server.info.peer_certificate_subject
    )
    assert server.info.client_certificate_scheme == "mldsa65"


def _openssl_client(pki_dir: Path, profile: X509Profile = "webpki") -> ClientConfig:
    """A client over the openssl-made PKI (RSA-2048; CA without keyUsage; leaf without SAN)."""
    return ClientConfig(
        trust_store=TrustStore.from_file(pki_dir / "ca.pem"),
        client_certificate=CertifiedKey.from_files(
            pki_dir / "client_nosan.pem", pki_dir / "client_nosan.key"
        ),
        x509_profile=profile,
    )


def _openssl_server(pki_dir: Path, profile: X509Profile = "webpki") -> ServerConfig:
    return ServerConfig(
        certificates=(CertifiedKey.from_files(pki_dir / "server.pem", pki_dir / "server.key"),),
        client_auth="require",
        client_trust_store=TrustStore.from_file(pki_dir / "ca.pem"),
        x509_profile=profile,
    )


def test_mutual_tls_with_openssl_private_pki_reports_subject_and_names(
    openssl_pki: Path,
) -> None:
    client, server = handshake(
        _openssl_client(openssl_pki, "private"), _openssl_server(openssl_pki, "private")
    )
    assert server.info is not None and client.info is not None
    # The client certificate has no subjectAltName: its subject DN is its identity.
    assert server.info.peer_certificate_subject == "CN=client"
    assert server.info.peer_certificate_names == ()
    assert client.info.peer_certificate_subject == "CN=localhost"
    assert client.info.peer_certificate_names == ("localhost", "127.0.0.1")
    assert client.info.as_dict()["peer_certificate_names"] == ["localhost", "127.0.0.1"]


def test_rejects_openssl_default_ca_by_default_with_the_option_named(openssl_pki: Path) -> None:
    client = ClientConnection(_openssl_client(openssl_pki), "localhost")
    server = ServerConnection(_openssl_server(openssl_pki, "private"))
    client.start()
    with pytest.raises(BadCertificate, match=r"'CN=ca'.*--x509-profile private") as err:
        pump(client, server)
    assert err.value.alert == AlertDescription.bad_certificate


def test_rejects_unknown_x509_profile() -> None:
    with pytest.raises(ConfigError, match="x509_profile"):
        client_config(x509_profile="lenient")
    with pytest.raises(ConfigError, match="x509_profile"):
        server_config(x509_profile="lenient")


def test_mutual_tls_required_but_missing_gets_certificate_required() -> None:
    p = pki()
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(server_config(client_auth="require", client_trust_store=p.store))
    client.start()
    with pytest.raises(ProtocolError) as err:
        pump(client, server)
    assert err.value.alert == AlertDescription.certificate_required


def test_mutual_tls_requested_but_missing_is_allowed() -> None:
    p = pki()
    _client, server = handshake(
        client_config(), server_config(client_auth="request", client_trust_store=p.store)
    )
    assert server.info is not None and server.info.peer_certificate_subject is None


def test_wrong_server_name_is_rejected_with_bad_certificate() -> None:
    client = ClientConnection(client_config(), "not-localhost.example")
    server = ServerConnection(server_config())
    client.start()
    with pytest.raises(BadCertificate) as err:
        pump(client, server)
    assert err.value.alert == AlertDescription.bad_certificate


def test_unknown_ca_is_rejected() -> None:
    client = ClientConnection(client_config("ed25519"), "localhost")
    server = ServerConnection(server_config("mldsa65"))
    client.start()
    with pytest.raises(BadCertificate) as err:
        pump(client, server)
    assert err.value.alert == AlertDescription.unknown_ca


@pytest.mark.parametrize(
    "suite", [CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256]
)
def test_each_suite(suite: CipherSuite) -> None:
    client, _ = handshake(client_config(cipher_suites=(suite,)), server_config())
    assert client.info is not None and client.info.cipher_suite == suite.name


def test_sender_updates_keys_automatically_before_the_aead_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nautilus_tls.record import protection

    client, server = handshake(client_config(), server_config())
    drain(client), drain(server)
    # Pretend the suite's limit is 10 records (margin 0): every 10th record brings new keys.
    monkeypatch.setattr(protection, "KEY_UPDATE_MARGIN", 0)
    original = protection.RecordProtector.__init__

    def small_limit(
        self: protection.RecordProtector, params: object, secret: bytes, **kw: object
    ) -> None:
        original(self, params, secret, confidentiality_limit=10)  # type: ignore[arg-type]

    monkeypatch.setattr(protection.RecordProtector, "__init__", small_limit)
    client.request_key_update(request_peer=False)  # installs a protector with the small limit
    pump(client, server)
    drain(server)
    for i in range(30):
        client.send_data(b"%d" % i)
    pump(client, server)
    events = drain(server)
    received = [e.data for e in events if isinstance(e, DataReceived)]
    assert b"".join(received) == b"".join(b"%d" % i for i in range(30))
    # Each KeyUpdate splits the data: records under the old key, then under the new one.
    updates = sum(isinstance(e, KeyUpdated) for e in events)
    assert updates >= 2
    assert len(received) == updates + 1


def test_records_that_arrive_together_become_one_data_event_in_order() -> None:
    client, server = handshake(client_config(), server_config())
    drain(client), drain(server)
    for part in (b"one ", b"two ", b"three"):
        client.send_data(part)
    client.close()
    server.receive_data(client.data_to_send())
    events = drain(server)
    assert [type(e) for e in events] == [DataReceived, ConnectionClosed]
    assert isinstance(events[0], DataReceived) and events[0].data == b"one two three"


def test_server_picks_the_certificate_by_sni() -> None:
    from nautilus_tls.config import ServerConfig

    ecdsa, mldsa = pki("ecdsa-p256"), pki("mldsa65")
    from nautilus_tls.config import CertifiedKey
    from nautilus_tls.tools.certgen import make_leaf

    other_der, other_key = make_leaf(mldsa.ca_der, _ca_key("mldsa65"), "mldsa65", ["other.test"])
    scfg = ServerConfig(
        certificates=(ecdsa.server, CertifiedKey(chain=(other_der,), private_key=other_key))
    )
    client = ClientConnection(client_config("mldsa65"), "other.test")
    server = ServerConnection(scfg)
    client.start()
    pump(client, server)
    assert client.info is not None and client.info.signature_scheme == "mldsa65"
    assert "other.test" in (client.info.peer_certificate_subject or "")
    client2, _ = handshake(client_config("ecdsa-p256"), scfg, "localhost")
    assert client2.info is not None and client2.info.signature_scheme == "ecdsa_secp256r1_sha256"


def _ca_key(alg: str) -> object:
    from certificates import ca_key

    return ca_key(alg)


def test_certificate_request_names_the_accepted_cas() -> None:
    from nautilus_tls.wire import extensions as ext
    from nautilus_tls.wire.enums import ExtensionType
    from nautilus_tls.wire.messages import CertificateRequest

    p = pki()
    seen: list[tuple[bytes, ...]] = []
    import nautilus_tls.handshake.client as client_module

    original = client_module.ExpectCertificateOrCertificateRequest.handle

    def spy(self, ctx, msg_type, body, raw):  # type: ignore[no-untyped-def]
        if msg_type == 13:
            cr = CertificateRequest.decode_body(body)
            data = ext.get_extension(cr.extensions, ExtensionType.certificate_authorities)
            seen.append(ext.decode_certificate_authorities(data) if data else ())
        return original(self, ctx, msg_type, body, raw)

    client_module.ExpectCertificateOrCertificateRequest.handle = spy  # type: ignore[method-assign]
    try:
        handshake(
            client_config(client_certificate=p.client),
            server_config(
                client_auth="require", client_trust_store=p.store, send_certificate_authorities=True
            ),
        )
    finally:
        client_module.ExpectCertificateOrCertificateRequest.handle = original  # type: ignore[method-assign]
    assert len(seen) == 1 and len(seen[0]) == 1
