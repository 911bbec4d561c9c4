"""The Dialer's modes and rules, case by case: preview, click-to-dial, predictive overflow, results, explain."""

from __future__ import annotations

import datetime

import pytest

from cc.dialer import commands as cmd
from cc.dialer import events as ev
from cc.dialer.campaign_state import CampaignEvent
from cc.dialer.engine import Dialer, PacingConfig
from cc.dialer.model import Callback, CampaignMode, CampaignSettings, CampaignStatus, Lead, LeadState, RetryRule
from cc.dialer.reasons import Why
from cc.errors import InvalidValue, NotFound
from cc.model import BusinessCalendar, OpeningHours

T0 = datetime.datetime(2026, 6, 1, 2, tzinfo=datetime.UTC).timestamp()   # Monday 10:00 in Shanghai


def make(mode: CampaignMode, pacing: PacingConfig | None = None, **kw: object) -> Dialer:
    s = CampaignSettings("c", mode=mode, caller_ids=("+8610", "+8620"), gateway="gw1", **kw)  # type: ignore[arg-type]
    n = iter(range(1000))
    cal = BusinessCalendar("cal", "UTC", tuple(OpeningHours(d, datetime.time(9), datetime.time(21)) for d in range(7)))
    return Dialer(s, calendars={"cal": cal}, now=T0, uuid_factory=lambda: f"u{next(n)}", pacing=pacing)


def lead(i: int, **kw: object) -> Lead:
    return Lead(f"L{i}", "c", (f"+86138{i:08d}", f"+86139{i:08d}"), created_at=T0 + i, **kw)  # type: ignore[arg-type]


def only(out: list[cmd.DialerCommand], kind: type) -> list:  # type: ignore[type-arg]
    return [c for c in out if isinstance(c, kind)]


def running(d: Dialer, *leads: Lead, agents: tuple[str, ...] = ("A",)) -> list[cmd.DialerCommand]:
    out: list[cmd.DialerCommand] = []
    for x in leads:
        out += d.handle(ev.LeadAdded(x), T0)
    for a in agents:
        out += d.handle(ev.AgentReady(a), T0)
    out += d.handle(ev.CampaignControl(CampaignEvent.START), T0)
    return out


def test_progressive_reserves_then_originates_with_the_template_and_caller_id_pool() -> None:
    d = make(CampaignMode.PROGRESSIVE)
    out = running(d, lead(1), lead(2, priority=5), agents=("A", "B"))
    origs = only(out, cmd.Originate)
    assert [o.lead_id for o in origs] == ["L2", "L1"]            # higher priority first
    assert origs[0].dial_string == "sofia/gateway/gw1/+8613800000002"
    assert [o.caller_id for o in origs] == ["+8610", "+8620"]
    assert all(o.timeout_s == 25.0 and o.agent_id for o in origs)
    assert out.index(only(out, cmd.ReserveAgent)[0]) < out.index(origs[0])
    # answered: bridged to the reserved agent; talk, hang-up, result
    out = d.handle(ev.OriginateAnswered(origs[0].uuid), T0 + 5)
    assert only(out, cmd.Bridge) == [cmd.Bridge(origs[0].uuid, origs[0].agent_id, "L2")]
    d.handle(ev.Bridged(origs[0].uuid, origs[0].agent_id), T0 + 6)
    d.handle(ev.CallHungUp(origs[0].uuid), T0 + 60)
    out = d.handle(ev.ResultSet(origs[0].uuid, origs[0].agent_id, "sale"), T0 + 70)
    (res,) = only(out, cmd.SetResult)
    assert res.attempt.result == "sale" and res.attempt.result_by == f"agent:{origs[0].agent_id}"
    assert res.attempt.bridged_at == T0 + 6 and res.attempt.ended_at == T0 + 60
    assert d.lead("L2").state is LeadState.DONE


def test_a_failed_originate_sets_the_cause_result_and_schedules_the_retry_on_the_next_number() -> None:
    d = make(CampaignMode.PROGRESSIVE, retry_rules={"busy": RetryRule(600, 1)})
    (o,) = only(running(d, lead(1)), cmd.Originate)
    out = d.handle(ev.OriginateFailed(o.uuid, "USER_BUSY", 486), T0 + 1)
    assert only(out, cmd.SetResult)[0].attempt.result == "busy"
    assert d.handle(ev.CallHungUp(o.uuid, "USER_BUSY"), T0 + 1) == []   # the switch's second word: nothing
    lead1 = d.lead("L1")
    assert (lead1.state, lead1.next_dial_at, lead1.number_index) == (LeadState.RETRY, T0 + 601, 1)
    assert d.explain("L1", T0 + 2).reasons == (Why.RETRY_NOT_DUE,)
    (o2,) = only(d.handle(ev.Tick(), T0 + 601), cmd.Originate)
    assert o2.number == "+8613900000001"
    d.handle(ev.OriginateFailed(o2.uuid, "USER_BUSY"), T0 + 602)
    assert d.lead("L1").state is LeadState.EXHAUSTED                     # the rule allows one retry
    assert d.explain("L1", T0 + 700).reasons == (Why.MAX_ATTEMPTS,)


def test_an_invalid_number_moves_to_the_next_number_then_ends_the_lead() -> None:
    d = make(CampaignMode.PROGRESSIVE)
    (o,) = only(running(d, lead(1)), cmd.Originate)
    (o2,) = only(d.handle(ev.OriginateFailed(o.uuid, "UNALLOCATED_NUMBER", 404), T0 + 1), cmd.Originate)
    assert o2.number == "+8613900000001"
    d.handle(ev.OriginateFailed(o2.uuid, "UNALLOCATED_NUMBER"), T0 + 2)
    assert d.lead("L1").state is LeadState.DONE
    assert d.lead("L1").result_counts == (("invalid_number", 2),)


def test_predictive_overflow_at_answer_counts_as_abandon() -> None:
    # a lenient target (30 %) and no cold-start ramp so that one agent gets several calls out at once
    d = make(CampaignMode.PREDICTIVE, PacingConfig(start_factor=2.0, ramp_samples=0), min_agents_predictive=1,
             overflow_message="busy.wav", abandon_target=0.3)
    origs = only(running(d, *[lead(i) for i in range(30)]), cmd.Originate)
    assert len(origs) > 1 and all(o.agent_id is None for o in origs)
    out = d.handle(ev.OriginateAnswered(origs[0].uuid), T0 + 3)
    assert only(out, cmd.Bridge)[0].agent_id == "A"
    out = d.handle(ev.OriginateAnswered(origs[1].uuid), T0 + 4)
    assert only(out, cmd.PlayOverflow) == [cmd.PlayOverflow(origs[1].uuid, "busy.wav")]
    out = d.handle(ev.CallHungUp(origs[1].uuid), T0 + 12)
    assert only(out, cmd.SetResult)[0].attempt.result == "overflow"
    assert d.abandon_rates(T0 + 12) == (0.5, 0.5)


def test_predictive_dials_nothing_without_ready_agents_and_falls_back_below_the_minimum() -> None:
    d = make(CampaignMode.PREDICTIVE, min_agents_predictive=3)
    assert not only(running(d, *[lead(i) for i in range(10)], agents=()), cmd.Originate)
    assert d.explain("L1", T0).reasons == (Why.NO_AGENT_READY,)
    out = d.handle(ev.AgentReady("A"), T0 + 1)
    (o,) = only(out, cmd.Originate)
    assert o.agent_id == "A"                                              # progressive: one, reserved


def test_preview_offer_skip_dial_and_timeout() -> None:
    d = make(CampaignMode.PREVIEW, preview_timeout_s=30, skip_delay_s=900)
    out = running(d, lead(1), lead(2))
    (offer,) = only(out, cmd.PreviewOffer)
    assert offer.lead.lead_id == "L1" and not only(out, cmd.Originate)
    assert d.explain("L1", T0).reasons == (Why.IN_PROGRESS,)
    out = d.handle(ev.PreviewSkip("A", "L1", "wrong person"), T0 + 5)
    assert only(out, cmd.PreviewOffer)[0].lead.lead_id == "L2"
    assert d.lead("L1").next_dial_at == T0 + 905
    out = d.handle(ev.PreviewDial("A", "L2"), T0 + 8)
    assert only(out, cmd.Originate)[0].agent_id == "A"
    assert only(d.handle(ev.PreviewDial("A", "L2"), T0 + 9), cmd.DialRefused)   # twice: refused, nothing dialed
    d2 = make(CampaignMode.PREVIEW, preview_timeout_s=30)
    running(d2, lead(1))
    out = d2.handle(ev.Tick(), T0 + 30)
    assert only(out, cmd.PreviewCancel) and only(out, cmd.AgentSetNotReady)
    assert d2.lead("L1").state is LeadState.NEW


def test_click_to_dial_rings_the_agent_first_and_respects_dnc() -> None:
    d = make(CampaignMode.MANUAL)
    out = running(d, lead(1))
    assert not only(out, cmd.Originate)
    assert Why.MANUAL_MODE in d.explain("L1", T0).reasons
    d.handle(ev.DncAdded("+8613800000001"), T0)
    (refused,) = only(d.handle(ev.ClickToDial("A", "L1", "+8613800000001"), T0), cmd.DialRefused)
    assert refused.reasons == (Why.DNC,)
    (o,) = only(d.handle(ev.ClickToDial("A", "L1"), T0), cmd.Originate)
    assert o.agent_first and o.agent_id == "A" and o.number == "+8613900000001"
    d.handle(ev.OriginateAnswered(o.uuid), T0 + 9)
    d.handle(ev.CallHungUp(o.uuid), T0 + 30)                              # the Bridged event was lost
    out = d.handle(ev.ResultSet(o.uuid, "A", "callback", callback_at=T0 + 3600), T0 + 40)
    assert only(out, cmd.SetResult)[0].attempt.result == "callback"
    assert d.lead("L1").state is LeadState.CALLBACK
    assert d.explain("L1", T0 + 50).reasons == (Why.CALLBACK_NOT_DUE, Why.MANUAL_MODE)


def test_a_dnc_result_lists_the_number_and_a_lead_all_on_dnc_is_refused_when_queued() -> None:
    d = make(CampaignMode.PROGRESSIVE)
    (o,) = only(running(d, lead(1)), cmd.Originate)
    d.handle(ev.OriginateAnswered(o.uuid), T0 + 2)
    d.handle(ev.Bridged(o.uuid, "A"), T0 + 2)
    d.handle(ev.CallHungUp(o.uuid), T0 + 20)
    out = d.handle(ev.ResultSet(o.uuid, "A", "do_not_call"), T0 + 25)
    assert cmd.AddToDnc("+8613800000001", "L1") in out
    assert d.lead("L1").state is LeadState.DNC
    d.handle(ev.DncAdded("+8613800000002"), T0)
    d.handle(ev.DncAdded("+8613900000002"), T0)
    out = d.handle(ev.LeadAdded(lead(2)), T0 + 30)
    assert d.lead("L2").state is LeadState.DNC and not only(out, cmd.Originate)
    assert d.explain("L2", T0 + 30).reasons == (Why.DNC,)


def test_explain_names_window_owner_and_pause() -> None:
    d = make(CampaignMode.PROGRESSIVE, calendar="cal")
    running(d, lead(1, tz="America/New_York", owner_agent="B"), agents=("A",))
    e = d.explain("L1", T0)          # 22:00 in New York, the owner not logged in
    assert e.reasons == (Why.WINDOW_CLOSED, Why.OWNER_NOT_READY) and not e.dialable
    assert e.until == datetime.datetime(2026, 6, 1, 13, tzinfo=datetime.UTC).timestamp()
    d.handle(ev.CampaignControl(CampaignEvent.PAUSE), T0)
    assert d.explain("L1", T0).reasons[0] is Why.CAMPAIGN_PAUSED
    assert d.explain("nope", T0).reasons == (Why.UNKNOWN_LEAD,)


def test_watchdog_and_settle_end_every_open_attempt_once() -> None:
    d = make(CampaignMode.PROGRESSIVE)
    o1, o2 = only(running(d, lead(1), lead(2), agents=("A", "B")), cmd.Originate)
    d.handle(ev.OriginateAnswered(o2.uuid), T0 + 3)
    d.handle(ev.Bridged(o2.uuid, o2.agent_id or ""), T0 + 3)
    out = d.handle(ev.Tick(), T0 + 25 + 30)                                # nothing came for o1
    assert cmd.HangupCall(o1.uuid, "NORMAL_CLEARING") in out
    assert only(out, cmd.SetResult)[0].attempt.result_by == "watchdog"
    out = d.settle({"unrelated"}, T0 + 100)                                  # o2's channel is gone
    assert not only(out, cmd.SetResult)                                      # it waits for its agent's result
    out = d.handle(ev.Tick(), T0 + 100 + 120)
    (res,) = only(out, cmd.SetResult)
    assert (res.attempt.uuid, res.attempt.result, res.attempt.result_by) == (o2.uuid, "connected", "wrap-up-timeout")
    assert d.open_attempts() == []


def test_bad_input_is_refused_with_a_cc_error() -> None:
    with pytest.raises(InvalidValue):
        CampaignSettings("c", dial_timeout_s=10)
    with pytest.raises(InvalidValue):
        Lead("x", "c", ())
    with pytest.raises(InvalidValue):
        Lead("x", "c", ("+1",), tz="Mars/Base")
    with pytest.raises(NotFound):
        Dialer(CampaignSettings("c", calendar="missing"))
    d = make(CampaignMode.PROGRESSIVE)
    (o,) = only(running(d, lead(1)), cmd.Originate)
    with pytest.raises(InvalidValue):
        d.handle(ev.ResultSet(o.uuid, "A", "no-such-result"), T0)
    with pytest.raises(NotFound):
        d.handle(ev.CallbackScheduled(Callback("nope", T0)), T0)
    assert d.status is CampaignStatus.RUNNING


@pytest.mark.parametrize("field,value", [
    ("dial_timeout_s", float("nan")), ("dial_timeout_s", float("inf")), ("preview_timeout_s", float("nan")),
    ("wrap_up_timeout_s", -1.0), ("wrap_up_timeout_s", float("nan")), ("skip_delay_s", -60.0),
    ("callback_reminder_s", -300.0), ("callback_reminder_s", float("inf")), ("max_lines_per_agent", float("nan")),
    ("max_lines_per_agent", float("inf"))])
def test_times_and_rates_of_a_campaign_are_finite_and_not_negative(field: str, value: float) -> None:
    """NaN passes every comparison check (nan < 15 is false) and would put NaN times in the dialer's timers; a
    negative wrap-up timeout or reminder lead would fire before the thing it times (an API body may hold them:
    Python's json reads NaN and Infinity)."""
    with pytest.raises(InvalidValue, match=field):
        CampaignSettings("c", **{field: value})
    with pytest.raises(InvalidValue, match="delay"):
        RetryRule(float("nan"), 1)
