"""Stapled log proofs over the sans-I/O pair: the server's TransparencyStapler staples an
inclusion proof and signed tree head from a real log (SQLite, in this process); a client with
``require_transparency`` accepts only a chain the proof is for, and refuses bad evidence with
bad_certificate, missing evidence with certificate_unknown and bad bytes with decode_error."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from certificates import pki, unrelated_pki
from ledger.helpers import numbered_did
from pairs import client_config, handshake, pump, server_config

from nautilus_tls.errors import AlertDescription, ProtocolError
from nautilus_tls.ledger.entries import Entry
from nautilus_tls.ledger.log import TransparencyLog
from nautilus_tls.ledger.merkle import HASH_SIZE
from nautilus_tls.ledger.staple import (
    MAX_PROOF_NODES,
    TRANSPARENCY_EXTENSION,
    StapledItem,
    decode_items,
    encode_items,
)
from nautilus_tls.ledger.stapler import LocalLog, TransparencyStapler
from nautilus_tls.ledger.sth import LogKey
from nautilus_tls.ledger.store_sqlite import SQLiteStore
from nautilus_tls.ledger.transparency import RequireTransparency, TreeHeadMemory
from nautilus_tls.wire.enums import HandshakeType

CERT = HandshakeType.certificate


@pytest.fixture
def ledger(tmp_path: Path, log_key: LogKey) -> Iterator[TransparencyLog]:
    store = SQLiteStore(tmp_path / "log.sqlite")
    log = TransparencyLog(store, log_key)
    for n in range(5):
        log.add(numbered_did(n))
    yield log
    store.close()


def _server_chain() -> tuple[bytes, ...]:
    return pki().server.chain


def _stapler(
    ledger: TransparencyLog, chain: tuple[bytes, ...] | None = None
) -> TransparencyStapler:
    stapler = TransparencyStapler(LocalLog(ledger), [chain or _server_chain()])
    stapler.refresh()
    return stapler


def _require(*keys: LogKey, memory: TreeHeadMemory | None = None) -> RequireTransparency:
    return RequireTransparency([k.public for k in keys], memory)


def _refused(client_cfg: object, server_cfg: object) -> ProtocolError:
    with pytest.raises(ProtocolError) as err:
        handshake(client_cfg, server_cfg)  # type: ignore[arg-type]
    return err.value


def test_accepts_a_logged_chain_and_reports_log_index_and_tree_size(
    ledger: TransparencyLog, log_key: LogKey
) -> None:
    index, _ = ledger.add(Entry.x509_chain(_server_chain()))
    ledger.add(numbered_did(99))
    stapler = _stapler(ledger)
    client, _server = handshake(
        client_config(require_transparency=_require(log_key)),
        server_config(extension_hooks=(stapler,)),
    )
    info = client.info
    assert info is not None and info.transparency is not None
    assert info.transparency.index == index == 5
    assert info.transparency.tree_size == 7
    assert info.transparency.verified is True
    assert info.transparency.log_id == log_key.public.log_id.hex()


def test_a_client_without_the_requirement_gets_nothing_stapled(ledger: TransparencyLog) -> None:
    ledger.add(Entry.x509_chain(_server_chain()))
    client, _ = handshake(client_config(), server_config(extension_hooks=(_stapler(ledger),)))
    assert client.info is not None and client.info.transparency is None
    assert TRANSPARENCY_EXTENSION not in client.info.peer_extensions


def test_refuses_a_chain_that_is_not_in_the_log_with_certificate_unknown(
    ledger: TransparencyLog, log_key: LogKey
) -> None:
    # The server's chain was never added: the stapler has nothing to staple.
    err = _refused(
        client_config(require_transparency=_require(log_key)),
        server_config(extension_hooks=(_stapler(ledger),)),
    )
    assert err.alert == AlertDescription.certificate_unknown
    assert "not in a trusted log" in str(err)


def test_refuses_a_server_without_a_stapler_with_certificate_unknown(log_key: LogKey) -> None:
    err = _refused(client_config(require_transparency=_require(log_key)), server_config())
    assert err.alert == AlertDescription.certificate_unknown
    assert "stapled no log proof" in str(err)


def test_refuses_a_server_logged_only_in_a_log_the_client_does_not_trust(
    ledger: TransparencyLog,
) -> None:
    # The ClientHello names the client's logs, so the server staples nothing for it.
    ledger.add(Entry.x509_chain(_server_chain()))
    err = _refused(
        client_config(require_transparency=_require(LogKey.generate())),
        server_config(extension_hooks=(_stapler(ledger),)),
    )
    assert err.alert == AlertDescription.certificate_unknown
    assert "stapled no log proof" in str(err)


def test_refuses_a_proof_for_another_certificate(ledger: TransparencyLog, log_key: LogKey) -> None:
    # The log has another chain, and the server staples that chain's (valid) proof.
    other = unrelated_pki().server.chain
    ledger.add(Entry.x509_chain(other))
    err = _refused(
        client_config(require_transparency=_require(log_key)),
        server_config(extension_hooks=(_stapler(ledger, other),)),
    )
    assert err.alert == AlertDescription.certificate_unknown
    assert "no stapled proof is for this certificate" in str(err)


@dataclasses.dataclass(frozen=True)
class Tampered:
    """A stapler whose staple is rewritten by ``edit`` (a misbehaving or attacking server)."""

    inner: TransparencyStapler
    edit: object
    ext_type: int = TRANSPARENCY_EXTENSION
    messages: frozenset[int] = frozenset({HandshakeType.client_hello, CERT})

    def receive(self, message: int, data: bytes | None) -> object:
        return self.inner.receive(message, data)

    def offer(self, message: int, peer: object | None) -> bytes | None:
        data = self.inner.offer(message, peer)
        assert data is not None
        return self.edit(data)  # type: ignore[operator,no-any-return]


def _edit_items(change: object) -> object:
    def edit(data: bytes) -> bytes:
        return encode_items([change(i) for i in decode_items(data)])  # type: ignore[operator]

    return edit


def _tampered_run(ledger: TransparencyLog, log_key: LogKey, edit: object) -> ProtocolError:
    ledger.add(Entry.x509_chain(_server_chain()))
    return _refused(
        client_config(require_transparency=_require(log_key)),
        server_config(extension_hooks=(Tampered(_stapler(ledger), edit),)),
    )


def test_refuses_a_wrong_tree_head_signature_with_bad_certificate(
    ledger: TransparencyLog, log_key: LogKey
) -> None:
    def forge(item: StapledItem) -> StapledItem:
        bad = bytes([item.sth.signature[0] ^ 1]) + item.sth.signature[1:]
        return dataclasses.replace(item, sth=dataclasses.replace(item.sth, signature=bad))

    err = _tampered_run(ledger, log_key, _edit_items(forge))
    assert err.alert == AlertDescription.bad_certificate
    assert "signature does not verify" in str(err)


def test_refuses_an_inclusion_proof_for_another_leaf_with_bad_certificate(
    ledger: TransparencyLog, log_key: LogKey
) -> None:
    # The staple names this chain's leaf hash but carries the proof of entry 0.
    def swap(item: StapledItem) -> StapledItem:
        index, path = ledger.inclusion_proof(numbered_did(0).leaf_hash(), item.sth.tree_size)
        return dataclasses.replace(item, leaf_index=index, inclusion_path=tuple(path))

    err = _tampered_run(ledger, log_key, _edit_items(swap))
    assert err.alert == AlertDescription.bad_certificate
    assert "inclusion proof" in str(err)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d[:-1],  # truncated
        lambda d: d + b"\x00",  # trailing byte
        lambda d: b"\x00\x00",  # no items
        lambda d: d[:2] + b"\x07" + d[3:],  # unknown logged_as
    ],
    ids=["truncated", "trailing", "empty", "unknown-kind"],
)
def test_refuses_malformed_proof_bytes_with_decode_error(
    ledger: TransparencyLog, log_key: LogKey, edit: object
) -> None:
    assert _tampered_run(ledger, log_key, edit).alert == AlertDescription.decode_error


def test_refuses_an_oversized_inclusion_path_with_decode_error(
    ledger: TransparencyLog, log_key: LogKey
) -> None:
    def grow(item: StapledItem) -> StapledItem:
        too_long = tuple(bytes(HASH_SIZE) for _ in range(MAX_PROOF_NODES + 1))
        return dataclasses.replace(item, inclusion_path=too_long)

    err = _tampered_run(ledger, log_key, _edit_items(grow))
    assert err.alert == AlertDescription.decode_error


def test_a_server_whose_log_is_down_still_serves_without_the_proof(
    ledger: TransparencyLog, log_key: LogKey
) -> None:
    ledger.add(Entry.x509_chain(_server_chain()))

    class Down(LocalLog):
        def get_sth(self) -> object:  # type: ignore[override]
            raise OSError("log unreachable")

    stapler = TransparencyStapler(Down(ledger), [_server_chain()])
    assert stapler.refresh() is False
    client, _ = handshake(client_config(), server_config(extension_hooks=(stapler,)))
    assert client.handshake_complete
    err = _refused(
        client_config(require_transparency=_require(log_key)),
        server_config(extension_hooks=(stapler,)),
    )
    assert err.alert == AlertDescription.certificate_unknown


def test_resumption_keeps_working_under_the_requirement(
    ledger: TransparencyLog, log_key: LogKey
) -> None:
    ledger.add(Entry.x509_chain(_server_chain()))
    ccfg = client_config(require_transparency=_require(log_key))
    scfg = server_config(extension_hooks=(_stapler(ledger),))
    first, server = handshake(ccfg, scfg)
    pump(first, server)  # the ticket
    again, _ = handshake(ccfg, scfg)
    assert again.info is not None and again.info.resumed


def test_replacing_the_requirement_replaces_its_plug_in(log_key: LogKey) -> None:
    first = client_config(require_transparency=_require(log_key))
    other = _require(LogKey.generate())
    swapped = dataclasses.replace(first, require_transparency=other)
    assert [h for h in swapped.extension_hooks if h.ext_type == TRANSPARENCY_EXTENSION] == [
        other.hook
    ]
    plain = dataclasses.replace(first, require_transparency=None)
    assert not any(h.ext_type == TRANSPARENCY_EXTENSION for h in plain.extension_hooks)


@dataclasses.dataclass(frozen=True)
class RawClientHook:
    """A client that offers the transparency extension with the given (bad) bytes."""

    data: bytes
    ext_type: int = TRANSPARENCY_EXTENSION
    messages: frozenset[int] = frozenset({HandshakeType.client_hello})

    def offer(self, message: int, peer: object | None) -> bytes | None:
        return self.data

    def receive(self, message: int, data: bytes | None) -> object:
        return data


@pytest.mark.parametrize(
    "data", [b"", b"\x00\x05" + bytes(5), b"\x00\x00\x00"], ids=["empty", "short", "trailing"]
)
def test_the_server_refuses_a_malformed_client_extension_with_decode_error(
    ledger: TransparencyLog, data: bytes
) -> None:
    ledger.add(Entry.x509_chain(_server_chain()))
    err = _refused(
        client_config(extension_hooks=(RawClientHook(data),)),
        server_config(extension_hooks=(_stapler(ledger),)),
    )
    assert err.alert == AlertDescription.decode_error


def _log_at(tmp_path: Path, log_key: LogKey, clock: list[float], name: str) -> TransparencyLog:
    log = TransparencyLog(SQLiteStore(tmp_path / name), log_key, clock=lambda: clock[0])
    log.add(Entry.x509_chain(_server_chain()))
    return log


def test_refuses_a_tree_head_older_than_the_limit_with_certificate_unknown(
    tmp_path: Path, log_key: LogKey
) -> None:
    # A log (or a server replaying old proofs) that keeps showing a frozen view: the head was
    # signed eight days ago, the default limit is a week.
    import time

    clock = [time.time() - 8 * 24 * 3600]
    stapler = _stapler(_log_at(tmp_path, log_key, clock, "old.sqlite"))
    server_cfg = server_config(extension_hooks=(stapler,))
    err = _refused(client_config(require_transparency=_require(log_key)), server_cfg)
    assert err.alert == AlertDescription.certificate_unknown
    assert "old (at most" in str(err)
    # The limit is the client's choice: None accepts a head of any age.
    relaxed = RequireTransparency([log_key.public], max_tree_head_age=None)
    client, _ = handshake(client_config(require_transparency=relaxed), server_cfg)
    assert client.info is not None and client.info.transparency is not None


def test_refuses_a_tree_head_from_the_future_with_bad_certificate(
    tmp_path: Path, log_key: LogKey
) -> None:
    import time

    clock = [time.time() + 3600]
    stapler = _stapler(_log_at(tmp_path, log_key, clock, "future.sqlite"))
    err = _refused(
        client_config(require_transparency=_require(log_key)),
        server_config(extension_hooks=(stapler,)),
    )
    assert err.alert == AlertDescription.bad_certificate
    assert "in the future" in str(err)


def test_the_log_signs_its_head_again_once_it_is_an_hour_old(
    tmp_path: Path, log_key: LogKey
) -> None:
    clock = [1_800_000_000.0]
    log = _log_at(tmp_path, log_key, clock, "resign.sqlite")
    first = log.signed_tree_head()
    clock[0] += 60
    assert log.signed_tree_head() is first  # same size, young: the same head
    clock[0] += 3600
    again = log.signed_tree_head()
    assert again.tree_size == first.tree_size and again.root_hash == first.root_hash
    assert again.tree_head.timestamp_ms == int(clock[0] * 1000)


def test_max_tree_head_age_must_be_positive(log_key: LogKey) -> None:
    from nautilus_tls.ledger.errors import LedgerError

    for bad in (0, -1.0):
        with pytest.raises(LedgerError):
            RequireTransparency([log_key.public], max_tree_head_age=bad)
    with pytest.raises(LedgerError):
        TransparencyLog(SQLiteStore(":memory:"), log_key, resign_after=0)
