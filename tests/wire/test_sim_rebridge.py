"""The simulator's uuid_bridge of a leg that is bridged already (an agent's consultation and its completion)."""

from __future__ import annotations

import pytest

from cc.sim import AgentSpec, CallerSpec, Simulator
from tests.wire.test_sim_api import _api, _client, _until

SCALE = 0.02


@pytest.mark.timeout(30)
def test_a_bridged_leg_is_bridged_to_another_and_its_old_peer_parks() -> None:
    agents = [AgentSpec("1001", answer_after=0.1), AgentSpec("1002", answer_after=0.1)]
    with Simulator(time_scale=SCALE, routes={"6000": "park"}, agents=agents) as sim:
        c = _client(sim)
        h = sim.place_call(CallerSpec("6000"))
        _until(lambda: h.channel.parked_by == "park")
        assert _api(c, f"uuid_setvar {h.uuid} park_after_bridge true").startswith("+OK")
        a = _api(c, "originate user/1001 &park()").split()[1]
        assert _api(c, f"uuid_bridge {h.uuid} {a}") == f"+OK {a}\n"
        _until(lambda: h.channel.bridged_to is not None and h.channel.bridged_to.uuid == a)
        # the consultation: A's leg (kept with park_after_bridge) is bridged to B; the caller parks
        assert _api(c, f"uuid_setvar {a} park_after_bridge true").startswith("+OK")
        b = _api(c, "originate user/1002 &park()").split()[1]
        assert _api(c, f"uuid_bridge {a} {b}") == f"+OK {b}\n"
        leg_a, leg_b = sim.channels[a], sim.channels[b]
        _until(lambda: leg_a.bridged_to is leg_b and h.channel.bridged_to is None)
        assert not h.channel.hungup and h.channel.parked_by == "state"
        # its completion: the caller is bridged to B, once, and A's leg parks (it does not hang up)
        assert _api(c, f"uuid_bridge {h.uuid} {b}") == f"+OK {b}\n"
        _until(lambda: h.channel.bridged_to is leg_b and leg_b.bridged_to is h.channel)
        _until(lambda: leg_a.bridged_to is None and leg_a.parked_by == "state")
        assert not leg_a.hungup and not leg_b.hungup
        c.close()
