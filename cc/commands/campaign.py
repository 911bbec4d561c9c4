"""`ccctl campaign add|set|start|pause|stop|list|show|status|import|assign|leads`: outbound campaigns in the store."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import click

from cc.authz import Permission, ResourceKind
from cc.commands.acting import audited
from cc.commands.admin_common import DURATION, client_from, db_option, emit, emit_one, open_repos, usage_error
from cc.commands.campaign_import import import_leads
from cc.commands.options import old_spelling, prefer
from cc.commands.output import dumps, out_console
from cc.dialer.campaign_state import CampaignEvent
from cc.dialer.model import CampaignMode, CampaignSettings, CampaignStatus, LeadState, Result, RetryRule
from cc.errors import ApiError, CCError, ControllerUnreachable, InvalidValue
from cc.store.campaigns import Campaign, CampaignFigures, CampaignRepos, LeadDetail

__all__ = ["FLAGS", "CampaignOptions", "campaign", "campaign_repos", "result_records", "split_list"]

LIST_COLUMNS = ("name", "mode", "status", "queue", "agents", "teams", "leads", "open")
LEAD_COLUMNS = ("id", "name", "numbers", "state", "owner", "attempts", "last_result", "next_dial_at", "priority", "tz")


def campaign_repos(db_url: str | None) -> CampaignRepos:
    """The campaign repositories on the migrated database the options name."""
    return CampaignRepos(open_repos(db_url).db)


def split_list(text: str | None) -> tuple[str, ...] | None:
    """``"1001, 1002"`` -> ("1001", "1002"); ``none`` or empty -> (); None (not given) -> None."""
    if text is None:
        return None
    if text.strip().lower() in ("", "none"):
        return ()
    return tuple(dict.fromkeys(p.strip() for p in text.replace("\uff0c", ",").split(",") if p.strip()))


def _fraction(text: str) -> float:
    """``3%`` or ``0.03`` -> 0.03."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise InvalidValue("--abandon-target", text, "expected a percentage (3%) or a fraction (0.03)") from None
    return value


def _campaign_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--mode", type=click.Choice([m.value for m in CampaignMode]),
                     help="manual (click to dial), preview, progressive or predictive."),
        click.option("--description", help="Free text."),
        click.option("--queue", help="The queue whose agents work the campaign (`none` clears it)."),
        click.option("--agent-ids", "agents", metavar="A,B,...",
                     help="Ids of the agents who work it (`none` clears them)."),
        old_spelling("--agents", "--agent-ids", "old_agents", metavar="A,B,..."),
        click.option("--teams", metavar="T,U,...", help="Teams whose agents work it (`none` clears them)."),
        click.option("--caller-ids", metavar="NUMBER,...", help="Caller-ID pool (E.164 or national numbers)."),
        click.option("--dial-string", metavar="TEMPLATE",
                     help="Dial string with {number} and {gw}, e.g. sofia/gateway/{gw}/{number}."),
        click.option("--gateway", metavar="GW", help="The gateway {gw} stands for."),
        click.option("--calendar", help="Business-hours calendar of the calling window, read in each lead's "
                                        "local time (`ccctl hours`); `none`: any hour."),
        click.option("--dial-timeout", type=DURATION, help="How long a number rings (at least 15s)."),
        click.option("--max-attempts", type=click.IntRange(min=1), help="Dials of a lead at most."),
        click.option("--abandon-target", metavar="PCT", help="Most answered calls no agent takes: 3% (default)."),
        click.option("--overflow-message", metavar="SOUND", help="What a customer hears when no agent is free."),
        click.option("--min-agents-predictive", type=click.IntRange(min=1),
                     help="Below this many agents a predictive campaign dials progressively."),
        click.option("--preview-timeout", type=DURATION, help="How long a preview waits for the agent."),
        click.option("--skip-delay", type=DURATION, help="When a lead an agent skipped in preview comes back."),
        click.option("--wrap-up-timeout", type=DURATION, help="Wrap-up after which the default result applies."),
        click.option("--wrap-up-default", metavar="RESULT", help="Result applied at the wrap-up timeout."),
        click.option("--callback-reminder", type=DURATION, help="Remind the agent this long before a callback."),
        click.option("--max-lines-per-agent", type=click.FloatRange(min=1.0),
                     help="Predictive: most calls out per available agent."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


@dataclasses.dataclass
class CampaignOptions:
    """The options of `campaign add|set` that were given (None: not given)."""

    values: dict[str, Any]

    def apply(self, base: Campaign) -> Campaign:
        """``base`` with the options applied; InvalidValue (exit 2) for a setting the dialer refuses."""
        v = self.values
        s: dict[str, Any] = {}
        for opt, key in (("mode", "mode"), ("dial_string", "dial_string"), ("gateway", "gateway"),
                         ("dial_timeout", "dial_timeout_s"), ("max_attempts", "max_attempts"),
                         ("overflow_message", "overflow_message"), ("min_agents_predictive", "min_agents_predictive"),
                         ("preview_timeout", "preview_timeout_s"), ("skip_delay", "skip_delay_s"),
                         ("wrap_up_timeout", "wrap_up_timeout_s"),
                         ("wrap_up_default", "wrap_up_default_result"), ("callback_reminder", "callback_reminder_s"),
                         ("max_lines_per_agent", "max_lines_per_agent")):
            if v.get(opt) is not None:
                s[key] = CampaignMode(v[opt]) if key == "mode" else v[opt]
        if v.get("calendar") is not None:
            s["calendar"] = None if v["calendar"].strip().lower() == "none" else v["calendar"]
        if v.get("abandon_target") is not None:
            s["abandon_target"] = _fraction(v["abandon_target"])
        caller_ids = split_list(v.get("caller_ids"))
        if caller_ids is not None:
            s["caller_ids"] = caller_ids
        settings = dataclasses.replace(base.settings, **s)
        c: dict[str, Any] = {"settings": settings}
        if v.get("description") is not None:
            c["description"] = v["description"]
        if v.get("queue") is not None:
            c["queue"] = None if v["queue"].strip().lower() == "none" else v["queue"]
        for key in ("agents", "teams"):
            items = split_list(v.get(key))
            if items is not None:
                c[key] = items
        return dataclasses.replace(base, **c)


def _renamed(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the old spelling ``--agents A,B`` read as ``--agent-ids`` (docs/admin.md: option names)."""
    old = values.pop("old_agents", None)
    values["agents"] = prefer(click.get_current_context(), "--agent-ids", "agents", values.get("agents"),
                              "--agents", old)
    return values


@click.group("campaign")
def campaign() -> None:
    """Outbound campaigns: settings, lead files, who calls whom, and their figures.

    \b
    Examples:
      ccctl campaign add spring --mode predictive --gateway carrier1 --caller-ids 02161234567 --teams sales
      ccctl campaign import spring leads.xlsx
      ccctl campaign assign spring --team sales
      ccctl campaign start spring
      ccctl campaign status spring --watch
    """


@campaign.command("add")
@audited("campaign.add", Permission.MANAGE_CAMPAIGNS, ResourceKind.CAMPAIGN, key="name")
@click.argument("name")
@_campaign_options
@db_option
def add(name: str, db_url: str | None, **values: Any) -> None:
    """Add campaign NAME (a draft; `start` dials). It gets the default results and retry rules.

    \b
    Example:
      ccctl campaign add spring --mode progressive --dial-string 'sofia/gateway/{gw}/{number}' \\
          --gateway carrier1 --caller-ids 02161234567,02161234568 --calendar office --agent-ids 1001,1002
    """
    values = _renamed(values)
    repos = campaign_repos(db_url)
    new = CampaignOptions(values).apply(Campaign(CampaignSettings(name, gateway="")))
    made = repos.campaigns.create(new)
    click.echo(f"campaign {made.name} added ({made.settings.mode.value}, draft)")


@campaign.command("set")
@audited("campaign.set", Permission.MANAGE_CAMPAIGNS, ResourceKind.CAMPAIGN, key="name")
@click.argument("name")
@_campaign_options
@db_option
def set_(name: str, db_url: str | None, **values: Any) -> None:
    """Change settings of campaign NAME (only the options given).

    \b
    Example:
      ccctl campaign set spring --abandon-target 2% --dial-timeout 30s --agent-ids 1001,1002,1003
    """
    values = _renamed(values)
    repos = campaign_repos(db_url)
    if all(v is None for v in values.values()):
        usage_error("give at least one setting to change (see --help)")
    repos.campaigns.update(CampaignOptions(values).apply(repos.campaigns.get(name)))
    click.echo(f"campaign {name} updated")


def _status_command(verb: str, event: CampaignEvent, text: str) -> None:
    @campaign.command(verb, help=f"{text}\n\n\b\nExample:\n  ccctl campaign {verb} spring")
    @audited(f"campaign.{verb}", Permission.MANAGE_CAMPAIGNS, ResourceKind.CAMPAIGN, key="name")
    @click.argument("name")
    @db_option
    def command(name: str, db_url: str | None) -> None:
        got = campaign_repos(db_url).campaigns.change_status(name, event)
        click.echo(f"campaign {name}: {got.status.value}")

    command.__doc__ = text


_status_command("start", CampaignEvent.START, "Start (or resume) campaign NAME: the dialer may dial its leads.")
_status_command("pause", CampaignEvent.PAUSE, "Pause campaign NAME: nothing new is dialed; calls in progress end.")
_status_command("stop", CampaignEvent.STOP, "Stop campaign NAME (it may be started again later).")


def _summary(repos: CampaignRepos, c: Campaign) -> dict[str, Any]:
    counts = repos.leads.owner_counts(c.name)
    leads = repos.campaigns.figures(c.name, time.time()).leads
    return {"name": c.name, "mode": c.settings.mode.value, "status": c.status.value, "queue": c.queue,
            "agents": list(c.agents), "teams": list(c.teams), "leads": sum(leads.values()),
            "open": sum(counts.values())}


@campaign.command("del")
@audited("campaign.del", Permission.MANAGE_CAMPAIGNS, ResourceKind.CAMPAIGN, key="name")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do it (the leads, lists, results and callbacks go with it).")
@db_option
def delete(name: str, yes: bool, db_url: str | None) -> None:
    """Delete campaign NAME with its leads, imports, results, callbacks and its own DNC list (dial history
    stays). A running campaign must be stopped first.

    \b
    Example:
      ccctl campaign del spring --yes
    """
    if not yes:
        usage_error(f"deleting campaign {name} deletes its leads too: add --yes")
    campaign_repos(db_url).campaigns.delete(name)
    click.echo(f"campaign {name} deleted")


@campaign.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(db_url: str | None, as_json: bool) -> None:
    """List campaigns with their lead counts.

    \b
    Example:
      ccctl campaign list --json
    """
    repos = campaign_repos(db_url)
    emit([_summary(repos, c) for c in repos.campaigns.list()], LIST_COLUMNS, as_json=as_json, title="campaigns",
         empty="no campaigns")


def _settings_record(c: Campaign) -> dict[str, Any]:
    s = c.settings
    return {"name": c.name, "description": c.description, "status": c.status.value, "mode": s.mode.value,
            "queue": c.queue, "agents": list(c.agents), "teams": list(c.teams), "caller_ids": list(s.caller_ids),
            "dial_string": s.dial_string, "gateway": s.gateway, "calendar": s.calendar,
            "dial_timeout_s": s.dial_timeout_s, "max_attempts": s.max_attempts,
            "abandon_target": f"{s.abandon_target * 100:g}%", "overflow_message": s.overflow_message,
            "min_agents_predictive": s.min_agents_predictive, "preview_timeout_s": s.preview_timeout_s,
            "skip_delay_s": s.skip_delay_s, "wrap_up_timeout_s": s.wrap_up_timeout_s,
            "wrap_up_default_result": s.wrap_up_default_result,
            "callback_reminder_s": s.callback_reminder_s, "max_lines_per_agent": s.max_lines_per_agent}


@campaign.command("show")
@click.argument("name")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(name: str, db_url: str | None, as_json: bool) -> None:
    """Show campaign NAME: settings, results with retry rules, and the files imported into it.

    \b
    Example:
      ccctl campaign show spring
    """
    repos = campaign_repos(db_url)
    c = repos.campaigns.get(name)
    results = result_records(repos.results.list(name))
    lists = repos.campaigns.lists(name)
    if as_json:
        emit_one({"campaign": _settings_record(c), "results": results, "lists": lists}, as_json=True)
        return
    emit_one(_settings_record(c), as_json=False, title=f"campaign {name}")
    emit(results, ("code", "label_zh", "label_en", "flags", "retry"), as_json=False, title="results")
    emit(lists, ("id", "file_name", "rows", "imported", "rejected", "duplicates", "dnc", "imported_by"),
         as_json=False, title="imports", empty="no file imported yet")


#: The flags of a result, in the order tables show them.
FLAGS = ("human_reached", "final", "retry", "callback", "dnc", "success", "abandon", "agent_set")


def result_records(results: Sequence[tuple[Result, RetryRule | None]]) -> list[dict[str, Any]]:
    """Results with their flags (as one list) and retry rule, for tables and JSON."""
    out = []
    for r, rule in results:
        out.append({"code": str(r.code), "label_zh": r.label_zh, "label_en": r.label_en,
                    "flags": [f for f in FLAGS if getattr(r, f)],
                    "retry": f"{_duration(rule.delay_s)} x{rule.max_retries}" if rule is not None else None,
                    "retry_delay_s": rule.delay_s if rule is not None else None,
                    "retry_max": rule.max_retries if rule is not None else None})
    return out


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _controller_reports(name: str, controller_url: str | None, token: str | None) -> dict[str, Any] | None:
    """The live figures of campaign ``name`` from the controller whose dialer runs it (GET
    /api/v1/campaigns/NAME/live answering ``source: dialer``), or None: no controller answers, or it does not
    run the campaign's dialer (its answer would be the database's figures, which this command reads itself)."""
    try:
        client = client_from(controller_url, token, timeout=2.0)
        doc = client.get(f"/api/v1/campaigns/{client.quote(name)}/live")
    except (ControllerUnreachable, ApiError, CCError):
        return None
    return doc if isinstance(doc, dict) and doc.get("source") == "dialer" else None


def _status_record(c: Campaign, f: CampaignFigures, live: bool | None,
                   dialer: dict[str, Any] | None = None) -> dict[str, Any]:
    rate = f.abandon_rate
    out: dict[str, Any] = {
        "campaign": c.name, "status": c.status.value, "mode": c.settings.mode.value,
        "leads": dict(sorted(f.leads.items())), "leads_total": sum(f.leads.values()),
        "dials_24h": f.dials, "contacts_24h": f.contacts,
        "contact_rate_24h": None if f.contact_rate is None else round(f.contact_rate, 4),
        "abandons_24h": f.abandons, "abandon_rate_24h": None if rate is None else round(rate, 4),
        "abandon_target": c.settings.abandon_target, "successes_24h": f.successes,
        "callbacks_pending": f.callbacks_pending, "callbacks_overdue": f.callbacks_overdue,
        "last_dial_at": f.last_dial_at,
    }
    if dialer is not None:   # the running dialer's own view: who works the campaign now, its abandon rate
        out["agents"], out["agents_working"] = dialer.get("agents"), dialer.get("agents_working")
        if dialer.get("abandon_rate_24h") is not None:
            out["abandon_rate_24h"] = round(float(dialer["abandon_rate_24h"]), 4)
    if live is False:
        out["note"] = ("running, but no controller is reporting on this campaign (is `ccctl serve` running here, "
                       "with $CC_URL and $CC_TOKEN set?); the figures are the database's")
    return out


def _print_status(rec: dict[str, Any]) -> None:
    shown = dict(rec)
    for key in ("contact_rate_24h", "abandon_rate_24h", "abandon_target"):
        if shown.get(key) is not None:
            shown[key] = f"{shown[key] * 100:.1f}%"
    if shown.get("last_dial_at") is not None:
        shown["last_dial_at"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(shown["last_dial_at"]))
    note = shown.pop("note", None)
    emit_one(shown, as_json=False, title=f"campaign {rec['campaign']}")
    if note:
        click.echo(f"note: {note}")


@campaign.command("status")
@click.argument("name")
@click.option("--watch", is_flag=True, help="Refresh until Ctrl-C.")
@click.option("--every", type=DURATION, default=2.0, show_default=True, help="Refresh interval with --watch.")
@click.option("--times", type=click.IntRange(min=1), hidden=True, help="Stop --watch after this many refreshes.")
@click.option("--url", "controller_url", metavar="URL", help="Controller API (default: $CC_URL).")
@click.option("--token", metavar="TOKEN", help="API bearer token (default: $CC_TOKEN).")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(name: str, watch: bool, every: float, times: int | None, controller_url: str | None, token: str | None,
           db_url: str | None, as_json: bool) -> None:
    """Live figures of campaign NAME from the database: leads by state, dials, contacts and the abandon rate
    of the last 24 hours, callbacks pending and overdue; with the agents working it and the dialer's abandon rate
    when the controller at --url runs its dialer (GET /api/v1/campaigns/NAME/live).

    \b
    Examples:
      ccctl campaign status spring
      ccctl campaign status spring --watch --every 5s
    """
    repos = campaign_repos(db_url)
    n = 0
    while True:
        c = repos.campaigns.get(name)
        dialer = _controller_reports(name, controller_url, token) if c.status == CampaignStatus.RUNNING else None
        live = None if c.status != CampaignStatus.RUNNING else dialer is not None
        rec = _status_record(c, repos.campaigns.figures(name, time.time()), live, dialer)
        if as_json:
            click.echo(dumps(rec, indent=None if watch else 2))
        else:
            if watch:
                out_console().clear()
            _print_status(rec)
        n += 1
        if not watch or (times is not None and n >= times):
            return
        try:
            time.sleep(every)
        except KeyboardInterrupt:
            return


campaign.add_command(import_leads)


@campaign.command("assign")
@audited("campaign.assign", Permission.MANAGE_LEADS, ResourceKind.CAMPAIGN, key="name")
@click.argument("name")
@click.option("--even", "even", metavar="A,B,...", help="Deal the leads in turn to these agents.")
@click.option("--team", help="Deal the leads in turn to the agents of this team.")
@click.option("--per-agent", type=click.IntRange(min=1), help="With --even/--team: at most N leads each.")
@click.option("--lead", "leads", multiple=True, metavar="ID", help="This lead (repeatable); with --agent or --unowned.")
@click.option("--agent", help="With --lead: the agent who gets it.")
@click.option("--from", "from_agent", metavar="AGENT", help="Move the open leads of this agent (he leaves) ...")
@click.option("--to", "to_agent", metavar="AGENT", help="... to this agent (or use --even/--team).")
@click.option("--unowned", is_flag=True, help="Make the leads (--lead or --from) anyone's.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print leads given per agent as JSON.")
def assign(name: str, even: str | None, team: str | None, per_agent: int | None, leads: Sequence[str],
           agent: str | None, from_agent: str | None, to_agent: str | None, unowned: bool, db_url: str | None,
           as_json: bool) -> None:
    """Give campaign NAME's open leads (new, retry, callback) to agents; pending callbacks follow their lead.

    Without --from, the unowned leads are dealt (by priority, then age); with --from, that agent's leads
    are moved (to one agent, dealt among others, or made anyone's).

    \b
    Examples:
      ccctl campaign assign spring --even 1001,1002,1003
      ccctl campaign assign spring --team sales --per-agent 200
      ccctl campaign assign spring --lead 17 --lead 18 --agent 1002
      ccctl campaign assign spring --from 1001 --to 1004
      ccctl campaign assign spring --from 1001 --even 1002,1003
      ccctl campaign assign spring --from 1001 --unowned
    """
    repos = campaign_repos(db_url)
    given: dict[str, int]
    if leads:
        if bool(agent) == unowned or even or team or from_agent or to_agent or per_agent:
            usage_error("--lead takes exactly one of --agent AGENT or --unowned (and nothing else)")
        n = repos.leads.assign_leads(name, list(leads), None if unowned else agent)
        given = {agent or "": n}
    else:
        targets = [x for x in (even is not None, team is not None, to_agent is not None, unowned) if x]
        if len(targets) != 1:
            usage_error("give one of --even AGENTS, --team TEAM, --to AGENT (with --from), --unowned (with --from), "
                        "or --lead ID --agent AGENT")
        if (to_agent is not None or unowned) and from_agent is None:
            usage_error("--to and --unowned move leads --from an agent")
        if agent is not None:
            usage_error("--agent goes with --lead")
        if to_agent is not None or unowned:
            if per_agent is not None:
                usage_error("--per-agent goes with --even or --team")
            assert from_agent is not None
            given = {to_agent or "": repos.leads.move(name, from_agent, to_agent)}
        else:
            agents = list(split_list(even) or ()) if even is not None else _team_agents(db_url, team or "")
            if not agents:
                usage_error(f"team {team!r} has no agents" if team is not None else "--even names no agent")
            given = repos.leads.assign_even(name, agents, per_agent=per_agent, from_agent=from_agent)
    if as_json:
        click.echo(dumps(given, indent=2))
        return
    total = sum(given.values())
    parts = ", ".join(f"{a or 'anyone'}: {n}" for a, n in given.items())
    click.echo(f"campaign {name}: {total} lead(s) assigned ({parts})" if total else
               f"campaign {name}: no open lead to assign")


def _team_agents(db_url: str | None, team: str) -> list[str]:
    r = open_repos(db_url)
    r.teams.get(team)
    return r.teams.members(team)


def _lead_record(d: LeadDetail) -> dict[str, Any]:
    lead = d.lead
    return {"id": int(lead.lead_id), "name": d.name, "numbers": list(lead.numbers), "state": lead.state.value,
            "owner": lead.owner_agent, "attempts": lead.attempts, "last_result": lead.last_result,
            "next_dial_at": (time.strftime("%Y-%m-%d %H:%M", time.localtime(lead.next_dial_at))
                             if lead.next_dial_at is not None else None),
            "priority": lead.priority, "tz": lead.tz, "customer_id": lead.customer_id, "list_id": lead.list_id,
            "row": d.row_no, "extra": dict(d.extra)}


@campaign.command("leads")
@click.argument("name")
@click.option("--state", "states", multiple=True, type=click.Choice([s.value for s in LeadState]),
              help="Only leads in this state (repeatable).")
@click.option("--owner", help="Only leads of this agent.")
@click.option("--unowned", is_flag=True, help="Only leads nobody owns.")
@click.option("--result", help="Only leads whose last result is this code.")
@click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True, help="Most leads shown.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many first.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with extra fields and customer ids).")
def leads_(name: str, states: Sequence[str], owner: str | None, unowned: bool, result: str | None, limit: int,
           offset: int, db_url: str | None, as_json: bool) -> None:
    """List the leads of campaign NAME, filtered by state, owner and last result.

    \b
    Examples:
      ccctl campaign leads spring --state new --unowned
      ccctl campaign leads spring --owner 1001 --result busy --json
    """
    if owner is not None and unowned:
        usage_error("--owner and --unowned exclude each other")
    repos = campaign_repos(db_url)
    found = repos.leads.list(name, states=[LeadState(s) for s in states], owner=owner, unowned=unowned,
                             result=result, limit=limit, offset=offset)
    emit([_lead_record(d) for d in found], LEAD_COLUMNS, as_json=as_json, title=f"leads of {name}",
         empty="no leads")
