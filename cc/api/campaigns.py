"""The HTTP API's campaign administration: campaigns, live figures, leads, lead files, assignment, DNC, results
and callbacks (the routes are in cc.api.app's ROUTES; these are their handlers).

Every store call runs in the API's thread pool (:class:`cc.api.offload.Offload`), never in the gevent hub. Every
change writes its audit row in the change's own transaction (:class:`cc.store.audit.AuditedDatabase`), except a
status change carried out by the running dialer (cc.runtime.campaigns), whose row follows it. Lead and DNC files
come as ``multipart/form-data`` parsed by Werkzeug's form parser; the file is read and checked in the thread pool.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.formparser import parse_form_data

from cc.dialer.campaign_state import CampaignEvent
from cc.dialer.model import CampaignMode, CampaignSettings, LeadState, Result, RetryRule
from cc.errors import ApiError, ConfigError, InvalidValue, NotFound
from cc.leadfile import PHONE_FIELDS, LeadInput, RowProblem, check_lead_row, map_columns, to_e164, valid_tz
from cc.store.audit import Actor, AuditedDatabase, AuditRepo, Change
from cc.store.campaign_tables import CallbackState
from cc.store.campaigns import (
    Campaign,
    CampaignRepos,
    DncEntry,
    ImportOutcome,
    LeadDetail,
    ScheduledCallback,
)
from cc.store.db import Database

__all__ = ["CAMPAIGN_AUDIT", "CAMPAIGN_FIELDS", "CONTROL_ACTIONS", "FLAGS", "MAX_UPLOAD", "RESULT_FIELDS",
           "CampaignApi"]

T = TypeVar("T")

#: The largest lead or DNC file the API takes (a 100,000-row workbook is ~3 MB, its CSV ~6 MB).
MAX_UPLOAD = 32 * 1024 * 1024
#: The status changes of ``POST /api/v1/campaigns/{name}/control``.
CONTROL_ACTIONS = tuple(e.value for e in CampaignEvent)
#: The audit action each changing route writes in its change's transaction (handler -> action; a status change
#: writes campaign.<action>). ``dnc_check`` is a POST only to keep the number out of URLs: it changes nothing.
CAMPAIGN_AUDIT: dict[str, str] = {
    "campaign_add": "campaign.add", "campaign_set": "campaign.set", "campaign_control": "campaign.<action>",
    "campaign_import": "campaign.import", "campaign_assign": "campaign.assign", "result_add": "result.add",
    "result_set": "result.set", "result_del": "result.del", "dnc_add": "dnc.add", "dnc_del": "dnc.del",
    "dnc_import": "dnc.import", "callback_add": "callback.add", "callback_done": "callback.done",
}
#: The flags of a result (as in `ccctl result`).
FLAGS = ("human_reached", "final", "retry", "callback", "dnc", "success", "abandon", "agent_set")

_S = {"type": "string"}
_N = {"type": "number"}
_I = {"type": "integer"}
_A = {"type": "array", "description": "A list of strings."}
#: The settings a campaign's body may carry (create and update); the JSON schema of each.
CAMPAIGN_FIELDS: dict[str, dict[str, Any]] = {
    "mode": {"type": "string", "enum": [m.value for m in CampaignMode]},
    "description": {"type": "string", "maxLength": 4000},
    "queue": {"type": "string", "maxLength": 128, "description": "The queue whose agents work it ('' clears it)."},
    "agents": {**_A, "description": "Ids of the agents who work it."},
    "teams": {**_A, "description": "Teams whose agents work it."},
    "caller_ids": {**_A, "description": "Caller-ID pool (E.164 or national numbers)."},
    "dial_string": {"type": "string", "maxLength": 512, "description": "With {number} and {gw}."},
    "gateway": {"type": "string", "maxLength": 128},
    "calendar": {"type": "string", "maxLength": 128, "description": "Calling-window calendar ('' clears it)."},
    "dial_timeout_s": {**_N, "description": "How long a number rings (>= 15)."},
    "max_attempts": _I,
    "abandon_target": {**_N, "description": "A fraction: 0.03 is 3 %."},
    "overflow_message": {"type": "string", "maxLength": 512},
    "min_agents_predictive": _I,
    "preview_timeout_s": _N,
    "skip_delay_s": _N,
    "wrap_up_timeout_s": _N,
    "wrap_up_default_result": {"type": "string", "maxLength": 64},
    "callback_reminder_s": _N,
    "max_lines_per_agent": _N,
}
_SETTINGS = ("mode", "caller_ids", "dial_string", "gateway", "calendar", "dial_timeout_s", "max_attempts",
             "abandon_target", "overflow_message", "min_agents_predictive", "preview_timeout_s", "skip_delay_s",
             "wrap_up_timeout_s", "wrap_up_default_result", "callback_reminder_s", "max_lines_per_agent")
_INTS = ("max_attempts", "min_agents_predictive")
#: A result's body fields (add and set).
RESULT_FIELDS: dict[str, dict[str, Any]] = {
    "label_zh": {"type": "string", "maxLength": 128},
    "label_en": {"type": "string", "maxLength": 128},
    **{f: {"type": "boolean"} for f in FLAGS},
    "retry_delay_s": {**_N, "description": "Retry rule: dial again after this long ..."},
    "retry_max": {**_I, "description": "... at most this many times (both, or neither: no rule)."},
    "no_retry_rule": {"type": "boolean", "description": "Remove the result's retry rule (set)."},
}


class ApiRequest(Protocol):
    """What the handlers read of cc.api.app's Request."""

    params: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]
    caller: Any
    client: str
    environ: dict[str, Any]


def _invalid(message: str) -> ApiError:
    return ApiError(400, message, kind="invalid")


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _invalid(f"{key}: expected a list of non-empty strings, not {value!r}")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _apply(base: Campaign, body: Mapping[str, Any]) -> Campaign:
    """``base`` with the body's fields applied (the dialer's own checks raise InvalidValue: 400)."""
    s: dict[str, Any] = {}
    for key in _SETTINGS:
        if key not in body:
            continue
        value = body[key]
        if key in ("dial_timeout_s", "abandon_target", "preview_timeout_s", "skip_delay_s", "wrap_up_timeout_s",
                   "callback_reminder_s", "max_lines_per_agent") and not 0 <= value < 1e9:
            raise _invalid(f"{key}={value!r}: out of range")
        if key in _INTS and not 0 < value < 1_000_000:
            raise _invalid(f"{key}={value!r}: expected a positive integer")
        if key == "mode":
            value = CampaignMode(value)
        elif key == "caller_ids":
            value = _strings(key, value)
        elif key == "calendar":
            value = value.strip() or None
        elif key in ("dial_timeout_s", "abandon_target", "preview_timeout_s", "skip_delay_s", "wrap_up_timeout_s",
                     "callback_reminder_s", "max_lines_per_agent"):
            value = float(value)
        s[key] = value
    out: dict[str, Any] = {"settings": dataclasses.replace(base.settings, **s)}
    if "description" in body:
        out["description"] = body["description"]
    if "queue" in body:
        out["queue"] = body["queue"].strip() or None
    for key in ("agents", "teams"):
        if key in body:
            out[key] = _strings(key, body[key])
    return dataclasses.replace(base, **out)


def campaign_record(c: Campaign) -> dict[str, Any]:
    """A campaign's settings as JSON (the names of the body fields)."""
    s = c.settings
    return {"name": c.name, "description": c.description, "status": c.status.value, "mode": s.mode.value,
            "queue": c.queue, "agents": list(c.agents), "teams": list(c.teams), "caller_ids": list(s.caller_ids),
            "dial_string": s.dial_string, "gateway": s.gateway, "calendar": s.calendar,
            "dial_timeout_s": s.dial_timeout_s, "max_attempts": s.max_attempts, "abandon_target": s.abandon_target,
            "overflow_message": s.overflow_message, "min_agents_predictive": s.min_agents_predictive,
            "preview_timeout_s": s.preview_timeout_s, "skip_delay_s": s.skip_delay_s,
            "wrap_up_timeout_s": s.wrap_up_timeout_s, "wrap_up_default_result": s.wrap_up_default_result,
            "callback_reminder_s": s.callback_reminder_s, "max_lines_per_agent": s.max_lines_per_agent,
            "created_at": c.created_at, "updated_at": c.updated_at}


def result_record(r: Result, rule: RetryRule | None) -> dict[str, Any]:
    """A result (disposition) with its flags and retry rule."""
    return {"code": str(r.code), "label_zh": r.label_zh, "label_en": r.label_en,
            **{f: bool(getattr(r, f)) for f in FLAGS},
            "retry_delay_s": rule.delay_s if rule is not None else None,
            "retry_max": rule.max_retries if rule is not None else None}


def lead_record(d: LeadDetail) -> dict[str, Any]:
    """A lead as JSON (numbers unmasked here: every answer passes through the request's masking)."""
    lead = d.lead
    return {"id": int(lead.lead_id), "name": d.name, "numbers": list(lead.numbers), "state": lead.state.value,
            "owner": lead.owner_agent, "attempts": lead.attempts, "last_result": lead.last_result,
            "next_dial_at": lead.next_dial_at, "last_dialed_at": d.last_dialed_at, "priority": lead.priority,
            "tz": lead.tz, "customer_id": lead.customer_id, "list_id": lead.list_id, "row": d.row_no,
            "extra": dict(d.extra)}


def dnc_record(e: DncEntry) -> dict[str, Any]:
    """A do-not-call entry."""
    return {"number": e.number, "scope": e.campaign or "global", "reason": e.reason, "added_at": e.added_at,
            "added_by": e.added_by}


def callback_record(cb: ScheduledCallback) -> dict[str, Any]:
    """A scheduled callback."""
    return {"id": cb.id, "campaign": cb.campaign, "lead_id": int(cb.lead_id), "due_at": cb.due_at,
            "agent_id": cb.agent_id, "note": cb.note, "state": cb.state.value, "reminded_before": cb.reminded_before,
            "reminded_due": cb.reminded_due, "created_at": cb.created_at, "created_by": cb.created_by,
            "done_at": cb.done_at}


def outcome_record(file_name: str, campaign: str, out: ImportOutcome, *, dry_run: bool) -> dict[str, Any]:
    """An import's answer: counts and the per-row report."""
    return {"file": file_name, "campaign": campaign, "list_id": out.list_id, "committed": out.committed,
            "dry_run": dry_run, "rows": out.rows, "imported": out.imported, "rejected": out.rejected,
            "duplicates": out.duplicates, "dnc": out.dnc, "customers_created": out.customers_created,
            "customers_matched": out.customers_matched,
            "problems": [{"row": p.row, "column": p.column, "kind": p.kind, "reason": p.reason}
                         for p in out.problems]}


def _flag(value: str | None, name: str) -> bool:
    if value is None or value == "":
        return False
    low = value.lower()
    if low in ("1", "true", "yes"):
        return True
    if low in ("0", "false", "no"):
        return False
    raise _invalid(f"{name}={value!r}: expected true or false")


def _positive(value: str | None, name: str, default: int | None, most: int = 10_000) -> int | None:
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except ValueError:
        raise _invalid(f"{name}={value!r}: expected an integer") from None
    if not 1 <= n <= most:
        raise _invalid(f"{name}={n}: expected 1 to {most}")
    return n


@dataclasses.dataclass
class Upload:
    """A file of a multipart form, saved to a temporary path, and the form's other fields."""

    file_name: str
    path: str
    fields: dict[str, str]


class CampaignApi:
    """The campaign routes' handlers over a Service (``service.campaigns``: the running dialers, when composed)."""

    def __init__(self, service: Any, db: Database, offload: Any, region: str = "CN") -> None:
        self.service = service
        self.db = db
        self.offload = offload
        self.region = region

    # ------------------------------------------------------------------ helpers
    def _read(self, fn: Callable[[CampaignRepos], T], what: str, timeout_s: float | None = None) -> T:
        repos = CampaignRepos(self.db, region=self.region)
        return self.offload.run(lambda: fn(repos), what, timeout_s)  # type: ignore[no-any-return]

    @staticmethod
    def _actor(req: ApiRequest) -> Actor:
        user = req.caller.user
        return Actor(user.login, user.id, req.client)

    def _change(self, req: ApiRequest, action: str, kind: str, resource: str, fn: Callable[[CampaignRepos], T],
                detail: Mapping[str, Any] | None = None, *, timeout_s: float | None = None,
                region: str | None = None) -> T:
        """``fn`` on repositories whose first writing transaction also appends the audit row ``action``."""
        change = Change(self._actor(req), action, kind, resource,
                        {**(detail if detail is not None else req.body), "token": req.caller.token})

        def run() -> T:
            audited = AuditedDatabase(self.db, change)
            return fn(CampaignRepos(audited, region=region or self.region))

        return self.offload.run(run, action, timeout_s)  # type: ignore[no-any-return]

    @property
    def runtime(self) -> Any:
        """The controller's outbound campaigns (cc.runtime.campaigns.Campaigns), or None when none is composed."""
        return getattr(self.service, "campaigns", None)

    def _upload(self, req: ApiRequest) -> Upload:
        """The request's ``file`` part (saved to a temporary file) and its other fields, through Werkzeug's form
        parser; 400 when the body is not a multipart form with a file, 413 when it is too large."""
        environ = req.environ
        ctype = environ.get("CONTENT_TYPE", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise _invalid(f"expected a multipart/form-data upload with a 'file' part, not {ctype or 'no body'!r}")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _invalid("bad Content-Length") from None
        if length > MAX_UPLOAD:
            raise ApiError(413, f"upload larger than {MAX_UPLOAD} bytes", kind="too_large")
        try:
            _stream, form, files = parse_form_data(environ, max_content_length=MAX_UPLOAD, silent=False)
        except RequestEntityTooLarge:
            raise ApiError(413, f"upload larger than {MAX_UPLOAD} bytes", kind="too_large") from None
        except (ValueError, HTTPException) as exc:
            raise _invalid(f"the multipart form cannot be read: {exc}") from None
        storage = files.get("file")
        if storage is None or not storage.filename:
            raise _invalid("the form has no 'file' part (a .csv or .xlsx file)")
        name = os.path.basename(storage.filename.replace("\\", "/"))
        suffix = os.path.splitext(name)[1].lower()
        if suffix not in (".csv", ".xlsx", ".xlsm", ".txt", ".xls"):
            raise _invalid(f"file {name!r}: expected a .csv or .xlsx file")
        fd, path = tempfile.mkstemp(prefix="cc-upload-", suffix=suffix)
        with os.fdopen(fd, "wb") as fh:
            storage.save(fh)
        fields = {k: v for k, v in form.items()}
        return Upload(name, path, fields)

    @staticmethod
    def _fields(up: Upload, known: Sequence[str]) -> None:
        unknown = sorted(set(up.fields) - set(known))
        if unknown:
            raise _invalid(f"unknown form field(s) {', '.join(unknown)} (known: file, {', '.join(known)})")

    @staticmethod
    def _region(up: Upload) -> str:
        import phonenumbers

        region = (up.fields.get("region") or "CN").upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise _invalid(f"region={region!r}: not a region code (e.g. CN, US, DE)")
        return region

    # ------------------------------------------------------------------ campaigns
    def campaign_list(self, req: ApiRequest) -> list[dict[str, Any]]:
        """Every campaign with its lead counts."""
        def run(r: CampaignRepos) -> list[dict[str, Any]]:
            out = []
            for c in r.campaigns.list():
                counts = r.leads.owner_counts(c.name)
                leads = r.campaigns.figures(c.name, _now()).leads
                out.append({"name": c.name, "mode": c.settings.mode.value, "status": c.status.value,
                            "queue": c.queue, "agents": list(c.agents), "teams": list(c.teams),
                            "leads": sum(leads.values()), "open": sum(counts.values())})
            return out

        return self._read(run, "campaign list")

    def campaign_add(self, req: ApiRequest) -> dict[str, Any]:
        """Add a campaign (a draft) with the default results."""
        name = req.body["name"].strip()
        if not name or "/" in name:
            raise _invalid(f"name={req.body['name']!r}: expected a name without '/'")
        body = {k: v for k, v in req.body.items() if k != "name"}
        new = _apply(Campaign(CampaignSettings(name, gateway="")), body)
        made = self._change(req, "campaign.add", "campaign", name, lambda r: r.campaigns.create(new))
        return campaign_record(made)

    def campaign_show(self, req: ApiRequest) -> dict[str, Any]:
        """A campaign's settings, results and imports."""
        name = req.params["name"]

        def run(r: CampaignRepos) -> dict[str, Any]:
            c = r.campaigns.get(name)
            return {"campaign": campaign_record(c),
                    "results": [result_record(x, rule) for x, rule in r.results.list(name)],
                    "lists": [dataclasses.asdict(x) for x in r.campaigns.lists(name)]}

        return self._read(run, "campaign")

    def campaign_set(self, req: ApiRequest) -> dict[str, Any]:
        """Change the settings the body names."""
        name = req.params["name"]
        if not req.body:
            raise _invalid(f"give at least one setting to change (known: {', '.join(CAMPAIGN_FIELDS)})")

        def run(r: CampaignRepos) -> Campaign:
            return r.campaigns.update(_apply(r.campaigns.get(name), req.body))

        return campaign_record(self._change(req, "campaign.set", "campaign", name, run))

    def campaign_control(self, req: ApiRequest) -> dict[str, Any]:
        """Start, pause, stop or finish: through the running dialer when one is composed, else in the store."""
        name, event = req.params["name"], CampaignEvent(req.body["action"])
        runtime = self.runtime
        try:
            if runtime is not None:
                self._read(lambda r: r.campaigns.get(name), "campaign")      # 404 before anything moves
                live = runtime.control(name, event)
                self.offload.run(lambda: AuditRepo(self.db).append(
                    self._actor(req), f"campaign.{event.value}", "campaign", name,
                    {"token": req.caller.token, "via": "dialer"}), "audit of a campaign change")
            else:
                live = None
                self._change(req, f"campaign.{event.value}", "campaign", name,
                             lambda r: r.campaigns.change_status(name, event, now=_now()))
        except InvalidValue as exc:
            if exc.field != "campaign":
                raise
            raise ApiError(409, str(exc), kind="conflict") from None
        c = self._read(lambda r: r.campaigns.get(name), "campaign")
        return {"campaign": name, "status": c.status.value, "action": event.value,
                "dialer": live if isinstance(live, dict) and "dials" in live else None}

    def campaign_live(self, req: ApiRequest) -> dict[str, Any]:
        """Live figures: from the running dialer when this controller runs the campaign, else from the store."""
        name = req.params["name"]
        now = _now()
        c, f = self._read(lambda r: (r.campaigns.get(name), r.campaigns.figures(name, now)), "campaign figures")
        rate = f.abandon_rate
        out: dict[str, Any] = {
            "campaign": name, "source": "store", "status": c.status.value, "mode": c.settings.mode.value,
            "leads": dict(sorted(f.leads.items())), "leads_total": sum(f.leads.values()),
            "dials_24h": f.dials, "contacts_24h": f.contacts, "abandons_24h": f.abandons,
            "abandon_rate_24h": rate, "abandon_target": c.settings.abandon_target, "successes_24h": f.successes,
            "callbacks_pending": f.callbacks_pending, "callbacks_overdue": f.callbacks_overdue,
            "last_dial_at": f.last_dial_at, "agents": None, "agents_working": None, "dialer": None}
        runtime = self.runtime
        rc = runtime.running.get(name) if runtime is not None else None
        if rc is not None:
            st = rc.status()
            out.update(source="dialer", status=st["status"], agents=st["agents"], dialer=st,
                       agents_working=sum(1 for s in rc.fed.values() if s in ("ready", "talking", "wrap")))
            if st.get("abandon_rate_24h") is not None:
                out["abandon_rate_24h"] = st["abandon_rate_24h"]
        return out

    # ------------------------------------------------------------------ leads
    def campaign_leads(self, req: ApiRequest) -> dict[str, Any]:
        """A page of a campaign's leads (keyset: ``after`` the last id of the previous page)."""
        name, q = req.params["name"], req.query
        states = []
        for s in (q.get("state") or "").split(","):
            if s.strip():
                try:
                    states.append(LeadState(s.strip()))
                except ValueError:
                    raise _invalid(f"state={s!r}: expected one of {', '.join(x.value for x in LeadState)}") from None
        owner = q.get("owner") or None
        unowned = _flag(q.get("unowned"), "unowned")
        if owner is not None and unowned:
            raise _invalid("owner and unowned exclude each other")
        limit = _positive(q.get("limit"), "limit", 100, 1000)
        after = _positive(q.get("after"), "after", None, 2**62)
        assert limit is not None
        found = self._read(lambda r: r.leads.list(name, states=states, owner=owner, unowned=unowned,
                                                  result=q.get("result") or None, limit=limit, after=after),
                           "campaign leads")
        leads = [lead_record(d) for d in found]
        return {"campaign": name, "leads": leads,
                "next_after": leads[-1]["id"] if len(leads) == limit else None}

    def campaign_import(self, req: ApiRequest) -> dict[str, Any]:
        """A lead file (multipart ``file``; fields map, region, tz, partial, dry_run, encoding) into a campaign:
        checked whole, a per-row report, nothing written when a row has an error unless ``partial``."""
        name = req.params["name"]
        up = self._upload(req)
        try:
            self._fields(up, ("map", "region", "tz", "partial", "dry_run", "encoding"))
            region = self._region(up)
            partial = _flag(up.fields.get("partial"), "partial")
            dry_run = _flag(up.fields.get("dry_run"), "dry_run")
            maps = [m.strip() for m in (up.fields.get("map") or "").split(";") if m.strip()]
            tz = up.fields.get("tz") or None
            if tz is not None and valid_tz(tz) is None:
                raise _invalid(f"tz={tz!r}: not an IANA time zone (e.g. Asia/Shanghai)")
            detail = {"file": up.file_name, "partial": partial, "dry_run": dry_run, "region": region}

            def run(r: CampaignRepos) -> ImportOutcome:
                return _import(r, name, up, region, tz, maps, partial=partial, dry_run=dry_run,
                               by=req.caller.user.login)

            if dry_run:
                out = self._read(run, "lead import", timeout_s=600.0)
            else:
                out = self._change(req, "campaign.import", "campaign", name, run, detail, timeout_s=600.0,
                                   region=region)
        finally:
            os.unlink(up.path)
        return outcome_record(up.file_name, name, out, dry_run=dry_run)

    def campaign_assign(self, req: ApiRequest) -> dict[str, Any]:
        """Give open leads to agents: ``even`` (dealt in turn, ``per_agent`` at most), ``leads`` to ``agent`` (or
        ``unowned``), or ``from_agent``'s leads to ``to_agent`` / ``even`` / ``unowned``."""
        name, b = req.params["name"], req.body
        even = _strings("even", b["even"]) if "even" in b else None
        leads = b.get("leads")
        agent, from_agent, to_agent = b.get("agent"), b.get("from_agent"), b.get("to_agent")
        unowned, per_agent = bool(b.get("unowned", False)), b.get("per_agent")
        if per_agent is not None and not 0 < per_agent < 10_000_000:
            raise _invalid(f"per_agent={per_agent!r}: expected a positive integer")
        if leads is not None:
            if not isinstance(leads, list) or not leads or not all(
                    isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in leads):
                raise _invalid(f"leads: expected a list of lead ids, not {leads!r}")
            if (agent is None) == (not unowned) or even or from_agent or to_agent or per_agent:
                raise _invalid("leads takes exactly one of agent or unowned (and nothing else)")

            def run(r: CampaignRepos) -> dict[str, int]:
                return {agent or "": r.leads.assign_leads(name, list(leads), None if unowned else agent)}
        else:
            targets = [x for x in (even is not None, to_agent is not None, unowned) if x]
            if len(targets) != 1:
                raise _invalid("give one of even [agents], to_agent (with from_agent), unowned (with from_agent), "
                               "or leads [ids] with agent")
            if agent is not None:
                raise _invalid("agent goes with leads")
            if (to_agent is not None or unowned) and from_agent is None:
                raise _invalid("to_agent and unowned move leads from_agent")
            if to_agent is not None or unowned:
                if per_agent is not None:
                    raise _invalid("per_agent goes with even")

                def run(r: CampaignRepos) -> dict[str, int]:
                    assert from_agent is not None
                    return {to_agent or "": r.leads.move(name, from_agent, to_agent)}
            else:
                assert even is not None
                if not even:
                    raise _invalid("even names no agent")

                def run(r: CampaignRepos) -> dict[str, int]:
                    return r.leads.assign_even(name, list(even), per_agent=per_agent, from_agent=from_agent)

        given = self._change(req, "campaign.assign", "campaign", name, run)
        return {"campaign": name, "assigned": sum(given.values()), "by_agent": given}

    # ------------------------------------------------------------------ results
    def result_list(self, req: ApiRequest) -> list[dict[str, Any]]:
        """A campaign's results with their flags and retry rules."""
        name = req.params["name"]
        return [result_record(r, rule) for r, rule in self._read(lambda r: r.results.list(name), "results")]

    def _rule(self, b: Mapping[str, Any], old: RetryRule | None) -> RetryRule | None:
        if b.get("no_retry_rule"):
            if "retry_delay_s" in b or "retry_max" in b:
                raise _invalid("no_retry_rule excludes retry_delay_s and retry_max")
            return None
        if "retry_delay_s" not in b and "retry_max" not in b:
            return old
        delay = b.get("retry_delay_s", old.delay_s if old else None)
        most = b.get("retry_max", old.max_retries if old else None)
        if delay is None or most is None:
            raise _invalid("a retry rule needs both retry_delay_s and retry_max")
        if not 0 <= delay < 1e9 or not 0 <= most < 1_000_000:
            raise _invalid(f"retry rule {delay!r}:{most!r}: out of range")
        return RetryRule(float(delay), int(most))

    def result_add(self, req: ApiRequest) -> dict[str, Any]:
        """Add a result to a campaign."""
        name, b = req.params["name"], req.body
        code = b["code"].strip()
        r = Result(code, b.get("label_zh", ""), b.get("label_en", code), **{f: bool(b.get(f, False)) for f in FLAGS})
        rule = self._rule(b, None)
        saved = self._change(req, "result.add", "campaign", name, lambda x: x.results.save(name, r, rule, create=True))
        return result_record(saved, rule)

    def result_set(self, req: ApiRequest) -> dict[str, Any]:
        """Change a result's labels, flags or retry rule (the fields the body names)."""
        name, code, b = req.params["name"], req.params["code"], req.body
        if not b:
            raise _invalid(f"give at least one field to change (known: {', '.join(RESULT_FIELDS)})")

        def run(x: CampaignRepos) -> tuple[Result, RetryRule | None]:
            current = {str(r.code): (r, rule) for r, rule in x.results.list(name)}
            if code not in current:
                raise NotFound(f"result of campaign {name}", code)
            old, old_rule = current[code]
            changes = {k: b[k] for k in ("label_zh", "label_en", *FLAGS) if k in b}
            rule = self._rule(b, old_rule)
            new = dataclasses.replace(old, **changes)
            x.results.save(name, new, rule, create=False)
            return new, rule

        return result_record(*self._change(req, "result.set", "campaign", name, run))

    def result_del(self, req: ApiRequest) -> dict[str, Any]:
        """Remove a result from a campaign (the dialer's own results stay)."""
        name, code = req.params["name"], req.params["code"]
        self._change(req, "result.del", "campaign", name, lambda x: x.results.delete(name, code), {"code": code})
        return {"ok": True, "campaign": name, "code": code}

    # ------------------------------------------------------------------ DNC
    def dnc_list(self, req: ApiRequest) -> list[dict[str, Any]]:
        """The global list, a campaign's (``campaign``) or every list (``all``)."""
        campaign = req.query.get("campaign") or None
        every = _flag(req.query.get("all"), "all")
        limit = _positive(req.query.get("limit"), "limit", 1000, 100_000)
        assert limit is not None
        entries = self._read(lambda r: r.dnc.list(campaign=campaign, all_scopes=every, limit=limit), "dnc list")
        return [dnc_record(e) for e in entries]

    def _notify_dnc(self, numbers: Sequence[str], campaign: str | None) -> None:
        runtime = self.runtime
        if runtime is not None:
            for n in numbers:
                runtime.dnc_added(n, campaign)

    def dnc_add(self, req: ApiRequest) -> dict[str, Any]:
        """Put numbers on a list (all or none); a running dialer stops dialing them before its next dial."""
        b = req.body
        numbers = _strings("numbers", b["numbers"])
        campaign = b.get("campaign") or None
        added, had = self._change(req, "dnc.add", "lead", campaign or "global",
                                  lambda r: r.dnc.add(list(numbers), campaign=campaign, reason=b.get("reason", ""),
                                                      by=req.caller.user.login), region=self._body_region(b))
        self._notify_dnc(added, campaign)
        return {"added": added, "already": had, "scope": campaign or "global"}

    @staticmethod
    def _body_region(b: Mapping[str, Any]) -> str:
        import phonenumbers

        region = str(b.get("region") or "CN").upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise _invalid(f"region={region!r}: not a region code (e.g. CN, US, DE)")
        return region

    def dnc_del(self, req: ApiRequest) -> dict[str, Any]:
        """Take a number off a list."""
        b = req.body
        campaign = b.get("campaign") or None
        self._change(req, "dnc.del", "lead", campaign or "global",
                     lambda r: r.dnc.remove(b["number"], campaign=campaign), region=self._body_region(b))
        return {"ok": True, "number": b["number"], "scope": campaign or "global"}

    def dnc_check(self, req: ApiRequest) -> dict[str, Any]:
        """Whether a number may be dialed (globally, or in ``campaign``)."""
        b = req.body
        region, campaign = self._body_region(b), b.get("campaign") or None
        e164 = to_e164(b["number"], region)
        entries = self._read(lambda r: r.dnc.check(e164, campaign), "dnc check")
        return {"number": e164, "blocked": bool(entries), "entries": [dnc_record(e) for e in entries]}

    def dnc_import(self, req: ApiRequest) -> dict[str, Any]:
        """Every number of a file's phone columns onto a list (multipart ``file``; fields campaign, reason,
        region, encoding); a bad number is reported with row and column, and then nothing is added."""
        up = self._upload(req)
        try:
            self._fields(up, ("campaign", "reason", "region", "encoding"))
            region = self._region(up)
            campaign = up.fields.get("campaign") or None
            numbers, problems = self.offload.run(lambda: _dnc_numbers(up, region), "dnc file", 300.0)
            added: list[str] = []
            had: list[str] = []
            if not problems:
                added, had = self._change(
                    req, "dnc.import", "lead", campaign or "global",
                    lambda r: r.dnc.add(numbers, campaign=campaign, reason=up.fields.get("reason", ""),
                                        by=req.caller.user.login),
                    {"file": up.file_name, "campaign": campaign}, timeout_s=300.0, region=region)
                self._notify_dnc(added, campaign)
        finally:
            os.unlink(up.path)
        return {"file": up.file_name, "scope": campaign or "global", "committed": not problems,
                "added": len(added), "already": len(had), "problems": problems}

    # ------------------------------------------------------------------ callbacks
    def callback_list(self, req: ApiRequest) -> list[dict[str, Any]]:
        """Callbacks by due time (pending unless ``state``), of a campaign, an agent, or overdue ones."""
        q = req.query
        states = []
        for s in (q.get("state") or "pending").split(","):
            if s.strip():
                try:
                    states.append(CallbackState(s.strip()))
                except ValueError:
                    raise _invalid(f"state={s!r}: expected one of "
                                   f"{', '.join(x.value for x in CallbackState)}") from None
        overdue = _flag(q.get("overdue"), "overdue")
        limit = _positive(q.get("limit"), "limit", 1000, 100_000)
        assert limit is not None
        now = _now()
        found = self._read(lambda r: r.callbacks.list(campaign=q.get("campaign") or None,
                                                      agent_id=q.get("agent") or None, states=states,
                                                      due_before=now if overdue else None, limit=limit), "callbacks")
        return [callback_record(c) for c in found]

    def callback_add(self, req: ApiRequest) -> dict[str, Any]:
        """Schedule a callback of a lead (``due_at``: epoch seconds, cut to the minute)."""
        b = req.body
        lead_id, due = b["lead_id"], b["due_at"]
        if not 0 < lead_id < 2**62:   # a lead id is a 64-bit key: a bigger number is a bad request, not a 500
            raise _invalid(f"lead_id={lead_id}: expected a positive integer")
        if not 0 < due < 1e11:
            raise _invalid(f"due_at={due!r}: expected epoch seconds")
        agent, anyone = b.get("agent") or None, bool(b.get("anyone", False))
        if agent and anyone:
            raise _invalid("agent and anyone exclude each other")
        cb = self._change(req, "callback.add", "lead", str(lead_id),
                          lambda r: r.callbacks.add(lead_id, float(due), agent_id=agent, anyone=anyone,
                                                    note=b.get("note", ""), by=req.caller.user.login))
        return callback_record(cb)

    def callback_done(self, req: ApiRequest) -> dict[str, Any]:
        """Close a pending callback as done (or ``outcome`` missed / cancelled)."""
        raw = req.params["callback_id"]
        if not raw.isdigit() or not 0 < int(raw) < 2**62:
            raise _invalid(f"callback_id={raw!r}: expected a positive integer")
        state = CallbackState(req.body.get("outcome", "done"))
        cb = self._change(req, "callback.done", "lead", raw,
                          lambda r: r.callbacks.finish(int(raw), state, now=_now()))
        return callback_record(cb)


def _now() -> float:
    import time

    return time.time()


def _read_table(up: Upload) -> tuple[list[str], Any]:
    from cc.commands.io import read_table

    try:
        return read_table(up.path, up.fields.get("encoding") or None)
    except ConfigError as exc:   # name the uploaded file, not the temporary one
        raise ConfigError(str(exc).replace(up.path, up.file_name), file=up.file_name, line=exc.line) from None


def _import(r: CampaignRepos, campaign: str, up: Upload, region: str, tz: str | None, maps: Sequence[str], *,
            partial: bool, dry_run: bool, by: str) -> ImportOutcome:
    """Read, check and import an uploaded lead file (in a pool thread)."""
    from cc.leadfile import parse_map_option
    from cc.store.repos import AgentRepo, CalendarRepo

    c = r.campaigns.get(campaign)
    if tz is None:
        tz = CalendarRepo(r.db).get(c.settings.calendar).timezone if c.settings.calendar else (
            "Asia/Shanghai" if region == "CN" else "UTC")
    mapping = parse_map_option(maps)
    header, rows = _read_table(up)
    try:
        cmap = map_columns(header, mapping)
    except InvalidValue as exc:
        raise ConfigError(f"{up.file_name}:1: {exc}", file=up.file_name, line=1) from None
    agents = {a.id for a in AgentRepo(r.db).list()}
    types = r.customer_types.lookup()
    leads: list[LeadInput] = []
    problems: list[RowProblem] = []
    total = 0
    for row_no, cells, read_problems in rows:
        total += 1
        lead, found = check_lead_row(cmap, row_no, cells, region=region, default_tz=tz, read_problems=read_problems,
                                     agents=agents, customer_types=types)
        if lead is not None:
            leads.append(lead)
        problems.extend(found)
    return r.leads.import_rows(campaign, up.file_name, leads, problems, total_rows=total, partial=partial,
                               write=not dry_run, by=by, region=region)


def _dnc_numbers(up: Upload, region: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The numbers of a DNC file's phone columns, and its problems (row, column, reason)."""
    header, rows = _read_table(up)
    try:
        cmap = map_columns(header)
    except InvalidValue as exc:
        raise ConfigError(f"{up.file_name}:1: {exc}", file=up.file_name, line=1) from None
    numbers: list[str] = []
    problems: list[dict[str, Any]] = []
    for row_no, cells, read_problems in rows:
        problems.extend({"row": row_no, "column": "", "reason": p} for p in read_problems)
        for i, f in enumerate(cmap.fields):
            if f not in PHONE_FIELDS or i >= len(cells) or not cells[i].strip():
                continue
            try:
                numbers.append(to_e164(cells[i], region))
            except InvalidValue as exc:
                problems.append({"row": row_no, "column": cmap.label(i), "reason": f"{cells[i]!r}: {exc.why}"})
    return numbers, problems

