"""Metric functions on hand-built histories with known answers."""

from __future__ import annotations

import datetime
import itertools
import zoneinfo

import pytest

from cc.model import AgentState, AgentStateEvent, AgentStatus, QueueEvent, SurveyResult
from cc.model import QueueEventType as Q
from cc.reports import AgentReport, Bucketer, CallsReport, QueueReport, SurveyReport, merge_by_time
from cc.reports.summary import QueueCallSummarizer
from cc.store.repos import QueueSlot

UTC = datetime.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
T0 = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=UTC).timestamp()
_ids = itertools.count()


def qe(at: float, member: str, typ: Q, *, queue: str = "sales", agent: str | None = None,
       wait: float | None = None, talk: float | None = None, detail: str = "") -> QueueEvent:
    return QueueEvent(f"q{next(_ids)}", at, queue, member, typ, agent, wait, talk, detail)


def ae(at: float, agent: str, status: AgentStatus, state: AgentState, reason: str | None = None) -> AgentStateEvent:
    return AgentStateEvent(f"a{next(_ids)}", at, agent, status, state, reason)


def answered(member: str, t: float, wait: float, talk: float, agent: str = "1001", queue: str = "sales",
             by: Q = Q.COMPLETE_AGENT) -> list[QueueEvent]:
    return [qe(t, member, Q.ENTER, queue=queue), qe(t + wait - 2, member, Q.OFFER, agent=agent, queue=queue),
            qe(t + wait, member, Q.CONNECT, agent=agent, wait=wait, queue=queue),
            qe(t + wait + talk, member, by, agent=agent, wait=wait, talk=talk, queue=queue)]


def queue_rows(events, start=T0, end=T0 + 3600, interval="15m", tz=UTC, **kw):
    r = QueueReport(Bucketer(interval, tz), start, end, **kw)
    r.feed_all(sorted(events, key=lambda e: e.at))
    return {(row["interval"], row["queue"]): row for row in r.rows()}


def test_counts_sl_asa_and_aht_in_one_interval() -> None:
    evs = [*answered("c1", T0 + 10, 5, 100), *answered("c2", T0 + 20, 30, 200),
           qe(T0 + 30, "c3", Q.ENTER), qe(T0 + 70, "c3", Q.ABANDON, wait=40),
           qe(T0 + 40, "c4", Q.ENTER), qe(T0 + 43, "c4", Q.ABANDON, wait=3),
           qe(T0 + 50, "c5", Q.ENTER), qe(T0 + 350, "c5", Q.EXIT_TIMEOUT, wait=300)]
    rows = queue_rows(evs, short_abandon_s=5, sl_threshold_s={"sales": 20})
    row = rows[("2026-11-23T10:00+00:00", "sales")]
    assert row["offered"] == 4  # 5 ENTERs minus one short abandon
    assert row["answered"] == 2 and row["answered_in_sl"] == 1
    assert row["service_level"] == pytest.approx(0.25)
    assert row["abandoned"] == 1 and row["short_abandoned"] == 1 and row["abandon_rate"] == pytest.approx(0.25)
    assert row["timeouts"] == 1
    assert row["asa_s"] == pytest.approx(17.5)
    assert row["avg_wait_s"] == pytest.approx((5 + 30 + 40 + 300) / 4)
    assert row["max_wait_s"] == 300
    assert row["handled"] == 2 and row["talk_s"] == 300 and row["aht_s"] == pytest.approx(150)
    assert row["hold_s"] == 0


def test_hold_is_summed_apart_and_counts_in_aht() -> None:
    c1 = [qe(T0 + 10, "c1", Q.ENTER), qe(T0 + 15, "c1", Q.CONNECT, agent="1001", wait=5),
          QueueEvent("h1", T0 + 135, "sales", "c1", Q.COMPLETE_AGENT, "1001", 5, 100, "", 20.0)]   # 120 s bridged
    cb = [qe(T0 + 20, "c3", Q.ENTER), qe(T0 + 25, "c3", Q.CALLBACK_REQUESTED, wait=5),
          qe(T0 + 600, "c3", Q.CONNECT, agent="1002", wait=5, detail="callback"),
          QueueEvent("h3", T0 + 665, "sales", "c3", Q.COMPLETE_CALLER, "1002", 5, 60, "callback", 5.0),
          qe(T0 + 665, "c3", Q.CALLBACK_COMPLETED, agent="1002")]
    evs = [*c1, *cb, *answered("c2", T0 + 30, 30, 200, agent="1003"),   # a line without hold_s: no hold
           ae(T0 - 100, "1001", AgentStatus.AVAILABLE, AgentState.IDLE),
           ae(T0 + 15, "1001", AgentStatus.AVAILABLE, AgentState.IN_CALL),
           ae(T0 + 135, "1001", AgentStatus.AVAILABLE, AgentState.WRAP_UP),
           ae(T0 + 165, "1001", AgentStatus.AVAILABLE, AgentState.IDLE)]
    row = queue_rows(evs)[("2026-11-23T10:00+00:00", "sales")]
    assert row["handled"] == 3 and row["talk_s"] == 360 and row["hold_s"] == 25 and row["wrap_s"] == 30
    assert row["aht_s"] == pytest.approx((360 + 25 + 30) / 3)
    calls = {c.member_uuid: c for c in QueueCallSummarizer(live=False).feed_all(sorted(evs, key=lambda e: e.at))}
    assert (calls["c1"].talk_s, calls["c1"].hold_s, calls["c1"].wrap_s) == (100, 20, 30)
    assert (calls["c2"].hold_s, calls["c3"].hold_s, calls["c3"].outcome) == (0, 5, "callback_completed")
    # the same figures summed elsewhere (the database's QueueSlot) add up the same way
    r = QueueReport(Bucketer("15m", UTC), T0, T0 + 3600)
    r.add_totals(T0, "sales", QueueSlot("sales", T0, offered=3, answered=2, handled=3, talk=360.0, hold=25.0,
                                        wrap=30.0))
    [summed] = r.rows()
    assert summed["hold_s"] == 25 and summed["aht_s"] == pytest.approx((360 + 25 + 30) / 3)


def test_call_spanning_a_boundary_counts_in_the_interval_it_entered() -> None:
    evs = answered("c1", T0 + 890, 20, 60)  # enters 10:14:50, answered 10:15:10
    rows = queue_rows(evs)
    assert set(rows) == {("2026-11-23T10:00+00:00", "sales")}
    assert rows[("2026-11-23T10:00+00:00", "sales")]["answered"] == 1
    # entered before the window: not counted at all, even though answered inside it
    assert queue_rows(answered("c0", T0 - 10, 20, 60)) == {}


def test_outcome_after_window_end_is_still_counted() -> None:
    evs = answered("c1", T0 + 3590, 30, 60)
    row = queue_rows(evs)[("2026-11-23T10:45+00:00", "sales")]
    assert row["answered"] == 1 and row["handled"] == 1


def test_abandon_during_ring_is_an_abandon_not_a_no_answer() -> None:
    evs = [qe(T0, "c1", Q.ENTER), qe(T0 + 5, "c1", Q.OFFER, agent="1001"),
           qe(T0 + 9, "c1", Q.ABANDON, agent="1001", wait=9, detail="as the agent answered")]
    row = queue_rows(evs)[("2026-11-23T10:00+00:00", "sales")]
    assert row["abandoned"] == 1 and row["answered"] == 0
    ar = AgentReport(Bucketer("all", UTC), T0, T0 + 3600).feed_all(evs)
    (arow,) = ar.rows()
    assert arow["offers"] == 1 and arow["no_answers"] == 0 and arow["handled"] == 0


def test_transfers_and_callbacks() -> None:
    evs = [*answered("c1", T0, 10, 50), qe(T0 + 40, "c1", Q.TRANSFER, agent="1001", detail="extension 2000"),
           qe(T0 + 100, "c2", Q.ENTER), qe(T0 + 160, "c2", Q.CALLBACK_REQUESTED, wait=60),
           qe(T0 + 400, "c2", Q.OFFER, agent="1002", detail="callback"),
           qe(T0 + 405, "c2", Q.CONNECT, agent="1002", wait=305, detail="callback"),
           qe(T0 + 505, "c2", Q.COMPLETE_AGENT, agent="1002", talk=100, detail="callback"),
           qe(T0 + 505, "c2", Q.CALLBACK_COMPLETED, agent="1002", talk=100)]
    row = queue_rows(evs)[("2026-11-23T10:00+00:00", "sales")]
    assert row["transfers"] == 1
    assert row["callbacks_requested"] == 1 and row["callbacks_completed"] == 1
    assert row["answered"] == 1  # the callback's CONNECT is not a live answer
    assert row["handled"] == 2 and row["talk_s"] == 150
    calls = {r["member_uuid"]: r for r in CallsReport(T0, T0 + 3600).stream(sorted(evs, key=lambda e: e.at))}
    assert calls["c1"]["outcome"] == "answered" and calls["c1"]["transferred"] is True
    assert calls["c2"]["outcome"] == "callback" and calls["c2"]["callback"] == "completed"
    assert calls["c2"]["agent"] == "1002" and calls["c2"]["talk_s"] == 100


def test_wrap_up_is_added_to_the_call_it_follows() -> None:
    evs = [*answered("c1", T0 + 10, 5, 100, agent="1001"),
           ae(T0 - 100, "1001", AgentStatus.AVAILABLE, AgentState.IDLE),
           ae(T0 + 15, "1001", AgentStatus.AVAILABLE, AgentState.IN_CALL),
           ae(T0 + 115, "1001", AgentStatus.AVAILABLE, AgentState.WRAP_UP),
           ae(T0 + 145, "1001", AgentStatus.AVAILABLE, AgentState.IDLE)]
    row = queue_rows(evs)[("2026-11-23T10:00+00:00", "sales")]
    assert row["wrap_s"] == 30 and row["aht_s"] == 130


def test_surveys_in_queue_report_and_survey_report() -> None:
    s = [SurveyResult("s1", T0 + 60, "c1", "csat", "q1", 5, "1001", "sales"),
         SurveyResult("s2", T0 + 70, "c2", "csat", "q1", 3, "1002", "sales"),
         SurveyResult("s3", T0 + 7200, "c3", "csat", "q1", 1, "1002", "sales")]
    row = queue_rows([qe(T0, "c1", Q.ENTER), *s])[("2026-11-23T10:00+00:00", "sales")]
    assert row["survey_count"] == 2 and row["survey_avg"] == 4
    rows = SurveyReport(Bucketer("day", UTC), T0, T0 + 86400).feed_all(s).report().rows
    assert [(r["agent"], r["answers"], r["avg_score"]) for r in rows] == [("1001", 1, 5), ("1002", 2, 2)]


def test_agent_time_per_state_break_reasons_and_occupancy() -> None:
    evs = [ae(T0 - 3600, "1001", AgentStatus.AVAILABLE, AgentState.IDLE),  # before the window
           ae(T0 + 600, "1001", AgentStatus.AVAILABLE, AgentState.RINGING),
           ae(T0 + 610, "1001", AgentStatus.AVAILABLE, AgentState.IN_CALL),
           ae(T0 + 1210, "1001", AgentStatus.AVAILABLE, AgentState.WRAP_UP),
           ae(T0 + 1270, "1001", AgentStatus.AVAILABLE, AgentState.IDLE),
           ae(T0 + 1800, "1001", AgentStatus.ON_BREAK, AgentState.IDLE, "lunch"),
           ae(T0 + 2700, "1001", AgentStatus.LOGGED_OUT, AgentState.IDLE),
           qe(T0 + 600, "c1", Q.OFFER, agent="1001"), qe(T0 + 1210, "c1", Q.COMPLETE_CALLER, agent="1001", talk=600),
           qe(T0 + 100, "c0", Q.RING_NO_ANSWER, agent="1001")]
    ar = AgentReport(Bucketer("hour", UTC), T0, T0 + 3600).feed_all(sorted(evs, key=lambda e: e.at))
    rep = ar.report()
    (row,) = rep.rows
    assert row["talk_s"] == 600 and row["wrap_s"] == 60 and row["ringing_s"] == 10
    assert row["idle_s"] == 600 + 530 and row["break_s"] == 900 and row["break:lunch"] == 900
    assert row["logged_in_s"] == 2700
    assert row["occupancy"] == pytest.approx(660 / (660 + 10 + 1130))
    assert row["handled"] == 1 and row["no_answers"] == 1 and row["aht_s"] == 660
    assert any(c.key == "break:lunch" for c in rep.columns)


def test_agent_time_is_cut_at_interval_boundaries() -> None:
    evs = [ae(T0 + 800, "1001", AgentStatus.AVAILABLE, AgentState.IN_CALL),
           ae(T0 + 1000, "1001", AgentStatus.AVAILABLE, AgentState.IDLE)]
    ar = AgentReport(Bucketer("15m", UTC), T0, T0 + 1800).feed_all(evs)
    rows = ar.rows()
    assert [(r["interval"], r["talk_s"], r["idle_s"]) for r in rows] == [
        ("2026-11-23T10:00+00:00", 100.0, 0.0), ("2026-11-23T10:15+00:00", 100.0, 800.0)]


def test_dst_fall_back_day_has_25_hours_and_two_0200_hours() -> None:
    # 2026-10-25: Europe/Berlin goes from +02:00 to +01:00 at 03:00 local (01:00 UTC)
    day = datetime.datetime(2026, 10, 25, tzinfo=BERLIN).timestamp()
    b = Bucketer("day", BERLIN)
    start, end, label = b.span(day + 3600 * 12)
    assert (start, end - start, label) == (day, 25 * 3600, "2026-10-25")
    hours = Bucketer("hour", BERLIN)
    labels = [hours.span(day + 3600 * i + 1)[2] for i in range(25)]
    assert labels[2] == "2026-10-25T02:00+02:00" and labels[3] == "2026-10-25T02:00+01:00"
    assert len(set(labels)) == 25
    # calls in both 02:00 hours land in different rows
    evs = [qe(day + 2 * 3600 + 60, "a", Q.ENTER), qe(day + 3 * 3600 + 60, "b", Q.ENTER)]
    rows = queue_rows(evs, start=day, end=day + 25 * 3600, interval="hour", tz=BERLIN)
    assert sorted(k[0] for k in rows) == ["2026-10-25T02:00+01:00", "2026-10-25T02:00+02:00"]


def test_dst_spring_forward_day_has_23_hours() -> None:
    day = datetime.datetime(2026, 3, 29, tzinfo=BERLIN).timestamp()
    start, end, label = Bucketer("day", BERLIN).span(day + 5)
    assert end - start == 23 * 3600 and label == "2026-03-29"
    labels = [Bucketer("hour", BERLIN).span(day + 3600 * i + 1)[2] for i in range(23)]
    assert "2026-03-29T02:00+01:00" not in labels and labels[2] == "2026-03-29T03:00+02:00"


def test_week_and_month_buckets() -> None:
    t = datetime.datetime(2026, 11, 26, 15, 0, tzinfo=BERLIN).timestamp()  # a Thursday
    s, e, label = Bucketer("week", BERLIN).span(t)
    assert label == "2026-11-23" and e - s == 7 * 86400
    s, e, label = Bucketer("month", BERLIN).span(t)
    assert label == "2026-11-01" and e == datetime.datetime(2026, 12, 1, tzinfo=BERLIN).timestamp()


def test_merge_by_time_interleaves_streams() -> None:
    a = [qe(T0 + i, "x", Q.OFFER) for i in (1, 5, 9)]
    b = [ae(T0 + i, "1", AgentStatus.AVAILABLE, AgentState.IDLE) for i in (2, 6)]
    assert [r.at - T0 for r in merge_by_time(a, b)] == [1, 2, 5, 6, 9]


def test_transfer_logged_after_complete_still_counts_and_finished_calls_are_forgotten() -> None:
    evs = [*answered("c1", T0, 10, 50), qe(T0 + 70, "c1", Q.TRANSFER, agent="1001")]
    r = QueueReport(Bucketer("hour", UTC), T0, T0 + 7200)
    r.feed_all(evs)
    assert "c1" not in r.summarizer.open  # bounded memory: a completed call leaves the open-call map
    assert "c1" in r.summarizer.done  # ... but is kept for a late TRANSFER
    for i in range(3):  # an hour later the finished call is dropped from the late-transfer memory too
        r.feed_all(answered(f"d{i}", T0 + 4000 + i, 1, 1))
    assert "c1" not in r.summarizer.done
    rows = r.rows()
    assert rows[0]["transfers"] == 1 and rows[0]["handled"] == 1
    assert sum(row["handled"] for row in rows) == 4


def test_first_call_resolution_from_dispositions() -> None:
    from cc.model import Interaction, InteractionKind
    from cc.reports.metrics import FcrReport

    day = 86400.0

    def call(i: str, at: float, customer: str, disposition: str | None, agent: str = "1001") -> Interaction:
        return Interaction(i, at, InteractionKind.CALL, customer, agent, None, None, disposition)

    recs = [call("1", T0, "cust-a", "resolved"),                    # repeat after 2 days: not FCR
            call("2", T0 + 10, "cust-b", "resolved"),               # no repeat: FCR
            call("3", T0 + 20, "cust-c", "escalated"),              # not resolved
            call("4", T0 + 30, "cust-d", "Resolved", agent="1002"),  # repeat after 8 days: FCR
            Interaction("n", T0 + 40, InteractionKind.NOTE, "cust-b", "1001"),  # notes are not contacts
            call("5", T0 + 2 * day, "cust-a", "resolved"),           # outside the 1-day window: not a contact
            call("6", T0 + 8 * day, "cust-d", "resolved")]
    rep = FcrReport(Bucketer("all", UTC), T0, T0 + day, repeat_s=7 * day).feed_all(recs).report()
    rows = {r["agent"]: r for r in rep.rows}
    assert (rows["1001"]["contacts"], rows["1001"]["resolved"], rows["1001"]["first_call_resolved"]) == (3, 2, 1)
    assert rows["1001"]["fcr"] == pytest.approx(1 / 3)
    assert (rows["1002"]["contacts"], rows["1002"]["first_call_resolved"]) == (1, 1)


def test_wrap_up_long_after_the_call_is_not_attributed_to_it() -> None:
    evs = [*answered("c1", T0 + 10, 5, 100, agent="1001"),
           ae(T0 + 500, "1001", AgentStatus.AVAILABLE, AgentState.WRAP_UP),  # after some non-queue call
           ae(T0 + 530, "1001", AgentStatus.AVAILABLE, AgentState.IDLE)]
    row = queue_rows(evs)[("2026-11-23T10:00+00:00", "sales")]
    assert row["wrap_s"] == 0 and row["aht_s"] == 100


def test_agent_hold_is_the_hold_of_its_completed_calls_and_part_of_talk() -> None:
    evs = [ae(T0, "1001", AgentStatus.AVAILABLE, AgentState.IDLE),
           ae(T0 + 10, "1001", AgentStatus.AVAILABLE, AgentState.IN_CALL),
           qe(T0 + 100, "c1", Q.COMPLETE_AGENT, agent="1001", wait=5, talk=75),
           ae(T0 + 100, "1001", AgentStatus.AVAILABLE, AgentState.IDLE)]
    evs[2] = QueueEvent(evs[2].id, evs[2].at, "sales", "c1", Q.COMPLETE_AGENT, "1001", 5, 75, "", 15.0)
    (row,) = AgentReport(Bucketer("all", UTC), T0, T0 + 3600).feed_all(evs).rows()
    assert row["hold_s"] == 15 and row["talk_s"] == 90 and row["handled"] == 1
    assert row["aht_s"] == 90   # (talk + wrap-up) / handled: the hold is inside the talk
