"""The HTTP API under uvicorn: each endpoint, and malformed, oversized or hostile requests
answered with a JSON error and the right status, never a crash."""

from __future__ import annotations

import base64

import httpx
import pytest
from ledger.helpers import SwitchableLog, numbered_did

from nautilus_tls.ledger.api import MAX_BODY, PREFIX
from nautilus_tls.ledger.sth import SignedTreeHead


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def http(served: tuple[str, SwitchableLog]) -> httpx.Client:
    return httpx.Client(base_url=served[0] + PREFIX, timeout=10)


def test_round_trips_an_entry_through_add_sth_proof_and_entries(http: httpx.Client) -> None:
    entry = numbered_did(1)
    r = http.post("/add-entry", json={"leaf_input": _b64(entry.encode())})
    assert r.status_code == 200
    assert r.json() == {"leaf_index": 0, "leaf_hash": _b64(entry.leaf_hash()), "new": True}
    assert http.post("/add-entry", json={"leaf_input": _b64(entry.encode())}).json()["new"] is False
    sth = http.get("/get-sth").json()
    assert sth["tree_size"] == 1 and SignedTreeHead.decode(base64.b64decode(sth["sth"]))
    proof = http.get("/get-proof-by-hash", params={"hash": _b64(entry.leaf_hash()), "tree_size": 1})
    assert proof.json() == {"leaf_index": 0, "inclusion_path": []}
    assert http.get("/get-entries", params={"start": 0, "end": 1}).json() == {
        "entries": [_b64(entry.encode())]
    }


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"leaf_input": 5}',
        b'{"leaf_input": "***"}',
        b'{"leaf_input": "AQMAAAA="}',  # an entry with an empty body
        b'{"other": "x"}',
        b"\xff\xfe",
    ],
)
def test_rejects_malformed_add_entry_bodies_with_400(http: httpx.Client, body: bytes) -> None:
    r = http.post("/add-entry", content=body)
    assert r.status_code == 400 and r.json()["error_code"] == "bad request"


def test_rejects_an_oversized_body_with_413(http: httpx.Client) -> None:
    r = http.post("/add-entry", content=b"x" * (MAX_BODY + 1))
    assert r.status_code == 413


def test_rejects_an_oversized_chunked_body_with_413(http: httpx.Client) -> None:
    def chunks() -> object:
        for _ in range(MAX_BODY // 4096 + 2):
            yield b"x" * 4096

    r = http.post("/add-entry", content=chunks())  # type: ignore[arg-type]
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/get-proof-by-hash", {"hash": "AAAA", "tree_size": "1"}, 400),  # not 32 bytes
        ("/get-proof-by-hash", {"hash": _b64(b"\x00" * 32), "tree_size": "1"}, 404),
        ("/get-proof-by-hash", {"hash": _b64(b"\x00" * 32), "tree_size": "-1"}, 400),
        ("/get-proof-by-hash", {"hash": _b64(b"\x00" * 32), "tree_size": "9" * 30}, 400),
        ("/get-proof-by-hash", {"tree_size": "1"}, 400),
        ("/get-proof-by-hash", {"hash": _b64(b"\x00" * 32), "tree_size": "5"}, 400),
        ("/get-sth-consistency", {"first": "2", "second": "1"}, 400),
        ("/get-sth-consistency", {"first": "0", "second": "1"}, 400),
        ("/get-sth-consistency", {"first": "x", "second": "1"}, 400),
        ("/get-sth-consistency", {"first": "\uff11", "second": "1"}, 400),  # non-ASCII digit
        ("/get-entries", {"start": "1", "end": "2"}, 400),
        ("/get-entries", {"start": "0"}, 400),
    ],
)
def test_rejects_bad_queries_with_a_json_error(
    http: httpx.Client, path: str, params: dict[str, str], status: int
) -> None:
    http.post("/add-entry", json={"leaf_input": _b64(numbered_did(1).encode())})
    r = http.get(path, params=params)
    assert r.status_code == status and "error_code" in r.json()


def test_answers_unknown_paths_and_methods_without_crashing(http: httpx.Client) -> None:
    assert http.get("/no-such-thing").status_code == 404
    assert http.get("/add-entry").status_code == 405
