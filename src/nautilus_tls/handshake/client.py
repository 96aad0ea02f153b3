"""The TLS 1.3 client handshake (RFC 8446 §2, §4), one state object per expected message.

Flights::

    ClientHello  (key_share for our first group)          ->
                                   <-  HelloRetryRequest   (optional: the group the server wants)
    [ChangeCipherSpec] ClientHello (one new share, cookie) ->
                                   <-  ServerHello
                                   <-  {EncryptedExtensions}
                                   <-  {CertificateRequest} (optional)
                                   <-  {Certificate} {CertificateVerify} {Finished}
    [ChangeCipherSpec] {Certificate, CertificateVerify} {Finished}  ->
                                   <-> [Application Data]

Each ``Expect*`` state's ``handle`` checks one message (every check names its alert and RFC
section) and returns the next state. What a state has verified is carried forward as
values, so a later state cannot run without the checks before it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from functools import lru_cache

from nautilus_tls.adaptive.client import AdaptiveHandshake
from nautilus_tls.config import ClientConfig, is_ip_address
from nautilus_tls.crypto.kem import KeyExchange
from nautilus_tls.crypto.keyschedule import KeySchedule, finished_verify_data, resumption_psk
from nautilus_tls.crypto.signatures import certificate_verify_content
from nautilus_tls.crypto.suites import SuiteParams
from nautilus_tls.crypto.transcript import Transcript
from nautilus_tls.defaults import MAX_TICKET_LIFETIME
from nautilus_tls.errors import (
    AlertDescription,
    BadCertificate,
    DecodeError,
    LocalProtocolError,
    PeerIncompatible,
    PeerMisbehaved,
    RemoteProtocolError,
    TLSError,
)
from nautilus_tls.handshake import certificate_types
from nautilus_tls.handshake.common import (
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    CompleteHandshake,
    DropEarlyWriteKey,
    Epoch,
    HandshakeContext,
    SendEarlyData,
    SendHandshake,
    TicketReceived,
    check_finished,
    expect_message,
    session_info,
    unexpected,
)
from nautilus_tls.handshake.hooks import (
    ExtensionHooks,
    plugin_server_proof,
    refuse_unsolicited,
    with_plugin_secrets,
)
from nautilus_tls.proofs import FinishedVerified, PeerVerified, SignatureVerified, require
from nautilus_tls.session.client_store import ClientTicket
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import (
    CipherSuite,
    ExtensionType,
    HandshakeType,
    ProtocolVersion,
    PskKeyExchangeMode,
    display_name,
)
from nautilus_tls.wire.messages import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    EndOfEarlyData,
    Extension,
    Finished,
    NewSessionTicket,
    ServerHello,
)


@dataclass(slots=True, kw_only=True)
class ClientContext(HandshakeContext):
    """Everything the client states share; built once per connection."""

    config: ClientConfig
    server_name: str | None
    session_id: bytes = b""
    offered_groups_with_share: dict[int, KeyExchange] = field(default_factory=dict, repr=False)
    session_key: str | None = None
    early_data: bytes | None = field(default=None, repr=False)  # what the app wants sent in 0-RTT
    ticket: ClientTicket | None = field(default=None, repr=False)  # the ticket offered, if any
    # The offered ticket's key schedule at its Early Secret: the binder, the 0-RTT key and,
    # when the server accepts the PSK, the handshake secrets all derive from this one.
    psk_schedule: KeySchedule | None = field(default=None, repr=False)
    early_data_status: str = "none"  # "none" | "rejected" | "accepted"
    early_data_sent: int = 0  # bytes of early_data that went out as 0-RTT
    writes_early: bool = False  # the early traffic key is our write key
    # The server as the ticket remembers it, re-verified when the ticket was taken.
    resumed_peer: PeerVerified | None = field(default=None, repr=False)
    # Adaptive negotiation's decision for this connection (None when config.adaptive is off).
    adaptive: AdaptiveHandshake | None = field(default=None, repr=False)
    # config.server_trust_fingerprint() once per connection (a verifier and a hash over the
    # trust store each time): every NewSessionTicket records it, and servers send two.
    _server_trust: tuple[bytes | None] | None = field(default=None, repr=False)

    def psk_modes(self) -> tuple[int, ...]:
        return self.config.psk_modes

    def server_trust_fingerprint(self) -> bytes | None:
        """``config.server_trust_fingerprint()``, computed on first use."""
        if self._server_trust is None:
            self._server_trust = (self.config.server_trust_fingerprint(),)
        return self._server_trust[0]


class ClientState:
    name = "client"

    def handle(self, ctx: ClientContext, msg_type: int, body: bytes, raw: bytes) -> ClientState:
        raise unexpected(msg_type, self.name)


# --- ClientHello ------------------------------------------------------------------------


def _make_key_shares(ctx: ClientContext, groups: tuple[int, ...]) -> tuple[ext.KeyShareEntry, ...]:
    entries = []
    for group in groups:
        kem = ctx.config.provider.kem_for_group(group)
        if kem is None:  # config validation makes this unreachable; keep the error honest
            raise PeerIncompatible(f"no implementation for group {group:#06x}")
        kex = kem.generate(private_bytes=ctx.entropy.private_key_for(group))
        ctx.offered_groups_with_share[group] = kex
        entries.append(ext.KeyShareEntry(group=group, key_exchange=kex.share))
    return tuple(entries)


# Whether the server name is an IP literal: pure, and a client connects to the same few
# names again and again (ipaddress parsing costs ~8 us per ClientHello otherwise).
_is_ip_literal = lru_cache(maxsize=128)(is_ip_address)


def _client_hello(
    ctx: ClientContext,
    shares: tuple[ext.KeyShareEntry, ...],
    cookie: bytes | None = None,
) -> ClientHello:
    cfg = ctx.config
    exts: list[Extension] = []
    if ctx.server_name and not _is_ip_literal(ctx.server_name):
        # RFC 6066 §3: literal IP addresses are not sent in SNI.
        exts.append(
            Extension(
                ext_type=ExtensionType.server_name, data=ext.encode_server_name(ctx.server_name)
            )
        )
    before_share, after_share = cfg.hello_extensions()
    exts += before_share
    exts.append(Extension(ext_type=ExtensionType.key_share, data=ext.encode_key_share_ch(shares)))
    exts += after_share
    # RFC 7250 §4.1: the certificate types we accept, when not just X.509.
    exts += certificate_types.client_hello_extensions(cfg)
    # Plug-in extensions (QUIC transport parameters, ...): the same bytes in a second
    # ClientHello, as RFC 8446 §4.1.2 requires.
    exts += ctx.hooks.offer(HandshakeType.client_hello, exts)
    if cookie is not None:
        exts.append(Extension(ext_type=ExtensionType.cookie, data=ext.encode_cookie(cookie)))
    ticket = ctx.ticket
    if ticket is not None:
        if ctx.early_data is not None and not ctx.hello_retry and ticket.max_early_data > 0:
            exts.append(Extension(ext_type=ExtensionType.early_data, data=b""))
        # RFC 8446 §4.2.11: pre_shared_key comes last; the binder is filled in by _bind().
        params = ctx.config.provider.suite_params(ticket.suite)
        binder_len = params.hash_len if params is not None else 32
        offered = ext.OfferedPsks(
            (ext.PskIdentity(ticket.ticket, ticket.obfuscated_age(ctx.clock())),),
            (bytes(binder_len),),
        )
        exts.append(
            Extension(
                ext_type=ExtensionType.pre_shared_key, data=ext.encode_pre_shared_key_ch(offered)
            )
        )
    return ClientHello(
        random=ctx.client_random,
        legacy_session_id=ctx.session_id,
        cipher_suites=tuple(cfg.cipher_suites),
        extensions=tuple(exts),
    )


def _take_ticket(ctx: ClientContext) -> ClientTicket | None:
    """A usable ticket for this server, removed from the store (each is used once)."""
    store = ctx.config.session_store
    if store is None or ctx.session_key is None:
        return None
    ticket = store.take(ctx.session_key, ctx.clock())
    if ticket is None or ticket.suite not in ctx.config.cipher_suites:
        return None
    # RFC 8446 §4.6.1: resume only with the name the ticket was issued for.
    if ticket.server_name != ctx.server_name:
        return None
    peer = _trusts_ticket(ctx, ticket)
    if peer is None:
        return None
    ctx.resumed_peer = peer
    return ticket


def _trusts_ticket(ctx: ClientContext, ticket: ClientTicket) -> PeerVerified | None:
    """The server as ``ticket`` remembers it, if resuming keeps the authentication this
    config demands (RFC 8446 §2.2: a resumed session inherits the server's authentication
    from the ticket's handshake); None to refuse the ticket. A verifying config takes only
    tickets verified under the same trust fingerprint, and its verifier re-checks the
    stored chain now: validity periods, the name, the roots (Go's client re-checks the
    leaf's expiry and name the same way)."""
    verifier = ctx.config.peer_verifier()
    expected = verifier.fingerprint()
    if expected is not None:
        if not ticket.verified or not hmac.compare_digest(ticket.trust_fingerprint, expected):
            return None
        if not ticket.server_chain:
            return None
    # Without verification any ticket widens nothing; the verifier then accepts it as is.
    try:
        return verifier.verify_resumed(ticket.server_chain, ctx.server_name, ctx.clock())
    except TLSError:
        return None


def _bind(ctx: ClientContext, ch: ClientHello, earlier: list[bytes]) -> tuple[ClientHello, bytes]:
    """The ClientHello and its encoding with the PSK binder filled in (RFC 8446 §4.2.11.2):
    an HMAC over the transcript up to and including the ClientHello truncated before the
    binders list."""
    ticket = ctx.ticket
    ctx.psk_schedule = None
    if ticket is None:
        return ch, ch.encode()
    params = ctx.config.provider.suite_params(ticket.suite)
    if params is None:  # _take_ticket only keeps tickets for suites we support
        raise PeerIncompatible("ticket for an unsupported suite")
    raw = ch.encode()
    truncated = raw[: len(raw) - ext.binders_length([params.hash_len])]
    transcript = _transcript_for(params.hash_name, earlier)
    schedule = ctx.psk_schedule = KeySchedule(params.hash_name, ticket.psk)
    binder_key = schedule.binder_key(external=False)
    binder = finished_verify_data(params.hash_name, binder_key, transcript.hash_of(truncated))
    # pre_shared_key is the last extension and the binders list its tail, with lengths that
    # do not change: the bound hello is the truncated encoding plus the real binders.
    bound_raw = truncated + ext.encode_psk_binders((binder,))
    psk_data = ext.get_extension(ch.extensions, ExtensionType.pre_shared_key) or b""
    offered = ext.decode_pre_shared_key_ch(psk_data)
    bound = ext.encode_pre_shared_key_ch(ext.OfferedPsks(offered.identities, (binder,)))
    exts = tuple(
        Extension(ext_type=e.ext_type, data=bound)
        if e.ext_type == ExtensionType.pre_shared_key
        else e
        for e in ch.extensions
    )
    bound_ch = ClientHello(
        random=ch.random,
        legacy_session_id=ch.legacy_session_id,
        cipher_suites=ch.cipher_suites,
        legacy_compression_methods=ch.legacy_compression_methods,
        extensions=exts,
        legacy_version=ch.legacy_version,
    )
    return bound_ch, bound_raw


def _transcript_for(hash_name: str, earlier: list[bytes]) -> Transcript:
    """A transcript of what came before the current ClientHello: nothing, or
    message_hash(ClientHello1) + HelloRetryRequest (RFC 8446 §4.4.1)."""
    transcript = Transcript(hash_name)
    if earlier:
        transcript.update(earlier[0])
        transcript.rewrite_for_hello_retry()
        transcript.update(earlier[1])
    return transcript


def start_client(ctx: ClientContext) -> ClientState:
    """Send the first ClientHello (with a PSK and 0-RTT data when a ticket allows)."""
    ctx.client_random = ctx.entropy.random_bytes(32)
    # Compatibility mode sends a fake session id so middleboxes see a TLS 1.2 resumption.
    # RFC 9001 §8.4: a QUIC client must not request compatibility mode.
    compatible = ctx.config.middlebox_compatibility and not ctx.quic
    ctx.middlebox_compatibility = compatible
    ctx.session_id = ctx.entropy.random_bytes(32) if compatible else b""
    ctx.ticket = _take_ticket(ctx)
    shares = _make_key_shares(ctx, _first_key_share_groups(ctx))
    client_hello, raw = _bind(ctx, _client_hello(ctx, shares), [])
    ctx.actions.append(SendHandshake(Epoch.INITIAL, raw))
    if ext.get_extension(client_hello.extensions, ExtensionType.early_data) is not None:
        _send_early_data(ctx, raw)
    return ExpectServerHello(client_hello=client_hello, client_hello_raw=raw, earlier=[])


def _first_key_share_groups(ctx: ClientContext) -> tuple[int, ...]:
    """The policy's key share groups, or adaptive negotiation's choice among the groups the
    policy allows (the offered groups themselves never change)."""
    config = ctx.config
    if config.adaptive is None:
        return config.key_share_groups
    ctx.adaptive = config.adaptive.start(
        ctx.session_key,
        allowed=config.groups,
        policy_shares=config.key_share_groups,
        provider=config.provider,
        clock=ctx.clock,
    )
    return ctx.adaptive.key_share_groups


def _send_early_data(ctx: ClientContext, client_hello_raw: bytes) -> None:
    """RFC 8446 §4.2.10: 0-RTT data under client_early_traffic_secret, right after the hello."""
    ticket, data, schedule = ctx.ticket, ctx.early_data, ctx.psk_schedule
    params = ctx.config.provider.suite_params(ticket.suite) if ticket is not None else None
    if ticket is None or data is None or params is None or schedule is None:
        return
    transcript = Transcript(params.hash_name)
    transcript.update(client_hello_raw)
    secret = schedule.client_early_traffic_secret(transcript.digest())
    ctx.keylog.log("CLIENT_EARLY_TRAFFIC_SECRET", ctx.client_random, secret)
    ctx.install("write", Epoch.EARLY, params, secret)
    ctx.writes_early = True
    # RFC 8446 §4.2.10: at most max_early_data bytes go early; the rest is not cut off but
    # sent as ordinary data after the handshake (SendEarlyData.rest), and the count reported.
    fits = ticket.max_early_data
    ctx.early_data_sent = min(len(data), fits)
    ctx.actions.append(SendEarlyData(data[:fits], rest=data[fits:]))
    ctx.early_data_status = "rejected"  # until EncryptedExtensions says otherwise


# --- ServerHello / HelloRetryRequest ------------------------------------------------------


def _check_server_hello_common(ctx: ClientContext, ch: ClientHello, sh: ServerHello) -> SuiteParams:
    # RFC 8446 §4.1.3 / §4.2.1: supported_versions must select TLS 1.3.
    sv = ext.get_extension(sh.extensions, ExtensionType.supported_versions)
    if sv is None:
        if sh.random[-8:] in (DOWNGRADE_TLS12, DOWNGRADE_TLS11):
            raise PeerMisbehaved("server signalled a downgrade (RFC 8446 §4.1.3)")
        raise RemoteProtocolError(
            "server does not speak TLS 1.3 (no supported_versions in ServerHello)",
            alert=AlertDescription.protocol_version,
        )
    if ext.decode_supported_versions_sh(sv) != ProtocolVersion.TLS1_3:
        raise PeerMisbehaved("server selected a version we did not offer (RFC 8446 §4.2.1)")
    if sh.legacy_version != 0x0303:
        raise PeerMisbehaved("ServerHello.legacy_version must be 0x0303 (RFC 8446 §4.1.3)")
    if not hmac.compare_digest(sh.legacy_session_id_echo, ctx.session_id):
        raise PeerMisbehaved("ServerHello does not echo our legacy_session_id (RFC 8446 §4.1.3)")
    if sh.legacy_compression_method != 0:
        raise PeerMisbehaved("ServerHello.legacy_compression_method must be 0 (RFC 8446 §4.1.3)")
    if sh.cipher_suite not in ch.cipher_suites:
        raise PeerMisbehaved(
            f"server selected cipher suite {display_name(CipherSuite, sh.cipher_suite)} we did not offer"
        )
    params = ctx.config.provider.suite_params(sh.cipher_suite)
    if params is None:
        raise PeerMisbehaved("server selected a cipher suite we cannot use")
    offered = {e.ext_type for e in ch.extensions}
    if sh.is_hello_retry_request:
        offered.add(ExtensionType.cookie)  # the server may add a cookie to its HRR (§4.2.2)
    for e in sh.extensions:
        if e.ext_type not in offered:
            # RFC 8446 §4.2: an extension response we did not solicit.
            raise RemoteProtocolError(
                f"server sent unsolicited extension {e.ext_type}",
                alert=AlertDescription.unsupported_extension,
            )
    return params


@dataclass(slots=True)
class ExpectServerHello(ClientState):
    client_hello: ClientHello
    client_hello_raw: bytes
    earlier: list[bytes]  # ClientHello1 and HelloRetryRequest, once a retry happened
    retry_suite: int | None = None
    name = "waiting for ServerHello"

    def handle(self, ctx: ClientContext, msg_type: int, body: bytes, raw: bytes) -> ClientState:
        sh = expect_message(msg_type, body, ServerHello, self.name)
        if sh.is_hello_retry_request:
            ctx.hooks.check_allowed(sh.extensions, ext.HRR)
        else:
            ctx.hooks.check_allowed(sh.extensions, HandshakeType.server_hello)
        params = _check_server_hello_common(ctx, self.client_hello, sh)
        if sh.is_hello_retry_request:
            return self._retry(ctx, sh, raw, params)
        if self.retry_suite is not None and sh.cipher_suite != self.retry_suite:
            raise PeerMisbehaved(
                "ServerHello cipher suite differs from HelloRetryRequest's (RFC 8446 §4.1.4)"
            )
        offered = frozenset(e.ext_type for e in self.client_hello.extensions)
        ctx.hooks.receive(
            HandshakeType.server_hello, sh.extensions, ctx.peer_extensions, only=offered
        )
        ctx.peer_certificate_may_carry = offered
        return self._accept(ctx, sh, raw, params)

    def _retry(
        self, ctx: ClientContext, hrr: ServerHello, raw: bytes, params: SuiteParams
    ) -> ClientState:
        # RFC 8446 §4.1.4: at most one HelloRetryRequest per connection.
        if ctx.hello_retry:
            raise unexpected(HandshakeType.server_hello, "after a HelloRetryRequest (second HRR)")
        ctx.hello_retry = True
        ks = ext.get_extension(hrr.extensions, ExtensionType.key_share)
        cookie_data = ext.get_extension(hrr.extensions, ExtensionType.cookie)
        cookie = ext.decode_cookie(cookie_data) if cookie_data is not None else None
        if ks is None and cookie is None:
            # RFC 8446 §4.1.4: an HRR that would not change the ClientHello.
            raise PeerMisbehaved("HelloRetryRequest asks for no change")
        shares: tuple[ext.KeyShareEntry, ...]
        if ks is not None:
            group = ext.decode_key_share_hrr(ks)
            if group not in ctx.config.groups:
                raise PeerMisbehaved(
                    f"HelloRetryRequest selected group {ctx.config.provider.group_name(group)} we did not offer"
                )
            if group in ctx.offered_groups_with_share:
                raise PeerMisbehaved(
                    "HelloRetryRequest selected a group we already sent a share for"
                )
            if ctx.adaptive is not None:
                ctx.adaptive.on_hello_retry(group)  # may refuse a downgrade (strict)
            ctx.offered_groups_with_share.clear()
            shares = _make_key_shares(ctx, (group,))
        else:
            if ctx.adaptive is not None:
                ctx.adaptive.on_hello_retry(None)
            old = ext.get_extension(self.client_hello.extensions, ExtensionType.key_share)
            shares = ext.decode_key_share_ch(old or b"\x00\x00")
        if ctx.ticket is not None:
            hrr_params = ctx.config.provider.suite_params(hrr.cipher_suite)
            ticket_params = ctx.config.provider.suite_params(ctx.ticket.suite)
            # RFC 8446 §4.1.4: a PSK whose hash does not match the HRR's suite is dropped.
            if (
                hrr_params is None
                or ticket_params is None
                or hrr_params.hash_name != ticket_params.hash_name
            ):
                ctx.ticket = None
        earlier = [self.client_hello_raw, raw]
        ch2, ch2_raw = _bind(ctx, _client_hello(ctx, shares, cookie), earlier)
        if ctx.writes_early:
            # RFC 8446 §4.1.4, §4.2.10: an HRR rejects our 0-RTT; the second ClientHello
            # goes out in plaintext, not under the early key the server will never derive.
            ctx.writes_early = False
            ctx.actions.append(DropEarlyWriteKey())
        ctx.actions.append(SendHandshake(Epoch.INITIAL, ch2_raw))
        return ExpectServerHello(
            client_hello=ch2,
            client_hello_raw=ch2_raw,
            earlier=earlier,
            retry_suite=hrr.cipher_suite,
        )

    def _accept(
        self, ctx: ClientContext, sh: ServerHello, raw: bytes, params: SuiteParams
    ) -> ClientState:
        psk = self._accepted_psk(ctx, sh, params)
        ks = ext.get_extension(sh.extensions, ExtensionType.key_share)
        group: int | None = None
        shared_secret: bytes | None = None
        if ks is None:
            # Only psk_ke resumption runs without a key exchange, and only if we offered it.
            if psk is None or PskKeyExchangeMode.psk_ke not in ctx.psk_modes():
                raise RemoteProtocolError(
                    "ServerHello has no key_share", alert=AlertDescription.missing_extension
                )
        else:
            entry = ext.decode_key_share_sh(ks)
            kex = ctx.offered_groups_with_share.get(entry.group)
            if kex is None:
                raise PeerMisbehaved(
                    f"server key_share is for group {ctx.config.provider.group_name(entry.group)} we sent no share for (RFC 8446 §4.2.8)"
                )
            if ctx.adaptive is not None:
                ctx.adaptive.on_server_hello(entry.group)  # may refuse a downgrade (strict)
            shared_secret = kex.decapsulate(entry.key_exchange)
            group = entry.group
        ctx.offered_groups_with_share.clear()  # drop private keys as soon as they are used

        transcript = _transcript_for(params.hash_name, self.earlier)
        transcript.update(self.client_hello_raw)
        transcript.update(raw)

        schedule = ctx.psk_schedule
        ctx.psk_schedule = None
        if psk is None or schedule is None or schedule.hash_name != params.hash_name:
            schedule = KeySchedule(params.hash_name, psk)
        # A PAKE plug-in's key joins the key exchange's secret (docs/pake.md).
        schedule.enter_handshake(with_plugin_secrets(shared_secret, ctx.peer_extensions))
        c_hs, s_hs = schedule.handshake_traffic_secrets(transcript.digest())
        ctx.keylog.log("CLIENT_HANDSHAKE_TRAFFIC_SECRET", ctx.client_random, c_hs)
        ctx.keylog.log("SERVER_HANDSHAKE_TRAFFIC_SECRET", ctx.client_random, s_hs)
        ctx.install("read", Epoch.HANDSHAKE, params, s_hs)
        if not ctx.writes_early:
            # From here our alerts go out under the handshake key (RFC 8446 §5); with 0-RTT
            # the early key stays in use until EndOfEarlyData.
            ctx.install("write", Epoch.HANDSHAKE, params, c_hs)
        return ExpectEncryptedExtensions(
            keys=_HandshakeKeys(
                params=params, schedule=schedule, transcript=transcript, c_hs=c_hs, s_hs=s_hs
            ),
            group=group,
            client_hello=self.client_hello,
            resumed=psk is not None,
        )

    def _accepted_psk(
        self, ctx: ClientContext, sh: ServerHello, params: SuiteParams
    ) -> bytes | None:
        data = ext.get_extension(sh.extensions, ExtensionType.pre_shared_key)
        ticket = ctx.ticket
        if data is None or ticket is None:  # unsolicited PSK was refused by the offered check
            ctx.ticket = None
            return None
        # RFC 8446 §4.2.11: the index must be one we offered, with a suite of the same hash.
        if ext.decode_pre_shared_key_sh(data) != 0:
            raise PeerMisbehaved("server selected a PSK identity we did not offer")
        ticket_params = ctx.config.provider.suite_params(ticket.suite)
        if ticket_params is None or ticket_params.hash_name != params.hash_name:
            raise PeerMisbehaved("server resumed with a cipher suite of another hash")
        return ticket.psk


@dataclass(slots=True)
class _HandshakeKeys:
    params: SuiteParams
    schedule: KeySchedule = field(repr=False)
    transcript: Transcript = field(repr=False)
    c_hs: bytes = field(repr=False)
    s_hs: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class _Negotiated:
    group: int | None  # None only for psk_ke resumption
    alpn: bytes | None
    resumed: bool = False


# --- EncryptedExtensions ----------------------------------------------------------------


@dataclass(slots=True)
class ExpectEncryptedExtensions(ClientState):
    keys: _HandshakeKeys
    group: int | None
    client_hello: ClientHello
    resumed: bool
    name = "waiting for EncryptedExtensions"

    def handle(self, ctx: ClientContext, msg_type: int, body: bytes, raw: bytes) -> ClientState:
        ee = expect_message(msg_type, body, EncryptedExtensions, self.name)
        # RFC 8446 §4.2: an extension not allowed in EncryptedExtensions (the plug-ins' own
        # entries included) is illegal_parameter.
        ctx.hooks.check_allowed(ee.extensions, HandshakeType.encrypted_extensions)
        offered = {e.ext_type for e in self.client_hello.extensions}
        for e in ee.extensions:
            # supported_groups in EE is informational and may come unsolicited (§4.2.7).
            if e.ext_type not in offered and e.ext_type != ExtensionType.supported_groups:
                raise RemoteProtocolError(
                    f"server sent unsolicited extension {e.ext_type} in EncryptedExtensions",
                    alert=AlertDescription.unsupported_extension,
                )
        alpn: bytes | None = None
        alpn_data = ext.get_extension(
            ee.extensions, ExtensionType.application_layer_protocol_negotiation
        )
        if alpn_data is not None:
            protocols = ext.decode_alpn(alpn_data)
            # RFC 7301 §3.1: exactly one protocol, one that we offered.
            if len(protocols) != 1 or protocols[0] not in ctx.config.alpn_protocols:
                raise PeerMisbehaved("server selected an ALPN protocol we did not offer")
            alpn = protocols[0]
        # RFC 7250 §4.2: the certificate types the server chose (absent: X.509).
        ctx.server_certificate_type, ctx.client_certificate_type = (
            certificate_types.types_chosen_by_server(ctx.config, ee.extensions)
        )
        # Each plug-in we offered checks the server's answer (or its absence) with its alert.
        ctx.hooks.receive(
            HandshakeType.encrypted_extensions, ee.extensions, ctx.peer_extensions, only=offered
        )
        if ext.get_extension(ee.extensions, ExtensionType.early_data) is not None:
            # RFC 8446 §4.2.10: acceptance is only possible for the PSK we offered first.
            if not self.resumed:
                raise PeerMisbehaved("server accepted early data without resuming")
            ctx.early_data_status = "accepted"
        self.keys.transcript.update(raw)
        negotiated = _Negotiated(self.group, alpn, self.resumed)
        if self.resumed:
            # RFC 8446 §2.2: a resumed handshake has no server certificate; the server is the
            # one the ticket remembers, re-verified when the ticket was taken.
            if ctx.resumed_peer is None:  # _take_ticket sets both: keep the error honest
                raise LocalProtocolError("resumed without a verified ticket")
            return ExpectFinished(
                keys=self.keys,
                negotiated=negotiated,
                requested_schemes=None,
                peer=ctx.resumed_peer,
                signature=None,
            )
        return ExpectCertificateOrCertificateRequest(
            keys=self.keys,
            negotiated=negotiated,
            # A plug-in that verified the server in the key exchange (a PAKE) lets the
            # server leave its Certificate out; without one, or when the config demands
            # certificate evidence, a Certificate is required.
            key_exchange_proof=(
                None
                if ctx.config.requires_server_certificate
                else plugin_server_proof(ctx.peer_extensions)
            ),
        )


# --- CertificateRequest / Certificate / CertificateVerify -------------------------------


@dataclass(slots=True)
class ExpectCertificateOrCertificateRequest(ClientState):
    keys: _HandshakeKeys
    negotiated: _Negotiated
    key_exchange_proof: PeerVerified | None = None
    name = "waiting for Certificate or CertificateRequest"

    def handle(self, ctx: ClientContext, msg_type: int, body: bytes, raw: bytes) -> ClientState:
        if msg_type == HandshakeType.certificate_request:
            cr = expect_message(msg_type, body, CertificateRequest, self.name)
            ctx.hooks.check_allowed(cr.extensions, HandshakeType.certificate_request)
            # RFC 8446 §4.3.2: the context is empty in the main handshake.
            if cr.certificate_request_context:
                raise PeerMisbehaved(
                    "CertificateRequest context must be empty during the handshake"
                )
            sa = ext.get_extension(cr.extensions, ExtensionType.signature_algorithms)
            if sa is None:
                raise RemoteProtocolError(
                    "CertificateRequest without signature_algorithms (RFC 8446 §4.3.2)",
                    alert=AlertDescription.missing_extension,
                )
            # CertificateRequest extensions are the server's own (RFC 8446 §4.3.2); what a
            # plug-in receives here it may answer in our Certificate.
            ctx.hooks.receive(HandshakeType.certificate_request, cr.extensions, ctx.peer_extensions)
            ctx.our_certificate_may_carry = frozenset(e.ext_type for e in cr.extensions)
            self.keys.transcript.update(raw)
            return ExpectCertificate(
                keys=self.keys,
                negotiated=self.negotiated,
                requested_schemes=ext.decode_signature_algorithms(sa),
                key_exchange_proof=self.key_exchange_proof,
            )
        return ExpectCertificate(
            keys=self.keys,
            negotiated=self.negotiated,
            requested_schemes=None,
            key_exchange_proof=self.key_exchange_proof,
        ).handle(ctx, msg_type, body, raw)


def check_certificate_message(
    cert: Certificate,
    expected_context: bytes,
    *,
    max_length: int,
    max_size: int,
    hooks: ExtensionHooks,
    may_carry: frozenset[int],
) -> tuple[bytes, ...]:
    """Common checks on a Certificate message, before any certificate is parsed; returns
    the DER chain (may be empty). The bounds come from the configuration; ``may_carry`` are
    the extensions our ClientHello or CertificateRequest offered (RFC 8446 §4.4.2)."""
    if not hmac.compare_digest(cert.certificate_request_context, expected_context):
        raise PeerMisbehaved(
            "Certificate has the wrong certificate_request_context (RFC 8446 §4.4.2)"
        )
    entries = cert.certificate_list
    if len(entries) > max_length:
        raise BadCertificate(
            f"certificate chain of {len(entries)} certificates exceeds the limit of {max_length}"
        )
    size = sum(len(e.cert_data) for e in entries)
    if size > max_size:
        raise BadCertificate(f"certificate chain of {size} bytes exceeds the limit of {max_size}")
    for entry in entries:
        hooks.check_allowed(entry.extensions, HandshakeType.certificate)
        refuse_unsolicited(entry.extensions, may_carry, "a Certificate entry")
        if not entry.cert_data:
            raise DecodeError("empty certificate in chain")
    return tuple(e.cert_data for e in entries)


def with_leaf_extensions(
    entries: tuple[CertificateEntry, ...], hooks: ExtensionHooks, ctx: HandshakeContext
) -> tuple[CertificateEntry, ...]:
    """Our Certificate's entries with the plug-ins' extensions in the end-entity entry, where
    RFC 8446 §4.4.2 puts what applies to the whole chain; only what the peer asked for."""
    if not entries or not hooks:
        return entries
    leaf = entries[0]
    added = hooks.offer(
        HandshakeType.certificate,
        leaf.extensions,
        ctx.peer_extensions,
        only=ctx.our_certificate_may_carry,
    )
    if not added:
        return entries
    return (
        CertificateEntry(cert_data=leaf.cert_data, extensions=(*leaf.extensions, *added)),
        *entries[1:],
    )


def receive_leaf_extensions(ctx: HandshakeContext, cert: Certificate) -> None:
    """The plug-ins that asked for a Certificate extension check the peer's end-entity
    entry (an empty Certificate has none)."""
    leaf = cert.certificate_list[0].extensions if cert.certificate_list else ()
    ctx.hooks.receive(
        HandshakeType.certificate, leaf, ctx.peer_extensions, only=ctx.peer_certificate_may_carry
    )


@dataclass(slots=True)
class ExpectCertificate(ClientState):
    keys: _HandshakeKeys
    negotiated: _Negotiated
    requested_schemes: tuple[int, ...] | None  # None: no CertificateRequest
    # Set when a plug-in verified the server in the key exchange (a PAKE): the server may
    # then send Finished instead (draft-ietf-tls-pake); a Certificate is still verified.
    key_exchange_proof: PeerVerified | None = None
    name = "waiting for server Certificate"

    def handle(self, ctx: ClientContext, msg_type: int, body: bytes, raw: bytes) -> ClientState:
        if msg_type == HandshakeType.finished:
            if self.key_exchange_proof is None:
                raise RemoteProtocolError(
                    "the server sent no Certificate; without a password login this client "
                    "accepts in its place, the server must prove itself with one",
                    alert=AlertDescription.unexpected_message,
                )
            return ExpectFinished(
                keys=self.keys,
                negotiated=self.negotiated,
                requested_schemes=self.requested_schemes,
                peer=self.key_exchange_proof,
                signature=None,
            ).handle(ctx, msg_type, body, raw)
        cert = expect_message(msg_type, body, Certificate, self.name)
        chain = check_certificate_message(
            cert,
            b"",
            max_length=ctx.config.max_certificate_chain_length,
            max_size=ctx.config.max_certificate_chain_size,
            hooks=ctx.hooks,
            may_carry=ctx.peer_certificate_may_carry,
        )
        if not chain:
            # RFC 8446 §4.4.2.4: the server must send a certificate.
            raise DecodeError("server sent an empty Certificate message")
        receive_leaf_extensions(ctx, cert)
        certificate_types.check_certificate_entries(chain, ctx.server_certificate_type)
        # RFC 8446 §4.4.2.4: the verifier's refusal carries its alert (X.509: path
        # validation for the server name, then signature_algorithms_cert, §4.2.3).
        verifier = ctx.config.peer_verifier()
        peer = verifier.verify_identity(cert.certificate_list, ctx.server_name, ctx.clock())
        self.keys.transcript.update(raw)
        return ExpectCertificateVerify(
            keys=self.keys,
            negotiated=self.negotiated,
            requested_schemes=self.requested_schemes,
            peer=peer,
        )


@dataclass(slots=True)
class ExpectCertificateVerify(ClientState):
    keys: _HandshakeKeys
    negotiated: _Negotiated
    requested_schemes: tuple[int, ...] | None
    peer: PeerVerified
    name = "waiting for server CertificateVerify"

    def handle(self, ctx: ClientContext, msg_type: int, body: bytes, raw: bytes) -> ClientState:
        cv = expect_message(msg_type, body, CertificateVerify, self.name)
        # RFC 8446 §4.4.3: the scheme must be one we offered in signature_algorithms.
        if cv.algorithm not in ctx.config.signature_schemes:
            raise PeerMisbehaved(
                f"server signed with {ctx.config.provider.scheme_name(cv.algorithm)}, which we did not offer"
            )
        content = certificate_verify_content(True, self.keys.transcript.digest())
        # RFC 8446 §4.4.3: decrypt_error for a bad signature, illegal_parameter for a
        # scheme that does not fit the key.
        signature = ctx.config.peer_verifier().verify_signature(
            self.peer, cv.algorithm, cv.signature, content, ctx.config.provider
        )
        self.keys.transcript.update(raw)
        return ExpectFinished(
            keys=self.keys,
            negotiated=self.negotiated,
            requested_schemes=self.requested_schemes,
            peer=self.peer,
            signature=signature,
        )


# --- Finished, and the client's second flight --------------------------------------------


@dataclass(slots=True)
class ExpectFinished(ClientState):
    keys: _HandshakeKeys
    negotiated: _Negotiated
    requested_schemes: tuple[int, ...] | None
    peer: PeerVerified
    # None for a resumed session (the PSK authenticates) or a server a plug-in verified in
    # the key exchange (peer.by_key_exchange: a PAKE)
    signature: SignatureVerified | None
    name = "waiting for server Finished"

    def handle(self, ctx: ClientContext, msg_type: int, body: bytes, raw: bytes) -> ClientState:
        fin = expect_message(msg_type, body, Finished, self.name)
        keys = self.keys
        hash_name = keys.params.hash_name
        transcript = keys.transcript
        finished = check_finished(fin, keys.params, keys.s_hs, transcript.digest(), "server")
        transcript.update(raw)

        schedule = keys.schedule
        schedule.enter_master()
        c_ap, s_ap = schedule.application_traffic_secrets(transcript.digest())
        exporter = schedule.exporter_master_secret(transcript.digest())
        ctx.keylog.log("CLIENT_TRAFFIC_SECRET_0", ctx.client_random, c_ap)
        ctx.keylog.log("SERVER_TRAFFIC_SECRET_0", ctx.client_random, s_ap)
        ctx.keylog.log("EXPORTER_SECRET", ctx.client_random, exporter)
        ctx.install("read", Epoch.APPLICATION, keys.params, s_ap)

        if ctx.early_data_status == "accepted" and not ctx.quic:
            # RFC 8446 §4.5: EndOfEarlyData, still under the early traffic key (never over
            # QUIC, RFC 9001 §8.3).
            ctx.send(Epoch.EARLY, EndOfEarlyData(), transcript)
        if ctx.writes_early:
            ctx.writes_early = False
            ctx.install("write", Epoch.HANDSHAKE, keys.params, keys.c_hs)
        client_scheme = self._send_client_certificate(ctx)
        verify_data = finished_verify_data(hash_name, keys.c_hs, transcript.digest())
        ctx.send(Epoch.HANDSHAKE, Finished(verify_data=verify_data), transcript)
        ctx.install("write", Epoch.APPLICATION, keys.params, c_ap)
        resumption = schedule.resumption_master_secret(transcript.digest())

        info = session_info(
            ctx,
            provider=ctx.config.provider,
            suite=keys.params.suite,
            group=self.negotiated.group,
            scheme=self.signature.scheme if self.signature is not None else None,
            alpn=self.negotiated.alpn,
            server_name=ctx.server_name,
            peer_chain=self.peer.certificates,
            client_scheme=client_scheme,
            resumed=self.negotiated.resumed,
            early_data=ctx.early_data_status,
            early_data_sent=ctx.early_data_sent,
            peer_identity=self.peer.identity,
        )
        if ctx.adaptive is not None:
            info = ctx.adaptive.on_complete(
                info,
                group=self.negotiated.group,
                suite=keys.params.suite,
                resumed=self.negotiated.resumed,
            )
        ctx.actions.append(CompleteHandshake(info))
        return ClientConnected(
            params=keys.params,
            exporter_master_secret=exporter,
            resumption_master_secret=resumption,
            info=info,
            peer=self.peer,
            signature=self.signature,
            finished=finished,
            alpn=self.negotiated.alpn,
        )

    def _send_client_certificate(self, ctx: ClientContext) -> int | None:
        """RFC 8446 §4.4.2: answer a CertificateRequest with our chain or an empty one."""
        if self.requested_schemes is None:
            return None
        transcript = self.keys.transcript
        credential = ctx.config.client_certificate
        provider = ctx.config.provider
        scheme: int | None = None
        if credential is not None and credential.certificate_type != ctx.client_certificate_type:
            # RFC 7250 §4.2: the server did not take our raw key's type: we have nothing of
            # the negotiated type to send.
            credential = None
        if credential is not None:
            usable = [
                s for s in credential.signature_schemes(provider) if s in self.requested_schemes
            ]
            scheme = usable[0] if usable else None
        if credential is None or scheme is None:
            ctx.send(
                Epoch.HANDSHAKE,
                Certificate(certificate_request_context=b"", certificate_list=()),
                transcript,
            )
            return None
        ctx.send(
            Epoch.HANDSHAKE,
            Certificate(
                certificate_request_context=b"",
                certificate_list=with_leaf_extensions(
                    credential.certificate_entries(), ctx.hooks, ctx
                ),
            ),
            transcript,
        )
        content = certificate_verify_content(False, transcript.digest())
        signature = credential.sign(provider, scheme, content)
        ctx.send(
            Epoch.HANDSHAKE, CertificateVerify(algorithm=scheme, signature=signature), transcript
        )
        return scheme


@dataclass(slots=True)
class ClientConnected(ClientState):
    """The handshake is done; post-handshake messages are handled by the connection.

    It cannot exist without the proofs of what was checked: the server verified (``peer``),
    its CertificateVerify (``signature``; None only when resumed, where the PSK
    authenticates, or when a PAKE verified the server) and its Finished."""

    params: SuiteParams
    exporter_master_secret: bytes = field(repr=False)
    resumption_master_secret: bytes = field(repr=False)
    info: SessionInfo = field(repr=False)
    peer: PeerVerified = field(repr=False)
    signature: SignatureVerified | None = field(repr=False)
    finished: FinishedVerified = field(repr=False)
    alpn: bytes | None = None
    name = "connected"

    def __post_init__(self) -> None:
        require("ClientConnected", "peer", self.peer, PeerVerified)
        # Only a resumption (the PSK) or a key-exchange proof (a PAKE) stands in for the
        # server's CertificateVerify.
        unsigned = self.info.resumed or self.peer.by_key_exchange
        require(
            "ClientConnected", "signature", self.signature, SignatureVerified, optional=unsigned
        )
        require("ClientConnected", "finished", self.finished, FinishedVerified)

    def on_new_session_ticket(self, ctx: ClientContext, nst: NewSessionTicket) -> TicketReceived:
        """RFC 8446 §4.6.1: check the ticket; derive its PSK and keep it if a store will."""
        if nst.ticket_lifetime > MAX_TICKET_LIFETIME:
            raise PeerMisbehaved("ticket_lifetime over 7 days (RFC 8446 §4.6.1)")
        if not nst.ticket:
            raise DecodeError("empty ticket")
        ctx.hooks.check_allowed(nst.extensions, HandshakeType.new_session_ticket)
        # NewSessionTicket extensions are the server's own (RFC 8446 §4.6.1).
        ctx.hooks.receive(HandshakeType.new_session_ticket, nst.extensions, ctx.peer_extensions)
        early = ext.get_extension(nst.extensions, ExtensionType.early_data)
        max_early_data = ext.decode_early_data_nst(early) if early is not None else 0
        received = TicketReceived(lifetime=nst.ticket_lifetime, max_early_data=max_early_data)
        store = ctx.config.session_store
        if nst.ticket_lifetime == 0 or store is None or ctx.session_key is None:
            # Nothing keeps it (a zero lifetime means "do not cache", RFC 8446 §4.6.1): the
            # PSK derivation would be work thrown away.
            return received
        # How the server was judged, so a later verifying config can refuse this ticket.
        trust = ctx.server_trust_fingerprint()
        ticket = ClientTicket(
            ticket=nst.ticket,
            psk=resumption_psk(
                self.params.hash_name, self.resumption_master_secret, nst.ticket_nonce
            ),
            suite=self.params.suite,
            lifetime=nst.ticket_lifetime,
            age_add=nst.ticket_age_add,
            received_at=ctx.clock(),
            max_early_data=max_early_data,
            server_name=ctx.server_name,
            alpn=self.alpn,
            server_chain=self.info.peer_certificates,
            verified=trust is not None,
            trust_fingerprint=trust or b"",
        )
        store.put(ctx.session_key, ticket)
        return received
