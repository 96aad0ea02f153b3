"""Security policies: every preset and every explicit knob on the accept path and on the refuse
path, with the exact alert both sides see and the exact message the refusing side gives."""

from __future__ import annotations

import pytest
from certificates import pki
from pairs import client_config, handshake, server_config

from nautilus_tls import cli, defaults
from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, ServerConnection
from nautilus_tls.crypto.kem import PrimitiveKem, PrivateGroup
from nautilus_tls.crypto.provider import DEFAULT_PROVIDER, group_entry
from nautilus_tls.crypto.signatures import PrivateSignatureScheme
from nautilus_tls.errors import AlertDescription, ConfigError, PeerAlert, ProtocolError
from nautilus_tls.policy import (
    COMPAT,
    HYBRID,
    PQ_ONLY,
    Policy,
    code_for_name,
    codes_for_names,
    initial_key_share_groups,
    name_of,
    policy_named,
)
from nautilus_tls.wire.enums import CipherSuite, NamedGroup, SignatureScheme

G, S, C = NamedGroup, SignatureScheme, CipherSuite
A = AlertDescription


def refused(client_cfg: ClientConfig, server_cfg: ServerConfig) -> tuple[ProtocolError, PeerAlert]:
    """Run the first flight; return the server's error and what the client then received."""
    client = ClientConnection(client_cfg, "localhost")
    server = ServerConnection(server_cfg)
    client.start()
    with pytest.raises(ProtocolError) as server_error:
        server.receive_data(client.data_to_send())
    with pytest.raises(PeerAlert) as client_error:
        client.receive_data(server.data_to_send())
    return server_error.value, client_error.value


def assert_refused(
    client_cfg: ClientConfig, server_cfg: ServerConfig, alert: AlertDescription, message: str
) -> None:
    server_error, client_error = refused(client_cfg, server_cfg)
    assert server_error.alert == alert
    assert server_error.args[0] == message
    assert client_error.description == alert


def names(kind: str, codes: tuple[int, ...]) -> str:
    return ", ".join(name_of(kind, c) for c in codes)


# --- presets --------------------------------------------------------------------------------------


def test_hybrid_is_the_default_and_equals_the_library_defaults() -> None:
    cfg = client_config()
    assert cfg.security_policy is HYBRID and policy_named("hybrid") is HYBRID
    assert cfg.groups == defaults.DEFAULT_GROUPS
    assert cfg.key_share_groups == defaults.DEFAULT_KEY_SHARE_GROUPS
    assert cfg.cipher_suites == defaults.DEFAULT_CIPHER_SUITES
    assert cfg.signature_schemes == defaults.DEFAULT_SIGNATURE_SCHEMES
    assert cfg.certificate_schemes == defaults.DEFAULT_CERTIFICATE_SCHEMES


def test_pq_only_preset_lists() -> None:
    cfg = client_config(policy="pq-only")
    assert cfg.security_policy is PQ_ONLY
    assert cfg.groups[:5] == (
        G.X25519MLKEM768,
        G.SecP256r1MLKEM768,
        G.SecP384r1MLKEM1024,
        G.MLKEM768,
        G.MLKEM1024,
    )
    assert set(cfg.groups[5:]) == set(PrivateGroup)  # pqcrypto is in the test extra
    assert cfg.key_share_groups == (G.X25519MLKEM768,)
    assert cfg.cipher_suites == (C.TLS_AES_256_GCM_SHA384, C.TLS_CHACHA20_POLY1305_SHA256)
    assert cfg.signature_schemes[:3] == (S.mldsa65, S.mldsa87, S.mldsa44)
    assert set(cfg.signature_schemes[3:]) == set(PrivateSignatureScheme)
    assert cfg.certificate_schemes == (S.mldsa65, S.mldsa87, S.mldsa44)


def test_pq_only_accepts_a_pq_only_peer() -> None:
    client, server = handshake(client_config(policy="pq-only"), server_config(policy="pq-only"))
    assert client.info is not None and server.info is not None
    assert (client.info.group, client.info.signature_scheme, client.info.cipher_suite) == (
        "X25519MLKEM768",
        "mldsa65",
        "TLS_AES_256_GCM_SHA384",
    )


def test_pq_only_server_accepts_a_plugin_group_and_a_default_client() -> None:
    client, _ = handshake(
        client_config(groups=(PrivateGroup.X25519HQC128,)), server_config(policy="pq-only")
    )
    assert client.info is not None and client.info.group == "X25519HQC128"
    client, _ = handshake(client_config(), server_config(policy="pq-only"))
    assert client.info is not None and client.info.group == "X25519MLKEM768"


def test_pq_only_server_refuses_classical_key_exchange() -> None:
    assert_refused(
        client_config(groups=(G.x25519, G.secp256r1)),
        server_config(policy="pq-only"),
        A.insufficient_security,
        "server policy pq-only: client offered no post-quantum key exchange group; "
        "offered: x25519, secp256r1",
    )


def test_pq_only_server_refuses_classical_certificate_verify() -> None:
    assert_refused(
        client_config(signature_schemes=(S.ed25519, S.ecdsa_secp256r1_sha256)),
        server_config(policy="pq-only"),
        A.insufficient_security,
        "server policy pq-only: client offered no post-quantum signature scheme; "
        "offered: ed25519, ecdsa_secp256r1_sha256",
    )


def test_pq_only_server_refuses_128_bit_suites() -> None:
    assert_refused(
        client_config(cipher_suites=(C.TLS_AES_128_GCM_SHA256,)),
        server_config(policy="pq-only"),
        A.handshake_failure,
        "server policy pq-only: no cipher suite in common; client offered: "
        "TLS_AES_128_GCM_SHA256; we accept: TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256",
    )


def test_pq_only_client_is_refused_by_a_classical_server() -> None:
    pq_client = client_config(policy="pq-only")
    assert_refused(
        pq_client,
        server_config(groups=(G.x25519, G.secp256r1)),
        A.handshake_failure,
        f"server policy hybrid: no key exchange group in common; client offered: "
        f"{names('group', pq_client.groups)}; we accept: x25519, secp256r1",
    )


def test_pq_only_rejects_classical_entries_in_explicit_lists() -> None:
    with pytest.raises(
        ConfigError, match=r"^groups: policy pq-only does not allow x25519 \(not post-quantum\)$"
    ):
        client_config(policy="pq-only", groups=(G.X25519MLKEM768, G.x25519))
    with pytest.raises(
        ConfigError, match=r"^signature_schemes: policy pq-only does not allow ed25519"
    ):
        client_config(policy="pq-only", signature_schemes=(S.mldsa65, S.ed25519))
    with pytest.raises(
        ConfigError,
        match=r"^certificate 0 signs only with ecdsa_secp256r1_sha256; signature_schemes \(policy pq-only\) allows only mldsa65, mldsa87, mldsa44, slhdsa_sha2_128f, slhdsa_sha2_128s, slhdsa_sha2_192f, slhdsa_sha2_256f$",
    ):
        server_config("ecdsa-p256", policy="pq-only")


def test_pq_only_allows_classical_chain_signatures_only_when_configured() -> None:
    assert S.ecdsa_secp256r1_sha256 not in client_config(policy="pq-only").certificate_schemes
    cfg = client_config(policy="pq-only", certificate_schemes=(S.mldsa65, S.ecdsa_secp256r1_sha256))
    assert cfg.certificate_schemes == (S.mldsa65, S.ecdsa_secp256r1_sha256)
    assert cfg.signature_schemes[0] == S.mldsa65  # CertificateVerify stays post-quantum


def test_hybrid_accepts_classical_and_pq() -> None:
    client, _ = handshake(client_config(), server_config())
    assert client.info is not None and client.info.group == "X25519MLKEM768"
    client, _ = handshake(client_config(groups=(G.x25519,)), server_config())
    assert client.info is not None and client.info.group == "x25519"


def test_hybrid_refuses_groups_it_does_not_list() -> None:
    assert_refused(
        client_config(groups=(PrivateGroup.HQC128,)),
        server_config(),
        A.handshake_failure,
        "server policy hybrid: no key exchange group in common; client offered: HQC128; "
        f"we accept: {names('group', defaults.DEFAULT_GROUPS)}",
    )


def test_compat_preset_lists() -> None:
    cfg = client_config(policy="compat")
    assert cfg.groups[:3] == (G.x25519, G.secp256r1, G.secp384r1)
    assert cfg.key_share_groups == (G.x25519,)
    assert cfg.signature_schemes[0] == S.ecdsa_secp256r1_sha256
    assert S.ed448 in cfg.signature_schemes and S.mldsa65 in cfg.signature_schemes


def test_compat_client_sends_a_small_hello_and_is_asked_for_pq_by_a_hybrid_server() -> None:
    client = ClientConnection(client_config(policy="compat"), "localhost")
    client.start()
    assert len(client.data_to_send()) < 600  # one 32-byte x25519 share
    client, _ = handshake(client_config(policy="compat"), server_config())
    assert client.info is not None and client.info.hello_retry
    assert client.info.group == "X25519MLKEM768"


def test_compat_peers_agree_on_classical_without_retry() -> None:
    client, _ = handshake(
        client_config("ecdsa-p256", policy="compat"), server_config("ecdsa-p256", policy="compat")
    )
    assert client.info is not None and not client.info.hello_retry
    assert (client.info.group, client.info.signature_scheme, client.info.cipher_suite) == (
        "x25519",
        "ecdsa_secp256r1_sha256",
        "TLS_AES_128_GCM_SHA256",
    )


def test_compat_refuses_a_scheme_its_certificate_cannot_make() -> None:
    assert_refused(
        client_config("ecdsa-p256", signature_schemes=(S.ed25519,)),
        server_config("ecdsa-p256", policy="compat"),
        A.handshake_failure,
        "server policy compat: no signature scheme in common; client offered: ed25519; "
        "our certificates sign with: ecdsa_secp256r1_sha256",
    )


def test_a_custom_policy_object() -> None:
    mine = Policy(
        name="mlkem1024-only",
        description="test",
        groups=(G.MLKEM1024,),
        key_share_groups=(G.MLKEM1024,),
        cipher_suites=(C.TLS_AES_256_GCM_SHA384,),
        signature_schemes=(S.mldsa87, S.mldsa65),
        certificate_schemes=(S.mldsa87, S.mldsa65),
        post_quantum_key_exchange=True,
        min_security_level=192,
    )
    client, _ = handshake(client_config(policy=mine), server_config(policy=mine))
    assert client.info is not None and client.info.group == "MLKEM1024"
    server_error, _ = refused(client_config(groups=(G.x25519,)), server_config(policy=mine))
    assert server_error.alert == A.insufficient_security
    assert server_error.args[0] == (
        "server policy mlkem1024-only (min level 192): client offered no post-quantum key "
        "exchange group; offered: x25519"
    )


def test_unknown_policy_name() -> None:
    with pytest.raises(ConfigError, match="unknown policy 'paranoid'"):
        client_config(policy="paranoid")
    assert {COMPAT.name, HYBRID.name, PQ_ONLY.name} == {"compat", "hybrid", "pq-only"}


# --- explicit lists --------------------------------------------------------------------------------


def test_explicit_groups_accept_via_retry_and_refuse_without_overlap() -> None:
    client, _ = handshake(client_config(), server_config(groups=(G.MLKEM1024,)))
    assert client.info is not None and client.info.group == "MLKEM1024" and client.info.hello_retry
    assert_refused(
        client_config(groups=(G.X25519MLKEM768,)),
        server_config(groups=(G.MLKEM1024,)),
        A.handshake_failure,
        "server policy hybrid: no key exchange group in common; client offered: "
        "X25519MLKEM768; we accept: MLKEM1024",
    )


def test_explicit_suites_accept_and_refuse() -> None:
    client, _ = handshake(
        client_config(), server_config(cipher_suites=(C.TLS_CHACHA20_POLY1305_SHA256,))
    )
    assert client.info is not None and client.info.cipher_suite == "TLS_CHACHA20_POLY1305_SHA256"
    assert_refused(
        client_config(cipher_suites=(C.TLS_AES_128_GCM_SHA256,)),
        server_config(cipher_suites=(C.TLS_CHACHA20_POLY1305_SHA256,)),
        A.handshake_failure,
        "server policy hybrid: no cipher suite in common; client offered: "
        "TLS_AES_128_GCM_SHA256; we accept: TLS_CHACHA20_POLY1305_SHA256",
    )


def test_explicit_signature_schemes_accept_and_refuse() -> None:
    client, _ = handshake(
        client_config(signature_schemes=(S.mldsa65,)), server_config(signature_schemes=(S.mldsa65,))
    )
    assert client.info is not None and client.info.signature_scheme == "mldsa65"
    assert_refused(
        client_config("mldsa87", signature_schemes=(S.mldsa44, S.mldsa65)),
        server_config("mldsa87", signature_schemes=(S.mldsa87,)),
        A.handshake_failure,
        "server policy hybrid: no signature scheme in common; client offered: mldsa44, "
        "mldsa65; our certificates sign with: mldsa87",
    )


def test_explicit_lists_are_validated() -> None:
    with pytest.raises(ConfigError, match=r"^groups: unsupported group x448$"):
        client_config(groups=(G.x448,))
    with pytest.raises(ConfigError, match="lists a group twice"):
        client_config(groups=(G.x25519, G.x25519))
    with pytest.raises(ConfigError, match="unsupported cipher suite TLS_AES_128_CCM_SHA256"):
        client_config(cipher_suites=(C.TLS_AES_128_CCM_SHA256,))
    with pytest.raises(
        ConfigError, match=r"rsa_pkcs1_sha256 is not allowed in TLS 1\.3 CertificateVerify"
    ):
        client_config(signature_schemes=(S.rsa_pkcs1_sha256,))
    with pytest.raises(
        ConfigError, match=r"^key share group x25519 is not in groups \(MLKEM768\)$"
    ):
        client_config(groups=(G.MLKEM768,), key_share_groups=(G.x25519,))
    with pytest.raises(
        ConfigError,
        match=r"^certificate 0 signs only with mldsa65; signature_schemes \(policy hybrid\) allows only ed25519$",
    ):
        ServerConfig(certificates=(pki("mldsa65").server,), signature_schemes=(S.ed25519,))


def test_key_shares_default_to_the_first_listed_group_when_the_policy_share_is_dropped() -> None:
    assert client_config(groups=(G.secp384r1, G.x25519)).key_share_groups == (G.secp384r1,)


def test_several_initial_key_shares_and_fast_fallback() -> None:
    cfg = client_config(key_share_groups=(G.X25519MLKEM768, G.x25519))
    client, _ = handshake(cfg, server_config(groups=(G.x25519,)))
    assert client.info is not None and client.info.group == "x25519" and not client.info.hello_retry
    client, _ = handshake(cfg, server_config())
    assert client.info is not None and client.info.group == "X25519MLKEM768"
    assert not client.info.hello_retry


def test_key_shares_must_fit_the_key_share_extension() -> None:
    class Huge:
        name = "huge"
        public_key_len = 40_000
        ciphertext_len = 32
        shared_secret_len = 32

        def keygen(self) -> tuple[bytes, bytes]:
            return bytes(40_000), b""

        def encaps(self, public_key: bytes) -> tuple[bytes, bytes]:
            return bytes(32), bytes(32)

        def decaps(self, secret_key: bytes, ciphertext: bytes) -> bytes:
            return bytes(32)

    huge = DEFAULT_PROVIDER.with_groups(
        *(
            group_entry(
                PrimitiveKem(Huge(), group=code), name=f"Huge{code:x}", level=128, post_quantum=True
            )
            for code in (0xFEA0, 0xFEA1)
        )
    )
    with pytest.raises(
        ConfigError, match=r"take 80008 bytes; the key_share extension holds at most 65533"
    ):
        client_config(provider=huge, groups=(0xFEA0, 0xFEA1), key_share_groups=(0xFEA0, 0xFEA1))
    assert client_config(provider=huge, groups=(0xFEA0, 0xFEA1)).key_share_groups == (0xFEA0,)


# --- minimum security level ----------------------------------------------------------------------


def test_min_security_level_filters_every_list() -> None:
    cfg = server_config(min_security_level=192)
    assert G.x25519 not in cfg.groups and G.X25519MLKEM768 in cfg.groups
    assert cfg.cipher_suites == (C.TLS_AES_256_GCM_SHA384, C.TLS_CHACHA20_POLY1305_SHA256)
    assert cfg.signature_schemes == (S.mldsa65, S.mldsa87, S.ecdsa_secp384r1_sha384)
    client, _ = handshake(client_config(), cfg)
    assert client.info is not None
    assert (client.info.group, client.info.cipher_suite, client.info.signature_scheme) == (
        "X25519MLKEM768",
        "TLS_AES_256_GCM_SHA384",
        "mldsa65",
    )


def test_min_security_level_refuses_weaker_offers() -> None:
    assert_refused(
        client_config(groups=(G.x25519, G.secp256r1)),
        server_config(min_security_level=192),
        A.insufficient_security,
        "server policy hybrid (min level 192): client offered no key exchange group at "
        "security level 192 or above; offered: x25519, secp256r1",
    )
    assert_refused(
        client_config(cipher_suites=(C.TLS_AES_128_GCM_SHA256,)),
        server_config("mldsa87", min_security_level=256),
        A.insufficient_security,
        "server policy hybrid (min level 256): client offered no cipher suite at security "
        "level 256 or above; offered: TLS_AES_128_GCM_SHA256",
    )
    assert_refused(
        client_config("mldsa87", signature_schemes=(S.mldsa44, S.ed25519)),
        server_config("mldsa87", min_security_level=256),
        A.insufficient_security,
        "server policy hybrid (min level 256): client offered no signature scheme at "
        "security level 256 or above; offered: mldsa44, ed25519",
    )


def test_min_security_level_that_leaves_nothing_is_a_config_error() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^min_security_level 256 leaves no group in groups \(had: x25519 \(128\)\)$",
    ):
        client_config(groups=(G.x25519,), min_security_level=256)
    with pytest.raises(ConfigError, match="must not be negative"):
        client_config(min_security_level=-1)


# --- preference -------------------------------------------------------------------------------------


def test_server_or_client_preference_for_suites() -> None:
    offered = (C.TLS_AES_128_GCM_SHA256, C.TLS_CHACHA20_POLY1305_SHA256)
    client, _ = handshake(client_config(cipher_suites=offered), server_config())
    assert client.info is not None and client.info.cipher_suite == "TLS_CHACHA20_POLY1305_SHA256"
    client, _ = handshake(client_config(cipher_suites=offered), server_config(preference="client"))
    assert client.info is not None and client.info.cipher_suite == "TLS_AES_128_GCM_SHA256"


def test_server_or_client_preference_for_groups() -> None:
    groups = (G.SecP256r1MLKEM768, G.X25519MLKEM768)
    cfg = client_config(groups=groups, key_share_groups=groups)
    client, _ = handshake(cfg, server_config())
    assert client.info is not None and client.info.group == "X25519MLKEM768"
    client, _ = handshake(cfg, server_config(preference="client"))
    assert client.info is not None and client.info.group == "SecP256r1MLKEM768"


def test_client_preference_still_refuses_with_the_policy_message() -> None:
    assert_refused(
        client_config(groups=(G.x25519,)),
        server_config(policy="pq-only", preference="client"),
        A.insufficient_security,
        "server policy pq-only: client offered no post-quantum key exchange group; offered: x25519",
    )
    with pytest.raises(ConfigError, match="preference must be"):
        server_config(preference="random")


# --- names and the command line ----------------------------------------------------------------


def test_names_resolve_through_the_registries() -> None:
    assert codes_for_names("group", "x25519MLKEM768, X25519HQC256,0xfe30") == (
        G.X25519MLKEM768,
        PrivateGroup.X25519HQC256,
        PrivateGroup.HQC128,
    )
    assert (
        code_for_name("signature scheme", "SLHDSA_SHA2_128F")
        == PrivateSignatureScheme.slhdsa_sha2_128f
    )
    assert code_for_name("cipher suite", "tls_aes_256_gcm_sha384") == C.TLS_AES_256_GCM_SHA384
    with pytest.raises(ValueError, match="ClassicMcEliece348864 cannot be negotiated"):
        code_for_name("group", "ClassicMcEliece348864")
    with pytest.raises(ValueError, match=r"unknown group 'x448' \(known: X25519MLKEM768, "):
        code_for_name("group", "x448")


@pytest.mark.parametrize(
    "groups",
    [
        (G.x25519, G.X25519MLKEM768),  # the policy's share group listed, but not first
        (G.secp384r1, G.x25519),  # the policy's share group absent
        (G.X25519MLKEM768, G.x25519),
    ],
    ids=["share-group-second", "share-group-absent", "share-group-first"],
)
def test_cli_and_library_pick_the_same_first_key_shares(groups: tuple[int, ...]) -> None:
    library = client_config(groups=groups).key_share_groups
    assert library == initial_key_share_groups(groups, HYBRID.key_share_groups)
    names = ",".join(name_of("group", g) for g in groups)
    args = cli.build_parser().parse_args(["connect", "localhost:1", "--groups", names])
    assert cli._client_config(args).key_share_groups == library


def test_cli_policy_and_name_flags_build_the_configs() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(
        [
            "connect",
            "localhost:1",
            "--policy",
            "pq-only",
            "--groups",
            "X25519HQC256,X25519MLKEM768",
            "--key-shares",
            "X25519HQC256,X25519MLKEM768",
            "--sigalgs",
            "slhdsa_sha2_128f,mldsa65",
            "--min-security-level",
            "128",
        ]
    )
    cfg = cli._client_config(args)
    assert cfg.security_policy is PQ_ONLY
    assert cfg.groups == (PrivateGroup.X25519HQC256, G.X25519MLKEM768)
    assert cfg.key_share_groups == cfg.groups
    assert cfg.signature_schemes == (PrivateSignatureScheme.slhdsa_sha2_128f, S.mldsa65)
    args = parser.parse_args(["connect", "localhost:1", "--groups", "x25519,secp256r1"])
    assert cli._client_config(args).key_share_groups == (G.x25519,)
    args = parser.parse_args(["serve", "--policy", "compat", "--preference", "client"])
    assert (args.policy, args.preference) == ("compat", "client")
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--policy", "paranoid"])


def test_cli_rejects_a_policy_violation_as_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(["connect", "localhost:1", "--policy", "pq-only", "--groups", "x25519"])
    assert status == cli.EXIT_USAGE
    assert (
        "groups: policy pq-only does not allow x25519 (not post-quantum)" in capsys.readouterr().err
    )
