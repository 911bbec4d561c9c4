"""Overload parts on their own: the door (Admission), the reconciliation's judgement, stall-aware waits."""

from __future__ import annotations

import time
from pathlib import Path

import gevent
import gevent.event
import pytest

from cc.config import OverloadConfig, load_config
from cc.errors import ConfigError, ESLProtocolError
from cc.esl.capture import read_capture
from cc.esl.deadline import StallTimeout, wait_result
from cc.runtime.admission import Admission, LagMonitor
from cc.runtime.reconcile import ChannelBook, SwitchChannel, parse_channels

# ------------------------------------------------------------------ admission


def test_the_door_refuses_on_lag_and_keeps_refusing_for_the_hold() -> None:
    door = Admission(OverloadConfig(max_lag_s=0.5, hold_s=2.0))
    assert door.decide(100.0, 0.01, 10, 0) is None
    assert door.decide(101.0, 12.0, 10, 0) == "lag"          # a stall
    assert door.refusing and door.bursts == 1
    assert door.decide(101.5, 0.01, 10, 0) == "lag"          # lag is back, the backlog is still refused
    assert door.decide(102.9, 0.01, 10, 0) == "lag"
    assert door.decide(103.1, 0.01, 10, 0) is None           # hold over
    assert not door.refusing
    assert door.refused == 3 and door.admitted == 2 and door.by_reason == {"lag": 3}
    assert door.decide(104.0, 0.9, 10, 0) == "lag" and door.bursts == 2


def test_a_saturated_hub_lets_a_shrinking_share_in_and_recovers_step_by_step() -> None:
    door = Admission(OverloadConfig(max_busy=0.9, hold_s=2.0))
    assert door.decide(0.0, 0.05, 10, 0, busy=0.85) is None
    # one busy second: 70 % of the calls of the next second are let in
    let_in = [door.decide(1.0 + i / 100, 0.05, 10, 0, busy=0.97) is None for i in range(100)]
    assert door.share == pytest.approx(0.7) and 69 <= sum(let_in) <= 70 and door.refused == 100 - sum(let_in)
    assert door.by_reason == {"busy": door.refused} and door.bursts == 1
    # still busy a second later: 49 %
    let_in = [door.decide(2.0 + i / 100, 0.05, 10, 0, busy=0.97) is None for i in range(100)]
    assert door.share == pytest.approx(0.49) and 48 <= sum(let_in) <= 50
    # the hub has room again: the share climbs back 0.1 a second, the burst ends once it is whole
    t = 3.0
    while door.share < 1.0:
        door.decide(t, 0.05, 10, 0, busy=0.5)
        t += 1.0
    assert t == 9.0 and door.refusing is False and door.bursts == 1
    assert Admission(OverloadConfig(max_busy=1.0)).decide(0.0, 0.0, 0, 0, busy=1.0) is None   # 1: off


def test_the_monitor_tells_a_busy_hub_from_an_idle_one() -> None:
    mon = LagMonitor(interval_s=0.01)
    mon.window_s = 0.1
    mon.start()
    try:
        gevent.sleep(0.25)
        assert mon.busy < 0.5
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            gevent.sleep(0)          # always something to do: the hub never waits in its poll
        assert mon.busy > 0.8
    finally:
        mon.stop()


def test_the_door_counts_calls_and_pending_commands_when_limited() -> None:
    door = Admission(OverloadConfig(max_calls=100, max_pending=50))
    assert door.decide(0.0, 0.0, 99, 49) is None
    assert door.decide(0.0, 0.0, 100, 0) == "calls"
    assert door.decide(0.0, 0.0, 10, 50) == "pending"
    unlimited = Admission(OverloadConfig())
    assert unlimited.decide(0.0, 0.0, 10_000, 10_000) is None


def test_overload_and_reconcile_settings_are_read_from_cc_yaml() -> None:
    cfg = load_config(text="overload: {max_lag: 250ms, hold: 3s, max_calls: 500, fallback: 'busy XML default',"
                           " max_busy: 0.8}\n"
                           "reconcile: {interval: 10s, grace: 4s}\n")
    assert cfg.overload.max_lag_s == 0.25 and cfg.overload.hold_s == 3.0 and cfg.overload.max_calls == 500
    assert cfg.overload.fallback == "busy XML default" and cfg.overload.cause == "NORMAL_TEMPORARY_FAILURE"
    assert cfg.overload.max_busy == 0.8
    assert cfg.reconcile.interval_s == 10.0 and cfg.reconcile.grace_s == 4.0
    with pytest.raises(ConfigError) as e:
        load_config(text="overload: {max_calls: -1, cause: 'hang up', speed: 3, max_busy: 2}\n"
                         "reconcile: {interval: 0}\n")
    text = str(e.value)
    for path in ("overload.max_calls", "overload.cause", "speed", "reconcile.interval", "overload.max_busy"):
        assert path in text


# ------------------------------------------------------------------ reconciliation


def test_show_channels_as_json_from_the_real_capture(captures_dir: Path) -> None:
    cap = read_capture(captures_dir / "inbound_api.esl")
    bodies = [r.frame().text for r in cap.recvs if b"row_count" in r.data]
    assert bodies[0] == '{"row_count": 0}\n'
    assert parse_channels(bodies[0]) == []
    [row] = parse_channels(bodies[1])
    assert row.uuid == "be830093-3db3-45c3-8cf4-f469ec722a67" and row.application == "park"
    assert row.state == "CS_EXECUTE" and row.callstate == "ACTIVE"
    for garbage in ("", "-ERR no reply", "[]", '{"rows": []}'):
        with pytest.raises(ESLProtocolError):
            parse_channels(garbage)


def sock(uuid: str, port: int = 8084) -> SwitchChannel:
    """A channel in cc's socket application."""
    return SwitchChannel(uuid, "socket", f"127.0.0.1:{port} async full", "CS_EXECUTE", "ACTIVE")


def test_an_unclaimed_socket_channel_is_an_orphan_after_the_grace() -> None:
    book = ChannelBook(grace_s=10.0, port=8084)
    rows = [sock("a"), sock("b"), sock("other", port=9000), SwitchChannel("parked", "park")]
    f = book.review(rows, 0.0, claimed={"b"}, calls=["b"], legs={})
    assert f.orphans == [] and f.next_due == 10.0
    f = book.review(rows, 9.9, claimed={"b"}, calls=["b"], legs={})
    assert f.orphans == []
    f = book.review(rows, 10.0, claimed={"b"}, calls=["b"], legs={})
    assert f.orphans == ["a"] and f.gone_calls == [] and f.next_due is None
    # a channel claimed in the meantime (its session started) is no orphan, and is forgotten
    book2 = ChannelBook(grace_s=10.0)
    book2.review([sock("c")], 0.0, claimed=set(), calls=[], legs={})
    assert book2.review([sock("c")], 20.0, claimed={"c"}, calls=[], legs={}).orphans == []
    assert book2.first_seen == {}


def test_calls_and_legs_the_switch_lost_are_confirmed_by_a_second_pass() -> None:
    book = ChannelBook(grace_s=10.0)
    rows = [sock("call1"), sock("call2")]
    legs = {"leg1": "call1", "leg2": "call2", "leg3": "call3"}
    f = book.review(rows, 0.0, claimed={"call1", "call2", "call3"}, calls=["call1", "call2", "call3"], legs=legs)
    assert f.gone_calls == [] and f.gone_legs == [] and f.next_due == 1.0
    f = book.review(rows, 1.0, claimed={"call1", "call2", "call3"}, calls=["call1", "call2", "call3"], legs=legs)
    # call3 is gone (and its leg with it: ending the call settles the leg); leg1/leg2 gone under live callers
    assert f.gone_calls == ["call3"] and sorted(f.gone_legs) == ["leg1", "leg2"]
    assert book.suspects == set()


# ------------------------------------------------------------------ stall-aware waits


def test_a_wait_does_not_count_the_time_the_hub_was_blocked() -> None:
    ar: gevent.event.AsyncResult = gevent.event.AsyncResult()

    def block_then_answer() -> None:
        time.sleep(0.6)        # the whole process stalls (as under SIGSTOP or a starved CPU)
        ar.set("reply")        # the reply was there all along

    gevent.spawn(block_then_answer)
    assert wait_result(ar, 0.2) == "reply"


def test_a_wait_still_times_out_when_the_process_could_run() -> None:
    ar: gevent.event.AsyncResult = gevent.event.AsyncResult()
    with pytest.raises(StallTimeout) as e:
        wait_result(ar, 0.1)
    assert e.value.timeout == 0.1
    ar2: gevent.event.AsyncResult = gevent.event.AsyncResult()
    ar2.set_exception(ESLProtocolError("bad"))
    with pytest.raises(ESLProtocolError):
        wait_result(ar2, 1.0)


def test_after_a_takeover_the_busy_share_is_ignored_for_a_grace() -> None:
    """Recovery and gc.collect/gc.freeze keep the hub 100 % busy just after a takeover: the door lets every new call
    in for the grace (the lag still refuses), and the busy rule is back once it is over (simulated time)."""
    door = Admission(OverloadConfig(max_busy=0.9, max_lag_s=0.5, hold_s=0.0))
    door.grace(500.0)
    assert door.grace_until == 500.0 + Admission.TAKEOVER_GRACE_S
    during = [door.decide(500.0 + i / 10, 0.05, 10, 0, busy=1.0) for i in range(int(Admission.TAKEOVER_GRACE_S * 10))]
    assert during == [None] * len(during) and door.share == 1.0 and door.refused == 0
    assert door.decide(505.0, 2.0, 10, 0, busy=1.0) == "lag"            # a stall is still refused in the grace
    after = [door.decide(door.grace_until + 1.0 + i / 100, 0.05, 10, 0, busy=1.0) for i in range(100)]
    assert door.share == pytest.approx(0.7) and 30 <= after.count("busy") <= 31
