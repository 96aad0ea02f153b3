"""Risk-adaptive security levels (issue 21): an explainable engine that raises the floor.

:mod:`~nautilus_tls.risk.levels` says what each level demands; :mod:`~nautilus_tls.risk.engine`
turns signals per source address, globally and from the operator into a level. The server
applies the floor on top of its configured policy, never below it
(:mod:`nautilus_tls.handshake.risk_floor`).
"""

from nautilus_tls.risk.engine import Assessment, LevelChange, RiskEngine, RiskSettings, Signal
from nautilus_tls.risk.levels import FLOORS, Floor, Level, level_for_threat

__all__ = [
    "FLOORS",
    "Assessment",
    "Floor",
    "Level",
    "LevelChange",
    "RiskEngine",
    "RiskSettings",
    "Signal",
    "level_for_threat",
]
