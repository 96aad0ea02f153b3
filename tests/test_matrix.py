"""The loopback matrix over the sans-I/O core: every group x every suite x every signature
scheme, both ends ours, each handshake followed by data both ways."""

from __future__ import annotations

import itertools

import pytest
from pairs import client_config, drain, handshake, pump, server_config

from nautilus_tls.events import DataReceived
from nautilus_tls.wire.enums import CipherSuite, NamedGroup, SignatureScheme

GROUPS = [
    NamedGroup.X25519MLKEM768,
    NamedGroup.SecP256r1MLKEM768,
    NamedGroup.SecP384r1MLKEM1024,
    NamedGroup.MLKEM768,
    NamedGroup.MLKEM1024,
    NamedGroup.x25519,
    NamedGroup.secp256r1,
    NamedGroup.secp384r1,
]
SUITES = [
    CipherSuite.TLS_AES_128_GCM_SHA256,
    CipherSuite.TLS_AES_256_GCM_SHA384,
    CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
]
# (certificate key algorithm, the scheme the client insists on)
SCHEMES = [
    ("mldsa44", SignatureScheme.mldsa44),
    ("mldsa65", SignatureScheme.mldsa65),
    ("mldsa87", SignatureScheme.mldsa87),
    ("ed25519", SignatureScheme.ed25519),
    ("ecdsa-p256", SignatureScheme.ecdsa_secp256r1_sha256),
    ("ecdsa-p384", SignatureScheme.ecdsa_secp384r1_sha384),
    ("rsa2048", SignatureScheme.rsa_pss_rsae_sha256),
    ("rsa2048", SignatureScheme.rsa_pss_rsae_sha384),
    ("rsa2048", SignatureScheme.rsa_pss_rsae_sha512),
]


@pytest.mark.parametrize(
    ("group", "suite", "alg_scheme"),
    list(itertools.product(GROUPS, SUITES, SCHEMES)),
    ids=lambda v: v[1].name if isinstance(v, tuple) else v.name,
)
def test_matrix_handshake_and_data(
    group: NamedGroup, suite: CipherSuite, alg_scheme: tuple[str, SignatureScheme]
) -> None:
    alg, scheme = alg_scheme
    client, server = handshake(
        client_config(
            alg,
            groups=(group,),
            key_share_groups=(group,),
            cipher_suites=(suite,),
            signature_schemes=(scheme,),
        ),
        server_config(alg, groups=(group,), cipher_suites=(suite,)),
    )
    info = client.info
    assert info is not None and server.info is not None
    assert (info.group, info.cipher_suite, info.signature_scheme) == (
        group.name,
        suite.name,
        scheme.name,
    )
    assert server.info.group == group.name
    drain(client), drain(server)
    client.send_data(b"c" * 20000)
    server.send_data(b"s")
    pump(client, server)
    assert b"".join(e.data for e in drain(server) if isinstance(e, DataReceived)) == b"c" * 20000
    assert [e.data for e in drain(client) if isinstance(e, DataReceived)] == [b"s"]
