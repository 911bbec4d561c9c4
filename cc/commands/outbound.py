"""`ccctl dnc add|del|import|check|list`, `ccctl result list|add|set|del|reset --campaign C`,
`ccctl callback list|add|done` and `ccctl customer-type list|add|del`: the do-not-call list, a campaign's
results (dispositions), scheduled callbacks, and the kinds of customer kept on each customer."""

from __future__ import annotations

import datetime
import time
import zoneinfo
from collections.abc import Sequence
from typing import Any

import click

from cc.authz import Permission, ResourceKind
from cc.commands.acting import audited, on_agent
from cc.commands.admin_common import DURATION, db_option, emit, open_repos, usage_error
from cc.commands.campaign import FLAGS, result_records
from cc.commands.campaign_import import by_whom
from cc.commands.io import read_table
from cc.commands.output import dumps
from cc.dialer.model import Result, RetryRule
from cc.errors import ConfigError, InvalidValue
from cc.leadfile import PHONE_FIELDS, map_columns, to_e164
from cc.store.campaign_tables import CallbackState
from cc.store.campaigns import CampaignRepos, CustomerType, DncEntry, ScheduledCallback

__all__ = ["callback", "customer_type", "dnc", "result"]


def _repos(db_url: str | None, region: str = "CN") -> CampaignRepos:
    return CampaignRepos(open_repos(db_url).db, region=region.upper())


def _when(epoch: float | None) -> str | None:
    return None if epoch is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def _dnc_record(e: DncEntry) -> dict[str, Any]:
    return {"number": e.number, "scope": e.campaign or "global", "reason": e.reason, "added_at": _when(e.added_at),
            "added_by": e.added_by}


# ------------------------------------------------------------------------------------------ dnc


@click.group("dnc")
def dnc() -> None:
    """The do-not-call list: global, or for one campaign; checked when a lead is queued and before each dial.

    \b
    Examples:
      ccctl dnc add 13800138000 --reason "asked not to be called"
      ccctl dnc add 13900139000 --campaign spring
      ccctl dnc check 13800138000 --campaign spring
      ccctl dnc import complaints.xlsx
    """


_region = click.option("--region", default="CN", show_default=True, metavar="CC",
                       help="Country of numbers written without +country code.")
_scope = click.option("--campaign", help="The campaign's own list (default: the global list).")


@dnc.command("add")
@audited("dnc.add", Permission.MANAGE_LEADS, ResourceKind.LEAD, key="campaign")
@click.argument("numbers", nargs=-1, required=True)
@_scope
@click.option("--reason", default="", help="Why (kept with the entry).")
@_region
@db_option
def dnc_add(numbers: Sequence[str], campaign: str | None, reason: str, region: str, db_url: str | None) -> None:
    """Put NUMBERS on the do-not-call list (all or none: one bad number adds nothing).

    \b
    Example:
      ccctl dnc add 13800138000 +8613900139000 --reason complaint
    """
    added, had = _repos(db_url, region).dnc.add(list(numbers), campaign=campaign, reason=reason, by=by_whom())
    where = f"campaign {campaign}'s list" if campaign else "the global list"
    click.echo(f"{len(added)} number(s) added to {where}" + (f"; {len(had)} already on it" if had else ""))


@dnc.command("del")
@audited("dnc.del", Permission.MANAGE_LEADS, ResourceKind.LEAD, key="number")
@click.argument("number")
@_scope
@_region
@db_option
def dnc_del(number: str, campaign: str | None, region: str, db_url: str | None) -> None:
    """Take NUMBER off the global list (or a campaign's).

    \b
    Example:
      ccctl dnc del 13800138000
    """
    _repos(db_url, region).dnc.remove(number, campaign=campaign)
    where = f"campaign {campaign}'s list" if campaign else "the global list"
    click.echo(f"{number} removed from {where}")


@dnc.command("check")
@click.argument("number")
@_scope
@_region
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def dnc_check(number: str, campaign: str | None, region: str, db_url: str | None, as_json: bool) -> None:
    """Whether NUMBER may be dialed (globally, or in a campaign). Exit 1 when it is on a list.

    \b
    Example:
      ccctl dnc check 13800138000 --campaign spring
    """
    entries = _repos(db_url, region).dnc.check(number, campaign)
    e164 = to_e164(number, region.upper())
    if as_json:
        click.echo(dumps({"number": e164, "blocked": bool(entries), "entries": [_dnc_record(e) for e in entries]},
                         indent=2))
    elif entries:
        for e in entries:
            click.echo(f"{e164}: do not call ({e.campaign or 'global'} list"
                       + (f": {e.reason}" if e.reason else "") + ")")
    else:
        click.echo(f"{e164}: may be called")
    if entries:
        click.get_current_context().exit(1)


@dnc.command("list")
@_scope
@click.option("--all", "all_scopes", is_flag=True, help="Every list (global and campaigns).")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def dnc_list(campaign: str | None, all_scopes: bool, db_url: str | None, as_json: bool) -> None:
    """List the global do-not-call list (or a campaign's, or all).

    \b
    Example:
      ccctl dnc list --all --json
    """
    entries = _repos(db_url).dnc.list(campaign=campaign, all_scopes=all_scopes)
    emit([_dnc_record(e) for e in entries], ("number", "scope", "reason", "added_at", "added_by"), as_json=as_json,
         title="do not call", empty="the list is empty")


@dnc.command("import")
@audited("dnc.import", Permission.MANAGE_LEADS, ResourceKind.LEAD, key="path")
@click.argument("path", metavar="FILE.xlsx|FILE.csv")
@_scope
@click.option("--reason", default="", help="Why (kept with every entry).")
@click.option("--encoding", metavar="NAME", help="Text encoding of a CSV file (default: detected).")
@_region
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def dnc_import(path: str, campaign: str | None, reason: str, encoding: str | None, region: str, db_url: str | None,
               as_json: bool) -> None:
    """Add every number of a file's phone columns (电话/手机/座机, phone/mobile/landline, or a column named
    number) to the list. Bad numbers are listed with row and column, and then nothing is added.

    \b
    Example:
      ccctl dnc import complaints.csv --reason complaint
    """
    header, rows = read_table(path, encoding)
    try:
        cmap = map_columns(header)
    except InvalidValue as exc:
        raise ConfigError(f"{path}:1: {exc}", file=path, line=1) from None
    numbers: list[str] = []
    problems: list[dict[str, Any]] = []
    for row_no, cells, read_problems in rows:
        problems.extend({"row": row_no, "column": "", "reason": p} for p in read_problems)
        for i, f in enumerate(cmap.fields):
            if f not in PHONE_FIELDS or i >= len(cells) or not cells[i].strip():
                continue
            try:
                numbers.append(to_e164(cells[i], region.upper()))
            except InvalidValue as exc:
                problems.append({"row": row_no, "column": cmap.label(i), "reason": f"{cells[i]!r}: {exc.why}"})
    added: list[str] = []
    had: list[str] = []
    if not problems:
        added, had = _repos(db_url, region).dnc.add(numbers, campaign=campaign, reason=reason, by=by_whom())
    if as_json:
        click.echo(dumps({"file": path, "added": len(added), "already": len(had), "problems": problems}, indent=2))
    else:
        for p in problems:
            click.echo(f"{path}: row {p['row']}" + (f", column {p['column']}" if p["column"] else "")
                       + f": {p['reason']}", err=True)
        click.echo(f"{path}: nothing added ({len(problems)} problem(s))" if problems
                   else f"{path}: {len(added)} number(s) added, {len(had)} already on the list")
    if problems:
        click.get_current_context().exit(1)


# ------------------------------------------------------------------------------------------ results


@click.group("result")
def result() -> None:
    """A campaign's results (dispositions): labels in zh-CN and en, flags, and the retry rule of each.

    \b
    Examples:
      ccctl result list --campaign spring
      ccctl result add vip --campaign spring --zh 贵宾 --en VIP --flags human_reached,final,success
      ccctl result set busy --campaign spring --retry 10m:5
      ccctl result del vip --campaign spring
    """


_campaign_required = click.option("--campaign", required=True, help="The campaign.")


def _flags(text: str | None) -> dict[str, bool]:
    if text is None or text.strip().lower() in ("", "none"):
        return {}
    out = {}
    for f in (x.strip() for x in text.split(",") if x.strip()):
        if f not in FLAGS:
            raise InvalidValue("--flags", f, f"unknown flag (known: {', '.join(FLAGS)})")
        out[f] = True
    return out


def _rule(text: str | None) -> RetryRule | None:
    """``10m:3`` -> RetryRule(600, 3); ``none`` -> None."""
    assert text is not None
    if text.strip().lower() == "none":
        return None
    delay, sep, count = text.partition(":")
    try:
        seconds = DURATION.convert(delay, None, None)
        return RetryRule(seconds, int(count)) if sep else None
    except (click.BadParameter, ValueError):
        pass
    raise InvalidValue("--retry", text, "expected DELAY:MAX (e.g. 10m:3), or none")


def _result_options(fn: Any) -> Any:
    fn = click.option("--retry", metavar="DELAY:MAX", help="Dial again after DELAY, at most MAX times for this "
                                                           "result (10m:3); `none`: never.")(fn)
    fn = click.option("--flags", metavar="F,G", help=f"Flags (replace the old ones): {', '.join(FLAGS)}; "
                                                     "`none` clears them.")(fn)
    fn = click.option("--en", "label_en", help="English label.")(fn)
    return click.option("--zh", "label_zh", help="Chinese label.")(fn)


@result.command("list")
@_campaign_required
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def result_list(campaign: str, db_url: str | None, as_json: bool) -> None:
    """List the results of a campaign.

    \b
    Example:
      ccctl result list --campaign spring --json
    """
    rows = result_records(_repos(db_url).results.list(campaign))
    emit(rows, ("code", "label_zh", "label_en", "flags", "retry"), as_json=as_json, title=f"results of {campaign}")


@result.command("add")
@audited("result.add", Permission.MANAGE_CAMPAIGNS, ResourceKind.CAMPAIGN, key="campaign")
@click.argument("code")
@_campaign_required
@_result_options
@db_option
def result_add(code: str, campaign: str, label_zh: str | None, label_en: str | None, flags: str | None,
               retry: str | None, db_url: str | None) -> None:
    """Add result CODE to a campaign.

    \b
    Example:
      ccctl result add wrong_person --campaign spring --zh 非本人 --en "Wrong person" --flags human_reached,final
    """
    r = Result(code, label_zh or "", label_en or code, **_flags(flags))
    rule = _rule(retry) if retry is not None else None
    _repos(db_url).results.save(campaign, r, rule, create=True)
    click.echo(f"result {code} added to campaign {campaign}")


@result.command("set")
@audited("result.set", Permission.MANAGE_CAMPAIGNS, ResourceKind.CAMPAIGN, key="campaign")
@click.argument("code")
@_campaign_required
@_result_options
@db_option
def result_set(code: str, campaign: str, label_zh: str | None, label_en: str | None, flags: str | None,
               retry: str | None, db_url: str | None) -> None:
    """Change result CODE of a campaign (only the options given).

    \b
    Examples:
      ccctl result set no_answer --campaign spring --retry 2h:4
      ccctl result set interested --campaign spring --zh 有意向 --flags human_reached,callback,agent_set
    """
    if all(v is None for v in (label_zh, label_en, flags, retry)):
        usage_error("give at least one of --zh, --en, --flags, --retry")
    repos = _repos(db_url)
    current = {r.code: (r, rule) for r, rule in repos.results.list(campaign)}
    if code not in current:
        from cc.errors import NotFound

        raise NotFound(f"result of campaign {campaign}", code)
    old, old_rule = current[code]
    changes: dict[str, Any] = {}
    if label_zh is not None:
        changes["label_zh"] = label_zh
    if label_en is not None:
        changes["label_en"] = label_en
    if flags is not None:
        new_flags = _flags(flags)
        changes.update({f: f in new_flags for f in FLAGS})
    import dataclasses

    rule = _rule(retry) if retry is not None else old_rule
    repos.results.save(campaign, dataclasses.replace(old, **changes), rule, create=False)
    click.echo(f"result {code} of campaign {campaign} updated")


@result.command("del")
@audited("result.del", Permission.MANAGE_CAMPAIGNS, ResourceKind.CAMPAIGN, key="campaign")
@click.argument("code")
@_campaign_required
@db_option
def result_del(code: str, campaign: str, db_url: str | None) -> None:
    """Remove result CODE from a campaign (past dials keep it; the dialer's own results cannot go).

    \b
    Example:
      ccctl result del voicemail --campaign spring
    """
    _repos(db_url).results.delete(campaign, code)
    click.echo(f"result {code} removed from campaign {campaign}")


@result.command("reset")
@audited("result.reset", Permission.MANAGE_CAMPAIGNS, ResourceKind.CAMPAIGN, key="campaign")
@_campaign_required
@db_option
def result_reset(campaign: str, db_url: str | None) -> None:
    """Give a campaign the default results and retry rules again.

    \b
    Example:
      ccctl result reset --campaign spring
    """
    _repos(db_url).results.reset(campaign)
    click.echo(f"campaign {campaign}: default results restored")


# ------------------------------------------------------------------------------------------ callbacks


def _cb_record(cb: ScheduledCallback) -> dict[str, Any]:
    return {"id": cb.id, "campaign": cb.campaign, "lead": int(cb.lead_id), "due": _when(cb.due_at),
            "agent": cb.agent_id or "anyone", "state": cb.state.value, "note": cb.note,
            "reminded": ", ".join(x for x, on in (("-5min", cb.reminded_before), ("due", cb.reminded_due)) if on)}


def _due(text: str, tz: str | None) -> float:
    """``2026-12-08 14:30`` (local time, or ``tz``), ``14:30`` (today), or ``+2h`` / ``in 30m`` -> epoch."""
    raw = text.strip()
    if raw.startswith(("+", "in ")):
        return time.time() + DURATION.convert(raw.removeprefix("in ").lstrip("+").strip(), None, None)
    zone = zoneinfo.ZoneInfo(tz) if tz else None
    now = datetime.datetime.now(zone).astimezone(zone) if zone else datetime.datetime.now().astimezone()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%H:%M"):
        try:
            parsed = datetime.datetime.strptime(raw, fmt)
        except ValueError:
            continue
        if fmt == "%H:%M":
            parsed = parsed.replace(year=now.year, month=now.month, day=now.day)
        return parsed.replace(tzinfo=now.tzinfo).timestamp() if zone is None else \
            parsed.replace(tzinfo=zone).timestamp()
    raise InvalidValue("--due", text, "expected YYYY-MM-DD HH:MM, HH:MM (today) or +DURATION (+2h)")


@click.group("callback")
def callback() -> None:
    """Scheduled callbacks: a lead called back at a time to the minute, by its owner or anyone.

    \b
    Examples:
      ccctl callback add 17 --due "2026-12-08 14:30" --note "call after lunch"
      ccctl callback list --campaign spring --agent 1001
      ccctl callback done 3
    """


@callback.command("add")
@audited("callback.add", Permission.MANAGE_LEADS, ResourceKind.LEAD, key="lead", locate=on_agent("agent"))
@click.argument("lead")
@click.option("--due", required=True, help="When: YYYY-MM-DD HH:MM, HH:MM (today) or +2h.")
@click.option("--tz", help="Time zone of --due (default: this computer's).")
@click.option("--agent", help="Who calls back (default: the lead's owner).")
@click.option("--anyone", is_flag=True, help="Anyone of the campaign may call back.")
@click.option("--note", default="", help="A note for the agent.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the callback as JSON.")
def callback_add(lead: str, due: str, tz: str | None, agent: str | None, anyone: bool, note: str,
                 db_url: str | None, as_json: bool) -> None:
    """Schedule a callback of lead LEAD (its id: `ccctl campaign leads`).

    \b
    Example:
      ccctl callback add 17 --due +2h --anyone
    """
    if agent and anyone:
        usage_error("--agent and --anyone exclude each other")
    if tz is not None:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidValue("--tz", tz, "not an IANA time zone (e.g. Asia/Shanghai)") from None
    cb = _repos(db_url).callbacks.add(lead, _due(due, tz), agent_id=agent, anyone=anyone, note=note, by=by_whom())
    if as_json:
        click.echo(dumps(_cb_record(cb), indent=2))
    else:
        click.echo(f"callback {cb.id}: lead {cb.lead_id} at {_when(cb.due_at)} by {cb.agent_id or 'anyone'}")


@callback.command("list")
@click.option("--campaign", help="Only this campaign's.")
@click.option("--agent", help="Only this agent's (and those anyone may take).")
@click.option("--state", "states", multiple=True, type=click.Choice([s.value for s in CallbackState]),
              help="States shown (repeatable; default: pending).")
@click.option("--overdue", is_flag=True, help="Only those already due.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def callback_list(campaign: str | None, agent: str | None, states: Sequence[str], overdue: bool,
                  db_url: str | None, as_json: bool) -> None:
    """List callbacks by due time.

    \b
    Example:
      ccctl callback list --campaign spring --overdue
    """
    found = _repos(db_url).callbacks.list(campaign=campaign, agent_id=agent,
                                          states=[CallbackState(s) for s in states] or [CallbackState.PENDING],
                                          due_before=time.time() if overdue else None)
    emit([_cb_record(c) for c in found], ("id", "campaign", "lead", "due", "agent", "state", "reminded", "note"),
         as_json=as_json, title="callbacks", empty="no callbacks")


@callback.command("done")
@audited("callback.done", Permission.MANAGE_LEADS, ResourceKind.LEAD, key="callback_id")
@click.argument("callback_id", metavar="ID", type=int)
@click.option("--missed", "outcome", flag_value="missed", help="It was not kept.")
@click.option("--cancel", "outcome", flag_value="cancelled", help="It is no longer wanted.")
@db_option
def callback_done(callback_id: int, outcome: str | None, db_url: str | None) -> None:
    """Close callback ID as done (or --missed, --cancel).

    \b
    Example:
      ccctl callback done 3
    """
    cb = _repos(db_url).callbacks.finish(callback_id, CallbackState(outcome or "done"))
    click.echo(f"callback {cb.id}: {cb.state.value}")


# ------------------------------------------------------------------------------------------ customer types


@click.group("customer-type")
def customer_type() -> None:
    """Kinds of customer (意向客户, 多次跟踪, 成单, 会员 ...): a lead file's 客户类型 column and the agent's
    wrap-up name one, and it is kept on the customer.

    \b
    Examples:
      ccctl customer-type list
      ccctl customer-type add vip --zh 贵宾 --en VIP
      ccctl customer-type del vip
    """


@customer_type.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def customer_type_list(db_url: str | None, as_json: bool) -> None:
    """List the customer types (the defaults are there from revision 0007 on).

    \b
    Example:
      ccctl customer-type list --json
    """
    emit(_repos(db_url).customer_types.list(), ("code", "label_zh", "label_en", "position"), as_json=as_json,
         title="customer types", empty="no customer types")


@customer_type.command("add")
@audited("customer_type.add", Permission.EDIT_CONFIG, ResourceKind.CONFIG, key="code")
@click.argument("code")
@click.option("--zh", "label_zh", default="", help="Chinese label.")
@click.option("--en", "label_en", default="", help="English label.")
@click.option("--position", type=int, help="Order in lists (default: last).")
@db_option
def customer_type_add(code: str, label_zh: str, label_en: str, position: int | None, db_url: str | None) -> None:
    """Add (or relabel) customer type CODE.

    \b
    Example:
      ccctl customer-type add vip --zh 贵宾 --en VIP
    """
    repo = _repos(db_url).customer_types
    known = repo.list()
    if position is None:
        position = next((t.position for t in known if t.code == code), max((t.position for t in known), default=0) + 1)
    repo.save(CustomerType(code, label_zh, label_en or code, position))
    click.echo(f"customer type {code} saved")


@customer_type.command("del")
@audited("customer_type.del", Permission.EDIT_CONFIG, ResourceKind.CONFIG, key="code")
@click.argument("code")
@db_option
def customer_type_del(code: str, db_url: str | None) -> None:
    """Delete customer type CODE (customers of that type keep no type).

    \b
    Example:
      ccctl customer-type del vip
    """
    _repos(db_url).customer_types.delete(code)
    click.echo(f"customer type {code} deleted")
