"""Property tests of the Dialer on simulated time: windows, DNC, one result per originate, no abandons in
progressive, callbacks on time with reminders, nothing dialed without a ready agent."""

from __future__ import annotations

import datetime
import random
import zoneinfo
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from cc.dialer import commands as cmd
from cc.dialer import events as ev
from cc.dialer.campaign_state import CampaignEvent
from cc.dialer.engine import Dialer
from cc.dialer.model import Callback, CampaignMode, CampaignSettings, CampaignStatus, Lead
from cc.model import BusinessCalendar, OpeningHours

from .harness import World

ZONES = ("America/New_York", "Europe/London", "Asia/Shanghai", "Australia/Sydney", "America/Los_Angeles")
START = datetime.datetime(2026, 3, 6, tzinfo=datetime.UTC).timestamp()      # a Friday before two DST changes
CAL = BusinessCalendar("calling", "UTC", tuple(
    OpeningHours(d, datetime.time(9), datetime.time(20)) for d in range(5)))
MODES = st.sampled_from([CampaignMode.PROGRESSIVE, CampaignMode.PREDICTIVE, CampaignMode.PREVIEW])


def make(mode: CampaignMode, *, calendar: BusinessCalendar | None = None, min_agents: int = 2,
         now: float = START, seed: int = 0) -> Dialer:
    s = CampaignSettings("c", mode=mode, caller_ids=("+861000",), calendar=None if calendar is None else "cal",
                         min_agents_predictive=min_agents, max_attempts=3, preview_timeout_s=20)
    return Dialer(s, calendars={"cal": calendar} if calendar else None, now=now, rng_seed=seed)


def leads(n: int, rng: random.Random, zones: tuple[str, ...] = ZONES) -> list[Lead]:
    return [Lead(f"L{i}", "c", (f"+1555{i:07d}", f"+1666{i:07d}"), tz=rng.choice(zones),
                 priority=rng.randint(0, 3), created_at=START + i) for i in range(n)]


def start(w: World, n_leads: int, agents: int, rng: random.Random) -> dict[str, Lead]:
    ls = {lead.lead_id: lead for lead in leads(n_leads, rng)}
    for lead in ls.values():
        w.feed(ev.LeadAdded(lead))
    for i in range(agents):
        w.feed(ev.AgentReady(f"A{i}"))
    w.feed(ev.CampaignControl(CampaignEvent.START))
    return ls


def run(w: World, end: float) -> None:
    w.run_until(end)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), mode=MODES)
def test_no_dial_outside_the_lead_local_window_across_zones_and_dst(seed: int, mode: CampaignMode) -> None:
    rng = random.Random(seed)
    w = World(make(mode, calendar=CAL, seed=seed), rng)
    ls = start(w, 40, 4, rng)
    run(w, START + 4 * 86400)      # Friday to Tuesday, over the US change of 8 March
    originates = w.log.of(cmd.Originate)
    assert originates
    for t, c in originates:
        local = datetime.datetime.fromtimestamp(t, zoneinfo.ZoneInfo(ls[c.lead_id].tz))
        assert local.weekday() < 5 and 9 <= local.hour < 20, (c.lead_id, local)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), mode=MODES)
def test_no_dial_to_a_dnc_number_also_one_added_mid_campaign(seed: int, mode: CampaignMode) -> None:
    rng = random.Random(seed)
    d = make(mode, seed=seed)
    listed = {f"+1555{i:07d}" for i in range(0, 30, 3)}
    d.dnc_lists[0].add(f"+1555{1:07d}")
    w = World(d, rng, answer=0.2)
    start(w, 30, 3, rng)
    blocked_from = {f"+1555{1:07d}": 0.0}
    for k, number in enumerate(sorted(listed)):
        w.run_until(w.now + rng.uniform(0, 400))
        w.feed(ev.DncAdded(number))
        blocked_from.setdefault(number, w.now)
        del k
    run(w, w.now + 3 * 3600)
    for t, c in w.log.of(cmd.Originate):
        assert not (c.number in blocked_from and t >= blocked_from[c.number]), (c.number, t)
    assert all(c.number != f"+1555{1:07d}" for _, c in w.log.of(cmd.Originate))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), mode=MODES, drop=st.sampled_from([0.0, 0.1, 0.3]),
       dup=st.sampled_from([0.0, 0.2, 0.5]))
def test_every_originate_has_exactly_one_result_under_lost_and_repeated_events(
        seed: int, mode: CampaignMode, drop: float, dup: float) -> None:
    rng = random.Random(seed)
    w = World(make(mode, seed=seed), rng, drop=drop, dup=dup)
    start(w, 25, 3, rng)
    run(w, START + 2 * 3600)
    if w.d.status is CampaignStatus.RUNNING:    # it may have finished: every lead done
        w.feed(ev.CampaignControl(CampaignEvent.STOP))
    w.react(w.d.settle(set(), w.now))            # the reconciler: the switch has no channel left
    w.run_until(w.now + 3600)                    # wrap-up timeouts, late duplicates
    uuids = Counter(c.uuid for _, c in w.log.of(cmd.Originate))
    results = Counter(c.attempt.uuid for _, c in w.log.of(cmd.SetResult))
    assert uuids and set(uuids.values()) == {1}
    assert results == uuids
    assert w.d.open_attempts() == []


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), agents=st.integers(1, 12), answer=st.floats(0.1, 0.9))
def test_progressive_never_abandons(seed: int, agents: int, answer: float) -> None:
    rng = random.Random(seed)
    w = World(make(CampaignMode.PROGRESSIVE, seed=seed), rng, answer=answer)
    start(w, 60, agents, rng)
    run(w, START + 3 * 3600)
    assert w.log.of(cmd.Originate)
    assert not w.log.of(cmd.PlayOverflow)
    for _, c in w.log.of(cmd.SetResult):
        assert c.attempt.result not in ("overflow", "abandoned")
        assert c.attempt.agent_id is not None
    reserved = {c.uuid: c.agent_id for _, c in w.log.of(cmd.Originate)}
    assert all(reserved.values())   # the agent is reserved before the dial


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), mode=MODES, n=st.integers(1, 6), owner_only=st.booleans())
def test_callbacks_are_dialed_within_60_s_of_due_and_reminded_before_and_at_due(
        seed: int, mode: CampaignMode, n: int, owner_only: bool) -> None:
    rng = random.Random(seed)
    d = make(mode, seed=seed)
    w = World(d, rng, answer=0.0)    # nobody answers: agents stay free
    for lead in leads(n, rng):
        w.feed(ev.LeadAdded(lead))
    w.feed(ev.AgentReady("A0"))
    w.feed(ev.AgentReady("A1"))
    w.feed(ev.CampaignControl(CampaignEvent.START))
    w.run_until(START + 600)
    due: dict[str, float] = {}
    for i in range(n):
        lead_id = f"L{i}"
        if d.lead(lead_id).state.value in ("new", "retry", "callback"):
            when = START + 3600 + rng.uniform(0, 7200) + 600 * i
            due[lead_id] = when
            w.feed(ev.CallbackScheduled(Callback(lead_id, when, "A1" if owner_only else None)))
    run(w, START + 4 * 3600)
    for lead_id, when in due.items():
        dials = [t for t, c in w.log.of(cmd.Originate) if c.lead_id == lead_id and t >= when - 1e-6]
        assert dials and dials[0] <= when + 60, (lead_id, when, dials[:1])
        assert not [t for t, c in w.log.of(cmd.Originate)
                    if c.lead_id == lead_id and START + 600 < t < when - 1e-6]
        if owner_only:
            first = next(c for t, c in w.log.of(cmd.Originate) if c.lead_id == lead_id and t >= when)
            assert first.agent_id == "A1"
        kinds = {(c.kind, t) for t, c in w.log.of(cmd.CallbackReminder) if c.lead_id == lead_id}
        assert ("before", when - 300) in kinds and ("due", when) in kinds


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), mode=MODES, agents=st.integers(0, 5))
def test_with_no_ready_agent_nothing_new_is_dialed(seed: int, mode: CampaignMode, agents: int) -> None:
    rng = random.Random(seed)
    w = World(make(mode, seed=seed, min_agents=1), rng)
    for lead in leads(20, rng):
        w.feed(ev.LeadAdded(lead))
    for i in range(agents):           # they come and go, but are never ready at the same time as a dial
        w.feed(ev.AgentReady(f"A{i}"))
        w.feed(ev.AgentNotReady(f"A{i}", "break"))
    w.feed(ev.CampaignControl(CampaignEvent.START))
    w.feed(ev.AgentTalking("A0"))
    run(w, START + 2 * 3600)
    assert not w.log.of(cmd.Originate)
    assert w.d.status is CampaignStatus.RUNNING
