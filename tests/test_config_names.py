"""Configs take algorithm names as well as code points (the names `nautilus-tls algorithms`
prints) and ALPN protocols as str as well as bytes; a wrong type gets a message that says
what is expected."""

from __future__ import annotations

from typing import Any

import pytest
from certificates import pki

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.errors import ConfigError
from nautilus_tls.wire.enums import CipherSuite, NamedGroup, SignatureScheme


def test_names_and_code_points_give_the_same_config() -> None:
    by_name = ClientConfig(
        groups=("X25519MLKEM768", "x25519"),
        key_share_groups=("X25519MLKEM768",),
        cipher_suites=("TLS_AES_256_GCM_SHA384",),
        signature_schemes=("mldsa65", "ecdsa_secp256r1_sha256"),
        alpn_protocols=("h2", "http/1.1"),
    )
    by_code = ClientConfig(
        groups=(NamedGroup.X25519MLKEM768, NamedGroup.x25519),
        key_share_groups=(NamedGroup.X25519MLKEM768,),
        cipher_suites=(CipherSuite.TLS_AES_256_GCM_SHA384,),
        signature_schemes=(SignatureScheme.mldsa65, SignatureScheme.ecdsa_secp256r1_sha256),
        alpn_protocols=(b"h2", b"http/1.1"),
    )
    for field in (
        "groups",
        "key_share_groups",
        "cipher_suites",
        "signature_schemes",
        "alpn_protocols",
    ):
        assert getattr(by_name, field) == getattr(by_code, field), field


def test_a_server_config_takes_names_too() -> None:
    config = ServerConfig(
        certificates=(pki("mldsa65").server,), groups=("x25519",), alpn_protocols=("http/1.1",)
    )
    assert config.groups == (NamedGroup.x25519,)
    assert config.alpn_protocols == (b"http/1.1",)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"groups": "x25519"}, "groups must be a sequence of names or code points, e.g. "
         '("X25519MLKEM768", "x25519"), not str'),
        ({"groups": ("x25519", 1.5)}, "groups: 1.5 is neither a group name nor a code point"),
        ({"groups": ("x25519", "nope")}, "groups: unknown group 'nope' (known: X25519MLKEM768"),
        ({"cipher_suites": 4865}, "cipher_suites must be a sequence of names or code points"),
        ({"signature_schemes": (True,)}, "signature_schemes: True is neither"),
        ({"alpn_protocols": b"h2"}, 'alpn_protocols must be a sequence of protocols, e.g. ("h2", "http/1.1"), not bytes'),
        ({"alpn_protocols": ("h2", 2)}, "alpn_protocols: 2 is neither str nor bytes"),
        ({"alpn_protocols": ("é",)}, "alpn_protocols: 'é' is not ASCII"),
        ({"handshake_timeout": "3"}, "handshake_timeout must be a number, not str '3'"),
        ({"max_buffered_plaintext": None}, "max_buffered_plaintext must be a number, not NoneType"),
    ],
)  # fmt: skip
def test_a_wrong_type_says_what_is_expected(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ClientConfig(**kw)
    assert str(caught.value).startswith(message), str(caught.value)
