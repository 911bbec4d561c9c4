"""QA in the store: scorecards with versions, the work list, scores with comments, disputes, and the rows the QA
reports read. Every change writes its audit row in the same transaction.

Permission decisions are the caller's: a change that acts on an agent's call takes ``guard(agent_id)``, which
runs inside the transaction once the row is read and raises to refuse (cc.qa.service passes the policy's
decision), so the check and the change see the same row.
"""

from __future__ import annotations

import builtins
import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cc.errors import Conflict, InvalidValue, NotFound
from cc.qa.sample import Candidate, Pick
from cc.qa.score import Answer, ScoreResult, score
from cc.qa.scorecard import Scorecard, scorecard_from_dict
from cc.qa.worklist import ItemEvent, ItemState, Resolution, next_state
from cc.store import tables as t
from cc.store.audit import Actor, write_audit
from cc.store.codec import to_epoch, to_utc
from cc.store.qa_tables import (
    QaCommentRow,
    QaDisputeRow,
    QaItemRow,
    QaScorecardRow,
    QaScorecardVersionRow,
    QaScoreRow,
)
from cc.store.repo_base import _Repo
from cc.store.tables import NAME

__all__ = ["Comment", "Dispute", "Guard", "QaItem", "QaRepo", "QaScore", "ScorecardInfo"]

#: raises to refuse an action on this agent's call (the permission policy's decision)
Guard = Callable[[str], None]
MAX_TEXT = 4000


def _allow(agent_id: str) -> None:
    """The guard of the database's operator: everything."""


@dataclass(frozen=True)
class ScorecardInfo:
    """A scorecard at one version, and how many versions it has."""

    name: str
    version: int
    version_id: int
    card: Scorecard
    current_version: int
    in_use: bool = False


@dataclass(frozen=True)
class QaItem:
    """One call on the work list."""

    id: int
    call_uuid: str
    agent_id: str
    call_at: float
    week: str
    reasons: tuple[str, ...]
    state: ItemState
    assigned_to: str | None
    score_id: int | None = None


@dataclass(frozen=True)
class Comment:
    """A comment on a score, at ``offset_s`` seconds into the recording (None: about the whole call)."""

    text: str
    offset_s: float | None = None
    author: str = ""
    at: float | None = None


@dataclass(frozen=True)
class Dispute:
    """An agent's dispute of a score and (once settled) its resolution."""

    reason: str
    by: str
    at: float
    resolution: Resolution | None = None
    resolved_total: float | None = None
    resolved_by: str | None = None
    resolved_at: float | None = None
    note: str = ""


@dataclass(frozen=True)
class QaScore:
    """A call's score, with the scorecard version it used, its comments and its dispute."""

    id: int
    item_id: int
    call_uuid: str
    agent_id: str
    scorecard: str
    version: int
    qa_login: str
    answers: Mapping[str, str]
    total: float | None
    scored_total: float | None
    raw_total: float | None
    critical_failed: bool
    scored_at: float
    state: ItemState
    comments: tuple[Comment, ...] = ()
    dispute: Dispute | None = None
    card: Scorecard | None = field(default=None, compare=False)

    @property
    def counts_critical(self) -> bool:
        """Whether reports count this score as a critical fail: flagged, and still 0 -- a dispute resolved with a
        changed total clears the flag (rows resolved before that rule kept it beside their new total)."""
        return self.critical_failed and self.total == 0


def _now(now: float | None) -> datetime.datetime:
    return to_utc(now) if now is not None else datetime.datetime.now(datetime.UTC)


def _text(name: str, value: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise InvalidValue(name, value, "must be a non-empty text")
    if len(value) > MAX_TEXT:
        raise InvalidValue(name, value[:40] + "…", f"longer than {MAX_TEXT} characters")
    return value.strip()


def _float(d: Decimal | None) -> float | None:
    return None if d is None else float(d)


def _item(row: QaItemRow, score_id: int | None = None) -> QaItem:
    return QaItem(row.id, row.call_uuid, row.agent_id, to_epoch(row.call_at), row.week, tuple(row.reasons or ()),
                  ItemState(row.state), row.assigned_to, score_id)


class QaRepo(_Repo):
    """Scorecards, the work list, scores and disputes."""

    # ------------------------------------------------------------------ scorecards
    def scorecard_add(self, card: Scorecard, *, actor: Actor, now: float | None = None) -> ScorecardInfo:
        """A new scorecard at version 1 (Conflict when the name is taken)."""

        def run(s: Session) -> ScorecardInfo:
            if s.get(QaScorecardRow, card.name) is not None:
                raise Conflict("scorecard", card.name)
            at = _now(now)
            s.add(QaScorecardRow(name=card.name, description=card.description, current_version=1, created_at=at))
            s.flush()
            v = QaScorecardVersionRow(scorecard=card.name, version=1, body=card.to_dict(), created_at=at,
                                      created_by=actor.login[:NAME])
            s.add(v)
            s.flush()
            write_audit(s, actor, "qa_scorecard_add", "scorecard", card.name, {"version": 1}, at=to_epoch(at))
            return ScorecardInfo(card.name, 1, v.id, card, 1)

        return self._tx(run, kind="scorecard", key=card.name)

    def scorecard_set(self, card: Scorecard, *, actor: Actor, now: float | None = None) -> ScorecardInfo:
        """Change a scorecard: a new version when its current one has scores (they keep theirs), else in place."""

        def run(s: Session) -> ScorecardInfo:
            row = s.get(QaScorecardRow, card.name)
            if row is None:
                raise NotFound("scorecard", card.name)
            cur = s.scalars(select(QaScorecardVersionRow).where(
                QaScorecardVersionRow.scorecard == card.name,
                QaScorecardVersionRow.version == row.current_version)).one()
            used = s.scalar(select(func.count()).select_from(QaScoreRow)
                            .where(QaScoreRow.scorecard_version_id == cur.id)) or 0
            at = _now(now)
            row.description = card.description
            if used:
                v = QaScorecardVersionRow(scorecard=card.name, version=cur.version + 1, body=card.to_dict(),
                                          created_at=at, created_by=actor.login[:NAME])
                s.add(v)
                row.current_version = v.version
                s.flush()
            else:
                v = cur
                v.body = card.to_dict()
                v.created_at, v.created_by = at, actor.login[:NAME]
            write_audit(s, actor, "qa_scorecard_set", "scorecard", card.name,
                        {"version": v.version, "new_version": bool(used)}, at=to_epoch(at))
            return ScorecardInfo(card.name, v.version, v.id, card, v.version)

        return self._tx(run, kind="scorecard", key=card.name)

    def scorecard(self, name: str, version: int | None = None) -> ScorecardInfo:
        """A scorecard at ``version`` (default: its current one)."""

        def run(s: Session) -> ScorecardInfo:
            row = s.get(QaScorecardRow, name)
            if row is None:
                raise NotFound("scorecard", name)
            want = row.current_version if version is None else version
            v = s.scalars(select(QaScorecardVersionRow).where(QaScorecardVersionRow.scorecard == name,
                                                             QaScorecardVersionRow.version == want)).first()
            if v is None:
                raise NotFound("scorecard version", f"{name} v{want}")
            used = s.scalar(select(func.count()).select_from(QaScoreRow)
                            .where(QaScoreRow.scorecard_version_id == v.id)) or 0
            return ScorecardInfo(name, v.version, v.id, scorecard_from_dict(v.body), row.current_version, used > 0)

        return self._read(run)

    def scorecards(self) -> builtins.list[ScorecardInfo]:
        """Every scorecard at its current version, by name."""
        names = self._read(lambda s: list(s.scalars(select(QaScorecardRow.name).order_by(QaScorecardRow.name))))
        return [self.scorecard(n) for n in names]

    # ------------------------------------------------------------------ sampling
    def candidates(self, start: float, end: float) -> builtins.list[Candidate]:
        """Calls agents took in ``[start, end)`` (queue stays with an agent who talked), with their talk time,
        transfers, the lowest survey answer and the call's disposition."""
        lo, hi = to_utc(start), to_utc(end)

        def run(s: Session) -> builtins.list[Candidate]:
            qc, call = t.QueueCallRow, t.CallRow
            surveys = (select(t.SurveyResultRow.call_uuid, func.min(t.SurveyResultRow.score).label("low"))
                       .group_by(t.SurveyResultRow.call_uuid).subquery())
            q = (select(qc.member_uuid, qc.agent_id, qc.entered_at, qc.talk_s, qc.transfers, qc.queue,
                        call.disposition, surveys.c.low)
                 .outerjoin(call, call.uuid == qc.member_uuid)
                 .outerjoin(surveys, surveys.c.call_uuid == qc.member_uuid)
                 .where(qc.entered_at >= lo, qc.entered_at < hi, qc.agent_id.is_not(None), qc.handled > 0))
            return [Candidate(r.member_uuid, r.agent_id, to_epoch(r.entered_at), float(r.talk_s or 0.0),
                              bool(r.transfers), r.low, r.disposition, r.queue) for r in s.execute(q)]

        return self._read(run)

    def sampled(self, calls: Iterable[str]) -> set[str]:
        """Which of these calls are on the work list already."""
        wanted = list(dict.fromkeys(calls))
        out: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            out |= set(self._read(lambda s, c=chunk: list(s.scalars(   # type: ignore[misc]
                select(QaItemRow.call_uuid).where(QaItemRow.call_uuid.in_(c))))))
        return out

    def add_items(self, picks: Sequence[Pick], *, week: str, seed: str, actor: Actor,
                  now: float | None = None) -> builtins.list[QaItem]:
        """Put sampled calls on the work list (a call already there is skipped); one audit row for the batch."""

        def run(s: Session) -> builtins.list[QaItem]:
            at = _now(now)
            have = set(s.scalars(select(QaItemRow.call_uuid).where(
                QaItemRow.call_uuid.in_([p.call_uuid for p in picks])))) if picks else set()
            rows = []
            for p in picks:
                if p.call_uuid in have:
                    continue
                have.add(p.call_uuid)
                row = QaItemRow(call_uuid=p.call_uuid, agent_id=p.agent_id, call_at=to_utc(p.at), week=week,
                                reasons=list(p.reasons), seed=str(seed)[:NAME], state=ItemState.TODO,
                                created_at=at, updated_at=at)
                s.add(row)
                rows.append(row)
            s.flush()
            write_audit(s, actor, "qa_sample", "qa", week, {"seed": str(seed), "added": len(rows),
                                                              "picked": len(picks)}, at=to_epoch(at))
            return [_item(r) for r in rows]

        return self._tx(run, kind="qa item", key=week)

    # ------------------------------------------------------------------ the work list
    def items(self, *, state: ItemState | None = None, week: str | None = None, agent_id: str | None = None,
              assigned_to: str | None = None, limit: int = 10_000) -> builtins.list[QaItem]:
        """Work-list items (newest call first), filtered."""

        def run(s: Session) -> builtins.list[QaItem]:
            q = select(QaItemRow, QaScoreRow.id).outerjoin(QaScoreRow, QaScoreRow.item_id == QaItemRow.id)
            if state is not None:
                q = q.where(QaItemRow.state == state)
            if week is not None:
                q = q.where(QaItemRow.week == week)
            if agent_id is not None:
                q = q.where(QaItemRow.agent_id == agent_id)
            if assigned_to is not None:
                q = q.where(QaItemRow.assigned_to == assigned_to)
            q = q.order_by(QaItemRow.call_at.desc(), QaItemRow.id.desc()).limit(limit)
            return [_item(row, sid) for row, sid in s.execute(q)]

        return self._read(run)

    def item(self, item_id: int) -> QaItem:
        """One item (NotFound)."""

        def run(s: Session) -> QaItem:
            row = s.get(QaItemRow, item_id)
            if row is None:
                raise NotFound("qa item", item_id)
            sid = s.scalar(select(QaScoreRow.id).where(QaScoreRow.item_id == item_id))
            return _item(row, sid)

        return self._read(run)

    def _step(self, s: Session, item: QaItemRow, event: ItemEvent, actor: Actor, guard: Guard, now: float | None,
              change: Callable[[datetime.datetime], dict[str, Any]], ref: dict[str, int]) -> None:
        """One transition of an item's state machine, shared by the item's moves and the score's (dispute,
        resolve): the guard on its agent, the table's step, the change, the new state and one audit row."""
        guard(item.agent_id)
        new = next_state(ItemState(item.state), event, item.id)
        at = _now(now)
        detail = change(at)
        item.state, item.updated_at = new, at
        write_audit(s, actor, f"qa_{event.value}", "call", item.call_uuid,
                    {**ref, "agent": item.agent_id, **detail}, at=to_epoch(at))

    def _move(self, item_id: int, event: ItemEvent, actor: Actor, guard: Guard, now: float | None,
              change: Callable[[Session, QaItemRow, datetime.datetime], dict[str, Any]]) -> QaItem:
        def run(s: Session) -> QaItem:
            row = s.get(QaItemRow, item_id)
            if row is None:
                raise NotFound("qa item", item_id)
            self._step(s, row, event, actor, guard, now, lambda at: change(s, row, at), {"item": item_id})
            s.flush()
            return _item(row, s.scalar(select(QaScoreRow.id).where(QaScoreRow.item_id == item_id)))

        return self._tx(run, kind="qa item", key=item_id)

    def assign(self, item_id: int, login: str | None, *, actor: Actor, guard: Guard = _allow,
               now: float | None = None) -> QaItem:
        """Give an item to a QA user (None: to nobody)."""

        def change(s: Session, row: QaItemRow, at: datetime.datetime) -> dict[str, Any]:
            row.assigned_to = login
            return {"to": login}

        return self._move(item_id, ItemEvent.ASSIGN, actor, guard, now, change)

    def start(self, item_id: int, *, actor: Actor, guard: Guard = _allow, now: float | None = None) -> QaItem:
        """A QA user opens an item to score it (it is assigned to him unless it was someone's)."""

        def change(s: Session, row: QaItemRow, at: datetime.datetime) -> dict[str, Any]:
            if row.assigned_to is None:
                row.assigned_to = actor.login[:NAME]
            return {}

        return self._move(item_id, ItemEvent.START, actor, guard, now, change)

    def release(self, item_id: int, *, actor: Actor, guard: Guard = _allow, now: float | None = None) -> QaItem:
        """Put an item back to do, without a score."""
        return self._move(item_id, ItemEvent.RELEASE, actor, guard, now, lambda s, r, a: {})

    def score(self, item_id: int, scorecard: str, answers: Mapping[str, Answer], comments: Sequence[Comment] = (),
              *, actor: Actor, guard: Guard = _allow, now: float | None = None) -> QaScore:
        """Score an item's call with the scorecard's current version (its arithmetic: cc.qa.score)."""
        result: dict[str, Any] = {}

        def change(s: Session, row: QaItemRow, at: datetime.datetime) -> dict[str, Any]:
            card_row = s.get(QaScorecardRow, scorecard)
            if card_row is None:
                raise NotFound("scorecard", scorecard)
            v = s.scalars(select(QaScorecardVersionRow).where(
                QaScorecardVersionRow.scorecard == scorecard,
                QaScorecardVersionRow.version == card_row.current_version)).one()
            r: ScoreResult = score(scorecard_from_dict(v.body), answers)
            sc = QaScoreRow(item_id=row.id, scorecard_version_id=v.id, call_uuid=row.call_uuid, agent_id=row.agent_id,
                            qa_login=actor.login[:NAME], answers={k: str(a) for k, a in answers.items()},
                            total=_float(r.total), scored_total=_float(r.total), raw_total=_float(r.raw_total),
                            critical_failed=r.critical_failed, scored_at=at)
            s.add(sc)
            s.flush()
            for c in comments:
                _add_comment(s, sc.id, c, actor, at)
            result["id"] = sc.id
            return {"scorecard": scorecard, "version": v.version, "total": _float(r.total),
                    "critical_failed": r.critical_failed, "comments": len(comments)}

        self._move(item_id, ItemEvent.SCORE, actor, guard, now, change)
        return self.get_score(result["id"])

    def comment(self, score_id: int, c: Comment, *, actor: Actor, guard: Guard = _allow,
                now: float | None = None) -> QaScore:
        """Add a comment to a score (audited)."""

        def run(s: Session) -> None:
            sc = s.get(QaScoreRow, score_id)
            if sc is None:
                raise NotFound("qa score", score_id)
            guard(sc.agent_id)
            at = _now(now)
            _add_comment(s, score_id, c, actor, at)
            write_audit(s, actor, "qa_comment", "call", sc.call_uuid, {"score": score_id, "offset_s": c.offset_s},
                        at=to_epoch(at))

        self._tx(run, kind="qa score", key=score_id)
        return self.get_score(score_id)

    def _score_move(self, score_id: int, event: ItemEvent, actor: Actor, guard: Guard, now: float | None,
                    change: Callable[[Session, QaScoreRow, datetime.datetime], dict[str, Any]]) -> QaScore:
        def run(s: Session) -> None:
            sc = s.get(QaScoreRow, score_id)
            if sc is None:
                raise NotFound("qa score", score_id)
            item = s.get(QaItemRow, sc.item_id)
            assert item is not None
            self._step(s, item, event, actor, guard, now, lambda at: change(s, sc, at), {"score": score_id})

        self._tx(run, kind="qa score", key=score_id)
        return self.get_score(score_id)

    def dispute(self, score_id: int, reason: str, *, actor: Actor, guard: Guard = _allow,
                now: float | None = None) -> QaScore:
        """The agent disputes a score, once, with a reason."""
        why = _text("reason", reason)

        def change(s: Session, sc: QaScoreRow, at: datetime.datetime) -> dict[str, Any]:
            s.add(QaDisputeRow(score_id=sc.id, reason=why, disputed_by=actor.login[:NAME], disputed_at=at, note=""))
            return {"reason": why}

        return self._score_move(score_id, ItemEvent.DISPUTE, actor, guard, now, change)

    def resolve(self, score_id: int, resolution: Resolution, *, total: float | None = None, note: str = "",
                keep_critical: bool = False, actor: Actor, guard: Guard = _allow,
                now: float | None = None) -> QaScore:
        """Settle a dispute: upheld (the score stands) or changed to ``total`` (0..100).

        A changed total replaces the score's verdict, so it clears ``critical_failed`` -- unless the resolver
        keeps it (``keep_critical``), which only a total of 0 can carry (a critical fail is 0)."""
        if resolution is Resolution.CHANGED:
            if total is None or isinstance(total, bool) or not 0 <= total <= 100:
                raise InvalidValue("total", total, "a changed score needs a new total between 0 and 100")
            if keep_critical and total != 0:
                raise InvalidValue("total", total, "a score kept as a critical fail has the total 0")
        elif total is not None:
            raise InvalidValue("total", total, "only a changed score takes a new total")
        elif keep_critical:
            raise InvalidValue("keep_critical", keep_critical, "only a changed score can keep or clear the flag")
        text = _text("note", note, empty=True)

        def change(s: Session, sc: QaScoreRow, at: datetime.datetime) -> dict[str, Any]:
            d = s.scalars(select(QaDisputeRow).where(QaDisputeRow.score_id == sc.id)).one()
            d.resolution, d.resolved_by, d.resolved_at, d.note = resolution, actor.login[:NAME], at, text
            if resolution is Resolution.CHANGED:
                assert total is not None
                d.resolved_total = round(float(total), 1)
                before, sc.total = sc.total, d.resolved_total
                critical_before, sc.critical_failed = sc.critical_failed, sc.critical_failed and keep_critical
            else:
                before, critical_before = sc.total, sc.critical_failed
            return {"resolution": resolution.value, "before": before, "total": sc.total, "note": text,
                    **({"critical_failed": sc.critical_failed} if sc.critical_failed != critical_before else {})}

        return self._score_move(score_id, ItemEvent.RESOLVE, actor, guard, now, change)

    # ------------------------------------------------------------------ reading scores
    def get_score(self, score_id: int) -> QaScore:
        """One score with its comments and dispute (NotFound)."""
        found = self.scores(ids=[score_id])
        if not found:
            raise NotFound("qa score", score_id)
        return found[0]

    def scores(self, *, ids: Sequence[int] | None = None, agent_id: str | None = None, start: float | None = None,
               end: float | None = None, with_cards: bool = False) -> builtins.list[QaScore]:
        """Scores (oldest first), by ids, agent and ``scored_at`` window, with comments and disputes."""

        def run(s: Session) -> builtins.list[QaScore]:
            q = (select(QaScoreRow, QaScorecardVersionRow.scorecard, QaScorecardVersionRow.version,
                        QaItemRow.state)
                 .join(QaScorecardVersionRow, QaScorecardVersionRow.id == QaScoreRow.scorecard_version_id)
                 .join(QaItemRow, QaItemRow.id == QaScoreRow.item_id))
            if ids is not None:
                q = q.where(QaScoreRow.id.in_(list(ids)))
            if agent_id is not None:
                q = q.where(QaScoreRow.agent_id == agent_id)
            if start is not None:
                q = q.where(QaScoreRow.scored_at >= to_utc(start))
            if end is not None:
                q = q.where(QaScoreRow.scored_at < to_utc(end))
            rows = list(s.execute(q.order_by(QaScoreRow.scored_at, QaScoreRow.id)))
            sids = [r[0].id for r in rows]
            comments: dict[int, list[Comment]] = {}
            disputes: dict[int, Dispute] = {}
            cards: dict[int, Scorecard] = {}
            for i in range(0, len(sids), 500):
                chunk = sids[i:i + 500]
                for c in s.scalars(select(QaCommentRow).where(QaCommentRow.score_id.in_(chunk))
                                   .order_by(QaCommentRow.id)):
                    comments.setdefault(c.score_id, []).append(
                        Comment(c.text, c.offset_s, c.author, to_epoch(c.created_at)))
                for d in s.scalars(select(QaDisputeRow).where(QaDisputeRow.score_id.in_(chunk))):
                    disputes[d.score_id] = Dispute(
                        d.reason, d.disputed_by, to_epoch(d.disputed_at),
                        Resolution(d.resolution) if d.resolution is not None else None, d.resolved_total,
                        d.resolved_by, to_epoch(d.resolved_at) if d.resolved_at is not None else None, d.note)
            if with_cards:
                vids = {r[0].scorecard_version_id for r in rows}
                for v in s.scalars(select(QaScorecardVersionRow).where(QaScorecardVersionRow.id.in_(vids))):
                    cards[v.id] = scorecard_from_dict(v.body)
            return [QaScore(sc.id, sc.item_id, sc.call_uuid, sc.agent_id, name, version, sc.qa_login,
                            dict(sc.answers), sc.total, sc.scored_total, sc.raw_total, sc.critical_failed,
                            to_epoch(sc.scored_at), ItemState(state), tuple(comments.get(sc.id, ())),
                            disputes.get(sc.id), cards.get(sc.scorecard_version_id))
                    for sc, name, version, state in rows]

        return self._read(run)

    def agent_units(self) -> dict[str, str | None]:
        """Every agent's unit (team), for the reports' team rows."""
        return {a: team for a, team in self._read(lambda s: list(s.execute(select(t.AgentRow.id, t.AgentRow.team))))}


def _add_comment(s: Session, score_id: int, c: Comment, actor: Actor, at: datetime.datetime) -> None:
    text = _text("comment", c.text)
    if c.offset_s is not None and (isinstance(c.offset_s, bool) or not 0 <= c.offset_s < 86400):
        raise InvalidValue("comment offset", c.offset_s, "seconds into the recording, >= 0")
    s.add(QaCommentRow(score_id=score_id, offset_s=c.offset_s, text=text, author=c.author or actor.login[:NAME],
                       created_at=at))
