"""Crypto providers end to end: every pqcrypto add-on group and signature scheme completes a
handshake between two Nautilus peers over loopback (asyncio and blocking adapters); a new
algorithm is one class plus one provider entry; the algorithm table and its command."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import x25519
from loopback import ADAPTERS
from pairs import client_config, drain, handshake, pump, server_config

from nautilus_tls import cli
from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.crypto import catalog, pqclean
from nautilus_tls.crypto.certgen import make_ca
from nautilus_tls.crypto.kem import EcdhKem, HybridKem, PrimitiveKem, PrivateGroup
from nautilus_tls.crypto.provider import (
    DEFAULT_PROVIDER,
    CryptoProvider,
    aes_128_ccm_entry,
    group_entry,
    suite_entry,
)
from nautilus_tls.crypto.signatures import PrivateSignatureScheme
from nautilus_tls.crypto.slhdsa import make_slhdsa_leaf
from nautilus_tls.crypto.suites import SuiteParams
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.errors import AlertDescription, ConfigError
from nautilus_tls.events import DataReceived
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire.enums import CipherSuite, NamedGroup

pytest.importorskip("pqcrypto", reason="the pq extra (pqcrypto) is not installed")

group_name = DEFAULT_PROVIDER.group_name
scheme_name = DEFAULT_PROVIDER.scheme_name

Echo = Callable[[ClientConfig, ServerConfig], tuple[SessionInfo, SessionInfo]]
SLH_SETS = {
    PrivateSignatureScheme.slhdsa_sha2_128s: "SLH-DSA-SHA2-128s",
    PrivateSignatureScheme.slhdsa_sha2_128f: "SLH-DSA-SHA2-128f",
    PrivateSignatureScheme.slhdsa_sha2_192f: "SLH-DSA-SHA2-192f",
    PrivateSignatureScheme.slhdsa_sha2_256f: "SLH-DSA-SHA2-256f",
}


@pytest.fixture(params=list(ADAPTERS), ids=list(ADAPTERS))
def echo(request: pytest.FixtureRequest) -> Echo:
    return ADAPTERS[request.param]


# --- every plugin group and scheme over both adapters --------------------------------------------


@pytest.mark.parametrize("group", list(PrivateGroup), ids=lambda g: g.name)
def test_plugin_group_handshakes_over_loopback(echo: Echo, group: PrivateGroup) -> None:
    client_info, server_info = echo(client_config(groups=(group,)), server_config(policy="pq-only"))
    # SessionInfo names groups through the IANA enum, so private-use ones show as hex.
    assert client_info.group == server_info.group == group_name(group)
    assert not client_info.hello_retry


@cache
def slh_pki(parameter_set: str) -> tuple[bytes, CertifiedKey]:
    ca_der, ca_key = make_ca("mldsa65", "SLH-DSA loopback CA")
    der, key, _ = make_slhdsa_leaf(ca_der, ca_key, parameter_set, ["localhost", "127.0.0.1"])
    return ca_der, CertifiedKey(chain=(der,), private_key=key)


@pytest.mark.parametrize(
    ("scheme", "parameter_set"), SLH_SETS.items(), ids=[s.name for s in SLH_SETS]
)
def test_slhdsa_scheme_handshakes_over_loopback(
    echo: Echo, scheme: PrivateSignatureScheme, parameter_set: str
) -> None:
    ca_der, certified = slh_pki(parameter_set)
    client_cfg = ClientConfig(
        trust_store=TrustStore.from_certificates([ca_der]), signature_schemes=(scheme,)
    )
    server_cfg = ServerConfig(certificates=(certified,), policy="pq-only")
    client_info, server_info = echo(client_cfg, server_cfg)
    assert client_info.signature_scheme == server_info.signature_scheme == scheme_name(scheme)
    assert client_info.peer_certificate_subject == "CN=localhost"


def test_slhdsa_and_mldsa_served_from_one_certificate() -> None:
    ca_der, ca_key = make_ca("mldsa65", "SLH-DSA dual CA")
    der, slh, companion = make_slhdsa_leaf(ca_der, ca_key, "SLH-DSA-SHA2-128f", ["localhost"])
    server = ServerConfig(
        certificates=(
            CertifiedKey(chain=(der,), private_key=slh),
            CertifiedKey(chain=(der,), private_key=companion),
        ),
        policy="pq-only",
    )
    store = TrustStore.from_certificates([ca_der])
    # A peer without the SLH-DSA schemes gets ML-DSA-44 from the companion key...
    plain, _ = handshake(ClientConfig(trust_store=store), server)
    assert plain.info is not None and plain.info.signature_scheme == "mldsa44"
    # ...one that offers them gets SLH-DSA, from the same certificate.
    pq_client, _ = handshake(ClientConfig(trust_store=store, policy="pq-only"), server)
    assert pq_client.info is not None and pq_client.info.signature_scheme == "slhdsa_sha2_128f"


# --- one class plus one entry --------------------------------------------------------------------


class X25519Primitive:
    """A toy KEM primitive (X25519 as a KEM): what a researcher's class looks like."""

    name = "ToyX25519"
    public_key_len = 32
    ciphertext_len = 32
    shared_secret_len = 32

    def keygen(self) -> tuple[bytes, bytes]:
        key = x25519.X25519PrivateKey.generate()
        return key.public_key().public_bytes_raw(), key.private_bytes_raw()

    def encaps(self, public_key: bytes) -> tuple[bytes, bytes]:
        eph = x25519.X25519PrivateKey.generate()
        peer = x25519.X25519PublicKey.from_public_bytes(public_key)
        return eph.public_key().public_bytes_raw(), eph.exchange(peer)

    def decaps(self, secret_key: bytes, ciphertext: bytes) -> bytes:
        key = x25519.X25519PrivateKey.from_private_bytes(secret_key)
        return key.exchange(x25519.X25519PublicKey.from_public_bytes(ciphertext))


@dataclass(frozen=True)
class ToyGroups:
    provider: CryptoProvider
    codes: tuple[int, int]


@pytest.fixture
def toy_groups() -> ToyGroups:
    toy = PrimitiveKem(X25519Primitive(), group=0xFE77)
    provider = DEFAULT_PROVIDER.with_groups(
        group_entry(toy, name="Toy", level=128, post_quantum=False),
        group_entry(
            HybridKem(EcdhKem(NamedGroup.secp256r1), toy, pq_first=False, group=0xFE78),
            name="P256Toy",
            level=128,
            post_quantum=False,
            hybrid=True,
        ),
    )
    return ToyGroups(provider, (0xFE77, 0xFE78))


def test_a_primitive_and_its_hybrid_in_a_provider_are_negotiable(toy_groups: ToyGroups) -> None:
    toy = toy_groups.provider
    for group in toy_groups.codes:
        client, server = handshake(
            client_config(provider=toy, groups=(group,)),
            server_config(provider=toy, groups=(group, NamedGroup.x25519)),
        )
        assert client.info is not None and client.info.group == toy.group_name(group)
        assert server.info is not None and server.info.group == client.info.group


def test_a_group_is_negotiated_only_when_both_peers_list_it(toy_groups: ToyGroups) -> None:
    toy = toy_groups.codes[0]
    client = client_config(
        provider=toy_groups.provider, groups=(toy, NamedGroup.x25519), key_share_groups=(toy,)
    )
    server = server_config(provider=toy_groups.provider)  # has Toy, does not list it
    c, _ = handshake(client, server)  # HRR to x25519
    assert c.info is not None and c.info.group == "x25519" and c.info.hello_retry


def test_a_group_the_provider_lacks_cannot_be_configured(toy_groups: ToyGroups) -> None:
    with pytest.raises(ConfigError, match="unsupported group 0xfe77"):
        client_config(groups=(0xFE77,))  # the default provider, untouched by the fixture


def test_an_aead_added_to_a_provider_in_one_line() -> None:
    with pytest.raises(ConfigError, match="unsupported cipher suite"):
        client_config(cipher_suites=(CipherSuite.TLS_AES_128_CCM_SHA256,))
    entry = aes_128_ccm_entry()
    assert entry.info.name == "TLS_AES_128_CCM_SHA256" and entry.info.standard
    with_ccm = DEFAULT_PROVIDER.with_suites(entry)
    ccm = (CipherSuite.TLS_AES_128_CCM_SHA256,)
    client, server = handshake(
        client_config(provider=with_ccm, cipher_suites=ccm),
        server_config(provider=with_ccm, cipher_suites=ccm),
    )
    assert client.info is not None and client.info.cipher_suite == "TLS_AES_128_CCM_SHA256"
    drain(client), drain(server)
    client.send_data(b"c" * 20000)
    pump(client, server)
    received = b"".join(e.data for e in drain(server) if isinstance(e, DataReceived))
    assert received == b"c" * 20000
    assert DEFAULT_PROVIDER.suite_info(CipherSuite.TLS_AES_128_CCM_SHA256) is None


def test_aead_entries_must_fit_the_record_layer() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    short_tag = SuiteParams(
        CipherSuite.TLS_AES_128_CCM_8_SHA256, "sha256", 32, 16, 12, aead=lambda k: AESCCM(k, 8)
    )
    with pytest.raises(ValueError, match="16-byte AEAD tag"):
        suite_entry(short_tag, level=128)
    gcm = suite_entry(
        SuiteParams(CipherSuite.TLS_AES_128_GCM_SHA256, "sha256", 32, 16, 12), level=128
    )
    with pytest.raises(ValueError, match="twice"):
        CryptoProvider(cipher_suites=(gcm, gcm))


# --- without pqcrypto --------------------------------------------------------------------------


@pytest.fixture
def without_pqcrypto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [m for m in sys.modules if m == "pqcrypto" or m.startswith("pqcrypto.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pqcrypto", None)
    pqclean.module_available.cache_clear()
    yield
    pqclean.module_available.cache_clear()


@pytest.mark.usefixtures("without_pqcrypto")
def test_without_pqcrypto_the_library_works_and_says_what_is_missing() -> None:
    cfg = client_config(policy="pq-only")
    assert not any(g in cfg.groups for g in PrivateGroup)
    assert not any(s in cfg.signature_schemes for s in PrivateSignatureScheme)
    client, _ = handshake(cfg, server_config(policy="pq-only"))
    assert client.info is not None and client.info.group == "X25519MLKEM768"
    with pytest.raises(
        ConfigError, match=r"^groups: X25519HQC256 needs the optional package pqcrypto$"
    ):
        client_config(groups=(PrivateGroup.X25519HQC256,))
    with pytest.raises(ConfigError, match="slhdsa_sha2_128f needs the optional package pqcrypto"):
        client_config(signature_schemes=(PrivateSignatureScheme.slhdsa_sha2_128f,))
    statuses = {r.name: r.status for r in catalog.rows()}
    assert statuses["HQC128"].startswith("needs pqcrypto")
    assert statuses["slhdsa_sha2_128s"].startswith("needs pqcrypto")
    assert statuses["X25519MLKEM768"] == "available"


# --- the algorithm table --------------------------------------------------------------------------


def test_table_lists_every_registered_algorithm() -> None:
    table = catalog.rows()
    by_name = {r.name: r for r in table}
    assert len(by_name) == len(table)
    assert {g.name for g in DEFAULT_PROVIDER.group_infos()} <= set(by_name)
    assert {s.name for s in DEFAULT_PROVIDER.scheme_infos()} <= set(by_name)
    assert {s.name for s in DEFAULT_PROVIDER.suite_infos()} <= set(by_name)
    hqc = by_name["X25519HQC256"]
    assert (hqc.code_text, hqc.level, hqc.post_quantum, hqc.standing) == (
        "0xFE35",
        256,
        "hybrid",
        "private use",
    )
    assert hqc.sizes == "client share 7,269 B, server share 14,453 B"
    mce = by_name["ClassicMcEliece348864"]
    assert mce.code_text == "—" and mce.status.startswith("not negotiable: 261,120-byte public key")
    assert by_name["mldsa65"].standing == "IANA"
    assert by_name["rsa_pkcs1_sha256"].status == "certificate chains only"


def test_measure_fills_in_costs() -> None:
    wanted = {
        "x25519",
        "X25519HQC128",
        "ClassicMcEliece348864",
        "TLS_AES_128_GCM_SHA256",
        "mldsa44",
        "rsa_pss_pss_sha256",
        "slhdsa_sha2_128f",
        "rsa_pkcs1_sha256",
    }
    table = catalog.measure([r for r in catalog.rows() if r.name in wanted], budget=0.001)
    costs = {r.name: r.costs for r in table}
    assert set(costs["X25519HQC128"]) == {"keygen", "encaps", "decaps"}
    assert set(costs["ClassicMcEliece348864"]) == {"keygen", "encaps", "decaps"}
    assert set(costs["TLS_AES_128_GCM_SHA256"]) == {"seal 16 KiB", "open 16 KiB"}
    assert set(costs["slhdsa_sha2_128f"]) == set(costs["mldsa44"]) == {"sign", "verify"}
    assert set(costs["rsa_pss_pss_sha256"]) == {"sign", "verify"}
    assert costs["rsa_pkcs1_sha256"] == {}  # certificates only
    assert all(v > 0 for c in costs.values() for v in c.values())
    markdown = catalog.render_markdown(table)
    assert "| Cost (keygen / encaps / decaps) |" in markdown and " µs" in markdown
    assert "Classic McEliece is registered but cannot be negotiated" in markdown


def test_algorithms_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["algorithms"]) == 0
    text = capsys.readouterr().out
    assert "GROUPS (35)" in text and "X25519HQC256" in text and "0xFE35" in text
    # The FrodoKEM add-on is listed though no config gets it without asking (14 groups).
    assert "X25519FrodoKEM1344SHAKE" in text and "0xFE5B" in text
    assert "cannot be negotiated" in text
    assert cli.main(["algorithms", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pqcrypto_available"] is True
    names = {a["name"]: a for a in data["algorithms"]}
    assert names["slhdsa_sha2_128s"]["code"] == "0xFE00"
    assert names["slhdsa_sha2_128s"]["standing"] == "private use"
    out = tmp_path / "algorithms.md"
    assert cli.main(["algorithms", "--markdown", "--output", str(out)]) == 0
    doc = out.read_text(encoding="utf-8")
    assert doc.startswith("# Algorithms\n") and catalog.COMMAND in doc
    assert "| `X25519MLKEM768` | 0x11EC | 192 | hybrid | IANA |" in doc


def test_checked_in_algorithm_document_is_current() -> None:
    """docs/algorithms.md comes from the tool: its rows (without costs) match the table."""
    doc = (Path(__file__).parent.parent / "docs" / "algorithms.md").read_text(encoding="utf-8")
    for row in catalog.rows():
        assert f"| `{row.name}` | {row.code_text} | {row.level} | {row.post_quantum} |" in doc


def test_refusal_alert_for_unknown_private_group_is_handshake_failure(
    toy_groups: ToyGroups,
) -> None:
    server_cfg = server_config(provider=toy_groups.provider, groups=(NamedGroup.MLKEM1024,))
    from nautilus_tls.connection import ClientConnection, ServerConnection
    from nautilus_tls.errors import ProtocolError

    client_cfg = client_config(provider=toy_groups.provider, groups=(toy_groups.codes[0],))
    client = ClientConnection(client_cfg, "localhost")
    server = ServerConnection(server_cfg)
    client.start()
    with pytest.raises(ProtocolError) as err:
        server.receive_data(client.data_to_send())
    assert err.value.alert == AlertDescription.handshake_failure
    assert "client offered: Toy; we accept: MLKEM1024" in err.value.args[0]


def test_hello_retry_to_a_plugin_group() -> None:
    client, _ = handshake(
        client_config(groups=(NamedGroup.X25519MLKEM768, PrivateGroup.X25519HQC256)),
        server_config(groups=(PrivateGroup.X25519HQC256,)),
    )
    assert client.info is not None and client.info.hello_retry
    assert client.info.group == "X25519HQC256"


def test_slhdsa_client_certificate_for_mutual_tls() -> None:
    ca_der, ca_key = make_ca("mldsa65", "SLH-DSA client CA")
    der, key, _ = make_slhdsa_leaf(
        ca_der, ca_key, "SLH-DSA-SHA2-128f", ["client.test"], client=True
    )
    store = TrustStore.from_certificates([ca_der])
    _, server = handshake(
        client_config(client_certificate=CertifiedKey(chain=(der,), private_key=key)),
        server_config(client_auth="require", client_trust_store=store, policy="pq-only"),
    )
    assert server.info is not None
    assert server.info.client_certificate_scheme == "slhdsa_sha2_128f"
    assert server.info.peer_certificate_subject == "CN=client.test"


def test_readme_algorithm_tables_come_from_the_tool() -> None:
    """The README's tables are the tool's (``nautilus-tls algorithms --measure --readme``)."""
    from nautilus_tls.cli import README_BEGIN, README_END

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index(README_BEGIN) : readme.index(README_END)]
    for row in catalog.rows():
        assert f"| `{row.name}` | {row.code_text} | {row.level} | {row.post_quantum} |" in block
