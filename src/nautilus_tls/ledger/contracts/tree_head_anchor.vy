# pragma version ~=0.4.0
"""
@title Tree head anchor
@notice Public record of transparency-log tree heads (nautilus_tls.ledger.anchor): for each
        log (the SHA-256 of its public key) the root hash of each anchored tree size. Only the
        deployer (the log operator's account) anchors; a size's root can never change and
        sizes only grow, so two clients reading the chain see one history of the log.
"""

event Anchored:
    log_id: indexed(bytes32)
    tree_size: uint256
    root_hash: bytes32
    timestamp_ms: uint256

owner: public(address)
latest_size: public(HashMap[bytes32, uint256])
root_at: public(HashMap[bytes32, HashMap[uint256, bytes32]])


@deploy
def __init__():
    self.owner = msg.sender


@external
def anchor(log_id: bytes32, tree_size: uint256, root_hash: bytes32, timestamp_ms: uint256):
    assert msg.sender == self.owner, "only the owner anchors"
    assert tree_size > 0, "an empty tree is not anchored"
    assert root_hash != empty(bytes32), "no root"
    assert tree_size >= self.latest_size[log_id], "tree heads only grow"
    known: bytes32 = self.root_at[log_id][tree_size]
    assert known == empty(bytes32) or known == root_hash, "another root for an anchored size"
    self.root_at[log_id][tree_size] = root_hash
    self.latest_size[log_id] = tree_size
    log Anchored(log_id=log_id, tree_size=tree_size, root_hash=root_hash, timestamp_ms=timestamp_ms)
