"""Outbound campaigns end to end over ESL against cc.sim: preview, progressive, predictive; results and retries
from real hang-up causes; the overflow message's start; a controller restart mid-campaign."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import gevent

from cc.dialer import CampaignEvent, CampaignMode, LeadState
from cc.esl.inbound import Switch
from cc.model import AgentState, AgentStatus
from cc.sim.parties import PartySpec
from tests.wire.outbound_fixtures import attempts, campaign, harness, parties, wait_until

ANSWER = PartySpec(outcome="answer", ring=3.0, talk=30.0, patience=20.0)
BUSY = PartySpec(outcome="busy")
NO_ANSWER = PartySpec(outcome="no_answer")
INVALID = PartySpec(outcome="invalid")


def _numbers(prefix: str, n: int) -> list[str]:
    return [f"+86138{prefix}{i:05d}" for i in range(n)]


def _settled(repos, name: str, n: int) -> bool:
    rows = attempts(repos, name)
    return len(rows) >= n and all(a.result is not None for a in rows)


def test_progressive_mix_gets_results_and_retries(tmp_path: Path) -> None:
    answer, busy, noans, invalid = (_numbers(p, 2) for p in ("100", "200", "300", "400"))
    with harness(tmp_path, 3) as h:
        parties(h, {**{n: ANSWER for n in answer}, **{n: BUSY for n in busy}, **{n: NO_ANSWER for n in noans},
                    **{n: INVALID for n in invalid}})
        repos = campaign(h, "mix", CampaignMode.PROGRESSIVE, [*answer, *busy, *noans, *invalid],
                         agent_ids=["1001", "1002", "1003"], wrap_up_timeout_s=20.0)
        camps = h.service.campaigns
        camps.control("mix", CampaignEvent.START)
        # busy and no-answer are dialed twice (RetryRule(60, 1)), the others once: 12 attempts
        assert wait_until(lambda: _settled(repos, "mix", 12), timeout=60), attempts(repos, "mix")
        assert wait_until(lambda: camps.running["mix"].dialer.status.value == "finished", timeout=30)
        h.settle()
        assert camps.writes.flush(10)
        rows = attempts(repos, "mix")
        by_number: dict[str, list[str | None]] = {}
        for a in rows:
            by_number.setdefault(a.number, []).append(a.result)
        for n in answer:
            assert by_number[n] == ["connected"]              # the wrap-up timeout's default result
        for n in busy:
            assert by_number[n] == ["busy", "busy"]
        for n in noans:
            assert by_number[n] == ["no_answer", "no_answer"]
        for n in invalid:
            assert by_number[n] == ["invalid_number"]
        causes = {a.number: a.hangup_cause for a in rows}
        assert all(causes[n] == "USER_BUSY" for n in busy)
        assert all(causes[n] == "UNALLOCATED_NUMBER" for n in invalid)
        # progressive: every answered call reached its reserved agent, no abandon
        assert all(a.agent_id is not None and a.bridged_at is not None for a in rows if a.result == "connected")
        leads = {d.lead.numbers[0]: d.lead for d in repos.leads.list("mix")}
        assert all(leads[n].state is LeadState.EXHAUSTED for n in [*busy, *noans])
        assert all(leads[n].state is LeadState.DONE for n in [*answer, *invalid])
        assert all(leads[n].attempts == 2 for n in busy)
        # exactly one row per originate, no agent left held
        assert len({a.uuid for a in rows}) == len(rows) == camps.running["mix"].dials
        assert not camps.holds
        assert all(a.state is AgentState.IDLE for a in h.ctl.acd.world.agents.values())


def test_preview_dial_skip_and_agent_result(tmp_path: Path) -> None:
    nums = _numbers("500", 3)
    offered: list = []
    connected: list = []
    with harness(tmp_path, 1) as h:
        h.service.hooks.on("preview_offered", offered.append)
        h.service.hooks.on("customer_connected", connected.append)
        parties(h, {n: ANSWER for n in nums})
        repos = campaign(h, "pv", CampaignMode.PREVIEW, nums, agent_ids=["1001"], wrap_up_timeout_s=600.0,
                         skip_delay_s=3600.0)
        camps = h.service.campaigns
        camps.control("pv", CampaignEvent.START)
        assert wait_until(lambda: len(offered) >= 1)
        first = offered[0]
        assert first.agent_id == "1001" and first.data["lead"]["name"] == "lead 1"
        camps.preview_skip("1001", first.data["lead"]["lead_id"], "wrong person")
        assert wait_until(lambda: len(offered) >= 2)
        second = offered[1]
        assert second.data["lead"]["lead_id"] != first.data["lead"]["lead_id"]
        camps.preview_dial("1001", second.data["lead"]["lead_id"])
        assert wait_until(lambda: len(connected) >= 1)
        assert connected[0].agent_id == "1001"
        assert connected[0].data["lead"]["lead_id"] == second.data["lead"]["lead_id"]
        # the party talks 30 s, then the agent is in wrap-up until he sets the result
        assert wait_until(lambda: camps.running["pv"].dialer.open_attempts() and
                          h.ctl.acd.world.agents["1001"].state is AgentState.WRAP_UP, timeout=30)
        out = camps.set_result("1001", "sale", note="two boxes")
        assert out["result"] == "sale"
        assert wait_until(lambda: any(a.result == "sale" for a in attempts(repos, "pv")))
        assert wait_until(lambda: len(offered) >= 3)       # the next preview follows the result
        assert camps.writes.flush(10)
        rows = attempts(repos, "pv")
        assert [a.result for a in rows] == ["sale"] and rows[0].result_by == "agent:1001"
        inter = h.service.campaigns.stores.interactions.for_customer(
            repos.leads.get(second.data["lead"]["lead_id"]).lead.customer_id)
        assert [(i.disposition, i.note) for i in inter] == [("sale", "two boxes")]


def test_predictive_overflow_message_starts_within_two_seconds(tmp_path: Path) -> None:
    nums = _numbers("600", 40)
    # time-scaled 10x (not 100x): 2 simulated seconds must leave the controller real time to act in
    with harness(tmp_path, 8, scale=0.1) as h:
        sim = h.sims[0]
        events: list = []
        watcher = Switch(*sim.inbound_address, "ClueCon")
        watcher.connect()
        watcher.subscribe(["CHANNEL_ANSWER", "PLAYBACK_START"])
        parties(h, {n: PartySpec(outcome="answer", ring=10.0, talk=400.0, patience=30.0) for n in nums})
        repos = campaign(h, "pd", CampaignMode.PREDICTIVE, nums, agent_ids=[str(i) for i in range(1001, 1009)],
                         min_agents_predictive=2, overflow_message="ivr/overflow.wav", max_lines_per_agent=3.0,
                         abandon_target=0.5)
        camps = h.service.campaigns
        bridged: list = []
        h.service.hooks.on("outbound_bridged", bridged.append)
        camps.control("pd", CampaignEvent.START)
        # the cold start places no more pool calls than agents are free: the agents go on a break while
        # those ring (10 simulated s), so their answers find no agent
        assert wait_until(lambda: "pd" in camps.running and camps.running["pd"].dialer.ringing() >= 4, timeout=30)
        for i in range(1001, 1009):
            h.ctl.set_status(str(i), AgentStatus.ON_BREAK)
        assert wait_until(lambda: camps.running["pd"].results.get("overflow", 0) >= 1 or
                          len(camps.calls.overflows) >= 1, timeout=60)
        camps.control("pd", CampaignEvent.PAUSE)
        gevent_sleep(1.0)
        while not watcher.events.empty():
            events.append(watcher.events.get())
        watcher.close()
        answered = {e.uuid: float(e.header("Event-Date-Timestamp") or 0) / 1e6 for e in events
                    if e.name == "CHANNEL_ANSWER"}
        started = {e.uuid: float(e.header("Event-Date-Timestamp") or 0) / 1e6 for e in events
                   if e.name == "PLAYBACK_START"}
        over = [started[u] - answered[u] for u in started if u in answered]
        assert over, "no overflow message was played"
        assert max(over) <= 2.0, over
        # a pool call answered while an agent was still free went to him (each agent at most one at a time)
        assert len({e.agent_id for e in bridged}) == len(bridged) <= 8
        # every overflowed call ends with one overflow result (the abandon the pacing counts)
        assert wait_until(lambda: camps.writes.flush(1) and sum(
            1 for a in attempts(repos, "pd") if a.result == "overflow") == len(over), timeout=30)


def gevent_sleep(s: float) -> None:
    """Sleep ``s`` real seconds in the hub."""
    gevent.sleep(s)


def test_click_to_dial_rings_the_agent_first(tmp_path: Path) -> None:
    nums = _numbers("700", 2)
    connected: list = []
    reminders: list = []
    with harness(tmp_path, 1) as h:
        h.service.hooks.on("customer_connected", connected.append)
        h.service.hooks.on("callback_reminder", reminders.append)
        parties(h, {n: ANSWER for n in nums})
        repos = campaign(h, "man", CampaignMode.MANUAL, [nums], agent_ids=["1001"], wrap_up_timeout_s=600.0)
        camps = h.service.campaigns
        camps.control("man", CampaignEvent.START)
        lead_id = repos.leads.list("man")[0].lead.lead_id
        assert wait_until(lambda: camps.running["man"].fed.get("1001") == "ready")
        watcher = Switch(*h.sims[0].inbound_address, "ClueCon")
        watcher.connect()
        watcher.subscribe(["CHANNEL_CREATE"])
        camps.click_to_dial("1001", lead_id, nums[1])
        assert wait_until(lambda: h.ctl.acd.world.agents["1001"].state is AgentState.WRAP_UP, timeout=30)
        due = h.ctl.clock.now() + 900
        camps.set_result("1001", "callback", note="after lunch", callback_at=due)
        assert wait_until(lambda: camps.writes.flush(1) and [a.result for a in attempts(repos, "man")] == ["callback"])
        rows = attempts(repos, "man")
        assert rows[0].number == nums[1] and rows[0].agent_id == "1001"
        # the agent's leg came first, then the customer's (with the lead's second number)
        created = []
        while not watcher.events.empty():
            created.append(watcher.events.get())
        watcher.close()
        ours = [e for e in created if e.variable("cc_lead") == lead_id]
        assert [e.variable("cc_agent") for e in ours] == ["1001", None]
        assert not h.sims[0].channels   # every leg is down
        cbs = repos.callbacks.list(campaign="man")
        assert [(c.agent_id, c.lead_id) for c in cbs] == [("1001", lead_id)]
        assert connected and connected[0].agent_id == "1001"
        # reminders at due - 5 min and at due, on the controller's (simulated) clock
        assert wait_until(lambda: len(reminders) >= 2, timeout=30)
        assert [(r.agent_id, r.data["kind"], r.data["lead_id"]) for r in reminders] == [
            ("1001", "before", lead_id), ("1001", "due", lead_id)]
        assert due - 300 <= reminders[0].at < due - 300 + 30
        assert due <= reminders[1].at < due + 30


def test_restart_mid_campaign_leaves_no_attempt_open_and_no_agent_stuck(tmp_path: Path) -> None:
    from cc.clock import ScaledClock
    from cc.runtime.hooks import Hooks
    from cc.service import Service

    nums = _numbers("800", 40)
    with harness(tmp_path, 4) as h:
        parties(h, {n: PartySpec(outcome="answer", ring=3.0, talk=200.0, patience=30.0) for n in nums})
        repos = campaign(h, "rs", CampaignMode.PROGRESSIVE, nums, agent_ids=["1001", "1002", "1003", "1004"],
                         wrap_up_timeout_s=10.0)
        old = h.service
        assert old is not None and old.campaigns is not None
        old.campaigns.control("rs", CampaignEvent.START)
        # wait until calls are bridged and others are ringing
        assert wait_until(lambda: old.campaigns.writes.flush(1) and len(h.sims[0].channels) >= 6 and
                          any(a.bridged_at is None for a in attempts(repos, "rs")), timeout=30)
        # the controller dies: its links and timers go, nothing is settled; what it had queued reaches the store
        camps = old.campaigns
        for rc in camps.running.values():
            rc.driver.stop()
            if rc.reconciler is not None:
                rc.reconciler.kill()
        camps.running.clear()        # nothing more of the old process reaches a dialer or the store
        camps.writes.close()
        ctl = old.controller
        ctl.driver.stop()
        ctl.reconciler.stop()
        for node in ctl.nodes:
            node.stop()
        old.server.stop(timeout=1.0)
        old.writer.close()
        before = attempts(repos, "rs")
        assert any(a.result is None for a in before)      # attempts were open at the crash
        assert h.sims[0].channels                          # calls were up on the switch
        new = Service(old.config, clock=ScaledClock(h.scale), hooks=Hooks(), database=h.db,
                      journal_path=str(tmp_path / "journal2.jsonl"))
        h.service = new
        new.start(wait_nodes=5)
        for sim in h.sims:
            sim.socket_address = new.outbound_address
        assert new.campaigns is not None and "rs" in new.campaigns.running
        # every attempt of the dead process got its result; the new one goes on dialing
        assert wait_until(lambda: new.campaigns.writes.flush(1) and
                          all(a.result is not None for a in attempts(repos, "rs")
                              if a.uuid in {b.uuid for b in before}), timeout=20)
        settled = {a.uuid: a for a in attempts(repos, "rs") if a.uuid in {b.uuid for b in before if b.result is None}}
        assert settled and all(a.result_by == "reconciler" for a in settled.values())
        assert wait_until(lambda: len(attempts(repos, "rs")) > len(before), timeout=30)
        new.campaigns.control("rs", CampaignEvent.PAUSE)
        # no agent is stuck: once the paused campaign's calls end (results by the wrap-up timeout) all are idle
        assert wait_until(lambda: not new.campaigns.running["rs"].dialer.open_attempts(), timeout=60)
        assert wait_until(lambda: all(a.state is AgentState.IDLE for a in new.controller.acd.world.agents.values())
                          and not new.campaigns.holds, timeout=30)
        assert wait_until(lambda: new.campaigns.writes.flush(1) and
                          all(a.result is not None for a in attempts(repos, "rs")), timeout=20)
        assert not h.sims[0].channels


def test_agents_shared_with_an_inbound_queue_are_never_double_booked(tmp_path: Path) -> None:
    from cc.model import QueueConfig, QueueEventType, Tier
    from tests.wire.harness import Harness
    from tests.wire.outbound_fixtures import agents as agent_pairs

    nums = _numbers("900", 30)
    pairs = agent_pairs(2)
    h = Harness(tmp_path, [QueueConfig("in")], pairs, [Tier("1001", "in"), Tier("1002", "in")], scale=0.01)
    with h:
        parties(h, {n: PartySpec(outcome="answer", ring=3.0, talk=60.0, patience=30.0) for n in nums})
        repos = campaign(h, "blend", CampaignMode.PROGRESSIVE, nums, agent_ids=["1001", "1002"],
                         wrap_up_timeout_s=10.0)
        camps = h.service.campaigns
        camps.control("blend", CampaignEvent.START)
        assert wait_until(lambda: len(camps.holds) == 2, timeout=20)      # both agents on outbound calls
        # callers queue while both agents are on the campaign; they are answered when an outbound call ends
        calls = [h.call("7000", patience=400.0, talk_time=40.0) for _ in range(3)]
        results = h.wait(calls, timeout=60)
        assert all(r.bridged_to for r in results), results
        camps.control("blend", CampaignEvent.PAUSE)
        assert wait_until(lambda: not camps.running["blend"].dialer.open_attempts(), timeout=60)
        h.settle()
        assert camps.writes.flush(10)
        rows = attempts(repos, "blend")
        assert all(a.result is not None for a in rows)
        busy: dict[str, list[tuple[float, float, str]]] = {"1001": [], "1002": []}
        for a in rows:
            if a.agent_id is not None and a.bridged_at is not None:
                busy[a.agent_id].append((a.bridged_at, a.ended_at or a.bridged_at, "out"))
        connects: dict[str, tuple[float, str]] = {}
        for e in h.queue_events():
            if e.type is QueueEventType.CONNECT and e.agent_id is not None:
                connects[e.member_uuid] = (e.at, e.agent_id)
            elif e.type in (QueueEventType.COMPLETE_AGENT, QueueEventType.COMPLETE_CALLER) and \
                    e.member_uuid in connects:
                start, agent = connects.pop(e.member_uuid)
                busy[agent].append((start, e.at, "in"))
        assert sum(1 for spans in busy.values() for s in spans if s[2] == "in") == 3
        for agent, spans in busy.items():
            spans.sort()
            for (s1, e1, k1), (s2, _e2, k2) in itertools.pairwise(spans):
                assert s2 >= e1 - 0.5, (agent, (s1, e1, k1), (s2, k2))     # one call at a time, in or out
        # a dial the ACD won is no originate and no attempt of its lead: each lead counts the originates made
        assert camps.lost_races >= 1            # the case happened: the ACD won an agent the Dialer had picked
        assert not any(a.hangup_cause == "LOSE_RACE" for a in rows)
        made = Counter(a.lead_id for a in rows)
        for d in repos.leads.list("blend"):
            assert d.lead.attempts == made.get(d.lead.lead_id, 0), d.lead
        assert not camps.holds
        assert all(a.status.value == "available" for a in h.ctl.acd.world.agents.values())


def test_start_and_pause_in_the_store_reach_the_running_controller(tmp_path: Path) -> None:
    """`ccctl campaign start|pause NAME` writes the store; the running controller follows within its sync."""
    nums = _numbers("950", 20)
    with harness(tmp_path, 2) as h:
        parties(h, {n: ANSWER for n in nums})
        repos = campaign(h, "cli", CampaignMode.PROGRESSIVE, nums, agent_ids=["1001", "1002"])
        camps = h.service.campaigns
        assert "cli" not in camps.running
        repos.campaigns.change_status("cli", CampaignEvent.START)           # as ccctl campaign start does
        assert wait_until(lambda: "cli" in camps.running and camps.running["cli"].dials >= 1, timeout=20)
        repos.campaigns.change_status("cli", CampaignEvent.PAUSE)
        assert wait_until(lambda: camps.running["cli"].dialer.status.value == "paused", timeout=20)
        n = camps.running["cli"].dials
        assert wait_until(lambda: not camps.running["cli"].dialer.open_attempts(), timeout=60)
        assert camps.running["cli"].dials == n                               # nothing new once paused


def test_dnc_numbers_added_in_the_store_reach_the_running_dialer(tmp_path: Path) -> None:
    """`ccctl dnc add` writes the store only; the running controller learns the number at its next sync (the
    campaign's list and the global one), once, and never dials it from then on."""
    from cc.store.campaigns import DncRepo

    nums = _numbers("951", 4)
    with harness(tmp_path, 1) as h:
        parties(h, {n: ANSWER for n in nums})
        repos = campaign(h, "dncsync", CampaignMode.PROGRESSIVE, nums, agent_ids=["1001"])
        camps = h.service.campaigns
        repos.campaigns.change_status("dncsync", CampaignEvent.START)
        assert wait_until(lambda: "dncsync" in camps.running, timeout=20)
        rc = camps.running["dncsync"]
        dnc = DncRepo(h.db)
        dnc.add([nums[2]], campaign="dncsync", reason="asked", by="cli:test")   # as ccctl dnc add does
        dnc.add([nums[3]], reason="complained", by="cli:test")                  # the global list
        camps.sync()                       # (or the controller's own sync loop, every sync_s, got there first)
        assert any(nums[2] in d for d in rc.dialer.dnc_lists)
        assert any(nums[3] in d for d in rc.dialer.dnc_lists)
        assert camps.sync() == 0                                               # learnt once
