"""TLS over QUIC: our handshake on aioquic's transport (nautilus_tls.quic) against unmodified
aioquic 1.7.2 and qh3 2.1 (each with its own TLS), both roles, over loopback UDP, one asyncio
loop per case. Each case opens a bidirectional stream and echoes data, or runs an HTTP/3 GET,
or resumes; our SessionInfo must show the group, suite and signature scheme the case asks for.

aioquic has classical groups only (x25519, secp256r1, secp384r1) and no HelloRetryRequest;
qh3 adds X25519MLKEM768 (its only ML-KEM group) and offers no EdDSA by default as a client.
Neither has ML-DSA.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from interop.matrix import GROUPS, MLDSA_ALGS, NATURAL_SCHEME, SUITES, Case, Env, Role, expect_equal

from nautilus_tls.config import CertifiedKey, ServerConfig
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.policy import Kind, codes_for_names
from nautilus_tls.quic.api import connect, echo, quic_client_config, serve
from nautilus_tls.quic.h3 import http3_get, serve_http3
from nautilus_tls.session.client_store import MemorySessionStore

HOST = "127.0.0.1"
ALPN = "nautilus-echo"
CASE_SECONDS = 30.0
PAYLOAD = b"over QUIC " * 300


def _codes(kind: Kind, name: str) -> tuple[int, ...]:
    return codes_for_names(kind, name)


class QuicStack:
    """One foreign QUIC stack as a matrix peer."""

    roles: tuple[Role, ...] = ("client", "server")

    def __init__(
        self, name: str, module: str, groups: tuple[str, ...], certs: tuple[str, ...]
    ) -> None:
        self.name = name
        self._module = module
        self._groups = groups
        self._certs = certs

    def _mod(self) -> Any:
        return __import__(self._module)

    def availability(self) -> str | None:
        try:
            self._mod()
        except ImportError:
            return f"{self._module} is not installed (pip install -e '.[test]')"
        return None

    def version(self) -> str:
        return f"{self._module} {self._mod().__version__} (QUIC, its own TLS)"

    # --- cases -----------------------------------------------------------------------------

    def cases(self) -> list[Case]:
        out: list[Case] = []
        for role in self.roles:
            c = functools.partial(Case, self.name, role)
            for i, group in enumerate(GROUPS):
                suite = SUITES[i % len(SUITES)]
                cert = self._certs[i % len(self._certs)]
                why = self._unsupported_group(group, role)
                out.append(
                    c(group, suite, cert, NATURAL_SCHEME[cert], "quic-echo", unsupported=why)
                )
            usable = [g for g in self._groups if self._unsupported_group(g, role) is None]
            for suite in SUITES:
                out.append(
                    c(usable[-1], suite, "ecdsa-p256", NATURAL_SCHEME["ecdsa-p256"], "http3")
                )
            out.append(
                c(
                    self._groups[0],
                    SUITES[0],
                    "ecdsa-p256",
                    NATURAL_SCHEME["ecdsa-p256"],
                    "resumption",
                )
            )
            for scheme in ("rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512"):
                why = self._unsupported_scheme(scheme, role)
                out.append(
                    c(self._groups[0], SUITES[1], "rsa2048", scheme, "quic-echo", unsupported=why)
                )
            why = self._unsupported_scheme("ed25519", role)
            out.append(
                c(self._groups[0], SUITES[2], "ed25519", "ed25519", "quic-echo", unsupported=why)
            )
            out.append(c(self._groups[0], SUITES[1], "rsa-pss", "rsa_pss_pss_sha256", "quic-echo",
                         unsupported=f"{self.name}: no RSASSA-PSS keys (rsa_pss_pss_*) in its TLS"))  # fmt: skip
            for alg in MLDSA_ALGS:
                out.append(c(self._groups[0], SUITES[1], alg, NATURAL_SCHEME[alg], "quic-echo",
                             unsupported=f"{self.name} has no ML-DSA signature schemes"))  # fmt: skip
        return out

    def _unsupported_group(self, group: str, role: Role) -> str | None:
        if group not in self._groups:
            return f"{self.name} has no {group}"
        if self._module == "qh3" and role == "server" and group not in ("X25519MLKEM768", "x25519"):
            # Found here: its ServerHello parser reads a HelloRetryRequest's key_share (a
            # selected_group, RFC 8446 §4.2.8) as a KeyShareEntry and raises BufferReadError.
            return (
                "qh3 2.1 as a client sends shares for X25519MLKEM768 and x25519 only and"
                " cannot parse a HelloRetryRequest"
            )
        return None

    def _unsupported_scheme(self, scheme: str, role: Role) -> str | None:
        if scheme == "rsa_pss_rsae_sha512" and self._module == "aioquic":
            return "aioquic 1.7.2 does not offer rsa_pss_rsae_sha512"
        big_rsa = scheme in ("rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512")
        if big_rsa and self._module == "qh3" and role == "client":
            return f"qh3 2.1 as a server does not sign with {scheme} (handshake_failure)"
        if scheme == "ed25519" and self._module == "qh3" and role == "server":
            return "qh3 2.1 as a client leaves EdDSA out of signature_algorithms by default"
        return None

    # --- running ---------------------------------------------------------------------------

    def run(self, case: Case, env: Env) -> str:
        bundle = env.bundle(case.cert)
        certified = CertifiedKey.from_files(bundle.server_pem, bundle.server_key)
        store = TrustStore.from_file(bundle.ca_pem)
        ca_pem = bundle.ca_pem.read_bytes()
        cert_pem, key_pem = bundle.server_pem.read_bytes(), bundle.server_key.read_bytes()
        alpn = "h3" if case.feature == "http3" else ALPN
        tls = {
            "groups": _codes("group", case.group),
            "cipher_suites": _codes("cipher suite", case.suite),
            "signature_schemes": _codes("signature scheme", case.scheme),
            "alpn_protocols": (alpn.encode(),),
        }
        if case.role == "client":
            client_cfg = quic_client_config(
                trust_store=store, session_store=MemorySessionStore(), **tls
            )
            return _run(self._against_their_server(case, client_cfg, cert_pem, key_pem, alpn))
        server_cfg = ServerConfig(certificates=(certified,), **tls)
        return _run(self._against_their_client(case, server_cfg, ca_pem, alpn))

    def _quic_config(self, *, is_client: bool, alpn: str) -> Any:
        mod = self._mod()
        config_cls = (
            mod.QuicConfiguration if self._module == "qh3" else _aioquic().QuicConfiguration
        )
        kw: dict[str, Any] = {"is_client": is_client, "alpn_protocols": [alpn]}
        if not is_client:
            kw["max_datagram_frame_size"] = 65536  # qh3's h3 announces H3_DATAGRAM (RFC 9297)
        return config_cls(**kw)

    async def _against_their_server(
        self, case: Case, cfg: Any, cert_pem: bytes, key_pem: bytes, alpn: str
    ) -> str:
        qc = self._quic_config(is_client=False, alpn=alpn)
        if self._module == "qh3":
            qc.load_cert_chain(cert_pem, key_pem)
        else:
            from cryptography import x509
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            qc.certificate = x509.load_pem_x509_certificate(cert_pem)
            qc.private_key = load_pem_private_key(key_pem, None)
        tickets: dict[bytes, Any] = {}
        server = await self._serve_fn()(
            HOST, 0, configuration=qc,
            create_protocol=self._h3_server() if case.feature == "http3" else self._protocol_cls(),
            stream_handler=_echo_handler, session_ticket_fetcher=tickets.pop,
            session_ticket_handler=lambda t: tickets.__setitem__(t.ticket, t),
        )  # fmt: skip
        port = server._transport.get_extra_info("sockname")[1]
        try:
            if case.feature == "http3":
                response, info = await http3_get(
                    HOST, port, "/", config=cfg, server_name="localhost"
                )
                expect_equal(response.status, 200, "HTTP/3 status")
                what = f"HTTP/3 GET {len(response.body)} bytes"
            else:
                rounds = 2 if case.feature == "resumption" else 1
                for _ in range(rounds):
                    async with connect(HOST, port, config=cfg, server_name="localhost") as client:
                        expect_equal(await client.request(PAYLOAD), PAYLOAD, "echo")
                        info = client.info
                if case.feature == "resumption":
                    expect_equal(info.resumed, True, "resumed")
                what = "echo" + (" and a resumed connection" if rounds == 2 else "")
        finally:
            server.close()
        return _check(info, case, what)

    async def _against_their_client(
        self, case: Case, cfg: ServerConfig, ca_pem: bytes, alpn: str
    ) -> str:
        infos: list[Any] = []
        if case.feature == "http3":
            server = await serve_http3(HOST, 0, config=cfg)
        else:
            server = await serve(echo, HOST, 0, config=cfg)
        port = server.address[1]
        tickets: list[Any] = []
        try:
            rounds = 2 if case.feature == "resumption" else 1
            for _ in range(rounds):
                qc = self._quic_config(is_client=True, alpn=alpn)
                qc.server_name = "localhost"
                qc.load_verify_locations(cadata=ca_pem)
                if tickets:
                    qc.session_ticket = tickets[-1]
                create = self._h3_client() if case.feature == "http3" else self._protocol_cls()
                async with self._connect_fn()(
                    HOST,
                    port,
                    configuration=qc,
                    create_protocol=create,
                    session_ticket_handler=tickets.append,
                ) as client:
                    if case.feature == "http3":
                        await client.get("/")
                        expect_equal(client.status, 200, "HTTP/3 status")
                    else:
                        reader, writer = await client.create_stream()
                        writer.write(PAYLOAD)
                        writer.write_eof()
                        expect_equal(await reader.read(), PAYLOAD, "echo")
                    infos.append(client._quic.tls.session_resumed)
            if case.feature == "resumption":
                expect_equal(infos, [False, True], f"{self.name} client session_resumed")
        finally:
            server.close()
        return f"{self.name} client: {case.feature} ok" + (
            ", resumed" if case.feature == "resumption" else ""
        )

    # --- the stack's pieces ----------------------------------------------------------------

    def _serve_fn(self) -> Callable[..., Any]:
        return self._mod().serve if self._module == "qh3" else _aioquic().serve

    def _connect_fn(self) -> Callable[..., Any]:
        return self._mod().connect if self._module == "qh3" else _aioquic().connect

    def _protocol_cls(self) -> type[Any]:
        return (
            self._mod().QuicConnectionProtocol
            if self._module == "qh3"
            else _aioquic().QuicConnectionProtocol
        )

    def _h3(self) -> tuple[Any, Any, Any]:
        if self._module == "qh3":
            mod = self._mod()
            return mod.H3Connection, mod.h3_events, mod.quic_events.ProtocolNegotiated
        from aioquic.h3 import events
        from aioquic.h3.connection import H3Connection
        from aioquic.quic.events import ProtocolNegotiated

        return H3Connection, events, ProtocolNegotiated

    def _h3_client(self) -> type[Any]:
        from quic.quicpeers import h3_client_protocol

        h3, events, _ = self._h3()
        return h3_client_protocol(self._protocol_cls(), h3, events)

    def _h3_server(self) -> type[Any]:
        from quic.quicpeers import h3_server_protocol

        h3, events, negotiated = self._h3()
        return h3_server_protocol(self._protocol_cls(), h3, events, negotiated)


def _aioquic() -> Any:
    import aioquic.asyncio
    from aioquic.asyncio.protocol import QuicConnectionProtocol
    from aioquic.quic.configuration import QuicConfiguration

    class Mod:
        pass

    mod: Any = Mod()
    mod.serve, mod.connect = aioquic.asyncio.serve, aioquic.asyncio.connect
    mod.QuicConnectionProtocol, mod.QuicConfiguration = QuicConnectionProtocol, QuicConfiguration
    return mod


def _echo_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    _TASKS.add(task := asyncio.ensure_future(echo(reader, writer)))
    task.add_done_callback(_TASKS.discard)


_TASKS: set[asyncio.Task[None]] = set()


def _check(info: Any, case: Case, what: str) -> str:
    expect_equal(info.group, case.group, "group")
    expect_equal(info.cipher_suite, case.suite, "cipher suite")
    if not info.resumed:
        expect_equal(info.signature_scheme, case.scheme, "signature scheme")
    return f"{what}; {info.group} {info.cipher_suite} {info.signature_scheme}"


def _run(coro: Coroutine[Any, Any, str]) -> str:
    return asyncio.run(asyncio.wait_for(coro, CASE_SECONDS))


AIOQUIC = QuicStack(
    "aioquic-quic", "aioquic", ("x25519", "secp256r1", "secp384r1"),
    ("ecdsa-p256", "ecdsa-p384", "rsa2048"),
)  # fmt: skip
QH3 = QuicStack(
    "qh3-quic", "qh3", ("X25519MLKEM768", "x25519", "secp256r1", "secp384r1"),
    ("ecdsa-p256", "ecdsa-p384", "rsa2048"),
)  # fmt: skip
