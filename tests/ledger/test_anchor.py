"""Anchoring tree heads (issue 16 item 4): the Vyper contract compiled by ``vyper``, deployed
on an in-process chain (web3.py over eth-tester / py-evm), tree heads anchored and read back,
the contract's rules enforced by the chain, and a client that requires anchoring."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from certificates import pki
from ledger.helpers import numbered_did
from pairs import client_config, handshake, server_config

from nautilus_tls.errors import AlertDescription, ProtocolError
from nautilus_tls.ledger.entries import Entry
from nautilus_tls.ledger.errors import (
    AnchorError,
    AnchorMismatchError,
    NotAnchoredError,
    SignatureError,
)
from nautilus_tls.ledger.log import TransparencyLog
from nautilus_tls.ledger.stapler import LocalLog, TransparencyStapler
from nautilus_tls.ledger.sth import LogKey, TreeHead
from nautilus_tls.ledger.store_sqlite import SQLiteStore
from nautilus_tls.ledger.transparency import RequireTransparency

pytest.importorskip("vyper")
web3 = pytest.importorskip("web3")
pytest.importorskip("eth_tester")

from nautilus_tls.ledger.anchor import AnchorCheck, AnchorContract, anchor_latest  # noqa: E402

CHAIN = pki().server.chain


@pytest.fixture(scope="module")
def w3() -> Any:
    # py-evm is slow to start: one in-process chain for the module, a contract per test.
    return web3.Web3(web3.EthereumTesterProvider())


@pytest.fixture
def contract(w3: Any) -> AnchorContract:
    return AnchorContract.deploy(w3)


@pytest.fixture
def ledger(tmp_path: Path, log_key: LogKey) -> Iterator[TransparencyLog]:
    store = SQLiteStore(tmp_path / "log.sqlite")
    log = TransparencyLog(store, log_key)
    log.add(numbered_did(0))
    log.add(Entry.x509_chain(CHAIN))
    yield log
    store.close()


def test_an_anchored_tree_head_reads_back(contract: AnchorContract, log_key: LogKey) -> None:
    sth = log_key.sign(TreeHead(5, 1_700_000_000_000, bytes(range(32))))
    assert contract.anchor(sth)
    assert contract.root_at(sth.log_id, 5) == sth.root_hash
    assert contract.root_at(sth.log_id, 4) is None
    assert contract.latest_size(sth.log_id) == 5
    assert contract.anchor(sth) == ""  # again: nothing to write


def test_the_chain_refuses_another_root_a_smaller_size_and_other_senders(
    w3: Any, contract: AnchorContract, log_key: LogKey
) -> None:
    contract.anchor(log_key.sign(TreeHead(5, 1, bytes(range(32)))))
    with pytest.raises(AnchorError, match="another root"):
        contract.anchor(log_key.sign(TreeHead(5, 2, bytes(32 * [7]))))
    with pytest.raises(AnchorError, match="only grow"):
        contract.anchor(log_key.sign(TreeHead(4, 3, bytes(32 * [7]))))
    stranger = AnchorContract(w3, contract.address, w3.eth.accounts[1])
    with pytest.raises(AnchorError, match="only the owner"):
        stranger.anchor(log_key.sign(TreeHead(6, 4, bytes(32 * [7]))))


def test_anchor_latest_verifies_the_log_signature_first(
    contract: AnchorContract, ledger: TransparencyLog, log_key: LogKey
) -> None:
    source = LocalLog(ledger)
    with pytest.raises(SignatureError):
        anchor_latest(source, [LogKey.generate().public], contract)
    sth, tx = anchor_latest(source, [log_key.public], contract)
    assert tx and contract.root_at(sth.log_id, 2) == sth.root_hash


def test_anchor_check_tells_missing_from_different(
    contract: AnchorContract, log_key: LogKey
) -> None:
    sth = log_key.sign(TreeHead(3, 1, bytes(range(32))))
    check = AnchorCheck(contract)
    with pytest.raises(NotAnchoredError):
        check.check(sth)
    contract.anchor(sth)
    check.check(sth)
    other = dataclasses.replace(sth, tree_head=TreeHead(3, 1, bytes(32 * [9])))
    with pytest.raises(AnchorMismatchError, match="split view"):
        check.check(other)


def _handshake_requiring(ledger: TransparencyLog, log_key: LogKey, contract: AnchorContract) -> Any:
    stapler = TransparencyStapler(LocalLog(ledger), [CHAIN])
    assert stapler.refresh()
    require = RequireTransparency([log_key.public], anchors=AnchorCheck(contract))
    client, _ = handshake(
        client_config(require_transparency=require), server_config(extension_hooks=(stapler,))
    )
    return client.info


def test_a_client_requiring_anchoring_accepts_an_anchored_head(
    contract: AnchorContract, ledger: TransparencyLog, log_key: LogKey
) -> None:
    anchor_latest(LocalLog(ledger), [log_key.public], contract)
    info = _handshake_requiring(ledger, log_key, contract)
    assert info.transparency.anchored is True
    assert info.transparency.tree_size == 2


def test_a_client_requiring_anchoring_refuses_an_unanchored_head(
    contract: AnchorContract, ledger: TransparencyLog, log_key: LogKey
) -> None:
    with pytest.raises(ProtocolError) as err:
        _handshake_requiring(ledger, log_key, contract)
    assert err.value.alert == AlertDescription.certificate_unknown
    assert "not anchored" in str(err.value)


def test_a_client_requiring_anchoring_refuses_a_forked_head(
    contract: AnchorContract, ledger: TransparencyLog, log_key: LogKey, tmp_path: Path
) -> None:
    anchor_latest(LocalLog(ledger), [log_key.public], contract)
    # The same log key, another history of the same size: not the anchored root.
    store = SQLiteStore(tmp_path / "fork.sqlite")
    fork = TransparencyLog(store, log_key)
    fork.add(numbered_did(5))
    fork.add(Entry.x509_chain(CHAIN))
    try:
        with pytest.raises(ProtocolError) as err:
            _handshake_requiring(fork, log_key, contract)
    finally:
        store.close()
    assert err.value.alert == AlertDescription.bad_certificate
    assert "split view" in str(err.value)
