"""Campaign rows for the privacy tests: a campaign with leads (and their numbers), dial attempts, callbacks and
do-not-call entries, each at a chosen time and state, written straight to the campaign tables."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from cc.dialer.model import CampaignSettings, LeadState
from cc.store.campaign_tables import CallbackRow, CallbackState, DialAttemptRow, DncRow, LeadNumberRow, LeadRow
from cc.store.campaigns import Campaign, CampaignRepos
from cc.store.db import Database


@dataclass(frozen=True)
class SeedLead:
    """One lead: id, numbers, name, state, when it was created and last dialed (epoch), its customer."""

    id: int
    numbers: tuple[str, ...]
    name: str
    state: LeadState
    created_at: float
    last_dialed_at: float | None = None
    customer_id: str | None = None
    callback_note: str | None = None     # a callback of this lead with this note (due an hour after creation)


def utc(t: float) -> datetime.datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.datetime.fromtimestamp(t, datetime.UTC)


def seed_campaign(db: Database, leads: Sequence[SeedLead], dnc: Sequence[tuple[str, float]] = (),
                  name: str = "spring", created: float = 0.0) -> None:
    """Campaign ``name``, its leads with numbers, one dial attempt per number of a dialed lead (at its
    last_dialed_at, uuid ``a<lead>-<position>``), the callbacks asked for, and global DNC entries (number, at)."""
    CampaignRepos(db).campaigns.create(Campaign(CampaignSettings(name, gateway="gw1")), now=created)
    with db.transaction() as s:
        for lead in leads:
            s.add(LeadRow(id=lead.id, campaign=name, name=lead.name, extra={}, tz="Asia/Shanghai", state=lead.state,
                          customer_id=lead.customer_id, result_counts={}, created_at=utc(lead.created_at),
                          last_dialed_at=utc(lead.last_dialed_at) if lead.last_dialed_at is not None else None))
        s.flush()
        for lead in leads:
            for i, number in enumerate(lead.numbers):
                s.add(LeadNumberRow(lead_id=lead.id, position=i, campaign=name, number=number, label=""))
                if lead.last_dialed_at is not None:
                    s.add(DialAttemptRow(uuid=f"a{lead.id}-{i}", campaign=name, lead_id=str(lead.id), number=number,
                                         started_at=utc(lead.last_dialed_at),
                                         ended_at=utc(lead.last_dialed_at + 30), result="no_answer"))
            if lead.callback_note is not None:
                s.add(CallbackRow(campaign=name, lead_id=lead.id, due_at=utc(lead.created_at + 3600),
                                  note=lead.callback_note, state=CallbackState.DONE, created_at=utc(lead.created_at),
                                  created_by="1001"))
        for number, at in dnc:
            s.add(DncRow(number=number, campaign="", reason="asked", added_at=utc(at), added_by="cli:test"))
