"""The risk-adaptive evaluation (issue 21 item 5): a scripted scenario, its numbers and a plot.

A server with a :class:`~nautilus_tls.risk.RiskEngine` (configured policy ``hybrid``) lives
through a scripted half hour of simulated time, stepping ``step`` seconds at a time: quiet
traffic, an attack burst of garbage ClientHellos (protocol violations) from one address, a
downgrade (an address that used hybrid key exchange now offers only classical), a quiet
period in which the levels decay, an operator threat level ``elevated`` for a while, and a
distributed burst from many addresses. The engine's clock is the simulated one; every
handshake is real (the sans-I/O core, in memory), so its refusals are the server's own.

At each step three probes connect: an honest hybrid client (192.0.2.10), an honest
classical-only client (192.0.2.11) and a classical-only probe from the attacker's address.
The report says the level of each address and of everyone over time, which probes were
refused, and that no hybrid client was ever refused and no handshake ran below the
configured policy. Separately, the handshake time at each level is measured (median of
``samples`` full handshakes of a default client against the server raised to that level).

``python -m nautilus_tls.tools.risk_report --out DIR`` writes ``risk-report.json`` and
``risk-levels.png`` (matplotlib, the ``report`` extra); docs/risk-adaptive-security.md
shows a run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nautilus_tls.config import CertifiedKey, ClientConfig, ServerConfig
from nautilus_tls.connection import ClientConnection, Connection, ServerConnection
from nautilus_tls.crypto.x509 import TrustStore
from nautilus_tls.errors import ProtocolError
from nautilus_tls.handshake.risk_floor import config_for
from nautilus_tls.risk import FLOORS, Level, LevelChange, RiskEngine, RiskSettings
from nautilus_tls.risk.engine import Assessment
from nautilus_tls.tools import certgen
from nautilus_tls.wire.enums import NamedGroup

__all__ = ["Phase", "RiskReport", "main", "plot", "run_scenario"]

HONEST_HYBRID = "192.0.2.10"
HONEST_CLASSICAL = "192.0.2.11"
ATTACKER = "203.0.113.66"
DOWNGRADER = "198.51.100.23"
GARBAGE_HELLO = b"\x16\x03\x01\x00\x08not-a-hello"
MAX_PUMP_ROUNDS = 20


@dataclass(frozen=True, slots=True)
class Phase:
    start: float
    end: float
    label: str


@dataclass
class RiskReport:
    """What the scenario showed; ``as_dict`` is the JSON written next to the plot."""

    step: float
    times: list[float] = field(default_factory=list)
    levels: dict[str, list[int]] = field(default_factory=dict)
    refused: dict[str, list[bool]] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)
    changes: list[LevelChange] = field(default_factory=list)
    handshake_ms: dict[str, float] = field(default_factory=dict)
    group_by_level: dict[str, str] = field(default_factory=dict)
    below_policy: int = 0  # handshakes that negotiated something the policy does not allow
    handshakes: int = 0

    def refusals(self, probe: str) -> int:
        return sum(self.refused.get(probe, []))

    def max_level(self, series: str) -> int:
        return max(self.levels[series], default=0)

    def as_dict(self) -> dict[str, object]:
        return {
            "step_seconds": self.step,
            "handshakes": self.handshakes,
            "handshakes_below_policy": self.below_policy,
            "refusals": {probe: self.refusals(probe) for probe in self.refused},
            "max_level": {s: Level(self.max_level(s)).label for s in self.levels},
            "final_level": {s: Level(v[-1]).label for s, v in self.levels.items() if v},
            "handshake_ms_by_level": self.handshake_ms,
            "group_by_level": self.group_by_level,
            "phases": [{"start": p.start, "end": p.end, "label": p.label} for p in self.phases],
            "changes": [c.as_dict() for c in self.changes],
        }


class _Pki:
    """A throwaway ML-DSA-65 CA and server certificate, in memory."""

    def __init__(self) -> None:
        ca_der, ca_key = certgen.make_ca(certgen.ca_alg_for("mldsa65"), "risk report CA")
        leaf_der, leaf_key = certgen.make_leaf(ca_der, ca_key, "mldsa65", ["localhost"])
        self.server = CertifiedKey(chain=(leaf_der,), private_key=leaf_key)
        self.trust = TrustStore.from_certificates([ca_der])

    def client(self, **kw: object) -> ClientConfig:
        return ClientConfig(trust_store=self.trust, session_store=None, **kw)  # type: ignore[arg-type]


def _pump(client: Connection, server: Connection) -> None:
    for _ in range(MAX_PUMP_ROUNDS):
        moved = False
        for src, dst in ((client, server), (server, client)):
            if data := src.data_to_send():
                moved = True
                dst.receive_data(data)
        if not moved:
            return
    raise RuntimeError("the in-memory handshake did not settle")


def _handshake(
    client_cfg: ClientConfig, server_cfg: ServerConfig, address: str | None
) -> tuple[ClientConnection, ServerConnection, bool]:
    """One real handshake from ``address``; True when it completed."""
    client = ClientConnection(client_cfg, "localhost")
    server = ServerConnection(server_cfg, peer_address=address)
    client.start()
    try:
        _pump(client, server)
    except ProtocolError:
        return client, server, False
    return client, server, client.info is not None and server.info is not None


def _garbage(server_cfg: ServerConfig, address: str) -> None:
    server = ServerConnection(server_cfg, peer_address=address)
    with contextlib.suppress(ProtocolError):  # the decode_error is the point
        server.receive_data(GARBAGE_HELLO)


def _time_ms(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def measure_levels(pki: _Pki, samples: int) -> tuple[dict[str, float], dict[str, str]]:
    """Median full-handshake time of a default (hybrid) client at each level's floor, and
    the group it negotiated there."""
    engine = RiskEngine()
    base = ServerConfig(certificates=(pki.server,), risk=engine)
    client_cfg = pki.client()
    configs = {
        level: config_for(base, Assessment(level=level, reason="measured", floor=FLOORS[level]))
        for level in Level
    }
    times: dict[Level, list[float]] = {level: [] for level in Level}
    groups = {}
    for level, cfg in configs.items():
        client, _, _ = _handshake(client_cfg, cfg, None)
        groups[level.label] = client.info.group or "-" if client.info is not None else "refused"
    for sample in range(samples + 1):
        for level, cfg in configs.items():  # interleaved, so machine noise hits all levels
            elapsed = _time_ms(_one_handshake(client_cfg, cfg))
            if sample:  # the first round warms caches up
                times[level].append(elapsed)
    medians = {level.label: round(statistics.median(t), 2) for level, t in times.items()}
    return medians, groups


def _one_handshake(client_cfg: ClientConfig, server_cfg: ServerConfig) -> Callable[[], object]:
    return lambda: _handshake(client_cfg, server_cfg, None)


def _steps(duration: float, step: float) -> Iterator[float]:
    t = 0.0
    while t < duration:
        yield t
        t += step


def run_scenario(*, duration: float = 1800.0, step: float = 10.0, samples: int = 15) -> RiskReport:
    """Run the scripted scenario (times in simulated seconds; phases scale with duration)."""
    now = [0.0]
    report = RiskReport(step=step)
    settings = RiskSettings(
        hold_seconds=duration / 8, global_elevated_score=60, global_high_score=240
    )
    engine = RiskEngine(settings, clock=lambda: now[0], on_change=report.changes.append)
    pki = _Pki()
    server_cfg = ServerConfig(certificates=(pki.server,), risk=engine)
    configured_groups = set(server_cfg.groups)
    hybrid = pki.client()
    classical = pki.client(groups=(NamedGroup.x25519,))
    d = duration
    attack = Phase(0.05 * d, 0.1 * d, "attack burst")
    downgrade = Phase(0.2 * d, 0.2 * d + step, "downgrade")
    threat = Phase(0.55 * d, 0.7 * d, "operator: elevated")
    distributed = Phase(0.8 * d, 0.83 * d, "distributed burst")
    report.phases = [attack, downgrade, threat, distributed]
    series: dict[str, str | None] = {
        "attacker": ATTACKER,
        "downgrader": DOWNGRADER,
        "honest": HONEST_HYBRID,
        "everyone": None,
    }
    report.levels = {name: [] for name in series}
    report.refused = {"honest hybrid": [], "honest classical": [], "attacker classical": []}
    bot = 0
    for t in _steps(duration, step):
        now[0] = t
        if attack.start <= t < attack.end:
            for _ in range(12):  # a burst of garbage ClientHellos
                _garbage(server_cfg, ATTACKER)
        if t == downgrade.start or downgrade.start < t < downgrade.end:
            _handshake(hybrid, server_cfg, DOWNGRADER)
            _handshake(classical, server_cfg, DOWNGRADER)
        if threat.start <= t < threat.start + step:
            engine.set_threat_level("elevated")
        if threat.end <= t < threat.end + step:
            engine.set_threat_level("low")
        if distributed.start <= t < distributed.end:
            for _ in range(30):  # one garbage hello each from many addresses
                bot += 1
                _garbage(server_cfg, f"10.{bot // 65536 % 256}.{bot // 256 % 256}.{bot % 256}")
        for probe, cfg, address in (
            ("honest hybrid", hybrid, HONEST_HYBRID),
            ("honest classical", classical, HONEST_CLASSICAL),
            ("attacker classical", classical, ATTACKER),
        ):
            client, _, ok = _handshake(cfg, server_cfg, address)
            report.handshakes += 1
            report.refused[probe].append(not ok)
            info = client.info
            if ok and info is not None:
                group = server_cfg.provider.group_by_name(info.group or "")
                if group is None or group.code not in configured_groups:
                    report.below_policy += 1
        report.times.append(t)
        for name, source in series.items():
            report.levels[name].append(int(engine.assess(source).level))
    report.handshake_ms, report.group_by_level = measure_levels(pki, samples)
    return report


def plot(report: RiskReport, path: Path) -> Path:
    """Levels over time (top) and handshake time per level (bottom), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 7), gridspec_kw={"height_ratios": [3, 1.4]}
    )
    styles = {"attacker": "-", "downgrader": "--", "honest": ":", "everyone": "-."}
    for offset, (name, values) in enumerate(report.levels.items()):
        shifted = [v + 0.03 * offset for v in values]  # keep overlapping lines visible
        top.step(report.times, shifted, where="post", linestyle=styles.get(name, "-"), label=name)
    for phase in report.phases:
        top.axvspan(phase.start, max(phase.end, phase.start + report.step), alpha=0.12)
        top.text(phase.start, 2.25, phase.label, fontsize=8, rotation=0)
    refused_at = [
        t for t, r in zip(report.times, report.refused["attacker classical"], strict=True) if r
    ]
    top.scatter(refused_at, [-0.15] * len(refused_at), marker="|", s=30, label="attacker refused")
    top.set_yticks([int(level) for level in Level], [level.label for level in Level])
    top.set_ylim(-0.35, 2.5)
    top.set_xlabel("simulated time (s)")
    top.set_title("Security level per source (server policy: hybrid)")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    labels = list(report.handshake_ms)
    bottom.bar(labels, [report.handshake_ms[label] for label in labels])
    bottom.set_ylabel("median handshake (ms)")
    bottom.set_title("Handshake time of a default client at each level", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--out", default="risk-report", metavar="DIR", help="output directory")
    parser.add_argument("--duration", type=float, default=1800.0, help="simulated seconds")
    parser.add_argument("--step", type=float, default=10.0, help="seconds per step")
    parser.add_argument("--samples", type=int, default=15, help="handshakes timed per level")
    args = parser.parse_args(argv)
    # The scenario's refusals are expected; the level changes are in the JSON report.
    logging.getLogger("nautilus_tls.risk").setLevel(logging.ERROR)
    report = run_scenario(duration=args.duration, step=args.step, samples=args.samples)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "risk-report.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    plot(report, out / "risk-levels.png")
    summary = report.as_dict()
    keys = ("refusals", "max_level", "handshake_ms_by_level", "group_by_level")
    print(json.dumps({k: summary[k] for k in keys}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
