"""Bugs of the core that the interop matrix found, reproduced without any peer.

Open bugs are strict xfails (naming the file, the symptom and the diagnosis); when one is
fixed, pytest reports XPASS as a failure and the test becomes a plain regression test, as
below. The matrix case that found the bug carries the same ``xfail`` while it is open.
"""

from __future__ import annotations

import pytest
from pairs import client_config, handshake, server_config

from nautilus_tls.wire.enums import SignatureScheme


@pytest.mark.parametrize(
    "scheme",
    [SignatureScheme.rsa_pss_rsae_sha384, SignatureScheme.rsa_pss_rsae_sha512],
    ids=lambda s: s.name,
)
def test_server_signs_only_with_its_configured_schemes(scheme: SignatureScheme) -> None:
    """Found with Chromium (which cannot be told which RSA-PSS hash to ask for): at cf997cc
    handshake/server.py ``_choose_scheme()`` ignored ``ServerConfig.signature_schemes``, so
    ``nautilus-tls serve --schemes rsa_pss_rsae_sha384`` still signed with rsa_pss_rsae_sha256."""
    client, server = handshake(
        client_config("rsa2048"), server_config("rsa2048", signature_schemes=(scheme,))
    )
    assert server.info is not None and client.info is not None
    assert server.info.signature_scheme == scheme.name
    assert client.info.signature_scheme == scheme.name
