"""Every peer of the interop matrix, in the order the table shows them."""

from __future__ import annotations

from interop import (
    peer_chromium,
    peer_curl,
    peer_gnutls,
    peer_node,
    peer_openssl,
    peer_pyssl,
    peer_quic,
    peer_tlslite,
    peer_tshark,
)
from interop.matrix import Peer

PEERS: tuple[Peer, ...] = (
    peer_node.PEER,
    peer_openssl.PEER,
    peer_pyssl.PEER,
    peer_tlslite.PEER,
    peer_gnutls.PEER,
    peer_curl.PEER,
    peer_chromium.PEER,
    peer_tshark.PEER,
    peer_quic.AIOQUIC,
    peer_quic.QH3,
)


def by_name(name: str) -> Peer:
    for peer in PEERS:
        if peer.name == name:
            return peer
    raise KeyError(f"no peer {name!r}; known: {', '.join(p.name for p in PEERS)}")
