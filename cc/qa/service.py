"""The QA service: every QA action under the permission policy, for the API, the web pages and the CLI alike.

Each method takes the acting user (a compiled :class:`~cc.authz.Principal`; None is the database's operator,
the CLI without ``--as``) and decides with ``allowed()`` on the call's agent (his unit, or himself):

* the work list, sampling, scoring, comments: ``score_calls`` within the QA user's scope; nobody scores his own
  calls; listings keep only calls of agents in scope;
* scorecards: ``manage_scorecards`` (organisation-wide: a grant everywhere);
* the agent's own scores and his dispute: ``agent_self`` on his own agent (a dispute: once, with a reason);
* resolving a dispute: ``resolve_disputes`` over the agent (his supervisor's scope).

A refusal is ApiError 403 with the decision's reason; every change is audited by the store in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cc.authz import Directory, Permission, Principal, Resource, ResourceKind, allowed
from cc.errors import ApiError, InvalidValue
from cc.qa.sample import Pick, Rule, parse_week, sample
from cc.qa.score import Answer
from cc.qa.scorecard import Scorecard
from cc.qa.worklist import ItemState, Resolution
from cc.store.audit import Actor
from cc.store.qa import Comment, QaItem, QaRepo, QaScore, ScorecardInfo

__all__ = ["QaService", "SampleResult"]


@dataclass(frozen=True)
class SampleResult:
    """What sampling did: the week, how many calls were candidates, the picks, and the items it added."""

    week: str
    candidates: int
    picks: tuple[Pick, ...]
    added: tuple[QaItem, ...]


class QaService:
    """QA actions over a :class:`QaRepo`, decided on the current permission directory."""

    def __init__(self, repo: QaRepo, directory: Callable[[], Directory], *, client: str = "",
                 operator: str = "operator") -> None:
        self.repo = repo
        self.directory = directory
        self.client = client
        #: the audit log's name for the database's operator (user None), e.g. ``cli:root``
        self.operator = operator

    # ------------------------------------------------------------------ decisions
    def actor(self, user: Principal | None) -> Actor:
        """Who the audit log names."""
        return Actor(self.operator, None, self.client) if user is None else Actor(user.login, user.id, self.client)

    def may(self, user: Principal | None, permission: Permission, agent_id: str,
            kind: ResourceKind = ResourceKind.CALL) -> bool:
        """Whether ``user`` may do ``permission`` on this agent's call (the operator may do anything)."""
        return user is None or bool(allowed(user, permission, self.directory().agent(agent_id, kind)))

    def guard(self, user: Principal | None, permission: Permission, kind: ResourceKind = ResourceKind.CALL,
              *, own: bool = False, not_own: bool = False) -> Callable[[str], None]:
        """A store guard: refuses (403) unless the policy allows ``permission`` on the agent's call; ``own``: only
        the user's own agent; ``not_own``: never the user's own agent (nobody scores himself)."""

        def check(agent_id: str) -> None:
            if user is None:
                return
            if own and agent_id != user.agent_id:
                raise ApiError(403, f"{user.login} may {permission} only on his own calls", kind="forbidden")
            if not_own and agent_id == user.agent_id:
                raise ApiError(403, f"{user.login} may not score his own calls", kind="forbidden")
            decision = allowed(user, permission, self.directory().agent(agent_id, kind))
            if not decision:
                raise ApiError(403, f"{user.login} may not {permission} on agent {agent_id}'s calls: "
                                    f"{decision.reason}", kind="forbidden")

        return check

    def _holds(self, user: Principal | None, permission: Permission, kind: ResourceKind = ResourceKind.CALL) -> None:
        """Refuses (403) unless ``allowed()`` gives ``permission`` on a shared resource: held anywhere, user enabled."""
        if user is None:
            return
        decision = allowed(user, permission, Resource.common(kind))
        if not decision:
            raise ApiError(403, f"{user.login} may not {permission}: {decision.reason}", kind="forbidden")

    # ------------------------------------------------------------------ scorecards
    def add_scorecard(self, user: Principal | None, card: Scorecard) -> ScorecardInfo:
        """Define a scorecard (manage_scorecards)."""
        self._holds(user, Permission.MANAGE_SCORECARDS, ResourceKind.SCORE)
        return self.repo.scorecard_add(card, actor=self.actor(user))

    def set_scorecard(self, user: Principal | None, card: Scorecard) -> ScorecardInfo:
        """Change a scorecard: a new version when the current one has scores (manage_scorecards)."""
        self._holds(user, Permission.MANAGE_SCORECARDS, ResourceKind.SCORE)
        return self.repo.scorecard_set(card, actor=self.actor(user))

    def scorecard(self, user: Principal | None, name: str, version: int | None = None) -> ScorecardInfo:
        """A scorecard (anyone who scores, manages scorecards, or is scored may read it)."""
        return self.repo.scorecard(name, version)

    def scorecards(self, user: Principal | None) -> list[ScorecardInfo]:
        """Every scorecard at its current version."""
        return self.repo.scorecards()

    # ------------------------------------------------------------------ sampling and the work list
    def sample(self, user: Principal | None, *, week: str, per_agent: int, seed: str, rules: Sequence[Rule] = (),
               tz: str = "UTC", dry_run: bool = False) -> SampleResult:
        """Sample a week's calls of the agents in the user's scope (score_calls) onto the work list."""
        self._holds(user, Permission.SCORE_CALLS)
        label, start, end = parse_week(week, tz)
        rows = [c for c in self.repo.candidates(start, end) if self.may(user, Permission.SCORE_CALLS, c.agent_id)]
        already = self.repo.sampled(c.call_uuid for c in rows)
        picks = tuple(sample(rows, week=label, per_agent=per_agent, seed=seed, rules=rules, exclude=already))
        added: tuple[QaItem, ...] = ()
        if not dry_run:
            added = tuple(self.repo.add_items(picks, week=label, seed=seed, actor=self.actor(user)))
        return SampleResult(label, len({c.call_uuid for c in rows}), picks, added)

    def worklist(self, user: Principal | None, *, state: ItemState | None = None, week: str | None = None,
                 agent_id: str | None = None, mine: bool = False) -> list[QaItem]:
        """The work list, only calls of agents in the user's scope (score_calls)."""
        self._holds(user, Permission.SCORE_CALLS)
        assigned = (user.login if user is not None else None) if mine else None
        return [i for i in self.repo.items(state=state, week=week, agent_id=agent_id, assigned_to=assigned)
                if self.may(user, Permission.SCORE_CALLS, i.agent_id)
                and (user is None or i.agent_id != user.agent_id)]

    def item(self, user: Principal | None, item_id: int) -> QaItem:
        """One work-list item (score_calls on its agent)."""
        item = self.repo.item(item_id)
        self.guard(user, Permission.SCORE_CALLS, not_own=True)(item.agent_id)
        return item

    def assign(self, user: Principal | None, item_id: int, login: str | None) -> QaItem:
        """Give an item to a QA user who may score it (or to nobody)."""
        if login is not None:
            target = self.directory().by_login.get(login)
            if target is None:
                raise InvalidValue("--to", login, "no such user")
            item = self.repo.item(item_id)
            if not allowed(target, Permission.SCORE_CALLS, self.directory().agent(item.agent_id, ResourceKind.CALL)):
                raise InvalidValue("--to", login, f"may not score agent {item.agent_id}'s calls")
        return self.repo.assign(item_id, login, actor=self.actor(user),
                                guard=self.guard(user, Permission.SCORE_CALLS, not_own=True))

    def start(self, user: Principal | None, item_id: int) -> QaItem:
        """Open an item to score it."""
        return self.repo.start(item_id, actor=self.actor(user),
                               guard=self.guard(user, Permission.SCORE_CALLS, not_own=True))

    def release(self, user: Principal | None, item_id: int) -> QaItem:
        """Put an item back to do."""
        return self.repo.release(item_id, actor=self.actor(user),
                                 guard=self.guard(user, Permission.SCORE_CALLS, not_own=True))

    def score(self, user: Principal | None, item_id: int, scorecard: str, answers: Mapping[str, Answer],
              comments: Sequence[Comment] = ()) -> QaScore:
        """Score an item's call (score_calls on its agent, never one's own)."""
        return self.repo.score(item_id, scorecard, answers, comments, actor=self.actor(user),
                               guard=self.guard(user, Permission.SCORE_CALLS, not_own=True))

    def comment(self, user: Principal | None, score_id: int, comment: Comment) -> QaScore:
        """Add a comment to a score (score_calls on its agent)."""
        return self.repo.comment(score_id, comment, actor=self.actor(user),
                                 guard=self.guard(user, Permission.SCORE_CALLS, not_own=True))

    # ------------------------------------------------------------------ scores, disputes
    def score_view(self, user: Principal | None, score_id: int) -> QaScore:
        """A score for someone who may see it: its agent himself, a QA user or a supervisor over the agent."""
        sc = self.repo.get_score(score_id)
        if user is None:
            return sc
        decisions = [allowed(user, p, self.directory().agent(sc.agent_id, ResourceKind.SCORE))
                     for p in (Permission.AGENT_SELF, Permission.SCORE_CALLS, Permission.RESOLVE_DISPUTES)]
        if (sc.agent_id == user.agent_id and decisions[0]) or any(decisions[1:]):
            return sc
        raise ApiError(403, f"{user.login} may not see agent {sc.agent_id}'s scores: {decisions[-1].reason}",
                       kind="forbidden")

    def my_scores(self, user: Principal, *, start: float | None = None, end: float | None = None) -> list[QaScore]:
        """The user's own agent's scores, with comments and disputes (agent_self)."""
        if user.agent_id is None:      # not an agent: nobody scores him
            return []
        if not allowed(user, Permission.AGENT_SELF, self.directory().agent(user.agent_id)):
            raise ApiError(403, f"{user.login} holds no role with {Permission.AGENT_SELF}", kind="forbidden")
        return self.repo.scores(agent_id=user.agent_id, start=start, end=end)

    def dispute(self, user: Principal | None, score_id: int, reason: str) -> QaScore:
        """The agent disputes his score, once, with a reason (agent_self, his own calls only)."""
        return self.repo.dispute(score_id, reason, actor=self.actor(user),
                                 guard=self.guard(user, Permission.AGENT_SELF, ResourceKind.SCORE, own=True))

    def resolve(self, user: Principal | None, score_id: int, resolution: Resolution, *, total: float | None = None,
                note: str = "", keep_critical: bool = False) -> QaScore:
        """Settle a dispute (resolve_disputes over the agent: his supervisor); a changed total clears the critical
        fail unless ``keep_critical`` (then the total is 0)."""
        return self.repo.resolve(score_id, resolution, total=total, note=note, keep_critical=keep_critical,
                                 actor=self.actor(user),
                                 guard=self.guard(user, Permission.RESOLVE_DISPUTES, ResourceKind.SCORE,
                                                  not_own=True))

    def disputes(self, user: Principal | None, *, open_only: bool = True) -> list[QaScore]:
        """Disputed scores the user may resolve."""
        self._holds(user, Permission.RESOLVE_DISPUTES, ResourceKind.SCORE)
        state = ItemState.DISPUTED if open_only else None
        ids = [i.score_id for i in self.repo.items(state=state) if i.score_id is not None
               and self.may(user, Permission.RESOLVE_DISPUTES, i.agent_id, ResourceKind.SCORE)]
        return [s for s in self.repo.scores(ids=ids) if s.dispute is not None]
