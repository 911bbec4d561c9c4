"""cc.sim: a wire-faithful FreeSWITCH simulator with simulated callers, agents and called parties (docs/sim.md)."""

from __future__ import annotations

from cc.sim.endpoints import (
    AgentSpec,
    CallerGroup,
    CallerSpec,
    DigitPress,
    load_agents,
    load_callers,
)
from cc.sim.parties import PartyPopulation, PartySpec, PartyStats, load_parties
from cc.sim.simulator import CallHandle, CallResult, Simulator, parse_dial

__all__ = [
    "AgentSpec",
    "CallHandle",
    "CallResult",
    "CallerGroup",
    "CallerSpec",
    "DigitPress",
    "PartyPopulation",
    "PartySpec",
    "PartyStats",
    "Simulator",
    "load_agents",
    "load_callers",
    "load_parties",
    "parse_dial",
]
