"""cc.sim's ``peer_talk_time``: the agent hangs up first and the caller stays on the line (a survey)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import gevent
import pytest

from cc.esl.inbound import Switch
from cc.sim import AgentSpec, CallerSpec, Simulator
from cc.sim.endpoints import load_callers

SCALE = 0.02


@pytest.fixture
def switch_and_sim() -> Iterator[tuple[Switch, Simulator]]:
    sim = Simulator(time_scale=SCALE, agents=[AgentSpec("1001", answer_after=0.5, talk_time=None)],
                    routes={"6000": "park"})
    sim.start()
    sw = Switch(*sim.inbound_address, "ClueCon")
    sw.connect()
    yield sw, sim
    sw.close()
    sim.stop()


def _until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        gevent.sleep(0.005)


@pytest.mark.timeout(30)
def test_the_agent_hangs_up_after_peer_talk_time_and_the_caller_stays(switch_and_sim: tuple[Switch, Simulator]) -> None:
    switch, sim = switch_and_sim
    h = sim.place_call(CallerSpec("6000", peer_talk_time=3.0))
    _until(lambda: h.channel.parked_by == "park")
    b = switch.bgapi("originate user/1001 &park()").wait(5).split()[1]
    switch.api(f"uuid_setvar {h.uuid} park_after_bridge true")
    switch.api(f"uuid_bridge {h.uuid} {b}")
    _until(lambda: h.channel.bridged_to is not None)
    agent_leg = h.channel.bridged_to
    assert agent_leg is not None
    _until(lambda: agent_leg.hungup)
    talk = (agent_leg.sim.scheduler.now() - (h.channel.bridged_at or 0))
    assert talk >= 3.0
    _until(lambda: h.channel.bridged_to is None)
    assert not h.channel.hungup, "the caller is still on the line after the agent left"
    h.hangup()
    h.wait(5)


def test_peer_talk_time_in_a_callers_file(tmp_path: Path) -> None:
    f = tmp_path / "callers.yaml"
    f.write_text("callers:\n  - {destination: '7000', peer_talk_time: 90}\n")
    assert load_callers(f)[0].spec.peer_talk_time == 90.0
