"""cc.sim: a wire-faithful FreeSWITCH simulator with simulated callers and agents (see docs/sim.md)."""

from __future__ import annotations

from cc.sim.endpoints import (
    AgentSpec,
    CallerGroup,
    CallerSpec,
    DigitPress,
    load_agents,
    load_callers,
)
from cc.sim.simulator import CallHandle, CallResult, Simulator, parse_dial

__all__ = [
    "AgentSpec",
    "CallHandle",
    "CallResult",
    "CallerGroup",
    "CallerSpec",
    "DigitPress",
    "Simulator",
    "load_agents",
    "load_callers",
    "parse_dial",
]
