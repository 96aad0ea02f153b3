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

import dataclasses
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

from nautilus_tls.adaptive.server import ServerOrder
from nautilus_tls.auth.api import Credential
from nautilus_tls.config import CertifiedKey, ServerConfig
from nautilus_tls.crypto.keyschedule import KeySchedule, finished_verify_data, resumption_psk
from nautilus_tls.crypto.provider import CryptoProvider
from nautilus_tls.crypto.signatures import certificate_verify_content
from nautilus_tls.crypto.suites import SuiteParams
from nautilus_tls.crypto.transcript import Transcript
from nautilus_tls.crypto.x509 import ca_distinguished_names
from nautilus_tls.defaults import EARLY_DATA_SKIP_LIMIT, MAX_PSK_IDENTITIES
from nautilus_tls.errors import (
    AlertDescription,
    LocalProtocolError,
    PeerIncompatible,
    PeerMisbehaved,
    RemoteProtocolError,
    TLSError,
)
from nautilus_tls.handshake import certificate_types
from nautilus_tls.handshake.client import (
    check_certificate_message,
    receive_leaf_extensions,
    with_leaf_extensions,
)
from nautilus_tls.handshake.common import (
    CompleteHandshake,
    Epoch,
    ExpectEarlyData,
    HandshakeContext,
    SendHandshake,
    check_finished,
    expect_message,
    session_info,
    unexpected,
)
from nautilus_tls.handshake.hooks import (
    confirm_plugin_secrets,
    plugin_authenticates_server,
    with_plugin_secrets,
)
from nautilus_tls.policy import Kind, refusal
from nautilus_tls.proofs import FinishedVerified, PeerVerified, SignatureVerified, require
from nautilus_tls.session._util import SessionStoreError
from nautilus_tls.session.state import ResumptionState
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import (
    ExtensionType,
    HandshakeType,
    ProtocolVersion,
    PskKeyExchangeMode,
    is_grease,
)
from nautilus_tls.wire.messages import (
    HRR_RANDOM,
    Certificate,
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


def is_post_quantum(provider: CryptoProvider, group: int) -> bool:
    """A post-quantum or hybrid group, as the provider describes it."""
    info = provider.group_info(group)
    return info is not None and info.post_quantum


@dataclass(slots=True, kw_only=True)
class ServerContext(HandshakeContext):
    config: ServerConfig
    # config.adaptive's order for this handshake (from the first ClientHello), when it is on.
    adaptive_order: ServerOrder | None = None


class ServerState:
    name = "server"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        raise unexpected(msg_type, self.name)


# --- choosing parameters -------------------------------------------------------------------


def _missing(what: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"ClientHello lacks {what}", alert=AlertDescription.missing_extension
    )


def _check_client_hello(ctx: ServerContext, ch: ClientHello) -> None:
    """Version and legacy-field checks (RFC 8446 §4.1.2, §4.2.1), where each extension may
    appear (§4.2), and the plug-in extensions' own checks."""
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
    if ctx.quic and ch.legacy_session_id:
        # RFC 9001 §8.4: a QUIC client must not ask for compatibility mode; the TLS alert
        # for the QUIC PROTOCOL_VIOLATION is illegal_parameter.
        raise PeerMisbehaved("non-empty legacy_session_id over QUIC (RFC 9001 §8.4)")
    ctx.hooks.check_allowed(ch.extensions, HandshakeType.client_hello)
    ctx.hooks.receive(HandshakeType.client_hello, ch.extensions, ctx.peer_extensions)
    ctx.our_certificate_may_carry = frozenset(e.ext_type for e in ch.extensions)
    # RFC 8446 §D.4: a non-empty session id asks for middlebox compatibility (the TCP
    # transport's business); RFC 9001 §8.4: never over QUIC.
    ctx.middlebox_compatibility = bool(ch.legacy_session_id) and not ctx.quic


def _by_preference(cfg: ServerConfig, ours: Sequence[int], theirs: Sequence[int]) -> list[int]:
    """The mutual values, in our order or the client's (``ServerConfig.preference``)."""
    if cfg.preference == "client":
        return [v for v in theirs if v in ours]
    return [v for v in ours if v in theirs]


def _refuse(
    cfg: ServerConfig,
    kind: Kind,
    offered: Sequence[int],
    accepted: Sequence[int],
    accepted_label: str = "we accept",
) -> PeerIncompatible:
    """handshake_failure or insufficient_security, naming our policy and both lists."""
    return refusal(
        side="server",
        policy=cfg.security_policy,
        provider=cfg.provider,
        min_security_level=cfg.min_security_level,
        kind=kind,
        offered=[v for v in offered if not is_grease(v)],
        accepted=accepted,
        accepted_label=accepted_label,
    )


def _choose_suite(cfg: ServerConfig, ch: ClientHello, ours: Sequence[int]) -> SuiteParams:
    for suite in _by_preference(cfg, ours, ch.cipher_suites):
        params = cfg.provider.suite_params(suite)
        if params is not None:
            return params
    raise _refuse(cfg, "cipher suite", ch.cipher_suites, cfg.cipher_suites)


def _choose_group(
    cfg: ServerConfig,
    client_groups: tuple[int, ...],
    shares: dict[int, bytes],
    ours: Sequence[int],
) -> tuple[int, bool]:
    """(group, have_share). Use a share the client sent when it is good enough; otherwise ask
    (HelloRetryRequest) for the best mutual group. "Best" follows ``cfg.preference``; "good
    enough": the best mutual group that has a share, unless a post-quantum group is mutual and
    the shared one is classical (with ``prefer_post_quantum``)."""
    mutual = _by_preference(cfg, ours, client_groups)
    if not mutual:
        raise _refuse(cfg, "group", client_groups, cfg.groups)
    best = mutual[0]
    with_share = [g for g in mutual if g in shares]
    if with_share:
        chosen = with_share[0]
        if not (
            cfg.prefer_post_quantum
            and is_post_quantum(cfg.provider, best)
            and not is_post_quantum(cfg.provider, chosen)
        ):
            return chosen, True
    return best, False


# What a certificate's key can sign with, per provider: provider.schemes_for_key costs ~60 us
# (every scheme's fits_private), once per full handshake otherwise. The answer depends only on
# the provider (frozen), the key's type and the end-entity certificate (which binds the public
# key), so the cache holds public data and the provider, never the private key. Bounded: a
# server has few certificates and providers.
_KEY_SCHEMES: dict[tuple[CryptoProvider, type, bytes], tuple[int, ...]] = {}
_KEY_SCHEMES_MAX = 64


def _key_schemes(provider: CryptoProvider, ck: Credential) -> tuple[int, ...]:
    if type(ck) is not CertifiedKey or not isinstance(ck, CertifiedKey):
        # Another credential (a raw key, a test's) may answer differently each time.
        return tuple(ck.signature_schemes(provider))
    key = (provider, type(ck.private_key), ck.chain[0])
    schemes = _KEY_SCHEMES.get(key)
    if schemes is None:
        schemes = tuple(ck.signature_schemes(provider))
        if len(_KEY_SCHEMES) >= _KEY_SCHEMES_MAX:
            _KEY_SCHEMES.clear()
        _KEY_SCHEMES[key] = schemes
    return schemes


def _signable(cfg: ServerConfig, ck: Credential) -> list[int]:
    """The schemes ``ck`` can sign CertificateVerify with that our policy allows."""
    return [s for s in _key_schemes(cfg.provider, ck) if s in cfg.signature_schemes]


def _choose_scheme(
    cfg: ServerConfig, ck: Credential, client_schemes: tuple[int, ...]
) -> int | None:
    mutual = _by_preference(cfg, _signable(cfg, ck), client_schemes)
    return mutual[0] if mutual else None


@dataclass(frozen=True, slots=True)
class _Choice:
    params: SuiteParams
    group: int
    # None: a plug-in authenticates us instead (a PAKE login on a server without a
    # certificate); no Certificate or CertificateVerify is sent.
    certified_key: Credential | None
    scheme: int | None
    alpn: bytes | None
    server_name: str | None
    certificate_type: int = 0  # RFC 7250: what our Certificate holds


def _our_order(ctx: ServerContext, ch: ClientHello) -> tuple[Sequence[int], Sequence[int]]:
    """Our suites and groups in the order to try them: the policy's, or as the adaptive rules
    reorder them (decided once, at the first ClientHello, so the second one agrees)."""
    cfg = ctx.config
    if cfg.adaptive is None:
        return cfg.cipher_suites, cfg.groups
    if ctx.adaptive_order is None:
        ctx.adaptive_order = cfg.adaptive.order(
            cfg.provider,
            our_suites=cfg.cipher_suites,
            client_suites=ch.cipher_suites,
            our_groups=cfg.groups,
        )
    return ctx.adaptive_order.cipher_suites, ctx.adaptive_order.groups


def _choose(ctx: ServerContext, ch: ClientHello) -> tuple[_Choice, dict[int, bytes]]:
    cfg = ctx.config
    our_suites, our_groups = _our_order(ctx, ch)
    params = _choose_suite(cfg, ch, our_suites)

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
    group, _ = _choose_group(cfg, client_groups, shares, our_groups)

    sa = ext.get_extension(ch.extensions, ExtensionType.signature_algorithms)
    if sa is None:
        raise _missing("signature_algorithms")
    client_schemes = ext.decode_signature_algorithms(sa)

    sni = ext.get_extension(ch.extensions, ExtensionType.server_name)
    server_name = ext.decode_server_name(sni) if sni is not None else None
    ck: Credential | None
    scheme: int | None
    cert_type = certificate_types.X509
    has_credential = bool(cfg.certificates) or cfg.raw_public_key is not None
    if not has_credential and plugin_authenticates_server(ctx.peer_extensions):
        # draft-ietf-tls-pake: the PAKE authenticates a server that has no certificate.
        ck, scheme = None, None
    elif (  # RFC 7250 §4.2: the client's first certificate type that we have.
        cert_type := certificate_types.client_type_for_server(cfg, ch.extensions)
    ) == certificate_types.RAW_PUBLIC_KEY and cfg.raw_public_key is not None:
        ck = cfg.raw_public_key
        scheme = _choose_scheme(cfg, ck, client_schemes)
        if scheme is None:
            ours = _signable(cfg, ck)
            raise _refuse(cfg, "signature scheme", client_schemes, ours, "our raw key signs with")
    else:
        ck, scheme = _choose_certificate(cfg, server_name, client_schemes)

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
    return _Choice(params, group, ck, scheme, alpn, server_name, cert_type), shares


def _choose_certificate(
    cfg: ServerConfig, server_name: str | None, client_schemes: tuple[int, ...]
) -> tuple[CertifiedKey, int]:
    """The X.509 certificate for ``server_name`` and the scheme it signs with."""
    if not cfg.certificates:
        # A PAKE-only server (ServerConfig validated that a plug-in authenticates it), and a
        # client that did not log in with it.
        raise PeerIncompatible(
            "this server authenticates only with a password login (PAKE), which the client "
            "did not use",
            alert=AlertDescription.handshake_failure,
        )
    ck = cfg.certificate_for(server_name)
    scheme = _choose_scheme(cfg, ck, client_schemes)
    if scheme is None:
        # Try the other certificates before giving up (e.g. an ECDSA one for a classical client).
        for other in cfg.certificates:
            scheme = _choose_scheme(cfg, other, client_schemes)
            if scheme is not None:
                ck = other
                break
    if scheme is None:
        ours = list(dict.fromkeys(s for c in cfg.certificates for s in _signable(cfg, c)))
        raise _refuse(cfg, "signature scheme", client_schemes, ours, "our certificates sign with")
    return ck, scheme


# --- ClientHello ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Resumption:
    """A ticket the client offered that we can resume: decrypted, fresh, binder verified."""

    state: ResumptionState = field(repr=False)
    index: int
    with_key_exchange: bool  # psk_dhe_ke (True) or psk_ke
    identity: bytes = field(repr=False)
    obfuscated_age: int
    # The client the ticket remembers, re-verified (None: it did not authenticate).
    client: PeerVerified | None = field(default=None, repr=False)
    # The PSK's key schedule at its Early Secret, as the binder check left it: the 0-RTT and
    # handshake secrets continue from it.
    schedule: KeySchedule | None = field(default=None, repr=False)


def _try_resume(
    ctx: ServerContext,
    ch: ClientHello,
    raw: bytes,
    earlier: list[bytes],
    params: SuiteParams,
    *,
    may_switch_suite: bool,
) -> tuple[_Resumption | None, SuiteParams]:
    """RFC 8446 §4.2.11: pick the first offered ticket we can resume, verify its binder.

    Tickets we cannot use (unknown, expired, tampered, a retired key, another server name)
    are skipped silently: the client gets a full handshake. A binder that does not verify
    for a ticket we could decrypt is an attack or a bug: decrypt_error. Nothing is consumed
    here (:func:`_claim` does that once the ticket is really used). After a
    HelloRetryRequest the suite is fixed (``may_switch_suite=False``): a ticket of another
    hash is skipped.
    """
    cfg = ctx.config
    data = ext.get_extension(ch.extensions, ExtensionType.pre_shared_key)
    if data is None or cfg.tickets is None:
        return None, params
    modes_data = ext.get_extension(ch.extensions, ExtensionType.psk_key_exchange_modes)
    if modes_data is None:
        # RFC 8446 §4.2.9: a PSK offer without psk_key_exchange_modes.
        raise _missing("psk_key_exchange_modes next to pre_shared_key")
    modes = ext.decode_psk_key_exchange_modes(modes_data)
    dhe = PskKeyExchangeMode.psk_dhe_ke in modes
    if not dhe and not (PskKeyExchangeMode.psk_ke in modes and cfg.allow_psk_ke):
        return None, params
    offered = ext.decode_pre_shared_key_ch(data)
    sni = ext.get_extension(ch.extensions, ExtensionType.server_name)
    server_name = ext.decode_server_name(sni) if sni is not None else None
    now = ctx.clock()
    for index, identity in enumerate(offered.identities[:MAX_PSK_IDENTITIES]):
        state = cfg.tickets.peek(identity.identity)
        if state is None or not state.created_at <= now < state.created_at + state.lifetime:
            continue
        if state.server_name != server_name:
            continue
        keeps, client = _keeps_client_auth(cfg, state, now)
        if not keeps:
            continue
        ticket_params = ctx.config.provider.suite_params(state.suite)
        if ticket_params is None:
            continue
        if ticket_params.hash_name != params.hash_name:
            # §4.2.11: the suite must share the ticket's hash; switch if the client allows
            # (not after a HelloRetryRequest, whose suite the ServerHello must repeat, §4.1.4).
            if not may_switch_suite:
                continue
            if state.suite not in ch.cipher_suites or state.suite not in cfg.cipher_suites:
                continue
            params = ticket_params
        truncated = raw[: len(raw) - ext.binders_length([len(b) for b in offered.binders])]
        transcript = _prior_transcript(params.hash_name, earlier)
        schedule = KeySchedule(params.hash_name, state.psk)
        binder_key = schedule.binder_key(external=False)
        expected = finished_verify_data(params.hash_name, binder_key, transcript.hash_of(truncated))
        if not hmac.compare_digest(expected, offered.binders[index]):
            raise PeerMisbehaved("PSK binder does not verify", alert=AlertDescription.decrypt_error)
        return _Resumption(
            state, index, dhe, identity.identity, identity.obfuscated_ticket_age, client, schedule
        ), params
    return None, params


def _keeps_client_auth(
    cfg: ServerConfig, state: ResumptionState, now: float
) -> tuple[bool, PeerVerified | None]:
    """Whether resuming ``state`` keeps the client authentication this config demands
    (RFC 8446 §4.2.11: the server must pick a compatible PSK; §2.2: a resumed session
    inherits the client's authentication from the ticket's handshake, since no
    CertificateRequest is sent). The ticket must have been made under the same client_auth
    mode and client trust store (ticket keys shared across endpoints, or a config changed
    from request to require); under require it must hold a client chain; a stored chain
    must still be accepted by the client verifier (X.509: within its validity period).
    Returns the verdict and the client as the ticket remembers it."""
    if not hmac.compare_digest(state.client_auth_binding, cfg.client_auth_binding()):
        return False, None
    if cfg.client_auth == "require" and not state.client_chain:
        return False, None
    if not state.client_chain:
        return True, None
    verifier = cfg.client_peer_verifier()
    if verifier is None:  # a client chain but no way to judge it now: a full handshake
        return False, None
    try:
        return True, verifier.verify_resumed(state.client_chain, None, now)
    except TLSError:
        return False, None


def _claim(ctx: ServerContext, resumption: _Resumption | None) -> _Resumption | None:
    """Use up the ticket we are about to resume with (a stateful ticket works once); None
    when another connection took it first (then a full handshake)."""
    tickets = ctx.config.tickets
    if resumption is None or tickets is None:
        return None
    return resumption if tickets.consume(resumption.identity) else None


def _prior_transcript(hash_name: str, earlier: list[bytes]) -> Transcript:
    transcript = Transcript(hash_name)
    if earlier:
        transcript.update(earlier[0])
        transcript.rewrite_for_hello_retry()
        transcript.update(earlier[1])
    return transcript


def _accepts_early_data(
    ctx: ServerContext, ch: ClientHello, resumption: _Resumption | None, choice: _Choice
) -> bool:
    """RFC 8446 §4.2.10 and §8: 0-RTT only for the first PSK, the same suite and ALPN, a
    fresh ticket age, and never twice for one ticket (anti-replay, shared across a fleet
    when the store is)."""
    cfg = ctx.config
    if resumption is None or resumption.index != 0 or cfg.max_early_data == 0:
        return False
    state = resumption.state
    if state.max_early_data == 0 or state.suite != choice.params.suite or state.alpn != choice.alpn:
        return False
    client_age = ((resumption.obfuscated_age - state.age_add) % (1 << 32)) / 1000.0
    server_age = ctx.clock() - state.created_at
    if abs(server_age - client_age) > cfg.ticket_age_tolerance:
        return False
    ttl = max(1.0, state.created_at + state.lifetime - ctx.clock())
    return cfg.anti_replay.first_use(b"0rtt:" + resumption.identity, ttl)


def _offers_early_data(ch: ClientHello) -> bool:
    if ext.get_extension(ch.extensions, ExtensionType.early_data) is None:
        return False
    if ext.get_extension(ch.extensions, ExtensionType.pre_shared_key) is None:
        # RFC 8446 §4.2.10: 0-RTT is keyed by the first PSK offered; without one the
        # early_data extension is illegal_parameter (and no record is skipped for it).
        raise PeerMisbehaved("early_data offered without pre_shared_key")
    return True


@dataclass(slots=True)
class ExpectClientHello(ServerState):
    name = "waiting for ClientHello"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        ch = expect_message(msg_type, body, ClientHello, self.name)
        _check_client_hello(ctx, ch)
        ctx.client_random = ch.random
        first_choice, shares = _choose(ctx, ch)
        resumption, params = _try_resume(
            ctx, ch, raw, [], first_choice.params, may_switch_suite=True
        )
        choice = dataclasses.replace(first_choice, params=params)
        wants_early = _offers_early_data(ch)
        if resumption is not None and not resumption.with_key_exchange:
            claimed = _claim(ctx, resumption)
            if claimed is not None:
                return send_server_flight(ctx, ch, raw, choice, None, claimed, early=wants_early)
            resumption = None
        if choice.group in shares:
            return send_server_flight(
                ctx,
                ch,
                raw,
                choice,
                shares[choice.group],
                _claim(ctx, resumption),
                early=wants_early,
            )
        if wants_early:
            # RFC 8446 §4.2.10: after a HelloRetryRequest the early data is skipped.
            ctx.actions.append(ExpectEarlyData(accept=False, max_bytes=_skip_budget(ctx)))
        # RFC 8446 §4.1.4, §4.2.11: the HelloRetryRequest names our own suite, not one a
        # ticket would switch us to; the client then keeps its PSK (same hash) or drops it,
        # and the second ClientHello chooses that same suite again.
        return self._send_hello_retry(ctx, ch, raw, first_choice)

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
        hrr_raw = hrr.encode()
        ctx.actions.append(SendHandshake(Epoch.INITIAL, hrr_raw))
        return ExpectSecondClientHello(
            first=ch, choice=choice, cookie=cookie, earlier=[raw, hrr_raw]
        )


def _skip_budget(ctx: ServerContext) -> int:
    return max(ctx.config.max_early_data, EARLY_DATA_SKIP_LIMIT)


@dataclass(slots=True)
class ExpectSecondClientHello(ServerState):
    first: ClientHello
    choice: _Choice
    cookie: bytes
    earlier: list[bytes]  # ClientHello1 and our HelloRetryRequest
    name = "waiting for the second ClientHello"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        ch = expect_message(msg_type, body, ClientHello, self.name)
        _check_client_hello(ctx, ch)
        # RFC 8446 §4.1.2: the second ClientHello repeats the first except for the listed changes.
        if ch.random != self.first.random or ch.legacy_session_id != self.first.legacy_session_id:
            raise PeerMisbehaved("second ClientHello changed random or legacy_session_id")
        if ch.cipher_suites != self.first.cipher_suites:
            raise PeerMisbehaved("second ClientHello changed its cipher suites")
        if ext.get_extension(ch.extensions, ExtensionType.early_data) is not None:
            raise PeerMisbehaved("early_data in the second ClientHello (RFC 8446 §4.2.10)")
        _check_retry_extensions(self.first, ch)
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
        choice = dataclasses.replace(choice, group=self.choice.group)
        resumption, _ = _try_resume(
            ctx, ch, raw, self.earlier, choice.params, may_switch_suite=False
        )
        return send_server_flight(
            ctx,
            ch,
            raw,
            choice,
            shares[self.choice.group],
            _claim(ctx, resumption),
            early=False,
            earlier=self.earlier,
            # RFC 8446 §4.2.10: 0-RTT offered in the first ClientHello was rejected by our HRR.
            early_rejected=ext.get_extension(self.first.extensions, ExtensionType.early_data)
            is not None,
        )


# RFC 8446 §4.1.2: the extensions a second ClientHello may change. key_share is replaced
# (it keeps its place), early_data removed, cookie added, pre_shared_key updated or removed,
# padding changed; every other extension is repeated in the same order with the same bytes.
_RETRY_CHANGEABLE = frozenset(
    {
        ExtensionType.early_data,
        ExtensionType.cookie,
        ExtensionType.pre_shared_key,
        ExtensionType.padding,
    }
)


def _repeated_extensions(ch: ClientHello) -> list[tuple[int, bytes]]:
    """What must be the same in both ClientHellos: the extensions in order, with their
    bytes (key_share by its place only)."""
    return [
        (e.ext_type, b"" if e.ext_type == ExtensionType.key_share else e.data)
        for e in ch.extensions
        if e.ext_type not in _RETRY_CHANGEABLE
    ]


def _check_retry_extensions(first: ClientHello, second: ClientHello) -> None:
    # RFC 8446 §4.1.2: any other difference (an extension added, dropped, changed or moved)
    # is illegal_parameter.
    if _repeated_extensions(first) != _repeated_extensions(second):
        raise PeerMisbehaved(
            "second ClientHello changed its extensions beyond what RFC 8446 §4.1.2 allows"
        )
    psk = ExtensionType.pre_shared_key
    if ext.get_extension(second.extensions, psk) is not None and (
        ext.get_extension(first.extensions, psk) is None
    ):
        # RFC 8446 §4.1.2: pre_shared_key may be updated or removed, not added.
        raise PeerMisbehaved("second ClientHello added a pre_shared_key")


# --- the server's flight -----------------------------------------------------------------------


def send_server_flight(
    ctx: ServerContext,
    ch: ClientHello,
    ch_raw: bytes,
    choice: _Choice,
    client_share: bytes | None,
    resumption: _Resumption | None,
    *,
    early: bool,
    earlier: list[bytes] | None = None,
    early_rejected: bool = False,
) -> ServerState:
    params = choice.params
    transcript = _prior_transcript(params.hash_name, earlier or [])
    transcript.update(ch_raw)
    schedule = resumption.schedule if resumption is not None else None
    if schedule is None or schedule.hash_name != params.hash_name:
        schedule = KeySchedule(params.hash_name, resumption.state.psk if resumption else None)

    accept_early = early and _accepts_early_data(ctx, ch, resumption, choice)
    if accept_early:
        secret = schedule.client_early_traffic_secret(transcript.digest())
        ctx.keylog.log("CLIENT_EARLY_TRAFFIC_SECRET", ctx.client_random, secret)
        ctx.install("read", Epoch.EARLY, params, secret)
        max_early = min(
            ctx.config.max_early_data, resumption.state.max_early_data if resumption else 0
        )
        ctx.actions.append(ExpectEarlyData(accept=True, max_bytes=max_early))
    elif early:
        ctx.actions.append(ExpectEarlyData(accept=False, max_bytes=_skip_budget(ctx)))

    sh_exts: list[Extension] = []
    shared_secret: bytes | None = None
    group: int | None = None
    if client_share is not None:
        group = choice.group
        kem = ctx.config.provider.kem_for_group(group)
        if kem is None:  # _choose only returns configured groups, which config validated
            raise PeerIncompatible("group without implementation")
        server_share, shared_secret = kem.encapsulate(
            client_share, private_bytes=ctx.entropy.private_key_for(group)
        )
        sh_exts.append(
            Extension(
                ext_type=ExtensionType.key_share,
                data=ext.encode_key_share_sh(
                    ext.KeyShareEntry(group=group, key_exchange=server_share)
                ),
            )
        )
    sh_exts.append(
        Extension(
            ext_type=ExtensionType.supported_versions,
            data=ext.encode_supported_versions_sh(ProtocolVersion.TLS1_3),
        )
    )
    if resumption is not None:
        sh_exts.append(
            Extension(
                ext_type=ExtensionType.pre_shared_key,
                data=ext.encode_pre_shared_key_sh(resumption.index),
            )
        )
    # RFC 8446 §4.2: plug-ins answer only what the client offered.
    sh_exts += ctx.hooks.offer(
        HandshakeType.server_hello,
        sh_exts,
        ctx.peer_extensions,
        only=ctx.our_certificate_may_carry,
    )
    sh = ServerHello(
        random=ctx.entropy.random_bytes(32),
        legacy_session_id_echo=ch.legacy_session_id,
        cipher_suite=params.suite,
        extensions=tuple(sh_exts),
    )
    ctx.send(Epoch.INITIAL, sh, transcript)

    # A PAKE plug-in's key joins the key exchange's secret (docs/pake.md).
    schedule.enter_handshake(with_plugin_secrets(shared_secret, ctx.peer_extensions))
    c_hs, s_hs = schedule.handshake_traffic_secrets(transcript.digest())
    ctx.keylog.log("CLIENT_HANDSHAKE_TRAFFIC_SECRET", ctx.client_random, c_hs)
    ctx.keylog.log("SERVER_HANDSHAKE_TRAFFIC_SECRET", ctx.client_random, s_hs)
    ctx.install("write", Epoch.HANDSHAKE, params, s_hs)
    # Over TCP the client writes under the early key until EndOfEarlyData; QUIC has no
    # EndOfEarlyData (RFC 9001 §8.3): its handshake messages come at HANDSHAKE at once.
    expects_end_of_early_data = accept_early and not ctx.quic
    if not expects_end_of_early_data:
        ctx.install("read", Epoch.HANDSHAKE, params, c_hs)

    ee_exts: list[Extension] = []
    if choice.alpn is not None:
        ee_exts.append(
            Extension(
                ext_type=ExtensionType.application_layer_protocol_negotiation,
                data=ext.encode_alpn((choice.alpn,)),
            )
        )
    if accept_early:
        ee_exts.append(Extension(ext_type=ExtensionType.early_data, data=b""))
    # RFC 7250 §4.2: the certificate types, when the client offered them.
    type_exts, ctx.client_certificate_type = certificate_types.encrypted_extensions(
        ctx.config,
        ch.extensions,
        choice.certificate_type,
        asks_client=resumption is None and ctx.config.client_auth != "none",
    )
    ctx.server_certificate_type = choice.certificate_type
    ee_exts += type_exts
    # RFC 8446 §4.2: plug-ins answer only what the client offered.
    ee_exts += ctx.hooks.offer(
        HandshakeType.encrypted_extensions,
        ee_exts,
        ctx.peer_extensions,
        only=(e.ext_type for e in ch.extensions),
    )
    ctx.send(Epoch.HANDSHAKE, EncryptedExtensions(extensions=tuple(ee_exts)), transcript)

    cfg = ctx.config
    requested_schemes: tuple[int, ...] | None = None
    if resumption is None:
        requested_schemes = _send_certificate_request(ctx, transcript)
        _send_certificate(ctx, choice, transcript)
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
    session = _Session(
        choice=choice,
        group=group,
        resumed=resumption is not None,
        early_data="accepted"
        if accept_early
        else ("rejected" if early or early_rejected else "none"),
        client=resumption.client if resumption else None,
    )
    after: ServerState
    if requested_schemes is not None:
        after = ExpectClientCertificate(
            keys=keys, session=session, requested_schemes=requested_schemes
        )
    else:
        after = ExpectClientFinished(keys=keys, session=session, client_signature=None)
    if expects_end_of_early_data:
        return ExpectEndOfEarlyData(keys=keys, next_state=after)
    del cfg
    return after


def _send_certificate_request(ctx: ServerContext, transcript: Transcript) -> tuple[int, ...] | None:
    cfg = ctx.config
    if cfg.client_auth == "none":
        return None
    requested = tuple(cfg.signature_schemes)
    cr_exts = [
        Extension(
            ext_type=ExtensionType.signature_algorithms,
            data=ext.encode_signature_algorithms(requested),
        )
    ]
    if cfg.client_certificate_schemes != requested:
        # RFC 8446 §4.2.3: without signature_algorithms_cert, signature_algorithms applies to
        # the chain too; say so when the chain schemes we accept differ.
        cr_exts.append(
            Extension(
                ext_type=ExtensionType.signature_algorithms_cert,
                data=ext.encode_signature_algorithms_cert(cfg.client_certificate_schemes),
            )
        )
    if cfg.send_certificate_authorities and cfg.client_trust_store is not None:
        names = ca_distinguished_names(cfg.client_trust_store)
        if names:
            cr_exts.append(
                Extension(
                    ext_type=ExtensionType.certificate_authorities,
                    data=ext.encode_certificate_authorities(names),
                )
            )
    # CertificateRequest extensions are the server's own (RFC 8446 §4.3.2).
    cr_exts += ctx.hooks.offer(HandshakeType.certificate_request, cr_exts, ctx.peer_extensions)
    ctx.peer_certificate_may_carry = frozenset(e.ext_type for e in cr_exts)
    ctx.send(
        Epoch.HANDSHAKE,
        CertificateRequest(certificate_request_context=b"", extensions=tuple(cr_exts)),
        transcript,
    )
    return requested


def _send_certificate(ctx: ServerContext, choice: _Choice, transcript: Transcript) -> None:
    credential = choice.certified_key
    if credential is None or choice.scheme is None:
        return  # a plug-in (PAKE) authenticates us: no Certificate, no CertificateVerify
    ctx.send(
        Epoch.HANDSHAKE,
        Certificate(
            certificate_request_context=b"",
            certificate_list=with_leaf_extensions(credential.certificate_entries(), ctx.hooks, ctx),
        ),
        transcript,
    )
    content = certificate_verify_content(True, transcript.digest())
    ctx.send(
        Epoch.HANDSHAKE,
        CertificateVerify(
            algorithm=choice.scheme,
            signature=credential.sign(ctx.config.provider, choice.scheme, content),
        ),
        transcript,
    )


@dataclass(frozen=True, slots=True)
class _Session:
    """What the handshake settled, carried to the end for SessionInfo and tickets."""

    choice: _Choice
    group: int | None
    resumed: bool
    early_data: str
    client: PeerVerified | None = field(default=None, repr=False)  # the verified client

    @property
    def client_chain(self) -> tuple[bytes, ...]:
        return self.client.certificates if self.client is not None else ()


@dataclass(slots=True)
class ExpectEndOfEarlyData(ServerState):
    keys: _ServerKeys
    next_state: ServerState
    name = "waiting for EndOfEarlyData"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        expect_message(msg_type, body, EndOfEarlyData, self.name)
        self.keys.transcript.update(raw)
        # RFC 8446 §4.5: from here the client writes with its handshake key.
        ctx.install("read", Epoch.HANDSHAKE, self.keys.params, self.keys.c_hs)
        return self.next_state


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
    session: _Session
    requested_schemes: tuple[int, ...]
    name = "waiting for client Certificate"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        cert = expect_message(msg_type, body, Certificate, self.name)
        chain = check_certificate_message(
            cert,
            b"",
            max_length=ctx.config.max_certificate_chain_length,
            max_size=ctx.config.max_certificate_chain_size,
            hooks=ctx.hooks,
            may_carry=ctx.peer_certificate_may_carry,
        )
        receive_leaf_extensions(ctx, cert)
        certificate_types.check_certificate_entries(chain, ctx.client_certificate_type)
        certificate_types.check_client_type(ctx.config, ctx.client_certificate_type, chain)
        self.keys.transcript.update(raw)
        if not chain:
            if ctx.config.client_auth == "require":
                # RFC 8446 §4.4.2.4.
                raise RemoteProtocolError(
                    "client sent no certificate but one is required",
                    alert=AlertDescription.certificate_required,
                )
            return ExpectClientFinished(keys=self.keys, session=self.session, client_signature=None)
        verifier = ctx.config.client_peer_verifier()
        if verifier is None:  # ServerConfig validation requires one with client_auth
            raise PeerIncompatible("no verifier for client certificates")
        # RFC 8446 §4.4.2.4: the verifier's refusal carries its alert (X.509: path
        # validation, then signature_algorithms_cert, unsupported_certificate, §4.2.3).
        client = verifier.verify_identity(cert.certificate_list, None, ctx.clock())
        return ExpectClientCertificateVerify(
            keys=self.keys,
            session=dataclasses.replace(self.session, client=client),
            requested_schemes=self.requested_schemes,
            client=client,
        )


@dataclass(slots=True)
class ExpectClientCertificateVerify(ServerState):
    keys: _ServerKeys
    session: _Session
    requested_schemes: tuple[int, ...]
    client: PeerVerified
    name = "waiting for client CertificateVerify"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        cv = expect_message(msg_type, body, CertificateVerify, self.name)
        if cv.algorithm not in self.requested_schemes:
            raise PeerMisbehaved(
                f"client signed with {ctx.config.provider.scheme_name(cv.algorithm)}, which we did not request"
            )
        content = certificate_verify_content(False, self.keys.transcript.digest())
        verifier = ctx.config.client_peer_verifier()
        if verifier is None:  # this state exists only after a verifier judged the chain
            raise PeerIncompatible("no verifier for client certificates")
        # RFC 8446 §4.4.3: decrypt_error for a bad signature, illegal_parameter for a
        # scheme that does not fit the key.
        signature = verifier.verify_signature(
            self.client, cv.algorithm, cv.signature, content, ctx.config.provider
        )
        self.keys.transcript.update(raw)
        return ExpectClientFinished(
            keys=self.keys, session=self.session, client_signature=signature
        )


@dataclass(slots=True)
class ExpectClientFinished(ServerState):
    keys: _ServerKeys
    session: _Session
    client_signature: SignatureVerified | None  # None: no client certificate this handshake
    name = "waiting for client Finished"

    def handle(self, ctx: ServerContext, msg_type: int, body: bytes, raw: bytes) -> ServerState:
        fin = expect_message(msg_type, body, Finished, self.name)
        keys = self.keys
        finished = check_finished(fin, keys.params, keys.c_hs, keys.transcript.digest(), "client")
        confirm_plugin_secrets(ctx.peer_extensions)  # the client proved the PAKE key
        keys.transcript.update(raw)
        ctx.install("read", Epoch.APPLICATION, keys.params, keys.c_ap)
        resumption = keys.schedule.resumption_master_secret(keys.transcript.digest())
        session = self.session
        choice = session.choice
        chain = session.client_chain
        info = session_info(
            ctx,
            provider=ctx.config.provider,
            suite=keys.params.suite,
            group=session.group,
            scheme=None if session.resumed else choice.scheme,
            alpn=choice.alpn,
            server_name=choice.server_name,
            peer_chain=chain,
            client_scheme=(
                self.client_signature.scheme if self.client_signature is not None else None
            ),
            resumed=session.resumed,
            early_data=session.early_data,
            peer_identity=session.client.identity if session.client is not None else None,
            local_certificate=_presented_certificate(session),
        )
        if ctx.adaptive_order is not None:
            info = dataclasses.replace(
                info,
                negotiation=ctx.adaptive_order.negotiation(
                    ctx.config.provider, keys.params.suite, session.group
                ),
            )
        ctx.actions.append(CompleteHandshake(info))
        _send_tickets(ctx, keys.params, resumption, session)
        return ServerConnected(
            params=keys.params,
            exporter_master_secret=keys.exporter,
            resumption_master_secret=resumption,
            info=info,
            client=session.client,
            client_signature=self.client_signature,
            finished=finished,
        )


def _presented_certificate(session: _Session) -> bytes | None:
    """The X.509 end-entity certificate our Certificate message carried, if it carried one."""
    ck = session.choice.certified_key
    if session.resumed or not isinstance(ck, CertifiedKey):
        return None  # resumed, PAKE alone, or a raw public key
    return ck.chain[0]


def _send_tickets(
    ctx: ServerContext, params: SuiteParams, resumption_secret: bytes, session: _Session
) -> None:
    """RFC 8446 §4.6.1: NewSessionTickets, sent right after the handshake. Each has its own
    nonce (so its own PSK) and its own ticket_age_add."""
    cfg = ctx.config
    if cfg.tickets is None or cfg.session_tickets == 0:
        return
    if session.choice.certified_key is None:
        # A PAKE-only session: a verifying client cannot re-check a server it knows by no
        # certificate, so it would never resume; the next login runs the PAKE again.
        return
    now = ctx.clock()
    nst_exts: tuple[Extension, ...] = ()
    if cfg.max_early_data:
        nst_exts = (
            Extension(
                ext_type=ExtensionType.early_data,
                data=ext.encode_early_data_nst(cfg.max_early_data),
            ),
        )
    # NewSessionTicket extensions are the server's own (RFC 8446 §4.6.1).
    nst_exts += tuple(
        ctx.hooks.offer(HandshakeType.new_session_ticket, nst_exts, ctx.peer_extensions)
    )
    binding = cfg.client_auth_binding()
    for i in range(cfg.session_tickets):
        nonce = i.to_bytes(1, "big")
        age_add = int.from_bytes(ctx.entropy.random_bytes(4), "big")
        state = ResumptionState(
            psk=resumption_psk(params.hash_name, resumption_secret, nonce),
            suite=params.suite,
            alpn=session.choice.alpn,
            server_name=session.choice.server_name,
            client_chain=session.client_chain,
            created_at=now,
            lifetime=cfg.ticket_lifetime,
            age_add=age_add,
            max_early_data=cfg.max_early_data,
            client_auth_binding=binding,
        )
        try:
            ticket = cfg.tickets.issue(state)
        except (SessionStoreError, LocalProtocolError):
            # No ticket store reachable (or a ticket too big): the connection goes on without
            # tickets; the client simply does a full handshake next time.
            return
        nst = NewSessionTicket(
            ticket_lifetime=cfg.ticket_lifetime,
            ticket_age_add=age_add,
            ticket_nonce=nonce,
            ticket=ticket,
            extensions=nst_exts,
        )
        # Post-handshake: sent under the application key, not part of the transcript; the
        # tickets share one record (ServerContext.send coalesces them).
        ctx.send(Epoch.APPLICATION, nst, None)


@dataclass(slots=True)
class ServerConnected(ServerState):
    """The handshake is done. It holds the proofs of what was checked: the client's Finished
    always; the verified client and its CertificateVerify when it authenticated (a resumed
    session keeps the client its ticket remembers, re-verified, without a new signature)."""

    params: SuiteParams
    exporter_master_secret: bytes = field(repr=False)
    resumption_master_secret: bytes = field(repr=False)
    info: SessionInfo = field(repr=False)
    client: PeerVerified | None = field(repr=False)
    client_signature: SignatureVerified | None = field(repr=False)
    finished: FinishedVerified = field(repr=False)
    name = "connected"

    def __post_init__(self) -> None:
        owner = "ServerConnected"
        require(owner, "finished", self.finished, FinishedVerified)
        require(owner, "client", self.client, PeerVerified, optional=True)
        # A client that presented a certificate in this handshake proved its key (§4.4.3).
        fresh_client = self.client is not None and not self.info.resumed
        require(
            owner,
            "client_signature",
            self.client_signature,
            SignatureVerified,
            optional=not fresh_client,
        )
        if self.client_signature is not None and self.client is None:
            raise TypeError(f"{owner}: a client signature needs a verified client")
