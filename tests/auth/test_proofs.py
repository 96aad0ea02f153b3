"""Proof values: only their minting functions make them, and the traffic states cannot be
built without them (issue 12 item 2; rustls' ServerCertVerified and friends)."""

from __future__ import annotations

import dataclasses

import pytest
from certificates import pki
from pairs import client_config, handshake, server_config

from nautilus_tls.handshake.client import ClientConnected
from nautilus_tls.handshake.server import ServerConnected
from nautilus_tls.proofs import (
    FinishedVerified,
    PeerVerified,
    SignatureVerified,
    finished_verified,
    peer_verified,
    signature_verified,
)


class _LookAlike:
    """Has the fields of every proof, but is not one."""

    spki = b""
    identity = "forged"
    certificates = ()
    scheme = 0x0807


def test_rejects_direct_construction_of_each_proof() -> None:
    with pytest.raises(TypeError):
        PeerVerified(object(), b"spki", "x", ())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SignatureVerified(None, 0x0807)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        FinishedVerified(_LookAlike())  # type: ignore[arg-type]


def test_mints_proofs_that_are_frozen_and_keep_keys_out_of_repr() -> None:
    peer = peer_verified(spki=b"\x30secret-ish", identity="localhost", certificates=(b"c",))
    assert peer.identity == "localhost" and peer.certificates == (b"c",)
    assert "secret-ish" not in repr(peer) and "mint" not in repr(peer)
    with pytest.raises(dataclasses.FrozenInstanceError):
        peer.identity = "other"  # type: ignore[misc]
    assert signature_verified(0x0905).scheme == 0x0905
    assert isinstance(finished_verified(), FinishedVerified)


@pytest.fixture(scope="module")
def connected() -> tuple[ClientConnected, ServerConnected]:
    client_cfg = client_config(client_certificate=pki().client)
    server_cfg = server_config(client_auth="require", client_trust_store=pki().store)
    client, server = handshake(client_cfg, server_cfg)
    c_state = client._handshake.connected
    s_state = server._handshake.connected
    assert isinstance(c_state, ClientConnected) and isinstance(s_state, ServerConnected)
    return c_state, s_state


def test_traffic_states_hold_the_proofs_of_a_full_handshake(
    connected: tuple[ClientConnected, ServerConnected],
) -> None:
    c_state, s_state = connected
    assert c_state.peer.identity == "localhost"
    assert c_state.signature is not None and c_state.signature.scheme == 0x0905  # mldsa65
    assert isinstance(c_state.finished, FinishedVerified)
    assert s_state.client is not None and s_state.client.identity.startswith("CN=")
    assert s_state.client_signature is not None
    assert isinstance(s_state.finished, FinishedVerified)


@pytest.mark.parametrize("field", ["peer", "signature", "finished"])
@pytest.mark.parametrize("bad", [None, _LookAlike()], ids=["none", "look-alike"])
def test_rejects_client_traffic_state_without_each_proof(
    connected: tuple[ClientConnected, ServerConnected], field: str, bad: object
) -> None:
    c_state, _ = connected
    with pytest.raises(TypeError, match=field):
        dataclasses.replace(c_state, **{field: bad})


@pytest.mark.parametrize("field", ["client_signature", "finished"])
@pytest.mark.parametrize("bad", [None, _LookAlike()], ids=["none", "look-alike"])
def test_rejects_server_traffic_state_without_each_proof(
    connected: tuple[ClientConnected, ServerConnected], field: str, bad: object
) -> None:
    _, s_state = connected
    with pytest.raises(TypeError, match=field):
        dataclasses.replace(s_state, **{field: bad})


def test_rejects_server_traffic_state_with_a_signature_but_no_client(
    connected: tuple[ClientConnected, ServerConnected],
) -> None:
    _, s_state = connected
    with pytest.raises(TypeError, match="client"):
        dataclasses.replace(s_state, client=None)
    with pytest.raises(TypeError, match="client"):
        dataclasses.replace(s_state, client=_LookAlike())
