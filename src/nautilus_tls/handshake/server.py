"""The TLS 1.3 server handshake (RFC 8446 §2, §4), one state object per expected message.

Flights::

    ->  ClientHello
        (no usable share:)  HelloRetryRequest [ChangeCipherSpec]   <-
    ->  ClientHello (the share we asked for, our cookie echoed)
        ServerHello [ChangeCipherSpec] {EncryptedExtensions} {CertificateRequest}
        {Certificate} {CertificateVerify} {Finished}               <-
    ->  {Certificate} {CertificateVerify} (when requested)  {Finished}

The steps read in the order Go's ``handshake_server_tls13.go`` names them:
process the ClientHello, pick the parameters, send the server parameters, the certificate
and Finished, then read the client's certificate and Finished.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nautilus_tls.config import CertifiedKey, ServerConfig
from nautilus_tls.crypto.kem import kem_for_group
from nautilus_tls.crypto.keyschedule import KeySchedule, finished_verify_data
from nautilus_tls.crypto.signatures import (
    certificate_verify_content,
    schemes_for_key,
    sign,
    verify,
)
from nautilus_tls.crypto.suites import SuiteParams, suite_params
from nautilus_tls.crypto.transcript import Transcript
from nautilus_tls.crypto.x509 import ca_distinguished_names, subject_of, verify_client_chain
from nautilus_tls.errors import (
    AlertDescription,
    PeerIncompatible,
    PeerMisbehaved,
    RemoteProtocolError,
)
from nautilus_tls.handshake.client import check_certificate_message
from nautilus_tls.handshake.common import (
    Action,
    Clock,
    Entropy,
    Epoch,
    HandshakeComplete,
    InstallSecret,
    KeyLog,
    SendChangeCipherSpec,
    SendHandshake,
    unexpected,
)
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import (
    CipherSuite,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
    display_name,
)
from nautilus_tls.wire.messages import (
    HRR_RANDOM,
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    Extension,
    Finished,
    HandshakeMessage,
    ServerHello,
    decode_handshake,
)

_PQ_GROUPS = frozenset(
    {
        NamedGroup.X25519MLKEM768,
        NamedGroup.SecP256r1MLKEM768,
        NamedGroup.SecP384r1MLKEM1024,
        NamedGroup.MLKEM768,
        NamedGroup.MLKEM1024,
    }
)


def is_post_quantum(group: int) -> bool:
    return group in _PQ_GROUPS


@dataclass(slots=True)
class ServerContext:
    config: ServerConfig
    entropy: Entropy
    clock: Clock
    keylog: KeyLog
    actions: list[Action] = field(default_factory=list)
    client_random: bytes = b""
    sent_ccs: bool = False
    hello_retry: bool = False

    def send(self, epoch: Epoch, message: HandshakeMessage, transcript: Transcript) -> None:
        raw = message.encode()
        transcript.update(raw)
        self.actions.append(SendHandshake(epoch, raw))

    def install(self, direction: str, epoch: Epoch, params: SuiteParams, secret: bytes) -> None:
        self.actions.append(InstallSecret(direction, epoch, params, secret))  # type: ignore[arg-type]


class ServerState:
    name = "server"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        raise unexpected(msg_type, self.name)


# --- choosing parameters -------------------------------------------------------------------


def _missing(what: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"ClientHello lacks {what}", alert=AlertDescription.missing_extension
    )


def _check_client_hello(ch: ClientHello) -> None:
    """Version and legacy-field checks (RFC 8446 §4.1.2, §4.2.1)."""
    sv = ext.get_extension(ch.extensions, ExtensionType.supported_versions)
    versions = ext.decode_supported_versions_ch(sv) if sv is not None else ()
    if ProtocolVersion.TLS1_3 not in versions:
        raise RemoteProtocolError(
            "client does not offer TLS 1.3; this server speaks TLS 1.3 only",
            alert=AlertDescription.protocol_version,
        )
    if ch.legacy_version < 0x0303:
        raise RemoteProtocolError(
            "ClientHello.legacy_version below TLS 1.2", alert=AlertDescription.protocol_version
        )
    if ch.legacy_compression_methods != b"\x00":
        raise PeerMisbehaved("legacy_compression_methods must be exactly [null] (RFC 8446 §4.1.2)")
    ext.check_allowed(ch.extensions, HandshakeType.client_hello)


def _choose_suite(cfg: ServerConfig, ch: ClientHello) -> SuiteParams:
    for suite in cfg.cipher_suites:  # server preference
        if suite in ch.cipher_suites:
            params = suite_params(suite)
            if params is not None:
                return params
    offered = ", ".join(display_name(CipherSuite, s) for s in ch.cipher_suites)
    raise PeerIncompatible(f"no cipher suite in common; client offered: {offered}")


def _choose_group(
    cfg: ServerConfig, client_groups: tuple[int, ...], shares: dict[int, bytes]
) -> tuple[int, bool]:
    """(group, have_share). Use a share the client sent when it is good enough; otherwise ask
    (HelloRetryRequest) for our best mutual group. "Good enough": the best mutual group that
    has a share, unless a post-quantum group is mutual and the shared one is classical."""
    mutual = [g for g in cfg.groups if g in client_groups]
    if not mutual:
        offered = ", ".join(display_name(NamedGroup, g) for g in client_groups)
        raise PeerIncompatible(f"no key exchange group in common; client offered: {offered}")
    best = mutual[0]
    with_share = [g for g in mutual if g in shares]
    if with_share:
        chosen = with_share[0]
        if not (cfg.prefer_post_quantum and is_post_quantum(best) and not is_post_quantum(chosen)):
            return chosen, True
    return best, False


def _choose_scheme(ck: CertifiedKey, client_schemes: tuple[int, ...]) -> int | None:
    for scheme in schemes_for_key(ck.private_key, certificate=ck.chain[0]):
        if scheme in client_schemes:
            return scheme
    return None


@dataclass(frozen=True, slots=True)
class _Choice:
    params: SuiteParams
    group: int
    certified_key: CertifiedKey
    scheme: int
    alpn: bytes | None
    server_name: str | None


def _choose(ctx: ServerContext, ch: ClientHello) -> tuple[_Choice, dict[int, bytes]]:
    cfg = ctx.config
    params = _choose_suite(cfg, ch)

    sg = ext.get_extension(ch.extensions, ExtensionType.supported_groups)
    if sg is None:
        raise _missing("supported_groups")
    client_groups = ext.decode_supported_groups(sg)
    ks = ext.get_extension(ch.extensions, ExtensionType.key_share)
    if ks is None:
        raise _missing("key_share")
    shares: dict[int, bytes] = {}
    for entry in ext.decode_key_share_ch(ks):
        # RFC 8446 §4.2.8: each share's group must be offered, and only once.
        if entry.group not in client_groups:
            raise PeerMisbehaved("key_share for a group not in supported_groups")
        if entry.group in shares:
            raise PeerMisbehaved("two key shares for the same group")
        shares[entry.group] = entry.key_exchange
    group, _ = _choose_group(cfg, client_groups, shares)

    sa = ext.get_extension(ch.extensions, ExtensionType.signature_algorithms)
    if sa is None:
        raise _missing("signature_algorithms")
    client_schemes = ext.decode_signature_algorithms(sa)

    sni = ext.get_extension(ch.extensions, ExtensionType.server_name)
    server_name = ext.decode_server_name(sni) if sni is not None else None
    ck = cfg.certificate_for(server_name)
    scheme = _choose_scheme(ck, client_schemes)
    if scheme is None:
        # Try the other certificates before giving up (e.g. an ECDSA one for a classical client).
        for other in cfg.certificates:
            scheme = _choose_scheme(other, client_schemes)
            if scheme is not None:
                ck = other
                break
    if scheme is None:
        offered = ", ".join(display_name(SignatureScheme, s) for s in client_schemes)
        raise PeerIncompatible(
            f"no signature scheme in common with our certificate; client offered: {offered}"
        )

    alpn: bytes | None = None
    alpn_data = ext.get_extension(
        ch.extensions, ExtensionType.application_layer_protocol_negotiation
    )
    if alpn_data is not None and cfg.alpn_protocols:
        client_protocols = ext.decode_alpn(alpn_data)
        alpn = next((p for p in cfg.alpn_protocols if p in client_protocols), None)
        if alpn is None:
            # RFC 7301 §3.2.
            raise RemoteProtocolError(
                "no application protocol in common", alert=AlertDescription.no_application_protocol
            )
    return _Choice(params, group, ck, scheme, alpn, server_name), shares


# --- ClientHello ---------------------------------------------------------------------------


@dataclass(slots=True)
class ExpectClientHello(ServerState):
    name = "waiting for ClientHello"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        if msg_type != HandshakeType.client_hello:
            raise unexpected(msg_type, self.name)
        ch = decode_handshake(msg_type, body)
        if not isinstance(ch, ClientHello):
            raise unexpected(msg_type, self.name)
        _check_client_hello(ch)
        ctx.client_random = ch.random
        choice, shares = _choose(ctx, ch)
        if choice.group in shares:
            transcript = Transcript(choice.params.hash_name)
            transcript.update(raw)
            return send_server_flight(ctx, ch, choice, shares[choice.group], transcript)
        return self._send_hello_retry(ctx, ch, raw, choice)

    def _send_hello_retry(
        self, ctx: ServerContext, ch: ClientHello, raw: bytes, choice: _Choice
    ) -> ServerState:
        ctx.hello_retry = True
        cookie = ctx.entropy.random_bytes(16)
        hrr = ServerHello(
            random=HRR_RANDOM,
            legacy_session_id_echo=ch.legacy_session_id,
            cipher_suite=choice.params.suite,
            extensions=(
                Extension(
                    ext_type=ExtensionType.supported_versions,
                    data=ext.encode_supported_versions_sh(ProtocolVersion.TLS1_3),
                ),
                Extension(
                    ext_type=ExtensionType.key_share, data=ext.encode_key_share_hrr(choice.group)
                ),
                Extension(ext_type=ExtensionType.cookie, data=ext.encode_cookie(cookie)),
            ),
        )
        transcript = Transcript(choice.params.hash_name)
        transcript.update(raw)
        transcript.rewrite_for_hello_retry()
        ctx.send(Epoch.INITIAL, hrr, transcript)
        _send_ccs_if_compatible(ctx, ch)
        return ExpectSecondClientHello(
            first=ch, choice=choice, cookie=cookie, transcript=transcript
        )


def _send_ccs_if_compatible(ctx: ServerContext, ch: ClientHello) -> None:
    # RFC 8446 §D.4: in compatibility mode (non-empty session id) the server sends a dummy
    # ChangeCipherSpec right after its first handshake message.
    if ch.legacy_session_id and not ctx.sent_ccs:
        ctx.sent_ccs = True
        ctx.actions.append(SendChangeCipherSpec())


@dataclass(slots=True)
class ExpectSecondClientHello(ServerState):
    first: ClientHello
    choice: _Choice
    cookie: bytes
    transcript: Transcript
    name = "waiting for the second ClientHello"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        if msg_type != HandshakeType.client_hello:
            raise unexpected(msg_type, self.name)
        ch = decode_handshake(msg_type, body)
        if not isinstance(ch, ClientHello):
            raise unexpected(msg_type, self.name)
        _check_client_hello(ch)
        # RFC 8446 §4.1.2: the second ClientHello repeats the first except for the listed changes.
        if ch.random != self.first.random or ch.legacy_session_id != self.first.legacy_session_id:
            raise PeerMisbehaved("second ClientHello changed random or legacy_session_id")
        if ch.cipher_suites != self.first.cipher_suites:
            raise PeerMisbehaved("second ClientHello changed its cipher suites")
        cookie = ext.get_extension(ch.extensions, ExtensionType.cookie)
        if cookie is None or not hmac.compare_digest(ext.decode_cookie(cookie), self.cookie):
            raise PeerMisbehaved("second ClientHello does not echo our cookie (RFC 8446 §4.2.2)")
        choice, shares = _choose(ctx, ch)
        if choice.params.suite != self.choice.params.suite:
            raise PeerMisbehaved("second ClientHello would change the cipher suite")
        # RFC 8446 §4.2.8: exactly one share, for the group we asked for.
        if list(shares) != [self.choice.group]:
            raise PeerMisbehaved(
                "second ClientHello must carry one share, for the group we asked for"
            )
        choice = _Choice(
            choice.params,
            self.choice.group,
            choice.certified_key,
            choice.scheme,
            choice.alpn,
            choice.server_name,
        )
        self.transcript.update(raw)
        return send_server_flight(ctx, ch, choice, shares[self.choice.group], self.transcript)


# --- the server's flight -----------------------------------------------------------------------


def send_server_flight(
    ctx: ServerContext,
    ch: ClientHello,
    choice: _Choice,
    client_share: bytes,
    transcript: Transcript,
) -> ServerState:
    kem = kem_for_group(choice.group)
    if kem is None:  # _choose only returns configured groups, which config validated
        raise PeerIncompatible("group without implementation")
    server_share, shared_secret = kem.encapsulate(
        client_share, private_bytes=ctx.entropy.private_key_for(choice.group)
    )
    params = choice.params
    sh = ServerHello(
        random=ctx.entropy.random_bytes(32),
        legacy_session_id_echo=ch.legacy_session_id,
        cipher_suite=params.suite,
        extensions=(
            Extension(
                ext_type=ExtensionType.key_share,
                data=ext.encode_key_share_sh(
                    ext.KeyShareEntry(group=choice.group, key_exchange=server_share)
                ),
            ),
            Extension(
                ext_type=ExtensionType.supported_versions,
                data=ext.encode_supported_versions_sh(ProtocolVersion.TLS1_3),
            ),
        ),
    )
    ctx.send(Epoch.INITIAL, sh, transcript)
    _send_ccs_if_compatible(ctx, ch)

    schedule = KeySchedule(params.hash_name)
    schedule.enter_handshake(shared_secret)
    c_hs, s_hs = schedule.handshake_traffic_secrets(transcript.digest())
    ctx.keylog.log("CLIENT_HANDSHAKE_TRAFFIC_SECRET", ctx.client_random, c_hs)
    ctx.keylog.log("SERVER_HANDSHAKE_TRAFFIC_SECRET", ctx.client_random, s_hs)
    ctx.install("write", Epoch.HANDSHAKE, params, s_hs)
    ctx.install("read", Epoch.HANDSHAKE, params, c_hs)

    ee_exts: list[Extension] = []
    if choice.alpn is not None:
        ee_exts.append(
            Extension(
                ext_type=ExtensionType.application_layer_protocol_negotiation,
                data=ext.encode_alpn((choice.alpn,)),
            )
        )
    ctx.send(Epoch.HANDSHAKE, EncryptedExtensions(extensions=tuple(ee_exts)), transcript)

    cfg = ctx.config
    requested_schemes: tuple[int, ...] | None = None
    if cfg.client_auth != "none":
        requested_schemes = tuple(cfg.signature_schemes)
        cr_exts = [
            Extension(
                ext_type=ExtensionType.signature_algorithms,
                data=ext.encode_signature_algorithms(requested_schemes),
            )
        ]
        if cfg.send_certificate_authorities and cfg.client_trust_store is not None:
            names = ca_distinguished_names(cfg.client_trust_store)
            if names:
                cr_exts.append(
                    Extension(
                        ext_type=ExtensionType.certificate_authorities,
                        data=ext.encode_certificate_authorities(names),
                    )
                )
        ctx.send(
            Epoch.HANDSHAKE,
            CertificateRequest(certificate_request_context=b"", extensions=tuple(cr_exts)),
            transcript,
        )

    ck = choice.certified_key
    entries = tuple(CertificateEntry(cert_data=der) for der in ck.chain)
    ctx.send(
        Epoch.HANDSHAKE,
        Certificate(certificate_request_context=b"", certificate_list=entries),
        transcript,
    )
    content = certificate_verify_content(True, transcript.digest())
    ctx.send(
        Epoch.HANDSHAKE,
        CertificateVerify(
            algorithm=choice.scheme, signature=sign(ck.private_key, choice.scheme, content)
        ),
        transcript,
    )
    verify_data = finished_verify_data(params.hash_name, s_hs, transcript.digest())
    ctx.send(Epoch.HANDSHAKE, Finished(verify_data=verify_data), transcript)

    schedule.enter_master()
    c_ap, s_ap = schedule.application_traffic_secrets(transcript.digest())
    exporter = schedule.exporter_master_secret(transcript.digest())
    ctx.keylog.log("CLIENT_TRAFFIC_SECRET_0", ctx.client_random, c_ap)
    ctx.keylog.log("SERVER_TRAFFIC_SECRET_0", ctx.client_random, s_ap)
    ctx.keylog.log("EXPORTER_SECRET", ctx.client_random, exporter)
    ctx.install("write", Epoch.APPLICATION, params, s_ap)

    keys = _ServerKeys(
        params=params,
        schedule=schedule,
        transcript=transcript,
        c_hs=c_hs,
        c_ap=c_ap,
        exporter=exporter,
    )
    if requested_schemes is not None:
        return ExpectClientCertificate(
            keys=keys, choice=choice, requested_schemes=requested_schemes
        )
    return ExpectClientFinished(keys=keys, choice=choice, client_chain=(), client_scheme=None)


@dataclass(slots=True)
class _ServerKeys:
    params: SuiteParams
    schedule: KeySchedule = field(repr=False)
    transcript: Transcript = field(repr=False)
    c_hs: bytes = field(repr=False)
    c_ap: bytes = field(repr=False)
    exporter: bytes = field(repr=False)


# --- the client's answer -------------------------------------------------------------------------


@dataclass(slots=True)
class ExpectClientCertificate(ServerState):
    keys: _ServerKeys
    choice: _Choice
    requested_schemes: tuple[int, ...]
    name = "waiting for client Certificate"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        if msg_type != HandshakeType.certificate:
            raise unexpected(msg_type, self.name)
        cert = decode_handshake(msg_type, body)
        if not isinstance(cert, Certificate):
            raise unexpected(msg_type, self.name)
        chain = check_certificate_message(cert, b"")
        self.keys.transcript.update(raw)
        if not chain:
            if ctx.config.client_auth == "require":
                # RFC 8446 §4.4.2.4.
                raise RemoteProtocolError(
                    "client sent no certificate but one is required",
                    alert=AlertDescription.certificate_required,
                )
            return ExpectClientFinished(
                keys=self.keys, choice=self.choice, client_chain=(), client_scheme=None
            )
        store = ctx.config.client_trust_store
        if store is None:  # ServerConfig validation requires it with client_auth
            raise PeerIncompatible("no trust store for client certificates")
        verify_client_chain(chain, store, datetime.fromtimestamp(ctx.clock(), UTC))
        return ExpectClientCertificateVerify(
            keys=self.keys,
            choice=self.choice,
            requested_schemes=self.requested_schemes,
            chain=chain,
        )


@dataclass(slots=True)
class ExpectClientCertificateVerify(ServerState):
    keys: _ServerKeys
    choice: _Choice
    requested_schemes: tuple[int, ...]
    chain: tuple[bytes, ...]
    name = "waiting for client CertificateVerify"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        if msg_type != HandshakeType.certificate_verify:
            raise unexpected(msg_type, self.name)
        cv = decode_handshake(msg_type, body)
        if not isinstance(cv, CertificateVerify):
            raise unexpected(msg_type, self.name)
        if cv.algorithm not in self.requested_schemes:
            raise PeerMisbehaved(
                f"client signed with {display_name(SignatureScheme, cv.algorithm)}, which we did not request"
            )
        content = certificate_verify_content(False, self.keys.transcript.digest())
        verify(self.chain[0], cv.algorithm, cv.signature, content)
        self.keys.transcript.update(raw)
        return ExpectClientFinished(
            keys=self.keys, choice=self.choice, client_chain=self.chain, client_scheme=cv.algorithm
        )


@dataclass(slots=True)
class ExpectClientFinished(ServerState):
    keys: _ServerKeys
    choice: _Choice
    client_chain: tuple[bytes, ...]
    client_scheme: int | None
    name = "waiting for client Finished"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        if msg_type != HandshakeType.finished:
            raise unexpected(msg_type, self.name)
        fin = decode_handshake(msg_type, body)
        if not isinstance(fin, Finished):
            raise unexpected(msg_type, self.name)
        keys = self.keys
        expected = finished_verify_data(keys.params.hash_name, keys.c_hs, keys.transcript.digest())
        if not hmac.compare_digest(expected, fin.verify_data):
            raise PeerMisbehaved(
                "client Finished does not verify", alert=AlertDescription.decrypt_error
            )
        keys.transcript.update(raw)
        ctx.install("read", Epoch.APPLICATION, keys.params, keys.c_ap)
        resumption = keys.schedule.resumption_master_secret(keys.transcript.digest())
        choice = self.choice
        info = SessionInfo(
            cipher_suite=display_name(CipherSuite, keys.params.suite),
            group=display_name(NamedGroup, choice.group),
            signature_scheme=display_name(SignatureScheme, choice.scheme),
            alpn=choice.alpn.decode("ascii", "replace") if choice.alpn else None,
            server_name=choice.server_name,
            peer_certificates=self.client_chain,
            peer_certificate_subject=subject_of(self.client_chain[0])
            if self.client_chain
            else None,
            client_certificate_scheme=display_name(SignatureScheme, self.client_scheme)
            if self.client_scheme
            else None,
            hello_retry=ctx.hello_retry,
        )
        ctx.actions.append(HandshakeComplete(info))
        return ServerConnected(
            params=keys.params,
            exporter_master_secret=keys.exporter,
            resumption_master_secret=resumption,
            info=info,
        )


@dataclass(slots=True)
class ServerConnected(ServerState):
    params: SuiteParams
    exporter_master_secret: bytes = field(repr=False)
    resumption_master_secret: bytes = field(repr=False)
    info: SessionInfo = field(repr=False)
    name = "connected"
