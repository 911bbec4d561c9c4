"""The workbench's outbound side: callback reminders (pop-up at due - 5 min and at due), click-to-dial from a
callback or a customer's phone, and the preview lead card with Dial / Skip.

Every call goes through the dialer runtime (cc.runtime.campaigns: ``click_to_dial``, ``preview_dial``,
``preview_skip``, and ``manual_dial`` for a customer no campaign of the agent has): the agent's leg rings first,
then the customer -- one originate path. The number is never
taken from the page: the server finds it from the lead, or from the customer's phone by its position.
Click-to-dial is refused while the agent is in a call, and audited (``call.click_to_dial``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext

from cc.authz import Permission, ResourceKind
from cc.errors import CCError, Conflict, NotFound
from cc.model import AgentState
from cc.privacy.mask import mask_number, mask_text
from cc.store.audit import Actor, AuditRepo
from cc.web.guard import agent_resource, ctx, current_user, require, signed_in
from cc.web.labels import DEFAULT_RESULTS, label
from cc.web.reminders import Offer, Previews, Reminders

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("outbound", __name__, url_prefix="/workbench/outbound")


def _my_agent() -> str:
    user = current_user()
    if user.agent_id is None:
        abort(403)
    require(Permission.CONTROL_AGENTS, agent_resource(user.agent_id))
    return user.agent_id


def _reminders() -> Reminders:
    r = ctx().reminders
    if r is None:
        abort(503)
    return r


def _previews() -> Previews:
    p = ctx().previews
    if p is None:
        abort(503)
    return p


def _campaigns() -> Any:
    camps = getattr(ctx().service, "campaigns", None)
    if camps is None:
        abort(503)
    return camps


def _now() -> float:
    return float(ctx().service.clock.now())


def _busy(agent: str) -> bool:
    """The agent is in a call (or offered one, or held by a campaign): no click-to-dial."""
    ctl = ctx().service.controller
    if ctl is None:
        return True
    a = ctl.acd.world.agents.get(agent)
    if a is None:
        return True
    return (a.state is not AgentState.IDLE or a.offer is not None or a.call is not None
            or agent in ctl.outbound_holds)


def _audit(action: str, resource: str, detail: dict[str, Any]) -> None:
    c, user = ctx(), current_user()
    actor = Actor(user.login, user.id, request.remote_addr or "")
    c.run(lambda: AuditRepo(c.db).append(actor, action, "call", resource, {**detail, "via": "web"}),
          "audit of a click-to-dial")


# ------------------------------------------------------------------ reminders
def _reminder_context(agent: str, **extra: Any) -> dict[str, Any]:
    return {"reminders": _reminders().for_agent(agent), "now": _now(), **extra}


@bp.get("/reminders")
@signed_in
def reminders() -> str:
    """The agent's callback reminders on show (refreshed on each ``callback_due`` event)."""
    return render_template("outbound/_reminders.html", **_reminder_context(_my_agent()))


@bp.post("/reminders/dismiss")
@signed_in
def dismiss() -> str:
    """Close one reminder."""
    agent = _my_agent()
    _reminders().dismiss(agent, request.form.get("key", ""))
    return render_template("outbound/_reminders.html", **_reminder_context(agent))


# ------------------------------------------------------------------ click-to-dial
@bp.post("/dial")
@signed_in
def dial() -> tuple[str, int] | str:
    """Click-to-dial a campaign lead (``lead_id``, e.g. a callback's) or a customer's phone (``customer_id`` and
    the phone's position ``phone``): the agent's phone rings first, then the customer's."""
    agent = _my_agent()
    c = ctx()
    if not getattr(c.service, "leading", True):
        return _dial_answer(agent, gettext("This controller is a standby; it does not change anything."), 409)
    if _busy(agent):
        return _dial_answer(agent, gettext("You are in a call; click-to-dial waits until it is over."), 409)
    camps = _campaigns()
    lead_id = request.form.get("lead_id", "").strip()
    campaign = request.form.get("campaign", "").strip() or None
    number: str | None = None
    customer_id = request.form.get("customer_id", "").strip()
    if not lead_id and customer_id:
        require(Permission.VIEW_CUSTOMERS, c.watch.directory.agent(agent, ResourceKind.CALL))
        raw = request.form.get("phone", "0")
        if not raw.isdigit():
            abort(400)
        try:
            customer = c.run(lambda: c.customers.get(customer_id), "a customer to dial")
        except NotFound:
            abort(404)
        if int(raw) >= len(customer.phones):
            abort(404)
        number = customer.phones[int(raw)].number
        found = camps.lead_of_customer(agent, customer_id, number)
        if found is None:   # no campaign has him: a manual call, the same agent-leg-first originate
            return _manual_dial(agent, customer_id, int(raw), number)
        campaign, lead_id = found
    if not lead_id:
        abort(400)
    try:
        camps.click_to_dial(agent, lead_id, number, campaign)
    except NotFound:
        return _dial_answer(agent, gettext("No running campaign has this lead for you."), 409)
    except CCError as exc:
        log.info("web: agent %s: click-to-dial of lead %s refused: %s", agent, lead_id, exc)
        return _dial_answer(agent, gettext("The dialer refused this call."), 409)
    _audit("call.click_to_dial", f"lead:{lead_id}", {"agent": agent, "campaign": campaign,
                                                       "customer": customer_id or None})
    key = request.form.get("key", "")
    if key:
        _reminders().dismiss(agent, key)
    return _dial_answer(agent, None, 200, placed=True)


def _manual_dial(agent: str, customer_id: str, phone: int, number: str) -> tuple[str, int]:
    try:
        uuid = _campaigns().manual_dial(agent, customer_id, number)
    except Conflict:
        return _dial_answer(agent, gettext("You are in a call; click-to-dial waits until it is over."), 409)
    except CCError as exc:
        log.info("web: agent %s: click-to-dial of customer %s refused: %s", agent, customer_id, exc)
        return _dial_answer(agent, gettext("The dialer refused this call."), 409)
    _audit("call.click_to_dial", f"call:{uuid}", {"agent": agent, "customer": customer_id, "phone": phone})
    return _dial_answer(agent, None, 200, placed=True)


def _dial_answer(agent: str, error: str | None, status: int, *, placed: bool = False) -> tuple[str, int]:
    if request.form.get("answer") == "short":   # the customer page's Call buttons: the answer alone
        return render_template("outbound/_dial_answer.html", error=error, placed=placed), status
    return render_template("outbound/_reminders.html", **_reminder_context(agent, error=error, placed=placed)), status


# ------------------------------------------------------------------ preview
def _shown(offer: Offer) -> dict[str, Any]:
    """The preview card: numbers and notes masked for everyone (a reveal needs a reason and is audited, through
    the card's Reveal control: docs/privacy.md)."""
    lead = offer.lead
    customer = offer.customer or {}
    results = ctx().config.results or DEFAULT_RESULTS
    left = max(0.0, offer.timeout_s - (_now() - offer.offered_at)) if offer.timeout_s else None
    return {"offer": offer, "numbers": [mask_number(n) for n in lead.get("numbers") or []],
            "name": lead.get("name") or "",
            "extra": sorted((str(k), str(v)) for k, v in (lead.get("extra") or {}).items()),
            "customer_name": customer.get("name") or "", "customer_note": mask_text(str(customer.get("note") or "")),
            "history": [{"at": float(h.get("at") or 0), "agent": h.get("agent_id") or "",
                         "result": label(h["disposition"], results) if h.get("disposition") else "",
                         "note": mask_text(str(h.get("note") or ""))}
                        for h in offer.history],
            "left": left, "attempts": lead.get("attempts", 0),
            "last_result": label(lead["last_result"], results) if lead.get("last_result") else ""}


def _preview_context(agent: str, **extra: Any) -> dict[str, Any]:
    offer = _previews().offer(agent)
    return {**({"offer": None} if offer is None else _shown(offer)), **extra}


@bp.get("/preview")
@signed_in
def preview() -> str:
    """The lead card of the agent's preview offer (empty without one)."""
    return render_template("outbound/_preview.html", **_preview_context(_my_agent()))


@bp.post("/preview")
@signed_in
def preview_action() -> tuple[str, int] | str:
    """Dial the offered lead, or skip it with a reason."""
    agent = _my_agent()
    offer = _previews().offer(agent)
    lead_id = request.form.get("lead_id", "")
    if offer is None or offer.lead_id != lead_id:
        return render_template("outbound/_preview.html", **_preview_context(
            agent, error=gettext("This lead is no longer offered to you."))), 409
    action = request.form.get("action", "")
    camps = _campaigns()
    try:
        if action == "dial":
            camps.preview_dial(agent, lead_id, offer.campaign)
        elif action == "skip":
            reason = request.form.get("reason", "").strip()[:200]
            if not reason:
                return render_template("outbound/_preview.html", **_preview_context(
                    agent, error=gettext("Say why you skip this lead."))), 400
            camps.preview_skip(agent, lead_id, reason, offer.campaign)
        else:
            abort(400)
    except CCError as exc:
        log.info("web: agent %s: preview %s of lead %s refused: %s", agent, action, lead_id, exc)
        return render_template("outbound/_preview.html", **_preview_context(
            agent, error=gettext("The dialer refused this."))), 409
    if offer.refused:
        return render_template("outbound/_preview.html", **_preview_context(agent)), 409
    _previews().taken(agent, lead_id)
    _audit("call.preview_" + action, f"lead:{lead_id}", {"agent": agent, "campaign": offer.campaign,
                                                        **({"reason": request.form.get("reason", "")[:200]}
                                                           if action == "skip" else {})})
    done = gettext("Dialing: your phone rings first.") if action == "dial" else gettext("Lead skipped.")
    return render_template("outbound/_preview.html", **_preview_context(agent, done=done))
