"""Pre-authentication cost (issue 11 item 4): what a ClientHello can make a server spend
before anyone is authenticated. A 64 KiB ClientHello of unknown cipher suites or groups must
cost about what a normal one does: lists past ``MAX_LIST_ENTRIES`` are refused before they are
decoded, and a refusal names at most ``MAX_NAMES_IN_ERRORS`` of the client's offers."""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import time
from collections.abc import Callable

import pytest
from fuzz.targets import as_records, unknown_codes, with_extension
from pairs import client_config, server_config

from nautilus_tls import defaults
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.errors import AlertDescription, ProtocolError
from nautilus_tls.events import ConnectionClosed
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ExtensionType
from nautilus_tls.wire.messages import ClientHello, decode_handshake_message


def normal_client_hello() -> ClientHello:
    client = ClientConnection(client_config(), "localhost")
    client.start()
    flight = client.data_to_send()
    message = flight[5 : 5 + int.from_bytes(flight[3:5], "big")]
    hello = decode_handshake_message(message)
    assert isinstance(hello, ClientHello)
    return hello


def with_suites(count: int) -> ClientHello:
    return dataclasses.replace(normal_client_hello(), cipher_suites=unknown_codes(count))


def with_groups(count: int) -> ClientHello:
    hello = with_extension(
        normal_client_hello(),
        ExtensionType.supported_groups,
        ext.encode_supported_groups(unknown_codes(count)),
    )
    return with_extension(hello, ExtensionType.key_share, ext.encode_key_share_ch(()))


def serve_once(records: bytes) -> ConnectionClosed | None:
    """Feed one ClientHello to a fresh server; the ConnectionClosed event if it refused."""
    server = ServerConnection(server_config())
    with contextlib.suppress(ProtocolError):
        server.receive_data(records)
    server.data_to_send()
    closed = None
    while (event := server.next_event()) is not None:
        if isinstance(event, ConnectionClosed):
            closed = event
    return closed


def median_cpu_seconds(action: Callable[[], object], runs: int = 9) -> float:
    samples = []
    for _ in range(runs):
        start = time.process_time()
        action()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: with_suites(32_000), id="32000-unknown-suites"),
        pytest.param(lambda: with_groups(32_000), id="32000-unknown-groups"),
        pytest.param(lambda: with_suites(defaults.MAX_LIST_ENTRIES), id="suites-at-the-cap"),
        pytest.param(lambda: with_groups(defaults.MAX_LIST_ENTRIES), id="groups-at-the-cap"),
    ],
)
def test_worst_case_client_hello_costs_a_small_multiple_of_a_normal_one(
    build: Callable[[], ClientHello],
) -> None:
    normal = as_records(normal_client_hello().encode())
    worst = as_records(build().encode())
    serve_once(normal)  # warm caches (imports, certificate parsing) before measuring
    serve_once(worst)
    # Medians over several runs and a generous bound: the machine is shared and noisy.
    normal_cost = median_cpu_seconds(lambda: serve_once(normal))
    worst_cost = median_cpu_seconds(lambda: serve_once(worst))
    assert worst_cost <= 5 * normal_cost, (worst_cost, normal_cost)


def test_rejects_a_cipher_suite_list_past_the_cap_with_decode_error() -> None:
    closed = serve_once(as_records(with_suites(defaults.MAX_LIST_ENTRIES + 1).encode()))
    assert closed is not None and closed.error is not None
    assert "decode_error" in closed.error


def test_rejects_a_group_list_past_the_cap_with_decode_error() -> None:
    closed = serve_once(as_records(with_groups(defaults.MAX_LIST_ENTRIES + 1).encode()))
    assert closed is not None and closed.error is not None
    assert "decode_error" in closed.error


def test_rejects_more_key_shares_than_the_cap() -> None:
    shares = tuple(ext.KeyShareEntry(code, b"\x01") for code in unknown_codes(1025))
    with pytest.raises(ProtocolError) as info:
        ext.decode_key_share_ch(ext.encode_key_share_ch(shares))
    assert info.value.alert == AlertDescription.decode_error


def test_refusal_names_a_few_offers_and_counts_the_rest() -> None:
    count = defaults.MAX_LIST_ENTRIES
    closed = serve_once(as_records(with_suites(count).encode()))
    assert closed is not None and closed.error is not None
    assert "handshake_failure" in closed.error
    assert f"and {count - defaults.MAX_NAMES_IN_ERRORS} more" in closed.error
    assert len(closed.error) < 1000
