"""The simulator's hold, as FreeSWITCH's switch_channel.c does it: the holding leg's events and hold headers."""

from __future__ import annotations

import time

import pytest

from cc.sim import AgentSpec, CallerSpec, Simulator
from tests.wire.sim_fixtures import EslClient
from tests.wire.test_sim_api import _api, _client, _until

SCALE = 0.02
US = 1_000_000


def _leg_events(c: EslClient, uuid: str, timeout: float = 10.0) -> list[dict[str, str]]:
    """Every event of channel ``uuid`` up to its CHANNEL_HANGUP_COMPLETE."""
    out: list[dict[str, str]] = []
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, [e["Event-Name"] for e in out]
        f = c.read(max(0.01, deadline - time.monotonic()))
        if f.is_event and f.event().uuid == uuid:
            out.append(f.event().as_dict())
            if out[-1]["Event-Name"] == "CHANNEL_HANGUP_COMPLETE":
                return out


def _bridged_agent(sim: Simulator, c: EslClient) -> str:
    h = sim.place_call(CallerSpec("6000"))
    _until(lambda: h.channel.parked_by == "park")
    b = _api(c, "originate user/1001 &park()").split()[1]
    assert _api(c, f"uuid_bridge {h.uuid} {b}") == f"+OK {b}\n"
    return b


@pytest.mark.timeout(30)
def test_an_agent_holds_for_a_while_during_the_talk() -> None:
    spec = AgentSpec("1001", answer_after=0.1, talk_time=8, hold_after=2, hold_for=3)
    with Simulator(time_scale=SCALE, routes={"6000": "park"}, agents=[spec]) as sim:
        c = _client(sim)
        assert c.command("event plain CHANNEL_CALLSTATE CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_HANGUP_COMPLETE"
                         ).reply_text == "+OK event listener enabled plain"
        b = _bridged_agent(sim, c)
        evs = _leg_events(c, b)
        names = [e["Event-Name"] for e in evs]
        i = names.index("CHANNEL_HOLD")
        # switch_channel_set_flag_value: the HELD callstate first, then Last-Hold is stamped, then the event
        assert evs[i - 1]["Event-Name"] == "CHANNEL_CALLSTATE" and evs[i - 1]["Channel-Call-State"] == "HELD"
        assert evs[i - 1]["Caller-Channel-Last-Hold"] == "0"
        hold = evs[i]
        assert hold["Channel-Call-State"] == "HELD" and hold["Caller-Channel-Hold-Accum"] == "0"
        last_hold = int(hold["Caller-Channel-Last-Hold"])
        assert last_hold > int(hold["Caller-Channel-Bridged-Time"]) > 0
        assert last_hold - int(hold["Caller-Channel-Bridged-Time"]) == pytest.approx(2 * US, abs=0.3 * US)
        j = names.index("CHANNEL_UNHOLD")
        # as in the capture: UNHELD (Hold-Accum not yet grown), then ACTIVE, and CHANNEL_UNHOLD carries ACTIVE
        assert evs[j - 2]["Channel-Call-State"] == "UNHELD" and evs[j - 2]["Caller-Channel-Hold-Accum"] == "0"
        assert evs[j - 1]["Event-Name"] == "CHANNEL_CALLSTATE" and evs[j - 1]["Channel-Call-State"] == "ACTIVE"
        unhold = evs[j]
        assert unhold["Channel-Call-State"] == "ACTIVE"
        accum = int(unhold["Caller-Channel-Hold-Accum"])
        assert evs[j - 1]["Caller-Channel-Hold-Accum"] == str(accum)
        assert accum == pytest.approx(3 * US, abs=0.3 * US)
        assert unhold["Caller-Channel-Last-Hold"] == str(last_hold)   # the last hold's start stays
        assert names.count("CHANNEL_HOLD") == 1 and names.count("CHANNEL_UNHOLD") == 1
        done = evs[-1]
        assert done["Caller-Channel-Hold-Accum"] == str(accum)
        assert done["variable_hold_accum_usec"] == str(accum)
        assert done["variable_hold_accum_ms"] == str(accum // 1000)
        assert done["variable_hold_accum_seconds"] == str(accum // US)
        c.close()


@pytest.mark.timeout(30)
def test_a_hang_up_on_hold_ends_the_hold_and_counts_it() -> None:
    spec = AgentSpec("1001", answer_after=0.1, talk_time=6, hold_after=2, hold_for=100)
    with Simulator(time_scale=SCALE, routes={"6000": "park"}, agents=[spec]) as sim:
        c = _client(sim)
        c.command("event plain CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_HANGUP_COMPLETE")
        b = _bridged_agent(sim, c)
        evs = _leg_events(c, b)
        assert [e["Event-Name"] for e in evs] == ["CHANNEL_HOLD", "CHANNEL_HANGUP_COMPLETE"]
        accum = int(evs[-1]["Caller-Channel-Hold-Accum"])
        assert accum == pytest.approx(4 * US, abs=0.3 * US)
        assert evs[-1]["variable_hold_accum_seconds"] == str(accum // US)
        c.close()


@pytest.mark.timeout(30)
def test_no_hold_leaves_the_hold_figures_at_zero() -> None:
    with Simulator(time_scale=SCALE, routes={"6000": "park"},
                   agents=[AgentSpec("1001", answer_after=0.1, talk_time=2)]) as sim:
        c = _client(sim)
        c.command("event plain CHANNEL_HOLD CHANNEL_UNHOLD CHANNEL_HANGUP_COMPLETE")
        b = _bridged_agent(sim, c)
        [done] = _leg_events(c, b)
        assert done["Caller-Channel-Hold-Accum"] == "0" and done["Caller-Channel-Last-Hold"] == "0"
        assert (done["variable_hold_accum_seconds"], done["variable_hold_accum_usec"]) == ("0", "0")
        c.close()


@pytest.mark.timeout(30)
def test_the_held_caller_hears_music_until_the_agent_takes_it_off_hold_or_hangs_up() -> None:
    specs = [AgentSpec("1001", answer_after=0.1, talk_time=8, hold_after=1, hold_for=2),   # holds 1 s .. 3 s
             AgentSpec("1002", answer_after=0.1, talk_time=6, hold_after=1, hold_for=100)]  # hangs up on hold
    with Simulator(time_scale=SCALE, routes={"6000": "park"}, agents=specs) as sim:
        c = _client(sim)
        c.command("event plain CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE PLAYBACK_START PLAYBACK_STOP "
                  "CHANNEL_HANGUP_COMPLETE")
        for agent in ("1001", "1002"):
            h = sim.place_call(CallerSpec("6000"))
            _until(lambda h=h: h.channel.parked_by == "park")
            b = _api(c, f"originate user/{agent} &park()").split()[1]
            assert _api(c, f"uuid_bridge {h.uuid} {b}") == f"+OK {b}\n"
            evs: dict[str, list[dict[str, str]]] = {b: [], h.uuid: []}
            deadline = time.monotonic() + 10
            while not all(x and x[-1]["Event-Name"] == "CHANNEL_HANGUP_COMPLETE" for x in evs.values()):
                assert time.monotonic() < deadline
                f = c.read(max(0.01, deadline - time.monotonic()))
                if f.is_event and f.event().uuid in evs:
                    evs[f.event().uuid or ""].append(f.event().as_dict())
            music = [e for e in evs[h.uuid] if e.get("Application", "playback") == "playback"
                     and e["Event-Name"] != "CHANNEL_HANGUP_COMPLETE"]
            assert [(e["Event-Name"], e.get("Playback-Status") or e.get("Application-Response")) for e in music] == [
                ("CHANNEL_EXECUTE", None), ("PLAYBACK_START", None), ("PLAYBACK_STOP", "break"),
                ("CHANNEL_EXECUTE_COMPLETE", "FILE PLAYED")], agent
            assert music[0]["Application-Data"] == "local_stream://moh" and music[0]["Application-UUID"]
            played = int(music[-1]["variable_playback_ms"])
            assert played == pytest.approx(2000 if agent == "1001" else 5000, abs=400)
            assert not [e for e in evs[b] if e["Event-Name"].startswith("PLAYBACK")]   # the holder hears none
        c.close()
