"""The controller end to end over real ESL against cc.sim: calls, queues, agents, history."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections import Counter
from pathlib import Path

import pytest

from cc.model import Agent, AgentStatus, QueueCall, QueueConfig, QueueEventType, RecordPolicy, SkillStep, Strategy, Tier
from cc.model import SkillRequirement as Req
from cc.reports.source import summarize_history
from cc.sim.endpoints import AgentSpec
from cc.store import Repos
from cc.store.queue_calls import QueueCallRepo
from tests.wire.harness import TERMINAL, Harness

pytestmark = pytest.mark.timeout(120)


def agent(i: int, **kw: object) -> Agent:
    """Agent 1000+i reachable as user/1000+i on the simulator."""
    aid = str(1000 + i)
    base: dict[str, object] = {"contact": f"user/{aid}@sim", "wrap_up_s": 5.0, "no_answer_delay_s": 5.0,
                               "busy_delay_s": 5.0, "reject_delay_s": 5.0}
    base.update(kw)
    return Agent(aid, name=f"Agent {aid}", **base)  # type: ignore[arg-type]


def queue(name: str, **kw: object) -> QueueConfig:
    """A queue with music on hold off (the simulator has no local_stream) and announcements off."""
    kw.setdefault("moh", "")
    kw.setdefault("announce_position", False)
    return QueueConfig(name, **kw)  # type: ignore[arg-type]


def check_queue_calls(h: Harness) -> list[QueueCall]:
    """After stop: one QueueCall row per stay, equal to the rows rebuilt from the stored logs afterwards."""
    live = {c.id: c for c in QueueCallRepo(h.db).scan(0, 4e9)}
    enters = [e for e in h.queue_events() if e.type is QueueEventType.ENTER]
    assert set(live) == {e.id for e in enters}, "every stay has its row, keyed by its ENTER line"
    rebuilt = {c.id: c for c in summarize_history(Repos(h.db), 0, 4e9)}
    assert set(rebuilt) == set(live)
    for key, c in live.items():
        r = rebuilt[key]
        for f in dataclasses.fields(c):
            a, b = getattr(c, f.name), getattr(r, f.name)
            if isinstance(a, float) and isinstance(b, float):
                assert a == pytest.approx(b, abs=1e-3), (f.name, c, r)   # times are stored to the microsecond
            else:
                assert a == b, (f.name, c, r)
    return list(live.values())


def check_history(h: Harness, placed: int) -> dict[str, list]:
    """Per member: one ENTER, one terminal event, waits and talk that add up; no agent in two calls."""
    members = h.by_member()
    calls = h.calls()
    assert len(calls) == placed, "every call has its calls row"
    for member, events in members.items():
        types = [e.type for e in events]
        assert types.count(QueueEventType.ENTER) == 1, (member, types)
        terminal = [t for t in types if t in TERMINAL]
        assert len(terminal) == 1, (member, types)
        assert types[0] is QueueEventType.ENTER
        connects = [e for e in events if e.type is QueueEventType.CONNECT]
        assert len(connects) <= 1
        if connects:
            enter = events[0]
            done = next(e for e in events if e.type in (QueueEventType.COMPLETE_AGENT, QueueEventType.COMPLETE_CALLER))
            assert done.agent_id == connects[0].agent_id
            assert connects[0].wait_s == pytest.approx(connects[0].at - enter.at, abs=2.0)
            assert done.talk_s is not None and done.talk_s >= 0
            assert done.at - enter.at == pytest.approx((connects[0].wait_s or 0) + done.talk_s + (done.hold_s or 0),
                                                       abs=3.0)
    # no agent ever in two calls at once: CONNECT..COMPLETE intervals per agent do not overlap
    spans: dict[str, list[tuple[float, float]]] = {}
    for events in members.values():
        c = [e for e in events if e.type is QueueEventType.CONNECT]
        d = [e for e in events if e.type in (QueueEventType.COMPLETE_AGENT, QueueEventType.COMPLETE_CALLER)]
        if c and d:
            spans.setdefault(c[0].agent_id or "", []).append((c[0].at, d[0].at))
    for agent_id, intervals in spans.items():
        intervals.sort()
        for (_, end1), (start2, _) in itertools.pairwise(intervals):
            assert start2 >= end1 - 0.5, f"agent {agent_id} in two calls"
    return members


def test_one_call_is_queued_offered_bridged_and_logged(tmp_path: Path) -> None:
    q = queue("support")
    a = agent(1)
    with Harness(tmp_path, [q], [(a, AgentSpec(a.id, answer_after=2, talk_time=30))], [Tier(a.id, "support")]) as h:
        [res] = h.wait([h.call("7000", caller_id_number="15551230001")])
        h.settle()
        assert res.answered and res.bridged_to
        types = [e.type for e in h.queue_events()]
        assert types == [QueueEventType.ENTER, QueueEventType.OFFER, QueueEventType.CONNECT,
                         QueueEventType.COMPLETE_AGENT]
        [call] = h.calls()
        assert call.flow == "support" and call.disposition == "answered" and call.hangup_cause == "NORMAL_CLEARING"
        states = [(e.agent_id, e.state.value) for e in h.agent_states()]
        assert ("1001", "in_call") in states and ("1001", "wrap_up") in states
        kinds = [e.kind for e in h.hook_events]
        for kind in ("call_started", "entered_queue", "offered", "bridged", "call_ended", "agent_status"):
            assert kind in kinds
        legs = {leg.role for leg in h.legs()}
        assert legs == {"caller", "agent"}


def test_200_callers_20_agents_mixed_strategies_and_skills(tmp_path: Path) -> None:
    rng = random.Random(7)
    queues = [
        queue("sales", strategy=Strategy.LONGEST_IDLE_AGENT, max_wait_s=240),
        queue("support", strategy=Strategy.SKILLS_BASED, max_wait_s=240),
        queue("billing", strategy=Strategy.ROUND_ROBIN, max_wait_s=240),
    ]
    agents = []
    tiers = []
    for i in range(20):
        skills = {"english": rng.randint(3, 10)} | ({"spanish": rng.randint(1, 10)} if i % 3 == 0 else {})
        a = agent(i, skills=skills)
        mode = "no_answer" if i in (5, 11) else "answer"
        agents.append((a, AgentSpec(a.id, mode=mode, answer_after=rng.uniform(1, 4),
                                    talk_time=rng.uniform(20, 90))))
        for q in queues:
            if i % 3 == queues.index(q) or i < 6:
                tiers.append(Tier(a.id, q.name, level=1 + (i % 2), position=i + 1))
    flows = {
        "sales.yaml": "flow: sales\nstart: q\nnodes:\n  q: {enqueue: {queue: sales}, next: bye}\n"
                      "  bye: {hangup: NORMAL_CLEARING}\n",
        "support.yaml": "flow: support\nstart: q\nnodes:\n"
                        "  q: {enqueue: {queue: support, priority: 2, skills: [{require: {spanish: \">=5\"}, for: 20s},"
                        " {require: {}}]}, next: bye}\n  bye: {hangup: NORMAL_CLEARING}\n",
        "billing.yaml": "flow: billing\nstart: q\nnodes:\n  q: {enqueue: {queue: billing}, next: bye}\n"
                        "  bye: {hangup: NORMAL_CLEARING}\n",
    }
    routes = {"7000": "sales.yaml", "7001": "support.yaml", "7002": "billing.yaml"}
    with Harness(tmp_path, queues, agents, tiers, flows=flows, routes=routes, scale=0.05) as h:
        import gevent

        handles = []
        for n in range(200):
            handles.append(h.call(rng.choice(list(routes)), caller_id_number=f"1555{n:07d}",
                                  patience=rng.choice([None, 120.0, 300.0, 600.0])))
            gevent.sleep(0)
        results = h.wait(handles, timeout=100)
        # placing a call costs real time (a socket, a greenlet, events): at this scale they all arrive within
        # a simulated minute, before the first of them may give up
        assert h.sims[0].peak_sessions >= 200, "the callers were in the system at the same time"
        assert all(r is not None for r in results)
        h.settle(0.5)
        members = check_history(h, placed=200)
        assert len(members) == 200
        outcome = Counter(next(e.type for e in ev if e.type in TERMINAL).value for ev in members.values())
        assert outcome["COMPLETE_AGENT"] + outcome["COMPLETE_CALLER"] > 50, outcome   # 20 agents, 200 at once
        assert sum(outcome.values()) == 200
        assert not h.ctl.sessions and not h.ctl.members
        # the two agents that never answer were rung, missed, and eventually put on break
        assert any(e.type is QueueEventType.RING_NO_ANSWER for e in h.queue_events())
        h.stop()
        rows = check_queue_calls(h)
        assert Counter(r.outcome for r in rows)["answered"] == outcome["COMPLETE_AGENT"] + outcome["COMPLETE_CALLER"]


def test_no_answer_reroutes_and_the_member_keeps_its_place(tmp_path: Path) -> None:
    a1, a2 = agent(1, max_no_answer=5), agent(2, wrap_up_s=1)
    specs = [(a1, AgentSpec(a1.id, mode="no_answer")), (a2, AgentSpec(a2.id, answer_after=1, talk_time=20))]
    tiers = [Tier(a1.id, "support", position=1), Tier(a2.id, "support", position=2)]
    q = queue("support", strategy=Strategy.TOP_DOWN, offer_timeout_s=5, announce_position=False)
    with Harness(tmp_path, [q], specs, tiers, login=False) as h:
        import gevent

        h.ctl.login(a1.id)
        first = h.call("7000", caller_id_number="15550000001")
        gevent.sleep(h.scale * 3)
        second = h.call("7000", caller_id_number="15550000002")
        gevent.sleep(h.scale * 4)
        h.ctl.login(a2.id)
        h.wait([first, second])
        h.settle()
        members = h.by_member()
        by_caller = {c.caller: c.uuid for c in h.calls()}
        ev1 = members[by_caller["15550000001"]]
        ev2 = members[by_caller["15550000002"]]
        assert QueueEventType.RING_NO_ANSWER in [e.type for e in ev1]
        c1 = next(e for e in ev1 if e.type is QueueEventType.CONNECT)
        c2 = next(e for e in ev2 if e.type is QueueEventType.CONNECT)
        assert c1.agent_id == c2.agent_id == "1002"
        assert c1.at < c2.at, "the first caller kept its place after the no-answer"


def test_caller_abandon_while_agent_rings_cancels_the_agent_leg(tmp_path: Path) -> None:
    q = queue("support", offer_timeout_s=60)
    a = agent(1)
    with Harness(tmp_path, [q], [(a, AgentSpec(a.id, answer_after=50, talk_time=10))],
                 [Tier(a.id, "support")]) as h:
        [res] = h.wait([h.call("7000", patience=5)])
        h.settle()
        assert res.abandoned or not res.bridged_to
        types = [e.type for e in h.queue_events()]
        assert types == [QueueEventType.ENTER, QueueEventType.OFFER, QueueEventType.ABANDON]
        agent_legs = [leg for leg in h.legs() if leg.role == "agent"]
        assert len(agent_legs) == 1 and agent_legs[0].answered_at is None
        assert not [ch for ch in h.sims[0].channels.values()], "the agent leg was hung up"
        assert h.ctl.acd.world.agents["1001"].state.value in ("idle",)


def test_max_no_answer_puts_the_agent_on_break(tmp_path: Path) -> None:
    q = queue("support", offer_timeout_s=3)
    a = agent(1, max_no_answer=2, no_answer_delay_s=5)
    with Harness(tmp_path, [q], [(a, AgentSpec(a.id, mode="no_answer"))], [Tier(a.id, "support")]) as h:
        [res] = h.wait([h.call("7000", patience=30)])
        h.settle()
        assert res.abandoned or not res.bridged_to
        misses = [e for e in h.queue_events() if e.type is QueueEventType.RING_NO_ANSWER]
        # (a re-offer may also find the phone still busy with the cancelled leg: busy is not a miss)
        assert len(misses) == 2
        breaks = [e for e in h.agent_states() if e.status is AgentStatus.ON_BREAK]
        assert breaks and breaks[-1].reason == "no-answer"


def test_the_agents_hold_is_logged_apart_from_the_talk(tmp_path: Path) -> None:
    q = queue("support")
    a, b = agent(1), agent(2)
    specs = [(a, AgentSpec(a.id, answer_after=1, talk_time=30, hold_after=5, hold_for=10)),   # holds, unholds
             (b, AgentSpec(b.id, answer_after=1, talk_time=20, hold_after=8, hold_for=60))]   # hangs up on hold
    with Harness(tmp_path, [q], specs, [Tier(a.id, "support"), Tier(b.id, "support")]) as h:
        h.wait([h.call("7000", caller_id_number="15550000001"), h.call("7000", caller_id_number="15550000002")])
        h.settle()
        events = h.queue_events()
        done = {e.agent_id: e for e in events if e.type is QueueEventType.COMPLETE_AGENT}
        bridged = {e.agent_id: e.at for e in events if e.type is QueueEventType.CONNECT}
        assert set(done) == set(bridged) == {a.id, b.id}
        # Hold time is what the switch reports (Caller-Channel-Hold-Accum); the simulator's timers keep their
        # scripted durations exactly however loaded the machine is, so these are exact, not "about".
        assert done[a.id].hold_s == pytest.approx(10, abs=0.01)
        assert done[b.id].hold_s == pytest.approx(12, abs=0.01)   # from its hold until it hung up
        for agent_id in (a.id, b.id):
            d = done[agent_id]
            # talk is the controller's own bridged span minus the hold, both from its recorded times
            assert d.talk_s == pytest.approx(d.at - bridged[agent_id] - (d.hold_s or 0), abs=0.05)
            assert (d.talk_s or 0) > 0
        check_history(h, 2)
        h.stop()
        calls = {c.agent_id: c for c in check_queue_calls(h)}
        assert calls[a.id].hold_s == done[a.id].hold_s and calls[a.id].talk_s == done[a.id].talk_s
        assert calls[b.id].hold_s == done[b.id].hold_s


def test_wrap_up_is_honoured(tmp_path: Path) -> None:
    q = queue("support", wrap_up_s=30)
    a = agent(1)
    with Harness(tmp_path, [q], [(a, AgentSpec(a.id, answer_after=1, talk_time=10))], [Tier(a.id, "support")]) as h:
        handles = [h.call("7000", caller_id_number="15550000001"), h.call("7000", caller_id_number="15550000002")]
        h.wait(handles)
        h.settle()
        events = h.queue_events()
        done = [e for e in events if e.type is QueueEventType.COMPLETE_AGENT]
        connects = [e for e in events if e.type is QueueEventType.CONNECT]
        assert len(done) == 2 and len(connects) == 2
        gap = connects[1].at - done[0].at
        assert gap >= 30 - 1.5, f"second call came {gap:.1f} s after the first ended (wrap-up 30 s)"
        h.stop()
        first, second = sorted(check_queue_calls(h), key=lambda c: c.entered_at)
        assert first.wrap_s == pytest.approx(30, abs=1.5) and first.handled == 1 and first.outcome == "answered"
        assert second.handled == 1   # its wrap-up still running at stop: written as it stood


def test_recording_row_and_file(tmp_path: Path) -> None:
    q = queue("support", record_policy=RecordPolicy.ALWAYS)
    a = agent(1)
    with Harness(tmp_path, [q], [(a, AgentSpec(a.id, answer_after=1, talk_time=40))], [Tier(a.id, "support")]) as h:
        h.wait([h.call("7000")])
        h.settle(1.0)
        [rec] = h.recordings()
        assert Path(rec.path).is_file()
        assert rec.size_bytes == Path(rec.path).stat().st_size
        # the duration is the file's own (44-byte WAV header, 8 kHz 16-bit mono) ...
        assert rec.duration_s == pytest.approx((rec.size_bytes - 44) / 16000, abs=1 / 8000)
        # ... and spans what the controller recorded: from its uuid_record start to its stop (the switch's
        # 40 s talk timer is exact; only the two commands' transit differs between the two clocks)
        assert rec.stopped_at is not None and rec.started_at < rec.stopped_at
        assert rec.duration_s == pytest.approx(rec.stopped_at - rec.started_at, abs=3)
        assert rec.sha256 and len(rec.sha256) == 64
        assert "/support/" in rec.path


def test_survey_digit_is_stored(tmp_path: Path) -> None:
    flow = """
    flow: surveyed
    start: q
    nodes:
      q: {enqueue: {queue: support}, next: ask}
      ask:
        survey: {name: csat, question: satisfaction, prompt: silence_stream://500, min: 1, max: 5, into: score}
        next: bye
        on_fail: bye
      bye: {hangup: NORMAL_CLEARING}
    """
    q = queue("support")
    a = agent(1)
    from cc.sim.endpoints import DigitPress

    with Harness(tmp_path, [q], [(a, AgentSpec(a.id, answer_after=1, talk_time=10))], [Tier(a.id, "support")],
                 flows={"s.yaml": flow}, routes={"7000": "s.yaml"}) as h:
        h.wait([h.call("7000", digits=(DigitPress("4"),))])
        h.settle()
        [s] = h.surveys()
        assert s.score == 4 and s.agent_id == "1001" and s.queue == "support"


def test_skills_route_to_the_proficient_agent(tmp_path: Path) -> None:
    q = queue("support", strategy=Strategy.SKILLS_BASED)
    a1, a2 = agent(1, skills={"german": 2}), agent(2, skills={"german": 9})
    specs = [(a1, AgentSpec(a1.id, answer_after=1, talk_time=10)), (a2, AgentSpec(a2.id, answer_after=1, talk_time=10))]
    flow = ("flow: de\nstart: q\nnodes:\n  q: {enqueue: {queue: support, skills: [{require: {german: \">=7\"}}]},"
            " next: bye}\n  bye: {hangup: NORMAL_CLEARING}\n")
    with Harness(tmp_path, [q], specs, [Tier(a1.id, "support"), Tier(a2.id, "support")],
                 flows={"de.yaml": flow}, routes={"7000": "de.yaml"}) as h:
        h.wait([h.call("7000")])
        h.settle()
        [connect] = [e for e in h.queue_events() if e.type is QueueEventType.CONNECT]
        assert connect.agent_id == "1002"
    assert SkillStep((Req("german", ">=", 7),)).require[0].level == 7


def test_drain_on_stop_loses_no_call_record(tmp_path: Path) -> None:
    q = queue("support")
    agents = [(agent(i), AgentSpec(agent(i).id, answer_after=1, talk_time=300)) for i in range(3)]
    h = Harness(tmp_path, [q], agents, [Tier(a.id, "support") for a, _ in agents])
    h.start()
    import gevent

    handles = [h.call("7000", caller_id_number=f"1555000{i:04d}") for i in range(10)]
    gevent.sleep(h.scale * 20)
    assert h.service is not None
    cut = h.service.stop(drain_timeout=0.5)
    h.service = None
    assert cut > 0
    for sim in h.sims:
        sim.stop()
    for handle in handles:
        handle.wait(5)
    from cc.store.repos import CallRepo, QueueEventRepo

    calls = list(CallRepo(h.db).scan(0, 4e9))
    assert len(calls) == 10
    # the callers still waiting were cut by the shutdown, not abandons (issue 16)
    lines = list(QueueEventRepo(h.db).scan(0, 4e9))
    assert not [e for e in lines if e.type is QueueEventType.ABANDON]
    cut_lines = [e for e in lines if e.type is QueueEventType.EXIT_OTHER]
    assert len(cut_lines) >= 5 and {e.detail for e in cut_lines} == {"cut-at-shutdown"}
    assert {c.uuid for c in calls if c.disposition == "cut-at-shutdown"} == {e.member_uuid for e in cut_lines}


def test_queue_callback_keeps_the_place_and_calls_back(tmp_path: Path) -> None:
    import gevent

    flow = """
    flow: cb
    start: q
    nodes:
      q: {enqueue: {queue: support, callback: {digit: "1", after: 5s}}, next: bye, on_callback: cbok}
      cbok: {hangup: NORMAL_CLEARING}
      bye: {hangup: NORMAL_CLEARING}
    """
    a = agent(1)
    customer = "15550001111"
    specs = [(a, AgentSpec(a.id, answer_after=1, talk_time=10, hold_after=2, hold_for=3))]
    with Harness(tmp_path, [queue("support")], specs, [Tier(a.id, "support")], flows={"cb.yaml": flow},
                 routes={"7000": "cb.yaml"}, login=False) as h:
        h.sims[0].add_agent(AgentSpec(customer, answer_after=2, talk_time=60))   # the customer's phone
        handle = h.call("7000", caller_id_number=customer)
        gevent.sleep(h.scale * 10)
        assert h.sims[0].api.execute("uuid_recv_dtmf", f"{handle.uuid} 1").startswith("+OK")
        [res] = h.wait([handle])
        assert res.hangup_cause == "NORMAL_CLEARING" and not res.bridged_to
        assert h.ctl.acd.members("support"), "the callback entry waits in the queue"
        h.ctl.login(a.id)
        gevent.sleep(h.scale * 40)
        h.settle()
        types = [e.type for e in h.queue_events()]
        assert types == [QueueEventType.ENTER, QueueEventType.CALLBACK_REQUESTED, QueueEventType.OFFER,
                         QueueEventType.CONNECT, QueueEventType.COMPLETE_AGENT, QueueEventType.CALLBACK_COMPLETED]
        [call] = h.calls()
        assert call.disposition == "callback"
        [done] = [e for e in h.queue_events() if e.type is QueueEventType.COMPLETE_AGENT]
        assert done.hold_s == pytest.approx(3, abs=0.01) and (done.talk_s or 0) > 0


def test_calls_on_two_nodes_ring_agents_on_their_own_node(tmp_path: Path) -> None:
    a = agent(1)
    with Harness(tmp_path, [queue("support")], [(a, AgentSpec(a.id, answer_after=1, talk_time=10))],
                 [Tier(a.id, "support")], nodes=2) as h:
        [res] = h.wait([h.call("7000", node=1)])
        assert res.bridged_to
        assert h.sims[0].sessions_since_startup == 0, "nothing was originated on the other node"
        assert h.sims[1].sessions_since_startup == 2
        # losing node 1 leaves node 2's calls alone
        h.sims[0].stop()
        [res] = h.wait([h.call("7000", node=1)])
        assert res.bridged_to


def test_recording_pause_and_resume_from_the_control_api(tmp_path: Path) -> None:
    import gevent

    q = queue("support", record_policy=RecordPolicy.ALWAYS)
    a = agent(1)
    with Harness(tmp_path, [q], [(a, AgentSpec(a.id, answer_after=1, talk_time=60))], [Tier(a.id, "support")]) as h:
        handle = h.call("7000")
        gevent.sleep(h.scale * 15)
        [call] = h.ctl.calls()
        assert call["state"] == "talking" and call["recording"]
        h.ctl.record_call(handle.uuid, "pause")
        gevent.sleep(h.scale * 10)
        h.ctl.record_call(handle.uuid, "resume")
        with pytest.raises(Exception, match="expected start, pause, resume or stop"):
            h.ctl.record_call(handle.uuid, "rewind")
        h.wait([handle])
        h.settle(1.0)
        [rec] = h.recordings()
        [(start, end)] = rec.paused_spans
        assert end - start == pytest.approx(10, abs=2)


def test_a_supervisors_hangup_while_talking_names_itself_on_the_complete_line(tmp_path: Path) -> None:
    import gevent

    q = queue("support")
    a = agent(1)
    with Harness(tmp_path, [q], [(a, AgentSpec(a.id, answer_after=1, talk_time=600))], [Tier(a.id, "support")]) as h:
        handle = h.call("7000")
        for _ in range(200):
            if [c["state"] for c in h.ctl.calls()] == ["talking"]:
                break
            gevent.sleep(h.scale * 2)
        h.ctl.hangup_call(handle.uuid)
        h.wait([handle])
        h.settle(0.5)
        [*_, last] = h.by_member()[handle.uuid]
        # answered and handled (not an abandon), and the line says who ended it (issue 16)
        assert (last.type, last.detail) == (QueueEventType.COMPLETE_CALLER, "hangup-by-supervisor")
        [call] = h.calls()
        assert call.disposition == "answered"
