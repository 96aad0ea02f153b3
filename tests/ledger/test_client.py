"""The HTTP client: proofs verified end to end against a real server, and a lying or broken
server (forged tree head, wrong proof, missing proof, junk, huge answers) refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest
from ledger.helpers import SwitchableLog, numbered_did, raw_key_spki, self_signed_der

from nautilus_tls.ledger.client import MAX_RESPONSE, LedgerClient
from nautilus_tls.ledger.entries import Entry
from nautilus_tls.ledger.errors import LedgerError, ProofError, SignatureError, UnknownEntryError
from nautilus_tls.ledger.merkle import EMPTY_ROOT, node_hash
from nautilus_tls.ledger.sth import LogKey, TreeHead


def test_adds_each_entry_type_and_verifies_inclusion_and_consistency(
    served: tuple[str, SwitchableLog], log_key: LogKey
) -> None:
    with LedgerClient(served[0], [log_key.public]) as client:
        entries = [
            Entry.x509_chain([self_signed_der("a.example")]),
            Entry.raw_public_key(raw_key_spki()),
            Entry.did("did:example:123"),
        ]
        assert [client.add(e) for e in entries] == [0, 1, 2]
        first = client.get_sth()
        for i, e in enumerate(entries):
            assert client.prove_inclusion(e.leaf_hash(), first) == i
        for i in range(3, 30):
            client.add(numbered_did(i))
        second = client.get_sth()
        client.prove_consistency(first, second)
        client.prove_consistency(second, second)
        assert [Entry.decode(e) for e in client.entries(0, 3)] == entries


def test_refuses_a_tree_head_signed_by_another_key(served: tuple[str, SwitchableLog]) -> None:
    with LedgerClient(served[0], [LogKey.generate().public]) as client:
        client.add(numbered_did(1))
        with pytest.raises(SignatureError):
            client.get_sth()


def test_reports_an_entry_that_is_not_in_the_log(
    served: tuple[str, SwitchableLog], log_key: LogKey
) -> None:
    with LedgerClient(served[0], [log_key.public]) as client:
        client.add(numbered_did(1))
        with pytest.raises(UnknownEntryError, match="not found"):
            client.prove_inclusion(numbered_did(2).leaf_hash(), client.get_sth())


def test_reports_a_log_that_cannot_be_reached() -> None:
    with LedgerClient("http://127.0.0.1:9", timeout=2) as client, pytest.raises(LedgerError):
        client.get_sth()


# --- a lying server (httpx.MockTransport) -----------------------------------------------------

KEY = LogKey.generate()


def _mock(answer: Callable[[httpx.Request], httpx.Response]) -> LedgerClient:
    return LedgerClient("http://log.test", [KEY.public], transport=httpx.MockTransport(answer))


def _sth_json(size: int, root: bytes, key: LogKey = KEY) -> dict[str, object]:
    sth = key.sign(TreeHead(size, 1, root))
    return {"sth": base64.b64encode(sth.encode()).decode()}


def _routes(**paths: object) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[1].replace("-", "_")
        body = paths[name]
        if isinstance(body, httpx.Response):
            return body
        return httpx.Response(200, json=body)

    return answer


ENTRY = numbered_did(7)


def test_refuses_a_wrong_inclusion_proof() -> None:
    other = numbered_did(8).leaf_hash()
    root = node_hash(ENTRY.leaf_hash(), other)
    wrong = base64.b64encode(b"\x00" * 32).decode()
    client = _mock(
        _routes(
            get_sth=_sth_json(2, root),
            get_proof_by_hash={"leaf_index": 0, "inclusion_path": [wrong]},
        )
    )
    with pytest.raises(ProofError):
        client.prove_inclusion(ENTRY.leaf_hash(), client.get_sth())


def test_refuses_a_missing_inclusion_proof() -> None:
    client = _mock(
        _routes(
            get_sth=_sth_json(2, EMPTY_ROOT),
            get_proof_by_hash={"leaf_index": 0, "inclusion_path": []},
        )
    )
    with pytest.raises(ProofError, match="too short"):
        client.prove_inclusion(ENTRY.leaf_hash(), client.get_sth())


def test_refuses_a_missing_consistency_proof() -> None:
    client = _mock(_routes(get_sth_consistency={"consistency": []}))
    old, new = KEY.sign(TreeHead(3, 1, EMPTY_ROOT)), KEY.sign(TreeHead(5, 1, EMPTY_ROOT))
    with pytest.raises(ProofError, match="empty"):
        client.prove_consistency(old, new)


def test_refuses_two_tree_heads_of_one_size_with_different_roots() -> None:
    client = _mock(_routes())
    old, new = KEY.sign(TreeHead(3, 1, EMPTY_ROOT)), KEY.sign(TreeHead(3, 2, b"\x01" * 32))
    with pytest.raises(ProofError, match="forked"):
        client.prove_consistency(old, new)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, content=b"not json"),
        httpx.Response(200, json=[1]),
        httpx.Response(200, json={"leaf_index": -1, "inclusion_path": []}),
        httpx.Response(200, json={"leaf_index": True, "inclusion_path": []}),
        httpx.Response(200, json={"leaf_index": 0, "inclusion_path": "AAAA"}),
        httpx.Response(200, json={"leaf_index": 0, "inclusion_path": ["%%"]}),
        httpx.Response(200, json={"leaf_index": 0, "inclusion_path": ["AAAA"] * 65}),
        httpx.Response(500, json={"error_code": "x", "message": "m" * 10_000}),
        httpx.Response(200, content=b"[" * (MAX_RESPONSE + 1)),
    ],
)
def test_refuses_junk_from_the_server(response: httpx.Response) -> None:
    client = _mock(_routes(get_sth=_sth_json(2, EMPTY_ROOT), get_proof_by_hash=response))
    sth = client.get_sth()
    with pytest.raises(LedgerError) as info:
        client.prove_inclusion(ENTRY.leaf_hash(), sth)
    assert len(str(info.value)) < 400


def test_refuses_an_acknowledgement_for_a_different_entry() -> None:
    ack = {"leaf_index": 0, "leaf_hash": base64.b64encode(b"\x00" * 32).decode(), "new": True}
    with pytest.raises(LedgerError, match="different entry"):
        _mock(_routes(add_entry=ack)).add(ENTRY)


def test_refuses_more_entries_than_asked_for() -> None:
    raw = base64.b64encode(ENTRY.encode()).decode()
    client = _mock(_routes(get_entries={"entries": [raw, raw]}))
    with pytest.raises(LedgerError):
        client.entries(0, 1)


def test_error_messages_from_the_server_are_json_strings_not_code() -> None:
    body = {"error_code": "not found", "message": json.dumps({"x": 1})}
    client = _mock(_routes(get_proof_by_hash=httpx.Response(404, json=body)))
    with pytest.raises(UnknownEntryError):
        client.prove_inclusion(ENTRY.leaf_hash(), KEY.sign(TreeHead(1, 1, EMPTY_ROOT)))
