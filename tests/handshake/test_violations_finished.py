"""Protocol violations, Finished: wrong verify_data, wrong length, padding.
Forged from real flights with the helpers in violations.py.
"""

from __future__ import annotations

import pytest
from handshake.violations import A, client_flight, expect_alert, read_sealer, server_flight

from nautilus_tls.wire.enums import HandshakeType


def _finished(verify_data: bytes) -> bytes:
    return bytes((HandshakeType.finished,)) + len(verify_data).to_bytes(3, "big") + verify_data


def test_client_rejects_wrong_server_finished() -> None:
    f = server_flight()
    fin = bytearray(f.msg(HandshakeType.finished))
    fin[-1] ^= 1
    seal = read_sealer(f.client)
    expect_alert(f.client, seal(*f.replaced(HandshakeType.finished, bytes(fin))), A.decrypt_error)


def test_server_rejects_wrong_client_finished() -> None:
    f = client_flight()
    fin = bytearray(f.msg(HandshakeType.finished))
    fin[-1] ^= 1
    expect_alert(f.server, read_sealer(f.server)(bytes(fin)), A.decrypt_error)


@pytest.mark.parametrize("change", [-1, +1])
def test_server_rejects_client_finished_of_the_wrong_length(change: int) -> None:
    f = client_flight()
    verify_data = f.msg(HandshakeType.finished)[4:]
    wrong = verify_data[:change] if change < 0 else verify_data + b"\x00" * change
    expect_alert(f.server, read_sealer(f.server)(_finished(wrong)), A.decode_error)


@pytest.mark.parametrize("change", [-1, +1])
def test_client_rejects_server_finished_of_the_wrong_length(change: int) -> None:
    f = server_flight()
    verify_data = f.msg(HandshakeType.finished)[4:]
    wrong = verify_data[:change] if change < 0 else verify_data + b"\x00" * change
    forged = f.replaced(HandshakeType.finished, _finished(wrong))
    expect_alert(f.client, read_sealer(f.client)(*forged), A.decode_error)


def test_server_rejects_finished_padded_with_leading_zeros() -> None:
    f = client_flight()
    padded = b"\x00" * 16000 + f.msg(HandshakeType.finished)[4:]
    expect_alert(f.server, read_sealer(f.server)(_finished(padded)), A.decode_error)
