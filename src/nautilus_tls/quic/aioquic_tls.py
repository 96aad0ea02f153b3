"""Our handshake engine in place of aioquic's TLS context (RFC 9001 §4 over aioquic 1.7).

aioquic's :class:`~aioquic.quic.connection.QuicConnection` builds ``self.tls`` in
``_initialize`` and then uses only a small surface of it: ``handle_message(data,
output_buffers_by_epoch)``, the callbacks ``alpn_cb`` and ``update_traffic_key_cb``, and the
attributes ``state``, ``received_extensions``, ``legacy_session_id``, ``alpn_negotiated``,
``early_data_accepted``, ``session_resumed`` and ``client_random``. :class:`EngineTLS` is that
surface over :class:`~nautilus_tls.handshake.engine.ClientHandshake` /
:class:`~nautilus_tls.handshake.engine.ServerHandshake` in QUIC mode, and
:class:`NautilusQuicConnection` is the QuicConnection that installs it. Everything else (packet
protection, loss recovery, congestion control, streams, HTTP/3) stays aioquic's.

How the two meet:

- CRYPTO data: aioquic hands over the in-order bytes of one packet number space; it does not
  say which, so the connection records the epoch of the CRYPTO frame (``receive_epoch``) and
  the engine refuses bytes at a level it does not read at (RFC 9001 §4.1.3).
- Secrets: each ``InstallSecret`` becomes ``update_traffic_key_cb(direction, epoch, suite,
  secret)``; aioquic derives the packet keys (RFC 9001 §5.1).
- Transport parameters: the core's extension plug-in (0x39) carries aioquic's encoded
  parameters; ``received_extensions`` hands the peer's back to aioquic, which parses them in
  its ``alpn_cb``. A server calls it as soon as the ClientHello is processed (the ALPN is then
  the one in the EncryptedExtensions it just built), a client when its handshake completes.
- Errors: a TLS error leaves as aioquic's ``tls.Alert``, which aioquic sends as CRYPTO_ERROR
  0x0100 + alert (RFC 9001 §4.8).
- Session tickets and 0-RTT are the engine's (``session_store`` and ``tickets`` of our
  configs); aioquic's own ticket callbacks are not used.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, cast

from aioquic import tls
from aioquic._buffer import Buffer
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import (
    NetworkAddress,
    QuicConnection,
    QuicConnectionError,
    QuicConnectionState,
    QuicReceiveContext,
)
from aioquic.quic.packet import QuicErrorCode, QuicFrameType

from nautilus_tls.config import ClientConfig, ServerConfig
from nautilus_tls.errors import (
    AlertDescription,
    ConnectionClosedError,
    PeerAlert,
    PeerIncompatible,
    ProtocolError,
    TLSError,
)
from nautilus_tls.handshake.common import (
    Action,
    Clock,
    CompleteHandshake,
    Epoch,
    InstallSecret,
    SendHandshake,
    TicketReceived,
)
from nautilus_tls.handshake.engine import ClientHandshake, ServerHandshake
from nautilus_tls.handshake.quic_params import QuicTransportParameters
from nautilus_tls.handshake.risk_floor import (
    client_config_for,
    config_for,
    report_completion,
    report_failure,
)
from nautilus_tls.quic.key_update import PolicyCryptoPair, update_due
from nautilus_tls.record.rekey import RekeySchedule
from nautilus_tls.risk.engine import Assessment
from nautilus_tls.session_info import SessionInfo
from nautilus_tls.wire import extensions as ext
from nautilus_tls.wire.enums import ExtensionType, HandshakeType
from nautilus_tls.wire.messages import EncryptedExtensions, HandshakeReassembler, decode_handshake

logger = logging.getLogger("nautilus_tls.quic")

# RFC 9001 §4.6.1: a server that accepts 0-RTT over QUIC puts 0xffffffff in its tickets.
QUIC_MAX_EARLY_DATA = 0xFFFFFFFF
# aioquic's packet protection (its CryptoPair) knows these three suites only.
QUIC_CIPHER_SUITES = frozenset({0x1301, 0x1302, 0x1303})
CRYPTO_OUTPUT_CAPACITY = 256 * 1024
CRYPTO_ERROR = 0x100  # RFC 9001 §4.8: CRYPTO_ERROR carries the TLS alert in its low byte
# aioquic states in which the connection is over or on its way out.
_CLOSING_STATES = frozenset(
    {QuicConnectionState.CLOSING, QuicConnectionState.DRAINING, QuicConnectionState.TERMINATED}
)


class EngineAlert(tls.Alert):
    """A TLS alert from our engine, in the form aioquic turns into CRYPTO_ERROR."""

    def __init__(self, description: int, message: str) -> None:
        super().__init__(message)
        self.description = cast(tls.AlertDescription, description)


@dataclasses.dataclass(frozen=True, slots=True)
class NegotiatedSuite:
    """What aioquic's ``tls.key_schedule`` offers that a caller might read: the suite."""

    cipher_suite: tls.CipherSuite


class EngineTLS:
    """aioquic's TLS-context interface over one of our handshake engines (QUIC mode)."""

    def __init__(self, engine: ClientHandshake | ServerHandshake) -> None:
        if not engine.quic:
            raise ValueError("the engine must run in QUIC mode (quic=True)")
        self._engine = engine
        self._is_client = isinstance(engine, ClientHandshake)
        # Set by aioquic's QuicConnection._initialize (and our subclass).
        self.alpn_cb: tls.AlpnHandler | None = None
        self.update_traffic_key_cb: Any = lambda *_: None
        self.get_session_ticket_cb: tls.SessionTicketFetcher | None = None  # unused
        self.new_session_ticket_cb: tls.SessionTicketHandler | None = None  # unused
        self.handshake_extensions: list[tuple[int, bytes]] = []
        # Set by NautilusQuicConnection before each handle_message with CRYPTO data.
        self.receive_epoch = tls.Epoch.INITIAL
        # Read by aioquic.
        self.state = (
            tls.State.CLIENT_HANDSHAKE_START
            if self._is_client
            else tls.State.SERVER_EXPECT_CLIENT_HELLO
        )
        self.alpn_negotiated: str | None = None
        self.early_data_accepted = False
        self.legacy_session_id = b""  # the engine refuses a non-empty one in QUIC mode
        self.key_schedule: NegotiatedSuite | None = None
        self.session_info: SessionInfo | None = None
        self.tickets_received = 0
        # Client: told the server's transport parameters when a ticket arrives (to remember
        # them with it for 0-RTT, RFC 9000 §7.4.1).
        self.on_ticket: Callable[[bytes], None] | None = None
        # The error that ended the handshake on our side (the API re-raises it).
        self.error: TLSError | None = None
        # Rewrites the completed handshake's info (the connection's risk reporting).
        self.on_complete: Callable[[SessionInfo], SessionInfo] = lambda info: info
        self._alpn_reported = False

    # --- what aioquic reads ----------------------------------------------------------------

    @property
    def engine(self) -> ClientHandshake | ServerHandshake:
        return self._engine

    @property
    def client_random(self) -> bytes:
        return self._engine.client_random

    @property
    def session_resumed(self) -> bool:
        return self.session_info is not None and self.session_info.resumed

    @property
    def received_extensions(self) -> list[tuple[int, bytes]] | None:
        params = self._engine.peer_extensions.get(ExtensionType.quic_transport_parameters)
        if not isinstance(params, bytes):
            return None
        return [(int(ExtensionType.quic_transport_parameters), params)]

    # --- input -------------------------------------------------------------------------------

    def handle_message(self, input_data: bytes, output_buf: dict[tls.Epoch, Buffer]) -> None:
        """CRYPTO bytes at ``receive_epoch`` in; bytes to send into ``output_buf`` per epoch."""
        try:
            if self.state is tls.State.CLIENT_HANDSHAKE_START:
                actions = self._engine.start()
                self.state = tls.State.CLIENT_EXPECT_SERVER_HELLO
            elif input_data:
                actions = self._engine.receive(Epoch(self.receive_epoch.value), input_data)
            else:
                return
            self._apply(actions, output_buf)
        except ProtocolError as exc:
            self.error = exc
            raise EngineAlert(int(exc.alert), str(exc)) from None
        except TLSError as exc:
            # Configuration trouble found mid-handshake: ours, not the peer's.
            self.error = exc
            raise EngineAlert(int(AlertDescription.internal_error), str(exc)) from None

    def _apply(self, actions: list[Action], output_buf: dict[tls.Epoch, Buffer]) -> None:
        for action in actions:
            if isinstance(action, SendHandshake):
                output_buf[tls.Epoch(int(action.epoch))].push_bytes(action.data)
                if (
                    not self._is_client
                    and action.epoch is Epoch.HANDSHAKE
                    and not self._alpn_reported
                ):
                    # The server's first HANDSHAKE-level flight starts with the
                    # EncryptedExtensions it just built: its ALPN is the negotiated one.
                    self._report_alpn(_alpn_of_encrypted_extensions(action.data))
            elif isinstance(action, InstallSecret):
                suite = tls.CipherSuite(int(action.params.suite))
                self.key_schedule = NegotiatedSuite(suite)
                direction = (
                    tls.Direction.ENCRYPT if action.direction == "write" else tls.Direction.DECRYPT
                )
                self.update_traffic_key_cb(
                    direction, tls.Epoch(int(action.epoch)), suite, action.secret
                )
            elif isinstance(action, CompleteHandshake):
                self.session_info = self.on_complete(action.info)
                self.early_data_accepted = action.info.early_data == "accepted"
                self._report_alpn(action.info.alpn)
                self.state = (
                    tls.State.CLIENT_POST_HANDSHAKE
                    if self._is_client
                    else tls.State.SERVER_POST_HANDSHAKE
                )
            elif isinstance(action, TicketReceived):
                if action.max_early_data not in (0, QUIC_MAX_EARLY_DATA):
                    # RFC 9001 §4.6.1: any other max_early_data_size is a PROTOCOL_VIOLATION.
                    raise QuicConnectionError(
                        error_code=QuicErrorCode.PROTOCOL_VIOLATION,
                        frame_type=QuicFrameType.CRYPTO,
                        reason_phrase=f"max_early_data {action.max_early_data} in a QUIC ticket",
                    )
                self.tickets_received += 1
                params = self.received_extensions
                if self.on_ticket is not None and params:
                    # RFC 9000 §7.4.1: 0-RTT later needs the server's parameters of now.
                    self.on_ticket(params[0][1])
            # 0-RTT bookkeeping actions (ExpectEarlyData, ...) need nothing from aioquic:
            # 0-RTT packets it cannot open are dropped; CCS and KeyUpdate never occur in QUIC
            # mode (the engine refuses KeyUpdate, RFC 9001 §6).
        # aioquic reads the state to tell "still waiting for the ServerHello" and "done".
        if self._engine.read_level is not Epoch.INITIAL:
            if self.state is tls.State.CLIENT_EXPECT_SERVER_HELLO:
                self.state = tls.State.CLIENT_EXPECT_ENCRYPTED_EXTENSIONS
            elif self.state is tls.State.SERVER_EXPECT_CLIENT_HELLO:
                self.state = tls.State.SERVER_EXPECT_FINISHED

    def _report_alpn(self, alpn: str | None) -> None:
        if self._alpn_reported:
            return
        self._alpn_reported = True
        if alpn is None:
            # RFC 9001 §8.1: QUIC endpoints use ALPN; a handshake that agreed on no
            # application protocol ends with no_application_protocol.
            # A ProtocolError, so the handshake records it as ours (the risk engine counts
            # it as a failed handshake, not as an alert from the peer).
            raise PeerIncompatible(
                "no ALPN protocol negotiated", alert=AlertDescription.no_application_protocol
            )
        self.alpn_negotiated = alpn
        if self.alpn_cb is not None:
            self.alpn_cb(alpn)


def _alpn_of_encrypted_extensions(flight: bytes) -> str | None:
    """The ALPN in the EncryptedExtensions that opens a server's HANDSHAKE-level flight."""
    reassembler = HandshakeReassembler(max_message_size=len(flight))
    reassembler.feed(flight)
    message = reassembler.next_message()
    if message is None or message[0] != HandshakeType.encrypted_extensions:
        raise TLSError("the server's HANDSHAKE flight does not open with EncryptedExtensions")
    decoded = decode_handshake(message[0], message[1])
    if not isinstance(decoded, EncryptedExtensions):
        raise TLSError("the server's EncryptedExtensions does not decode")
    data = ext.get_extension(
        decoded.extensions, ExtensionType.application_layer_protocol_negotiation
    )
    if data is None:
        return None
    return ext.decode_alpn(data)[0].decode("ascii", "replace")


# --- the QuicConnection that uses it -------------------------------------------------------


def check_quic_config(config: ClientConfig | ServerConfig) -> None:
    """Refuse what cannot work over QUIC with aioquic's packet protection."""
    bad = [s for s in config.cipher_suites if s not in QUIC_CIPHER_SUITES]
    if bad:
        raise ValueError(f"cipher suites {bad} cannot protect QUIC packets")
    if isinstance(config, ServerConfig) and config.max_early_data not in (0, QUIC_MAX_EARLY_DATA):
        # RFC 9001 §4.6.1: the ticket's max_early_data_size is 0xffffffff or absent.
        raise ValueError("over QUIC, max_early_data is 0 or 0xffffffff (RFC 9001 §4.6.1)")


_KEY_HELD_BY_SERVER_CONFIG = "the private key is held by the nautilus ServerConfig"


class NautilusQuicConnection(QuicConnection):
    """aioquic's QUIC connection with our handshake engine as its TLS.

    ``tls_config`` is a :class:`ClientConfig` (``server_name`` comes from the QUIC
    configuration) or a :class:`ServerConfig`; the QUIC configuration's TLS fields
    (certificates, CA files, cipher suites, ALPN, session ticket) are not used.

    Key rotation by policy (``rekey_bytes``, ``rekey_records``, ``rekey_seconds`` of
    ``tls_config``, timed by ``clock``) drives QUIC key updates (RFC 9001 §6,
    :mod:`nautilus_tls.quic.key_update`); ``rekey_request_peer`` has nothing to add, QUIC
    always updates both directions. A server with ``tls_config.risk`` runs the handshake at
    the level the engine assesses for ``peer_address`` (the client's address) and reports
    the outcome to it, as :class:`~nautilus_tls.connection.ServerConnection` does over TCP;
    a client with ``tls_config.risk`` does the same for the server (its session key, else
    its name), as :class:`~nautilus_tls.connection.ClientConnection` does.

    ``on_handshake(info)`` is called once the handshake has completed (a server logs it).
    """

    def __init__(
        self,
        *,
        configuration: QuicConfiguration,
        tls_config: ClientConfig | ServerConfig,
        session_key: str | None = None,
        early_data: bytes | None = None,
        remembered_parameters: bytes | None = None,
        on_ticket: Callable[[bytes], None] | None = None,
        peer_address: str | None = None,
        clock: Clock | None = None,
        on_handshake: Callable[[SessionInfo], None] | None = None,
        **kw: Any,
    ) -> None:
        if configuration.is_client != isinstance(tls_config, ClientConfig):
            raise ValueError(
                "a client QUIC configuration needs a ClientConfig, a server's a ServerConfig"
            )
        check_quic_config(tls_config)
        if isinstance(tls_config, ServerConfig) and configuration.certificate is None:
            # aioquic insists on a certificate for a server; ours are in tls_config.
            configuration = dataclasses.replace(
                configuration,
                certificate=tls_config.certificates[0].chain[0],
                private_key=_KEY_HELD_BY_SERVER_CONFIG,
            )
        self._tls_config = tls_config
        self._session_key = session_key  # client: where its tickets are stored
        # Client 0-RTT (RFC 9001 §4.6): ``early_data`` is what the application will send on
        # streams before the handshake completes (the engine counts it and asks for the early
        # key); it needs the server's transport parameters remembered from the connection
        # that brought the ticket (RFC 9000 §7.4.1).
        self._early_data = early_data if remembered_parameters is not None else None
        self._remembered_parameters = remembered_parameters
        self._on_ticket = on_ticket
        self._on_handshake = on_handshake
        self._peer_address = peer_address
        # Whom the risk engine judges: the client's address (server), the server (client).
        self._risk_peer = peer_address
        self._assessment: Assessment | None = None
        self._failure_reported = False
        self._rekey_clock = clock or tls_config.provider.clock
        self._policy_pair: PolicyCryptoPair | None = None
        super().__init__(configuration=configuration, **kw)

    @property
    def engine_tls(self) -> EngineTLS:
        return cast(EngineTLS, self.tls)

    @property
    def session_info(self) -> SessionInfo | None:
        """What the handshake negotiated, once it has completed, with the QUIC key updates
        so far."""
        tls_ = getattr(self, "tls", None)
        info = tls_.session_info if isinstance(tls_, EngineTLS) else None
        pair = self._policy_pair
        if info is None or pair is None or not (pair.updates_sent or pair.updates_received):
            return info
        return dataclasses.replace(
            info, key_updates_sent=pair.updates_sent, key_updates_received=pair.updates_received
        )

    @property
    def peer_address(self) -> str | None:
        return self._peer_address

    def handshake_failure(self) -> TLSError:
        """Why the connection closed (or is closing) before its handshake completed, as our
        error type: ours, the peer's CRYPTO_ERROR as :class:`PeerAlert`, or
        :class:`ConnectionClosedError` for any other close."""
        if self.tls_error is not None:
            return self.tls_error
        closed = self._close_event
        if closed is None:
            return ConnectionClosedError("the QUIC connection closed during the handshake")
        code = closed.error_code
        if CRYPTO_ERROR <= code < CRYPTO_ERROR + 0x100:
            return PeerAlert(code - CRYPTO_ERROR)
        return ConnectionClosedError(
            "the QUIC connection closed during the handshake: "
            f"error {code:#x} {closed.reason_phrase!r}"
        )

    @property
    def tls_error(self) -> TLSError | None:
        """The TLS error that ended the handshake on our side, if one did."""
        tls_ = getattr(self, "tls", None)
        return tls_.error if isinstance(tls_, EngineTLS) else None

    def _initialize(self, peer_cid: bytes) -> None:
        super()._initialize(peer_cid)  # packet spaces, Initial keys, aioquic's own TLS
        params = QuicTransportParameters(self._serialize_transport_parameters())
        config = self._tls_config
        engine: ClientHandshake | ServerHandshake
        if isinstance(config, ClientConfig):
            early_data = self._early_data
            if config.risk is not None:
                # The client's floor per server (issue 21 item 3), as ClientConnection has it.
                self._risk_peer = self._session_key or self._configuration.server_name
                self._assessment = config.risk.assess(self._risk_peer)
                config = client_config_for(config, self._assessment)
                check_quic_config(config)
                if not self._assessment.floor.early_data:
                    early_data = None  # replayable data waits for a full handshake
            engine = ClientHandshake(
                config,
                self._configuration.server_name,
                entropy=config.provider.entropy,
                clock=config.provider.clock,
                session_key=self._session_key,
                early_data=early_data,
                quic=True,
                extension_hooks=(params,),
            )
        else:
            if config.risk is not None:
                self._assessment = config.risk.assess(self._risk_peer)
                config = config_for(config, self._assessment)
                check_quic_config(config)
            engine = ServerHandshake(
                config,
                entropy=config.provider.entropy,
                clock=config.provider.clock,
                quic=True,
                extension_hooks=(params,),
            )
        # A post-quantum flight (ML-DSA chain and signature, hybrid shares) can outgrow
        # aioquic's 16 KiB per-epoch output buffers; the engine bounds what it builds.
        self._crypto_buffers = {
            epoch: Buffer(capacity=CRYPTO_OUTPUT_CAPACITY) for epoch in self._crypto_buffers
        }
        adapter = EngineTLS(engine)
        adapter.on_ticket = self._on_ticket
        if self._early_data is not None and self._remembered_parameters is not None:
            # Stream limits for 0-RTT come from the remembered parameters until the server's
            # EncryptedExtensions brings the current ones.
            self._parse_transport_parameters(self._remembered_parameters, from_session_ticket=True)
        adapter.handshake_extensions = [(params.ext_type, params.local)]
        adapter.alpn_cb = self._alpn_handler
        adapter.update_traffic_key_cb = self._update_traffic_key
        adapter.on_complete = self._handshake_completed
        # aioquic's attribute is typed as its own Context; ours has the surface it uses.
        self.tls = cast(tls.Context, adapter)
        schedule = RekeySchedule(
            max_bytes=config.rekey_bytes,
            max_records=config.rekey_records,
            max_seconds=config.rekey_seconds,
            clock=self._rekey_clock,
        )
        # Installed even without a policy: it counts the peer's key updates too.
        self._policy_pair = PolicyCryptoPair(self._cryptos[tls.Epoch.ONE_RTT], schedule)
        self._cryptos[tls.Epoch.ONE_RTT] = self._policy_pair

    def _update_traffic_key(
        self,
        direction: tls.Direction,
        epoch: tls.Epoch,
        cipher_suite: tls.CipherSuite,
        secret: bytes,
    ) -> None:
        super()._update_traffic_key(direction, epoch, cipher_suite, secret)
        if (
            self._policy_pair is not None
            and epoch is tls.Epoch.ONE_RTT
            and direction is tls.Direction.ENCRYPT
        ):
            self._policy_pair.schedule.restart()  # the first 1-RTT key's budget starts now

    def datagrams_to_send(self, now: float) -> list[tuple[bytes, NetworkAddress]]:
        # Before any packet is built: the Key Phase bit of the next 1-RTT packet says
        # whether it goes under the next keys.
        pair = self._policy_pair
        if pair is not None:
            reason = update_due(
                pair,
                handshake_confirmed=self._handshake_confirmed,
                largest_acked=self._spaces[tls.Epoch.ONE_RTT].largest_acked_packet,
            )
            if reason is not None:
                logger.debug("QUIC key update by policy: %s", reason)
                self.request_key_update()
        return super().datagrams_to_send(now)

    # --- the risk engine (server) ------------------------------------------------------------

    def _handshake_completed(self, info: SessionInfo) -> SessionInfo:
        config = self._tls_config
        info = report_completion(
            config.risk,
            self._assessment,
            self._risk_peer,
            info,
            provider=config.provider,
            is_client=isinstance(config, ClientConfig),
        )
        if self._on_handshake is not None:
            try:
                self._on_handshake(info)
            except Exception:  # an observer's bug must not fail a handshake that succeeded
                logger.exception("QUIC handshake observer failed")
        return info

    def _set_state(self, state: QuicConnectionState) -> None:
        super()._set_state(state)
        # Every way out of a handshake (our alert, the peer's CRYPTO_ERROR, the idle
        # timeout) passes here: report it once to the risk engine.
        if (
            state in _CLOSING_STATES
            and not self._failure_reported
            and self._assessment is not None
            and self.session_info is None
        ):
            self._failure_reported = True
            report_failure(
                self._tls_config.risk, self._assessment, self._risk_peer, self.handshake_failure()
            )

    def _handle_crypto_frame(
        self, context: QuicReceiveContext, frame_type: int, buf: Buffer
    ) -> None:
        # aioquic passes CRYPTO bytes without their epoch; the engine checks the level.
        self.engine_tls.receive_epoch = context.epoch
        super()._handle_crypto_frame(context, frame_type, buf)
