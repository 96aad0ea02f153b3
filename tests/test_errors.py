"""The error tree: HandshakeTimeout is also a TimeoutError and does not call itself
user_canceled."""

from __future__ import annotations

import pickle

import pytest

from nautilus_tls.errors import AlertDescription, HandshakeTimeout, LocalProtocolError, TLSError


def test_handshake_timeout_is_a_timeout_error_and_a_tls_error() -> None:
    error = HandshakeTimeout("the handshake did not finish within 3 s")
    assert isinstance(error, TimeoutError)
    assert isinstance(error, LocalProtocolError) and isinstance(error, TLSError)
    with pytest.raises(TimeoutError, match="within 3 s"):
        raise error


def test_handshake_timeout_text_says_what_happened_not_the_alert() -> None:
    error = HandshakeTimeout("the handshake did not finish within 3 s")
    assert str(error) == "the handshake did not finish within 3 s"
    assert "user_canceled" not in str(error)
    assert error.alert is AlertDescription.user_canceled  # what goes on the wire
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
