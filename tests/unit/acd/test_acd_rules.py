"""One test per rule of the issue: skills relaxation, tiers, priority aging, limits, callbacks,
announcements, offers (no answer, busy, reject, timeout), wrap-up, config changes, validation."""

from __future__ import annotations

import pytest

from cc.acd import (
    Acd,
    AgentAnswered,
    AgentAutoBreak,
    AgentBusy,
    AgentLogin,
    AgentLogout,
    AgentNoAnswer,
    AgentRejected,
    AgentRinging,
    AgentStateChanged,
    AgentStatusChanged,
    Announce,
    CallbackRequested,
    CallEnded,
    CancelOffer,
    Connect,
    CountersReset,
    Exit,
    MemberJoined,
    MemberLeft,
    OfferCallback,
    OfferWithdrawn,
    Tick,
    WrapUpDone,
    parse_steps,
)
from cc.errors import AcdError, CCError, Conflict, InvalidTransition, InvalidValue, NotFound
from cc.model import Agent, AgentState, AgentStatus, ExitReason, QueueConfig, SkillRequirement, Strategy, Tier

from .helpers import T0, Rig, of_type, offers, simple, step

# -- skills ---------------------------------------------------------------------------------------


def test_skill_steps_relax_on_time() -> None:
    q = [QueueConfig("q", announce_interval_s=0)]
    agents = [Agent("weak", skills={"mandarin": 4}), Agent("none", skills={"en": 8})]
    tiers = [Tier("weak", "q"), Tier("none", "q")]
    rig = Rig(q, agents, tiers, login=True)
    steps = (step(30, mandarin=">=7", billing=">=5"), step(60, mandarin=">=3"), step(None))
    assert offers(rig.join("m", skill_steps=steps)) == []
    assert rig.acd.next_wakeup() == T0 + 30
    assert offers(rig.run_until(T0 + 29.9)) == []
    out = rig.run_until(T0 + 30)
    assert [o.agent_id for o in offers(out)] == ["weak"]
    # the weak agent misses: the member relaxes further at 90 s and then takes anyone
    o = offers(out)[0]
    rig.send(AgentRejected(o.offer_id, "weak"))
    rig.send(AgentLogout("weak"))
    assert offers(rig.run_until(T0 + 89)) == []
    assert [o.agent_id for o in offers(rig.run_until(T0 + 90))] == ["none"]


def test_parse_steps() -> None:
    steps = parse_steps([{"require": {"mandarin": ">=7", "billing": 5}, "for": "30s"},
                         {"require": {"mandarin": "> 3"}, "for": 60}, {"require": {}}])
    assert steps[0].for_s == 30 and steps[1].for_s == 60 and steps[2].for_s is None
    assert set(steps[0].require) == {SkillRequirement("mandarin", ">=", 7),
                                     SkillRequirement("billing", ">=", 5)}
    assert steps[1].require == (SkillRequirement("mandarin", ">", 3),)
    for bad in ("x", [{"require": {"a": ">=x"}}], [{"require": {"a": 11}}], [{"foo": 1}],
                [{"require": {}, "for": "-3"}], [{"require": ["a"]}]):
        with pytest.raises(InvalidValue) as info:
            parse_steps(bad)
        assert info.value.field.startswith("skills")


def test_missing_skill_fails_every_requirement_on_it() -> None:
    q = [QueueConfig("q")]
    rig = Rig(q, [Agent("a", skills={})], [Tier("a", "q")], login=True)
    assert offers(rig.join("m", skill_steps=(step(None, fr="<=5"),))) == []


# -- tiers ----------------------------------------------------------------------------------------


def test_tiers_without_rules_prefer_lower_levels() -> None:
    rig = Rig(*simple(3, Strategy.LONGEST_IDLE_AGENT, levels=[2, 1, 3]), login=True)
    assert [offers(rig.join(f"m{i}"))[0].agent_id for i in range(3)] == ["a1", "a0", "a2"]


def test_tier_rules_wait_per_level() -> None:
    qs, agents, tiers = simple(3, levels=[1, 2, 3], tier_rules_apply=True, tier_rule_wait_s=10,
                               tier_rule_wait_multiply_level=True, tier_rule_no_agent_no_wait=False,
                               announce_interval_s=0)
    rig = Rig(qs, agents, tiers)
    rig.send(AgentLogin("a0"))
    rig.send(AgentStatusChanged("a0", AgentStatus.ON_BREAK, "lunch"))   # level 1 staffed? no: on break
    for a in ("a1", "a2"):
        rig.send(AgentLogin(a))
    # level 1 has nobody logged in but no_agent_no_wait is off: level 2 opens at 2 x 10 s, level 3 at 30 s
    assert offers(rig.join("m1")) == []
    assert offers(rig.run_until(T0 + 19.9)) == []
    (o,) = offers(rig.run_until(T0 + 20))
    assert o.agent_id == "a1"
    rig.send(AgentAnswered(o.offer_id, "a1"))
    assert offers(rig.join("m2")) == []
    out = rig.run_until(T0 + 50)
    assert [o.agent_id for o in offers(out)] == ["a2"]          # m2 joined at 20: level 3 at 50


def test_tier_rules_no_agent_no_wait_skips_empty_levels() -> None:
    qs, agents, tiers = simple(2, levels=[1, 2], tier_rules_apply=True, tier_rule_wait_s=60,
                               tier_rule_no_agent_no_wait=True)
    rig = Rig(qs, agents, tiers)
    rig.send(AgentLogin("a1"))                    # nobody at level 1 logged in
    assert [o.agent_id for o in offers(rig.join("m1"))] == ["a1"]
    rig.send(AgentLogin("a0"))                    # level 1 staffed now (and free: takes nobody)
    rig.send(AgentStatusChanged("a0", AgentStatus.ON_BREAK, "coffee"))
    rig.send(AgentLogin("a0"))
    o = offers(rig.log)[-1]
    rig.send(AgentAnswered(o.offer_id, o.agent_id))
    rig.join("m2")                                # a0 is free at level 1: takes m2 at once
    assert offers(rig.log)[-1].agent_id == "a0" and offers(rig.log)[-1].member_uuid == "m2"


def test_tier_rules_level_opens_when_lower_level_logs_out() -> None:
    qs, agents, tiers = simple(2, levels=[1, 2], tier_rules_apply=True, tier_rule_wait_s=60,
                               tier_rule_no_agent_no_wait=True, announce_interval_s=0)
    rig = Rig(qs, agents, tiers, login=True)
    o = offers(rig.join("m1"))[0]
    assert o.agent_id == "a0"
    rig.send(AgentAnswered(o.offer_id, "a0"))
    assert offers(rig.join("m2")) == []          # a0 busy, level 2 waits 120 s
    out = rig.send(AgentLogout("a0"))            # level 1 has nobody logged in any more: level 2 opens now
    assert [o.agent_id for o in offers(out)] == ["a1"]


# -- priority and order ---------------------------------------------------------------------------


def test_priority_jumps_the_line_but_aging_prevents_starvation() -> None:
    qs, agents, tiers = simple(1, priority_weight=60.0, announce_interval_s=0)
    rig = Rig(qs, agents, tiers, login=True)
    first = offers(rig.join("busy"))[0]
    rig.send(AgentAnswered(first.offer_id, "a0"))
    rig.join("old")                          # t=0, score 0 + waited
    rig.clock.advance(30)
    rig.join("vip", priority=1)              # t=30, score 60: beats 'old' (waited 30)
    rig.clock.advance(40)
    rig.join("late_vip", priority=1)         # t=70: 'old' has waited 70 > 60: old goes first
    rig.join("plain")                        # FIFO within equal score: after everyone
    assert [m.uuid for m in rig.acd.members("q")] == ["vip", "old", "late_vip", "plain"]
    assert [rig.acd.position(u) for u in ("vip", "old", "late_vip", "plain")] == [1, 2, 3, 4]
    rig.send(CallEnded("a0"))
    assert offers(rig.log)[-1].member_uuid == "vip"


def test_fifo_within_equal_score() -> None:
    qs, agents, tiers = simple(1, announce_interval_s=0)
    rig = Rig(qs, agents, tiers)
    for i in range(5):
        rig.join(f"m{i}")
    rig.send(AgentLogin("a0"))
    assert offers(rig.log)[-1].member_uuid == "m0"
    assert [m.uuid for m in rig.acd.members("q") if m.position] == ["m1", "m2", "m3", "m4"]


def test_joined_at_keeps_the_wait_of_a_moved_member() -> None:
    qs, agents, tiers = simple(1, announce_interval_s=0)
    rig = Rig(qs, agents, tiers)
    rig.clock.advance(100)
    rig.join("new")
    rig.join("moved", joined_at=T0 + 10)
    assert [m.uuid for m in rig.acd.members("q")] == ["moved", "new"]
    assert rig.acd.members("q")[0].waited_s == 90


# -- limits ----------------------------------------------------------------------------------------


def test_max_wait_timeout() -> None:
    rig = Rig(*simple(1, max_wait_s=45, announce_interval_s=0))
    rig.join("m")
    assert rig.run_until(T0 + 44.9) == []
    (e,) = of_type(rig.run_until(T0 + 45), Exit)
    assert (e.member_uuid, e.reason, e.wait_s) == ("m", ExitReason.TIMEOUT, 45)
    assert rig.acd.snapshot().exited == 1 and rig.acd.members() == []


def test_max_wait_no_agent() -> None:
    rig = Rig(*simple(1, max_wait_no_agent_s=20, announce_interval_s=0))
    rig.clock.advance(5)
    rig.join("m")                                  # nobody logged in since t=0: exits at 20 s
    assert rig.run_until(T0 + 24.9) == []          # 20 s after it joined (the queue was empty before)
    (e,) = of_type(rig.run_until(T0 + 25), Exit)
    assert e.reason is ExitReason.NO_AGENT
    rig.send(AgentLogin("a0"))
    o = offers(rig.join("m2"))[0]
    rig.send(AgentAnswered(o.offer_id, "a0"))
    rig.join("m3")                                 # an agent is logged in (busy): no NO_AGENT exit
    assert of_type(rig.run_until(T0 + 100), Exit) == []
    rig.send(AgentLogout("a0"))                    # t=100: nobody logged in from now on
    assert of_type(rig.run_until(T0 + 119), Exit) == []
    (e,) = of_type(rig.run_until(T0 + 120), Exit)
    assert (e.member_uuid, e.reason) == ("m3", ExitReason.NO_AGENT)


def test_max_len_full() -> None:
    rig = Rig(*simple(1, max_len=2))
    rig.join("m1")
    rig.join("m2")
    (e,) = of_type(rig.join("m3"), Exit)
    assert (e.member_uuid, e.reason) == ("m3", ExitReason.FULL)
    assert [m.uuid for m in rig.acd.members()] == ["m1", "m2"]
    snap = rig.acd.snapshot()
    assert (snap.joined, snap.exited) == (3, 1)


def test_member_left_and_exit_key() -> None:
    rig = Rig(*simple(1), login=True)
    o = offers(rig.join("m1"))[0]
    out = rig.send(MemberLeft("m1"))                       # caller hangs up while the agent rings
    assert of_type(out, CancelOffer)[0].offer_id == o.offer_id
    assert of_type(out, Exit)[0].reason is ExitReason.CALLER_ABANDON
    assert rig.acd.agents()[0].state is AgentState.IDLE and rig.acd.agents()[0].free
    rig.send(AgentStatusChanged("a0", AgentStatus.ON_BREAK, "x"))
    rig.join("m2")
    assert of_type(rig.send(MemberLeft("m2", ExitReason.EXIT_KEY)), Exit)[0].reason is ExitReason.EXIT_KEY
    assert rig.send(MemberLeft("gone")) == []              # unknown (already connected or gone): ignored


# -- callbacks ---------------------------------------------------------------------------------------


def test_callback_keeps_its_place_and_offers_the_agent_first() -> None:
    rig = Rig(*simple(1, max_wait_s=60, announce_interval_s=0), login=True)
    first = offers(rig.join("busy"))[0]
    rig.send(AgentAnswered(first.offer_id, "a0"))
    rig.join("m1")
    rig.clock.advance(5)
    rig.join("m2")
    rig.send(CallbackRequested("m1", "+15550001111"))
    assert rig.acd.position("m1") == 1
    assert of_type(rig.run_until(T0 + 100), Exit) == [Exit("m2", "q", ExitReason.TIMEOUT, 60.0)]
    rig.send(CallEnded("a0"))                              # agent free: the callback entry is at the head
    (oc,) = of_type(rig.log, OfferCallback)
    assert (oc.member_uuid, oc.agent_id, oc.number) == ("m1", "a0", "+15550001111")
    out = rig.send(AgentAnswered(oc.offer_id, "a0"))
    (c,) = of_type(out, Connect)
    assert c.number == "+15550001111" and c.member_uuid == "m1"


def test_callback_for_unknown_member_is_refused() -> None:
    rig = Rig(*simple(1))
    with pytest.raises(NotFound):
        rig.send(CallbackRequested("nobody", "+1555"))
    rig.join("m")
    with pytest.raises(InvalidValue):
        rig.send(CallbackRequested("m", ""))


# -- announcements and EWT ---------------------------------------------------------------------------


def test_announcements_with_position_and_ewt() -> None:
    rig = Rig(*simple(2, announce_interval_s=30))
    rig.send(AgentLogin("a0"))
    rig.send(AgentLogin("a1"))
    for a in ("a0", "a1"):
        rig.send(AgentStatusChanged(a, AgentStatus.AVAILABLE, "x"))
    busy = [offers(rig.join(f"b{i}"))[0] for i in range(2)]
    for o in busy:
        rig.send(AgentAnswered(o.offer_id, o.agent_id))
    rig.join("m1")
    rig.join("m2")
    out = rig.run_until(T0 + 30)
    ann = of_type(out, Announce)
    assert [(a.member_uuid, a.position) for a in ann] == [("m1", 1), ("m2", 2)]
    assert ann[0].ewt_s == pytest.approx(1 * 180 / 2) and ann[1].ewt_s == pytest.approx(2 * 180 / 2)
    assert len(of_type(rig.run_until(T0 + 60), Announce)) == 2      # every interval


def test_an_offer_cancels_a_pending_announcement() -> None:
    rig = Rig(*simple(1, announce_interval_s=30), login=True)
    o = offers(rig.join("b"))[0]
    rig.send(AgentAnswered(o.offer_id, "a0"))
    rig.join("m")
    rig.clock.set(T0 + 30)                         # the agent hangs up exactly when the announcement is due
    out = rig.send(CallEnded("a0"))
    assert offers(out)[0].member_uuid == "m"
    assert of_type(out, Announce) == []


# -- offers --------------------------------------------------------------------------------------------


def test_no_answer_keeps_the_place_applies_delay_and_auto_breaks() -> None:
    q = [QueueConfig("q", announce_interval_s=0)]
    agents = [Agent("a0", max_no_answer=2, no_answer_delay_s=15, wrap_up_s=0)]
    rig = Rig(q, agents, [Tier("a0", "q")], login=True)
    o = offers(rig.join("m1"))[0]
    rig.clock.advance(5)
    rig.join("m2")
    out = rig.send(AgentNoAnswer(o.offer_id, "a0"))
    assert offers(out) == []
    assert [m.uuid for m in rig.acd.members()] == ["m1", "m2"]       # m1 back at its original place
    assert rig.acd.agents()[0].ready_in_s == 15
    out = rig.run_until(T0 + 20)
    o2 = offers(out)[0]
    assert (o2.member_uuid, rig.clock.now()) == ("m1", T0 + 20)
    out = rig.send(AgentNoAnswer(o2.offer_id, "a0"))                # second miss: auto break
    assert of_type(out, AgentAutoBreak) == [AgentAutoBreak("a0", "no-answer")]
    view = rig.acd.agents()[0]
    assert (view.status, view.reason) == (AgentStatus.ON_BREAK, "no-answer")
    assert offers(rig.run_until(T0 + 100)) == []


@pytest.mark.parametrize(("event", "delay"), [(AgentBusy, 60.0), (AgentRejected, 10.0)])
def test_busy_and_reject_delays(event: type, delay: float) -> None:
    q = [QueueConfig("q", announce_interval_s=0)]
    rig = Rig(q, [Agent("a0")], [Tier("a0", "q")], login=True)
    o = offers(rig.join("m"))[0]
    rig.send(event(o.offer_id, "a0"))
    assert offers(rig.run_until(T0 + delay - 0.1)) == []
    assert offers(rig.run_until(T0 + delay))[0].member_uuid == "m"
    assert rig.acd.agents()[0].no_answer_count == 0


def test_a_withdrawn_offer_costs_the_agent_nothing() -> None:
    q = [QueueConfig("q", announce_interval_s=0)]
    rig = Rig(q, [Agent("a0", max_no_answer=1, no_answer_delay_s=15)], [Tier("a0", "q")], login=True)
    o = offers(rig.join("m1"))[0]
    rig.join("m2")
    out = rig.send(OfferWithdrawn(o.offer_id, "a0"))   # the switch's link was down: not the agent's fault
    assert of_type(out, AgentAutoBreak) == [] and of_type(out, CancelOffer) == []
    again = offers(out)
    assert [(x.member_uuid, x.agent_id) for x in again] == [("m1", "a0")], "no delay; m1 kept its place"
    view = rig.acd.agents()[0]
    assert view.no_answer_count == 0 and view.status is AgentStatus.AVAILABLE


def test_offer_timeout_is_owned_by_the_engine() -> None:
    q = [QueueConfig("q", offer_timeout_s=20, announce_interval_s=0)]
    rig = Rig(q, [Agent("a0", no_answer_delay_s=0), Agent("a1")], [Tier("a0", "q"), Tier("a1", "q")])
    rig.send(AgentLogin("a0"))
    o = offers(rig.join("m"))[0]
    rig.send(AgentRinging(o.offer_id, "a0"))
    assert rig.acd.agents()[0].state is AgentState.RINGING
    rig.send(AgentLogin("a1"))
    assert rig.acd.next_wakeup() == T0 + 20
    out = rig.run_until(T0 + 20)
    assert of_type(out, CancelOffer)[0] == CancelOffer(o.offer_id, "m", "a0", "timeout")
    assert offers(out)[0].agent_id == "a1"           # longest idle after a0 went back to idle
    late = rig.send(AgentAnswered(o.offer_id, "a0"))   # the controller's answer comes too late
    assert late == [CancelOffer(o.offer_id, "m", "a0", "too-late")]


def test_logout_during_an_offer_puts_the_member_back() -> None:
    rig = Rig(*simple(2, announce_interval_s=0))
    rig.send(AgentLogin("a0"))
    o = offers(rig.join("m"))[0]
    out = rig.send(AgentLogout("a0"))
    assert of_type(out, CancelOffer)[0].offer_id == o.offer_id
    assert rig.acd.position("m") == 1
    assert offers(rig.send(AgentLogin("a1")))[0].member_uuid == "m"


def test_offer_events_must_name_the_offered_agent() -> None:
    rig = Rig(*simple(2), login=True)
    o = offers(rig.join("m"))[0]
    with pytest.raises(AcdError):
        rig.send(AgentAnswered(o.offer_id, "a1" if o.agent_id == "a0" else "a0"))


# -- calls, wrap-up, on demand ----------------------------------------------------------------------


def test_wrap_up_time_then_idle_and_counters() -> None:
    q = [QueueConfig("q", announce_interval_s=0)]
    rig = Rig(q, [Agent("a0", wrap_up_s=30)], [Tier("a0", "q")], login=True)
    o = offers(rig.join("m1"))[0]
    rig.send(AgentAnswered(o.offer_id, "a0"))
    rig.clock.advance(100)
    rig.send(CallEnded("a0", by="agent"))
    rig.join("m2")
    assert rig.acd.agents()[0].state is AgentState.WRAP_UP
    assert offers(rig.run_until(T0 + 129)) == []
    assert offers(rig.run_until(T0 + 130))[0].member_uuid == "m2"
    view = rig.acd.agents()[0]
    assert (view.calls_answered, view.talk_time_s) == (1, 100)
    assert rig.acd.queues()[0].aht_s == 130
    rig.send(CountersReset())
    assert rig.acd.agents()[0].calls_answered == 0


def test_wrap_up_done_early_and_queue_wrap_up_override() -> None:
    q = [QueueConfig("q", wrap_up_s=300, announce_interval_s=0)]
    rig = Rig(q, [Agent("a0", wrap_up_s=5)], [Tier("a0", "q")], login=True)
    o = offers(rig.join("m1"))[0]
    rig.send(AgentAnswered(o.offer_id, "a0"))
    rig.send(CallEnded("a0"))
    rig.join("m2")
    assert offers(rig.run_until(T0 + 299)) == []
    assert offers(rig.send(WrapUpDone("a0")))[0].member_uuid == "m2"
    assert rig.send(WrapUpDone("a0")) == []            # reserved now: a late WrapUpDone is ignored


def test_wrap_up_done_in_a_call_is_an_invalid_transition() -> None:
    rig = Rig(*simple(1), login=True)
    o = offers(rig.join("m"))[0]
    rig.send(AgentAnswered(o.offer_id, "a0"))
    with pytest.raises(InvalidTransition):
        rig.send(WrapUpDone("a0"))
    rig.send(CallEnded("a0"))
    with pytest.raises(InvalidTransition):
        rig.send(CallEnded("a0"))


def test_available_on_demand_takes_one_call_then_breaks() -> None:
    rig = Rig(*simple(1, announce_interval_s=0))
    rig.send(AgentLogin("a0", AgentStatus.AVAILABLE_ON_DEMAND))
    o = offers(rig.join("m1"))[0]
    rig.send(AgentAnswered(o.offer_id, "a0"))
    out = rig.send(CallEnded("a0"))
    assert out[-1] == AgentStateChanged("a0", AgentStatus.ON_BREAK, AgentState.IDLE, "on-demand", T0)
    assert offers(rig.join("m2")) == []


def test_agent_state_changed_commands_log_every_change() -> None:
    rig = Rig(*simple(1))
    out = rig.send(AgentStatusChanged("a0", AgentStatus.ON_BREAK, "lunch"))
    assert out == [AgentStateChanged("a0", AgentStatus.ON_BREAK, AgentState.IDLE, "lunch", T0)]
    assert rig.send(AgentStatusChanged("a0", AgentStatus.ON_BREAK, "lunch")) == []   # no change, no log


# -- configuration at run time -------------------------------------------------------------------------


def test_adding_a_tier_serves_waiting_members() -> None:
    rig = Rig([QueueConfig("q"), QueueConfig("other")], [Agent("a0")], [Tier("a0", "other")], login=True)
    rig.join("m")
    out = rig.acd.set_tier(Tier("a0", "q"), rig.clock.now())
    assert offers(out)[0].member_uuid == "m"


def test_queue_update_keeps_members_and_their_order() -> None:
    rig = Rig(*simple(2, announce_interval_s=0))
    for i in range(3):
        rig.join(f"m{i}")
        rig.clock.advance(1)
    rig.acd.set_queue(QueueConfig("q", strategy=Strategy.RING_ALL, announce_interval_s=0), rig.clock.now())
    assert [m.uuid for m in rig.acd.members()] == ["m0", "m1", "m2"]
    out = rig.send(AgentLogin("a0"))
    assert offers(out)[0].member_uuid == "m0"


def test_remove_refused_while_in_use() -> None:
    rig = Rig(*simple(1), login=True)
    o = offers(rig.join("m"))[0]
    with pytest.raises(Conflict):
        rig.acd.remove_queue("q", rig.clock.now())
    with pytest.raises(Conflict):
        rig.acd.remove_agent("a0", rig.clock.now())
    rig.send(AgentAnswered(o.offer_id, "a0"))
    rig.send(CallEnded("a0"))
    rig.acd.remove_tier("a0", "q", rig.clock.now())
    assert rig.acd.agents()[0].queues == ()
    rig.acd.remove_agent("a0", rig.clock.now())
    rig.acd.remove_queue("q", rig.clock.now())
    assert rig.acd.snapshot().queues == () and rig.acd.snapshot().agents == ()


def test_set_agent_changes_skills_live() -> None:
    rig = Rig([QueueConfig("q")], [Agent("a0", skills={"fr": 2})], [Tier("a0", "q")], login=True)
    rig.join("m", skill_steps=(step(None, fr=">=5"),))
    out = rig.acd.set_agent(Agent("a0", skills={"fr": 8}), rig.clock.now())
    assert offers(out)[0].member_uuid == "m"


# -- validation: refused input changes nothing ----------------------------------------------------------


def test_bad_input_is_refused_with_ccerrors_and_changes_nothing() -> None:
    rig = Rig(*simple(1))
    rig.join("m")
    before = rig.acd.snapshot()
    with pytest.raises(NotFound):
        rig.send(MemberJoined("x", "nope"))
    with pytest.raises(Conflict):
        rig.send(MemberJoined("m", "q"))
    with pytest.raises(InvalidValue):
        rig.send(MemberJoined("y", "q", priority="high"))  # type: ignore[arg-type]
    with pytest.raises(InvalidValue):
        rig.send(MemberJoined("y", "q", joined_at=T0 + 1))
    with pytest.raises(InvalidValue):
        rig.send(MemberJoined("y", "q", skill_steps=(step(None, fr=">=1").__class__(
            (SkillRequirement("fr", "~", 1),)),)))
    with pytest.raises(NotFound):
        rig.send(AgentLogin("ghost"))
    with pytest.raises(AcdError):
        rig.send("not an event")  # type: ignore[arg-type]
    with pytest.raises(AcdError):
        rig.acd.handle(Tick(), T0 - 1)
    with pytest.raises(InvalidValue):
        rig.acd.set_queue(QueueConfig("bad", offer_timeout_s=0), T0)
    with pytest.raises(InvalidValue):
        rig.acd.set_agent(Agent("bad", skills={"fr": "high"}), T0)  # type: ignore[dict-item]
    assert rig.acd.snapshot() == before


def test_constructor_refuses_duplicates_and_dangling_tiers() -> None:
    with pytest.raises(Conflict):
        Acd([QueueConfig("q"), QueueConfig("q")])
    with pytest.raises(NotFound):
        Acd([QueueConfig("q")], [], [Tier("a", "q")])
    assert issubclass(InvalidTransition, CCError)


def test_next_wakeup_is_the_earliest_timer() -> None:
    rig = Rig(*simple(1, max_wait_s=100, announce_interval_s=30))
    assert rig.acd.next_wakeup() is None
    rig.join("m")
    assert rig.acd.next_wakeup() == T0 + 30
    rig.send(MemberLeft("m"))
    assert rig.acd.next_wakeup() is None              # cancelled timers are skipped


def test_counters_reset_reorders_fewest_calls() -> None:
    rig = Rig(*simple(2, Strategy.AGENT_WITH_FEWEST_CALLS, announce_interval_s=0), login=True)
    for i in range(3):                       # a0 answers three calls, a1 none (a1 is always busy elsewhere)
        rig.send(AgentStatusChanged("a1", AgentStatus.ON_BREAK, "x"))
        o = offers(rig.join(f"m{i}"))[0]
        rig.send(AgentAnswered(o.offer_id, "a0"))
        rig.send(CallEnded("a0"))
    rig.send(AgentLogin("a1"))
    rig.clock.advance(1)
    rig.send(AgentStatusChanged("a0", AgentStatus.ON_BREAK, "x"))
    o = offers(rig.join("n1"))[0]
    rig.send(AgentAnswered(o.offer_id, "a1"))
    rig.send(CallEnded("a1"))
    rig.send(AgentLogin("a0"))
    assert offers(rig.join("n2"))[0].agent_id == "a1"      # 1 call against 3
    rig.send(MemberLeft("n2"))
    rig.send(CountersReset())
    # both at 0 calls now: position decides (a0 is position 1)
    assert offers(rig.join("n3"))[0].agent_id == "a0"


def test_remove_agent_logs_it_out_and_updates_staffing() -> None:
    rig = Rig(*simple(2, max_wait_no_agent_s=10, announce_interval_s=0), login=True)
    rig.acd.remove_agent("a1", rig.clock.now())
    assert [q.staffed for q in rig.acd.queues()] == [1]
    rig.send(AgentLogout("a0"))
    rig.join("m")
    (e,) = of_type(rig.run_until(T0 + 10), Exit)
    assert e.reason is ExitReason.NO_AGENT


def test_strategy_change_rebuilds_indexes_live() -> None:
    rig = Rig(*simple(3, Strategy.TOP_DOWN, announce_interval_s=0))
    for a in ("a2", "a1", "a0"):
        rig.send(AgentLogin(a))
        rig.clock.advance(1)
    assert offers(rig.join("m1"))[0].agent_id == "a0"
    rig.send(MemberLeft("m1"))
    rig.clock.advance(1)
    rig.acd.set_queue(QueueConfig("q", strategy=Strategy.LONGEST_IDLE_AGENT, announce_interval_s=0),
                      rig.clock.now())
    assert offers(rig.join("m2"))[0].agent_id == "a2"       # idle the longest


def test_priority_weight_change_rekeys_waiting_members() -> None:
    rig = Rig(*simple(1, priority_weight=0.0, announce_interval_s=0))
    rig.join("old")
    rig.clock.advance(10)
    rig.join("vip", priority=1)
    assert [m.uuid for m in rig.acd.members()] == ["old", "vip"]
    rig.acd.set_queue(QueueConfig("q", priority_weight=60.0, announce_interval_s=0), rig.clock.now())
    assert [m.uuid for m in rig.acd.members()] == ["vip", "old"]
    assert offers(rig.send(AgentLogin("a0")))[0].member_uuid == "vip"
