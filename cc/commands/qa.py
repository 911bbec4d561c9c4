"""`ccctl qa`: scorecards, weekly sampling onto the QA work list, scoring with comments, disputes and resolutions.

Like `ccctl user`, these work on the database directly; ``--as LOGIN`` (or $CC_USER) acts as that user under the
permission policy (a QA user sees and scores only calls of agents in his scope), else as the database's operator.
Every change is audited. See docs/qa.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cc.authz import Principal
from cc.commands.acting import as_option, os_user
from cc.commands.admin_common import db_option, emit, open_repos
from cc.commands.output import dumps
from cc.errors import InvalidValue
from cc.qa.sample import parse_rule
from cc.qa.score import Answer, parse_answer
from cc.qa.scorecard import load_scorecard
from cc.qa.service import QaService
from cc.qa.views import clock, item_dict, score_dict, when
from cc.qa.worklist import ItemState, Resolution
from cc.store.qa import Comment, QaRepo, QaScore, ScorecardInfo
from cc.store.users import UserRepo

__all__ = ["qa"]

F = TypeVar("F", bound=Callable[..., Any])


def _json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(fn)


def _open(db_url: str | None, as_login: str | None) -> tuple[QaService, Principal | None]:
    db = open_repos(db_url).db
    users = UserRepo(db)
    directory = users.directory()[0]
    user = None
    if as_login:
        user = directory.by_login.get(as_login)
        if user is None:
            raise InvalidValue("--as", as_login, "no such user")
    svc = QaService(QaRepo(db), lambda: directory, client="cli", operator=f"cli:{os_user()}")
    return svc, user


def _offset(text: str) -> float:
    """``83``, ``1:23`` or ``0:01:23`` -> seconds."""
    parts = text.split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidValue("--comment", text, "a time is SECONDS, M:SS or H:MM:SS") from None
    total = 0.0
    for v in values:
        total = total * 60 + v
    return total


def parse_comment(text: str) -> Comment:
    """``[M:SS ]text``: a comment, at a time in the recording when it starts with one."""
    m = re.match(r"^\s*@?(\d+(?::\d{1,2}){0,2}(?:\.\d+)?)\s+(.+)$", text, re.S)
    if m:
        return Comment(m.group(2).strip(), _offset(m.group(1)))
    if not text.strip():
        raise InvalidValue("--comment", text, "must not be empty")
    return Comment(text.strip())


def _card_dict(info: ScorecardInfo) -> dict[str, Any]:
    return {"name": info.name, "version": info.version, "current_version": info.current_version,
            "in_use": info.in_use, **{k: v for k, v in info.card.to_dict().items() if k != "name"}}


def _print_score(s: QaScore, as_json: bool) -> None:
    if as_json:
        click.echo(dumps(score_dict(s), indent=2))
        return
    total = "not scorable (all N/A)" if s.total is None else f"{s.total:.1f}"
    flag = f"  CRITICAL FAIL (would be {s.raw_total:.1f})" if s.critical_failed and s.raw_total is not None else ""
    click.echo(f"score {s.id}: call {s.call_uuid}, agent {s.agent_id}, {s.scorecard} v{s.version} by {s.qa_login}: "
               f"{total}{flag} [{s.state.value}]")
    for k, v in s.answers.items():
        click.echo(f"  {k}: {v}")
    for c in s.comments:
        click.echo(f"  @{clock(c.offset_s) or '-'} {c.author}: {c.text}")
    if s.dispute is not None:
        d = s.dispute
        click.echo(f"  disputed by {d.by}: {d.reason}")
        if d.resolution is not None:
            click.echo(f"  resolved by {d.resolved_by}: {d.resolution.value}"
                       + (f" -> {d.resolved_total:.1f}" if d.resolved_total is not None else "")
                       + (f" ({d.note})" if d.note else ""))


@click.group("qa")
def qa() -> None:
    """Quality assurance: scorecards, weekly samples of calls, scoring, disputes (docs/qa.md).

    \b
    Examples:
      ccctl qa scorecard add support.yaml
      ccctl qa sample --week 2026-W49 --per-agent 3 --seed 7 --rule 'survey<=2' --rule transferred
      ccctl qa list --week 2026-W49 --state todo --as qa-li
      ccctl qa score 12 --scorecard support --answer greet=pass --answer verify=fail --comment '1:23 no ID check'
      ccctl qa dispute 5 --reason "the IVR verified the caller" --as agent-1001
      ccctl qa resolve 5 --changed 85 --note "IVR verification counts" --as sup-wang
    """


# ---------------------------------------------------------------------------------------------- scorecards


@qa.group("scorecard")
def scorecard() -> None:
    """Scorecards: sections of items, weights adding up to 100, critical items, N/A (a YAML file each).

    \b
    Example:
      ccctl qa scorecard add support.yaml && ccctl qa scorecard show support
    """


@scorecard.command("add")
@click.argument("file", type=click.Path(dir_okay=False))
@_json_option
@as_option
@db_option
def scorecard_add(file: str, as_json: bool, as_login: str | None, db_url: str | None) -> None:
    """Add a scorecard from a YAML file (errors name file:line).

    \b
    Example:
      ccctl qa scorecard add support.yaml
    """
    svc, user = _open(db_url, as_login)
    info = svc.add_scorecard(user, load_scorecard(file))
    click.echo(dumps(_card_dict(info), indent=2) if as_json else f"scorecard {info.name} v{info.version} added")


@scorecard.command("set")
@click.argument("file", type=click.Path(dir_okay=False))
@_json_option
@as_option
@db_option
def scorecard_set(file: str, as_json: bool, as_login: str | None, db_url: str | None) -> None:
    """Change a scorecard from its YAML file: a new version when calls were scored with the current one.

    \b
    Example:
      ccctl qa scorecard set support.yaml
    """
    svc, user = _open(db_url, as_login)
    info = svc.set_scorecard(user, load_scorecard(file))
    click.echo(dumps(_card_dict(info), indent=2) if as_json else f"scorecard {info.name} is at v{info.version}")


@scorecard.command("show")
@click.argument("name")
@click.option("--version", type=click.IntRange(min=1), help="This version (default: the current one).")
@_json_option
@as_option
@db_option
def scorecard_show(name: str, version: int | None, as_json: bool, as_login: str | None, db_url: str | None) -> None:
    """Show a scorecard's sections and items.

    \b
    Example:
      ccctl qa scorecard show support --version 1 --json
    """
    svc, user = _open(db_url, as_login)
    info = svc.scorecard(user, name, version)
    if as_json:
        click.echo(dumps(_card_dict(info), indent=2))
        return
    click.echo(f"{info.name} v{info.version} (current v{info.current_version})"
               f"{': ' + info.card.description if info.card.description else ''}")
    for s in info.card.sections:
        click.echo(f"  {s.title}")
        for i in s.items:
            flags = ", ".join(f for f, on in (("critical", i.critical), ("N/A allowed", i.na)) if on)
            click.echo(f"    {i.key:<16} {i.weight:>6}  {i.text}{f'  ({flags})' if flags else ''}")


@scorecard.command("list")
@_json_option
@as_option
@db_option
def scorecard_list(as_json: bool, as_login: str | None, db_url: str | None) -> None:
    """List scorecards at their current version.

    \b
    Example:
      ccctl qa scorecard list
    """
    svc, user = _open(db_url, as_login)
    rows = [{"name": i.name, "version": i.version, "items": sum(1 for _ in i.card.items()),
             "critical": sum(1 for x in i.card.items() if x.critical), "in_use": i.in_use,
             "description": i.card.description} for i in svc.scorecards(user)]
    emit(rows, ["name", "version", "items", "critical", "in_use", "description"], as_json=as_json,
         empty="no scorecards")


# ---------------------------------------------------------------------------------------------- sampling


@qa.command("sample")
@click.option("--week", required=True, metavar="YYYY-Www", help="The ISO week, e.g. 2026-W49.")
@click.option("--per-agent", default=3, show_default=True, type=click.IntRange(min=0),
              help="Random calls per agent.")
@click.option("--seed", required=True, type=int, help="The seed: the same seed and history give the same sample.")
@click.option("--rule", "rules", multiple=True, metavar="RULE",
              help="Also pick: talk>DURATION, survey<=N, result=CODE, transferred; ':N' caps it per agent.")
@click.option("--tz", default="UTC", show_default=True, metavar="ZONE", help="The week's time zone.")
@click.option("--dry-run", is_flag=True, help="Show the sample; add nothing to the work list.")
@_json_option
@as_option
@db_option
def sample_cmd(week: str, per_agent: int, seed: int, rules: tuple[str, ...], tz: str, dry_run: bool, as_json: bool,
               as_login: str | None, db_url: str | None) -> None:
    """Sample a week's calls per agent onto the work list (only agents in the user's scope).

    \b
    Example:
      ccctl qa sample --week 2026-W49 --per-agent 3 --seed 7 --rule 'talk>15m:1' --rule 'result=complaint'
    """
    parsed = [parse_rule(r) for r in rules]
    svc, user = _open(db_url, as_login)
    res = svc.sample(user, week=week, per_agent=per_agent, seed=str(seed), rules=parsed, tz=tz, dry_run=dry_run)
    added = {i.call_uuid: i.id for i in res.added}
    rows = [{"item": added.get(p.call_uuid), "call": p.call_uuid, "agent": p.agent_id, "at": when(p.at),
             "why": ", ".join(p.reasons)} for p in res.picks]
    if as_json:
        click.echo(dumps({"week": res.week, "candidates": res.candidates, "picked": len(res.picks),
                          "added": len(res.added), "dry_run": dry_run, "picks": rows}, indent=2))
        return
    emit(rows, ["item", "call", "agent", "at", "why"], as_json=False, empty="no calls picked")
    click.echo(f"{res.week}: {res.candidates} calls, {len(res.picks)} picked, "
               f"{'none added (dry run)' if dry_run else f'{len(res.added)} added to the work list'}", err=True)


# ---------------------------------------------------------------------------------------------- the work list


@qa.command("list")
@click.option("--week", metavar="YYYY-Www", help="Only this week.")
@click.option("--state", "states", multiple=True, type=click.Choice([s.value for s in ItemState]),
              help="Only items in this state (repeatable).")
@click.option("--agent", "agent_id", metavar="ID", help="Only this agent.")
@click.option("--mine", is_flag=True, help="Only items assigned to me (--as).")
@_json_option
@as_option
@db_option
def list_cmd(week: str | None, states: tuple[str, ...], agent_id: str | None, mine: bool, as_json: bool,
             as_login: str | None, db_url: str | None) -> None:
    """The QA work list (calls of agents in the user's scope).

    \b
    Example:
      ccctl qa list --week 2026-W49 --state todo --as qa-li
    """
    svc, user = _open(db_url, as_login)
    wanted = {ItemState(s) for s in states}
    items = [i for i in svc.worklist(user, state=next(iter(wanted)) if len(wanted) == 1 else None, week=week,
                                     agent_id=agent_id, mine=mine) if not wanted or i.state in wanted]
    emit([item_dict(i) for i in items], ["id", "call", "agent", "at", "why", "state", "assigned", "score"],
         as_json=as_json, empty="the work list is empty")


@qa.command("assign")
@click.argument("item_id", type=int)
@click.option("--to", "login", metavar="LOGIN", help="The QA user (omit: nobody).")
@_json_option
@as_option
@db_option
def assign_cmd(item_id: int, login: str | None, as_json: bool, as_login: str | None, db_url: str | None) -> None:
    """Assign a work-list item to a QA user who may score it.

    \b
    Example:
      ccctl qa assign 12 --to qa-li
    """
    svc, user = _open(db_url, as_login)
    item = svc.assign(user, item_id, login)
    click.echo(dumps(item_dict(item), indent=2) if as_json else f"item {item.id} assigned to {login or 'nobody'}")


def _answers(pairs: tuple[str, ...]) -> dict[str, Answer]:
    out: dict[str, Answer] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidValue("--answer", pair, "expected ITEM=pass|fail|na|POINTS")
        out[key.strip()] = parse_answer(key.strip(), value)
    return out


@qa.command("score")
@click.argument("item_id", type=int)
@click.option("--scorecard", "card", required=True, metavar="NAME", help="The scorecard (its current version).")
@click.option("--answer", "answers", multiple=True, metavar="ITEM=VALUE",
              help="One item's answer: pass, fail, na or points (every item needs one).")
@click.option("--comment", "comments", multiple=True, metavar="[M:SS ]TEXT",
              help="A comment, at a time in the recording when it starts with one.")
@_json_option
@as_option
@db_option
def score_cmd(item_id: int, card: str, answers: tuple[str, ...], comments: tuple[str, ...], as_json: bool,
              as_login: str | None, db_url: str | None) -> None:
    """Score a work-list item's call.

    \b
    Example:
      ccctl qa score 12 --scorecard support --answer greet=pass --answer verify=pass \\
        --answer solve=45 --answer hold=na --comment '2:05 long silence' --as qa-li
    """
    parsed, notes = _answers(answers), [parse_comment(c) for c in comments]
    svc, user = _open(db_url, as_login)
    _print_score(svc.score(user, item_id, card, parsed, notes), as_json)


@qa.command("show")
@click.argument("score_id", type=int)
@_json_option
@as_option
@db_option
def show_cmd(score_id: int, as_json: bool, as_login: str | None, db_url: str | None) -> None:
    """Show a score with its answers, comments and dispute.

    \b
    Example:
      ccctl qa show 5 --as agent-1001
    """
    svc, user = _open(db_url, as_login)
    _print_score(svc.score_view(user, score_id), as_json)


@qa.command("mine")
@_json_option
@as_option
@db_option
def mine_cmd(as_json: bool, as_login: str | None, db_url: str | None) -> None:
    """The acting agent's own scores (needs --as).

    \b
    Example:
      ccctl qa mine --as agent-1001
    """
    svc, user = _open(db_url, as_login)
    if user is None:
        raise InvalidValue("--as", None, "name the agent's user (or set $CC_USER)")
    rows = [{"id": s.id, "call": s.call_uuid, "scorecard": f"{s.scorecard} v{s.version}", "total": s.total,
             "critical": s.critical_failed, "comments": len(s.comments), "state": s.state.value}
            for s in svc.my_scores(user)]
    if as_json:
        click.echo(dumps([score_dict(s) for s in svc.my_scores(user)], indent=2))
        return
    emit(rows, ["id", "call", "scorecard", "total", "critical", "comments", "state"], as_json=False,
         empty="no scores yet")


@qa.command("dispute")
@click.argument("score_id", type=int)
@click.option("--reason", required=True, metavar="TEXT", help="Why the score is wrong.")
@_json_option
@as_option
@db_option
def dispute_cmd(score_id: int, reason: str, as_json: bool, as_login: str | None, db_url: str | None) -> None:
    """Dispute one's own score (once, with a reason).

    \b
    Example:
      ccctl qa dispute 5 --reason "the IVR verified the caller" --as agent-1001
    """
    svc, user = _open(db_url, as_login)
    _print_score(svc.dispute(user, score_id, reason), as_json)


@qa.command("resolve")
@click.argument("score_id", type=int)
@click.option("--upheld", "outcome", flag_value="upheld", help="The score stands.")
@click.option("--changed", "total", type=click.FloatRange(0, 100), metavar="TOTAL", help="Change the total.")
@click.option("--note", default="", metavar="TEXT", help="Why.")
@click.option("--keep-critical", is_flag=True,
              help="With --changed 0: the call stays a critical fail (a changed total clears it otherwise).")
@_json_option
@as_option
@db_option
def resolve_cmd(score_id: int, outcome: str | None, total: float | None, note: str, keep_critical: bool,
                as_json: bool, as_login: str | None, db_url: str | None) -> None:
    """Resolve a dispute: --upheld, or --changed TOTAL (the agent's supervisor). A changed total clears the
    score's critical fail, unless --keep-critical (with the total 0).

    \b
    Examples:
      ccctl qa resolve 5 --upheld --note "verification is required" --as sup-wang
      ccctl qa resolve 5 --changed 85 --as sup-wang
      ccctl qa resolve 5 --changed 0 --keep-critical --note "fail stands, points were wrong" --as sup-wang
    """
    if (outcome is None) == (total is None):
        raise click.UsageError("give one of --upheld or --changed TOTAL")
    resolution = Resolution.UPHELD if outcome else Resolution.CHANGED
    svc, user = _open(db_url, as_login)
    _print_score(svc.resolve(user, score_id, resolution, total=total, note=note, keep_critical=keep_critical),
                 as_json)
