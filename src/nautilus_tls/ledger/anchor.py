"""Anchoring tree heads on an Ethereum chain (issue 16 item 4), through web3.py.

The contract (``contracts/tree_head_anchor.vy``, Vyper, compiled here by the ``vyper``
package) keeps, for each log id, the root hash of every anchored tree size; sizes only grow
and an anchored size's root never changes, and only the deploying account (the log
operator's) anchors. A chain's history is the same for everyone who reads it, so a log that
shows one client a tree head that is not the anchored one for that size has been caught
showing a split view.

- :class:`AnchorContract` deploys the contract, anchors a signed tree head, reads it back;
- :class:`AnchorCheck` is what a client consults (``RequireTransparency(anchors=...)``): a
  stapled tree head must be the anchored one for its size. Anchored roots never change, so
  it remembers every positive answer; a miss asks the chain again. With an HTTP provider
  that question is network I/O inside the handshake: point it at a node close to the client.

Tests run on an in-process chain (``Web3(EthereumTesterProvider())``, py-evm). For a real
node: ``Web3(Web3.HTTPProvider("http://127.0.0.1:8545"))`` with an unlocked sender account,
or ``nautilus-tls ledger anchor --rpc http://...`` (see :mod:`.cli`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from nautilus_tls.ledger.errors import AnchorError, AnchorMismatchError, NotAnchoredError
from nautilus_tls.ledger.sth import LogPublicKey, SignedTreeHead, verify_tree_head

__all__ = [
    "CONTRACT_SOURCE",
    "AnchorCheck",
    "AnchorContract",
    "anchor_latest",
    "compile_contract",
]

CONTRACT_SOURCE = Path(__file__).with_name("contracts") / "tree_head_anchor.vy"


@cache
def compile_contract() -> tuple[list[Any], str]:
    """The contract's ABI and deployment bytecode, compiled from its Vyper source."""
    import vyper  # type: ignore[import-untyped]

    out: dict[str, Any] = vyper.compile_code(
        CONTRACT_SOURCE.read_text(), output_formats=["abi", "bytecode"]
    )
    return out["abi"], out["bytecode"]


def _failed(exc: Exception) -> AnchorError:
    return AnchorError(f"the chain refused the anchor: {exc}")


class AnchorContract:
    """The anchor contract at ``address`` on the chain ``w3`` reaches (a ``web3.Web3``)."""

    def __init__(self, w3: Any, address: str, sender: str | None = None) -> None:
        abi, _ = compile_contract()
        self.w3 = w3
        self.address = address
        self.sender = sender or w3.eth.accounts[0]
        self._contract = w3.eth.contract(address=address, abi=abi)

    def __repr__(self) -> str:
        return f"AnchorContract(address={self.address})"

    @classmethod
    def deploy(cls, w3: Any, sender: str | None = None) -> AnchorContract:
        abi, bytecode = compile_contract()
        account = sender or w3.eth.accounts[0]
        tx = w3.eth.contract(abi=abi, bytecode=bytecode).constructor().transact({"from": account})
        receipt = w3.eth.wait_for_transaction_receipt(tx)
        if receipt.status != 1 or not receipt.contractAddress:
            raise AnchorError("the anchor contract was not deployed")
        return cls(w3, receipt.contractAddress, account)

    def anchor(self, sth: SignedTreeHead) -> str:
        """Write ``sth``'s size and root (the caller verified its signature); returns the
        transaction hash. Anchoring a head that is already anchored is a no-op."""
        if self.root_at(sth.log_id, sth.tree_size) == sth.root_hash:
            return ""
        call = self._contract.functions.anchor(
            sth.log_id, sth.tree_size, sth.root_hash, sth.tree_head.timestamp_ms
        )
        try:
            tx = call.transact({"from": self.sender})
            receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        except Exception as exc:  # web3/eth-tester raise their own types for a revert
            raise _failed(exc) from None
        if receipt.status != 1:
            raise AnchorError("the anchor transaction failed")
        return str(tx.hex())

    def root_at(self, log_id: bytes, tree_size: int) -> bytes | None:
        root = bytes(self._contract.functions.root_at(log_id, tree_size).call())
        return root if any(root) else None

    def latest_size(self, log_id: bytes) -> int:
        return int(self._contract.functions.latest_size(log_id).call())


class AnchorCheck:
    """Raises unless a tree head is the anchored one for its size (see the module doc)."""

    def __init__(self, contract: AnchorContract) -> None:
        self._contract = contract
        self._lock = threading.Lock()
        self._known: set[tuple[bytes, int, bytes]] = set()

    def check(self, sth: SignedTreeHead) -> None:
        key = (sth.log_id, sth.tree_size, sth.root_hash)
        with self._lock:
            if key in self._known:
                return
        try:
            root = self._contract.root_at(sth.log_id, sth.tree_size)
        except Exception as exc:  # the provider's connection errors have no common base
            raise AnchorError(f"cannot read the anchor contract: {exc}") from None
        if root is None:
            raise NotAnchoredError(f"the tree head of size {sth.tree_size} is not anchored")
        if root != sth.root_hash:
            raise AnchorMismatchError(
                f"the anchored root of size {sth.tree_size} differs from the stapled one: the "
                "log shows a split view"
            )
        with self._lock:
            self._known.add(key)


def anchor_latest(
    source: Any, log_keys: Sequence[LogPublicKey], contract: AnchorContract
) -> tuple[SignedTreeHead, str]:
    """Fetch the log's current tree head from ``source`` (a :class:`~.client.LedgerClient`),
    verify its signature against ``log_keys`` and anchor it; returns it and the transaction
    hash (empty when it was anchored already). What ``nautilus-tls ledger anchor`` does."""
    sth: SignedTreeHead = source.get_sth()
    verify_tree_head(sth, log_keys)
    if sth.tree_size == 0:
        raise AnchorError("the log is empty: there is no tree head to anchor")
    return sth, contract.anchor(sth)
