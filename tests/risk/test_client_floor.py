"""The client's floor per server (issue 21 item 3): the same engine, judging servers."""

from __future__ import annotations

from pairs import client_config, pump, server_config

from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import ProtocolError
from nautilus_tls.risk import Level, RiskEngine
from nautilus_tls.wire.enums import NamedGroup

CLASSICAL_SERVER = server_config(groups=(NamedGroup.x25519, NamedGroup.secp256r1))


def run(
    client: ClientConnection, server_cfg: object = None
) -> tuple[ServerConnection, ProtocolError | None]:
    server = ServerConnection(server_cfg or server_config())  # type: ignore[arg-type]
    client.start()
    try:
        pump(client, server)
    except ProtocolError as exc:
        return server, exc
    return server, None


def test_a_baseline_client_takes_what_the_server_offers() -> None:
    engine = RiskEngine()
    client = ClientConnection(client_config(risk=engine), "localhost")
    _, error = run(client, CLASSICAL_SERVER)
    assert error is None and client.info is not None
    assert client.info.group == "x25519" and client.info.risk_level == "baseline"


def test_a_server_that_downgrades_is_held_to_post_quantum_next_time() -> None:
    engine = RiskEngine()
    cfg = client_config(risk=engine)
    assert run(ClientConnection(cfg, "localhost", session_key="example:443"))[1] is None
    # The same server now answers with classical key exchange: a downgrade.
    client = ClientConnection(cfg, "localhost", session_key="example:443")
    assert run(client, CLASSICAL_SERVER)[1] is None
    assert engine.level_of("example:443") == Level.ELEVATED
    # From now on only post-quantum groups are offered to it, so the classical server fails...
    client = ClientConnection(cfg, "localhost", session_key="example:443")
    _, error = run(client, CLASSICAL_SERVER)
    assert error is not None
    # ...while a post-quantum server still works, and the client says at which level.
    client = ClientConnection(cfg, "localhost", session_key="example:443")
    assert run(client)[1] is None and client.info is not None
    assert client.info.risk_level == "elevated"
    assert client.info.group == "X25519MLKEM768"
    assert "1 downgrade to classical key exchange" in (client.info.risk_reason or "")
    # Another server is judged on its own.
    client = ClientConnection(cfg, "localhost", session_key="other:443")
    assert run(client, CLASSICAL_SERVER)[1] is None


def test_a_high_threat_level_offers_the_strongest_groups_first() -> None:
    engine = RiskEngine(threat_level="high")
    client = ClientConnection(client_config(risk=engine), "localhost")
    # A server that follows the client's order shows what the client prefers.
    _, error = run(client, server_config(preference="client"))
    assert error is None and client.info is not None
    assert client.info.group in ("SecP384r1MLKEM1024", "MLKEM1024")
    assert client.info.cipher_suite in ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
    assert client.info.risk_level == "high"


def test_a_raised_level_withholds_0rtt_from_that_server() -> None:
    engine = RiskEngine()
    cfg = client_config(risk=engine)
    server_cfg = server_config(max_early_data=1024)
    first = ClientConnection(cfg, "localhost")
    server, error = run(first, server_cfg)
    assert error is None
    pump(first, server)  # the tickets
    control = ClientConnection(cfg, "localhost", early_data=b"GET / replayable")
    control_server, error = run(control, server_cfg)
    assert error is None and control.info is not None
    assert control.info.early_data == "accepted"  # at the baseline 0-RTT works
    pump(control, control_server)  # more tickets
    engine.set_threat_level("elevated")
    held = ClientConnection(cfg, "localhost", early_data=b"GET / replayable")
    assert run(held, server_cfg)[1] is None and held.info is not None
    assert held.info.resumed and held.info.early_data == "none"
    assert held.info.early_data_sent == 0 and held.info.risk_level == "elevated"
