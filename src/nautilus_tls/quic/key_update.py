"""QUIC key updates by policy (issue 21 item 1 over QUIC, RFC 9001 §6).

Over QUIC, TLS KeyUpdate messages are forbidden (RFC 9001 §6): the packet layer rotates the
1-RTT keys by flipping the Key Phase bit, and both directions move to the next generation
together. aioquic does that in its 1-RTT :class:`~aioquic.quic.crypto.CryptoPair`
(``request_key_update()`` sets a flag; the next packet protected goes out under the new keys;
a packet from the peer with the other phase bit makes it follow). :class:`PolicyCryptoPair`
is that pair, also counting what it protects against the connection's
:class:`~nautilus_tls.record.rekey.RekeySchedule` (``rekey_bytes`` are 1-RTT payload bytes,
``rekey_records`` are 1-RTT packets) and the key updates it applied, ours ("sent") and the
peer's ("received").

:func:`update_due` says when the connection should call ``request_key_update()``: the policy
is due, the handshake is confirmed (RFC 9001 §6.1), no update is already pending, and a packet
sent under the current keys has been acknowledged (RFC 9001 §6.1: a new update before that
would leave the peer unable to tell two generations apart). A due update therefore waits for
that acknowledgement, so a budget is a floor, not an exact cut: a key may carry what was sent
in the round trip before the acknowledgement came.
"""

from __future__ import annotations

from aioquic.quic.crypto import CryptoPair

from nautilus_tls.record.rekey import RekeySchedule

__all__ = ["PolicyCryptoPair", "update_due"]

LOCAL_UPDATE = "local_update"  # aioquic's trigger name for an update we started


class PolicyCryptoPair(CryptoPair):
    """aioquic's 1-RTT crypto pair with a rotation budget and key-update counters."""

    def __init__(self, replaced: CryptoPair, schedule: RekeySchedule) -> None:
        # The replaced pair's callbacks are aioquic's qlog hooks; keep them.
        super().__init__(
            recv_setup_cb=replaced.recv._setup_cb,
            recv_teardown_cb=replaced.recv._teardown_cb,
            send_setup_cb=replaced.send._setup_cb,
            send_teardown_cb=replaced.send._teardown_cb,
        )
        self.schedule = schedule
        self.updates_sent = 0
        self.updates_received = 0
        # The first packet number protected with the current send keys (None: none yet).
        self.first_packet_of_phase: int | None = None

    @property
    def update_pending(self) -> bool:
        return self._update_key_requested

    def encrypt_packet(
        self, plain_header: bytes, plain_payload: bytes, packet_number: int
    ) -> bytes:
        protected = super().encrypt_packet(plain_header, plain_payload, packet_number)
        if self.first_packet_of_phase is None:
            self.first_packet_of_phase = packet_number
        self.schedule.charge(len(plain_payload))
        return protected

    def _update_key(self, trigger: str) -> None:
        super()._update_key(trigger)
        if trigger == LOCAL_UPDATE:
            self.updates_sent += 1
        else:
            self.updates_received += 1
        # Either way our send keys are new (QUIC updates both directions): a full budget.
        self.schedule.restart()
        self.first_packet_of_phase = None


def update_due(
    pair: PolicyCryptoPair, *, handshake_confirmed: bool, largest_acked: int
) -> str | None:
    """Why the connection should request a key update now, or ``None``."""
    if not pair.schedule.active or not handshake_confirmed or pair.update_pending:
        return None
    first = pair.first_packet_of_phase
    if first is None or largest_acked < first:
        return None  # RFC 9001 §6.1: the current keys are not yet known to work both ways
    return pair.schedule.due()
