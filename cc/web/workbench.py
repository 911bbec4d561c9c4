"""The agent's workbench: his state and time in it, live by SSE; the screen pop of an offered call; the
add-customer form for an unknown number; the result form after the call.

Every action acts on the signed-in user's own agent and is checked like the API's agent routes:
``control_agents`` on his agent (``agent_self`` gives it), ``view_customers``/``edit_customers`` on the call.
"""

from __future__ import annotations

import datetime
import logging
import time
import zoneinfo
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from cc.acd.views import AgentView
from cc.authz import Permission, Resource, ResourceKind, allowed
from cc.errors import CCError, InvalidValue, NotFound
from cc.model import AgentState, AgentStatus, Customer, Interaction, InteractionKind, PhoneNumber
from cc.privacy.mask import mask_payload, mask_text
from cc.runtime.agent_call import NOTE_MAX, TRANSFER_KINDS, act, agent_call
from cc.runtime.hooks import HookEvent
from cc.store.agent_day import AgentDayRepo
from cc.store.campaigns import CustomerType
from cc.web.desk import ACW_REASON, CallCard, Desk
from cc.web.guard import agent_resource, ctx, current_user, may, require, signed_in
from cc.web.labels import DEFAULT_REASONS, DEFAULT_RESULTS, choices, label
from cc.web.pop import local_minute, region_of, shown_number
from cc.web.reveal import reveal_number

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("workbench", __name__, url_prefix="/workbench")

#: how many earlier interactions a pop lists
HISTORY = 20


@dataclass(frozen=True)
class DeskView:
    """The agent's state as his page shows it."""

    agent_id: str
    known: bool                 #: the controller knows this agent
    code: str                   #: ready, not_ready, logged_out, ringing, in_call, wrap_up, on_demand
    label: str
    reason: str                 #: the not-ready reason's label
    elapsed_s: float            #: time in the current state
    wrap_left_s: float | None   #: the rest of the wrap-up
    owes_result: bool
    reasons: list[Any]


def _desk() -> Desk:
    desk: Desk = ctx().desk
    return desk


def _my_agent() -> str:
    """The signed-in user's agent, which he may control (403 otherwise)."""
    user = current_user()
    if user.agent_id is None:
        abort(403)
    require(Permission.CONTROL_AGENTS, agent_resource(user.agent_id))
    return user.agent_id


def _view_of(agent_id: str) -> AgentView | None:
    ctl = ctx().service.controller
    if ctl is None or agent_id not in ctl.acd.world.agents:
        return None
    now = ctl.clock.now()
    return next((v for v in ctl.acd.agents(now) if v.id == agent_id), None)


def _state(agent_id: str) -> DeskView:
    cfg = ctx().config
    reasons = choices(cfg.reasons, DEFAULT_REASONS)
    owes = _desk().owes_result(agent_id) is not None
    v = _view_of(agent_id)
    if v is None:
        return DeskView(agent_id, False, "logged_out", label("logged_out"), "", 0.0, None, owes, reasons)
    wrap_left = None
    elapsed = v.in_state_s
    if v.status is AgentStatus.LOGGED_OUT:
        code, elapsed = "logged_out", v.in_status_s
    elif v.state in (AgentState.RESERVED, AgentState.RINGING):
        code = "ringing"
    elif v.state is AgentState.IN_CALL:
        code = "in_call"
    elif v.state is AgentState.WRAP_UP:
        code, wrap_left = "wrap_up", v.ready_in_s
    elif v.status is AgentStatus.ON_BREAK:
        code, elapsed = ("wrap_up" if v.reason == ACW_REASON else "not_ready"), min(v.in_state_s, v.in_status_s)
    elif v.status is AgentStatus.AVAILABLE_ON_DEMAND:
        code, elapsed = "on_demand", min(v.in_state_s, v.in_status_s)
    else:
        code, elapsed = "ready", min(v.in_state_s, v.in_status_s)
    reason = label(v.reason, cfg.reasons or DEFAULT_REASONS) if v.status is AgentStatus.ON_BREAK else ""
    return DeskView(agent_id, True, code, label(code), reason, max(0.0, elapsed), wrap_left, owes, reasons)


# ------------------------------------------------------------------ forms
class CustomerForm(FlaskForm):  # type: ignore[misc]
    """A new customer from an unknown caller: the number comes from the call, never from the page."""

    call_uuid = HiddenField(validators=[DataRequired()])
    name = StringField(lazy_gettext("Name"), validators=[DataRequired(), Length(max=128)])
    customer_type = SelectField(lazy_gettext("Customer type"), validators=[Optional()], choices=[])
    note = TextAreaField(lazy_gettext("Note"), validators=[Optional(), Length(max=2000)])


class ResultForm(FlaskForm):  # type: ignore[misc]
    """The result of a call: result code, customer type, note, callback time (to the minute), the next state."""

    call_uuid = HiddenField(validators=[DataRequired()])
    result = SelectField(lazy_gettext("Result"), validators=[DataRequired()], choices=[])
    customer_type = SelectField(lazy_gettext("Customer type"), validators=[Optional()], choices=[])
    note = TextAreaField(lazy_gettext("Note"), validators=[Optional(), Length(max=2000)])
    callback_at = StringField(lazy_gettext("Call back at"), validators=[Optional(), Length(max=32)])
    then = SelectField(lazy_gettext("Then"), choices=[])


def _type_choices(types: list[CustomerType]) -> list[tuple[str, str]]:
    zh = _is_zh()
    return [("", "—")] + [(t.code, (t.label_zh if zh else t.label_en) or t.code) for t in types]


def _is_zh() -> bool:
    from flask_babel import get_locale
    return str(get_locale() or "").startswith("zh")


# ------------------------------------------------------------------ the page and its fragments
@bp.get("")
@signed_in
def page() -> str:
    """The whole workbench."""
    agent = _my_agent()
    return render_template("workbench/page.html", state=_state(agent), **_pop_context(agent), **_result_context(agent),
                           **_call_context(agent))


@bp.get("/state")
@signed_in
def state() -> str:
    """The state panel (refreshed on every event of the agent)."""
    return render_template("workbench/_state.html", state=_state(_my_agent()))


@bp.post("/state")
@signed_in
def change_state() -> tuple[str, int] | str:
    """Ready, Not ready with a reason, or log out; Ready is refused while a required result is missing."""
    agent = _my_agent()
    ctl = ctx().service.controller
    if ctl is None or agent not in ctl.acd.world.agents:
        abort(409)
    if not getattr(ctx().service, "leading", True):
        return render_template("workbench/_state.html", state=_state(agent),
                               error=gettext("This controller is a standby; it does not change anything.")), 409
    to = request.form.get("to", "")
    reason = request.form.get("reason") or None
    codes = {c.code for c in choices(ctx().config.reasons, DEFAULT_REASONS)}
    view = _view_of(agent)
    logged_out = view is None or view.status is AgentStatus.LOGGED_OUT
    error = None
    refused = ctl.driver.refused
    if to == "ready":
        if _desk().owes_result(agent) is not None:
            error = gettext("Save the result of the last call first.")
        elif logged_out:
            ctl.login(agent, AgentStatus.AVAILABLE)
        else:
            ctl.set_status(agent, AgentStatus.AVAILABLE)
    elif to == "not_ready":
        if reason not in codes:
            error = gettext("Choose a reason.")
        elif logged_out:
            ctl.login(agent, AgentStatus.ON_BREAK, reason)
        else:
            ctl.set_status(agent, AgentStatus.ON_BREAK, reason)
    elif to == "logout":
        ctl.logout(agent)
    else:
        abort(400)
    if error is None and ctl.driver.refused != refused:
        error = gettext("The controller refused this change in the current state.")
    status = 409 if error else 200
    return render_template("workbench/_state.html", state=_state(agent), error=error), status


@bp.get("/events")
@signed_in
def events() -> Response:
    """The agent's own events as server-sent events (each checked by the policy on the current directory)."""
    agent = _my_agent()
    c = ctx()
    user_id = current_user().id

    def in_scope(ev: HookEvent) -> bool:
        directory = c.watch.directory
        user = directory.users.get(user_id)
        if user is None or user.disabled or ev.agent_id is None:
            return False
        return bool(allowed(user, Permission.VIEW_LIVE, directory.agent(ev.agent_id, ResourceKind.EVENTS)))

    stream = c.hub.stream(kinds=frozenset({"offered", "bridged", "call_ended", "agent_status", "call_held",
                                           "call_unheld", "call_transferred", "call_consult", "callback_due",
                                           "preview_offered", "preview_cancelled", "dial_refused"}), agent_id=agent,
                          scope=in_scope, view=mask_payload)
    return Response(stream, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _call_resource(card: CallCard) -> Resource:
    return ctx().watch.directory.agent(card.agent_id, ResourceKind.CALL)


def _lookup(card: CallCard) -> tuple[Customer | None, str | None, list[Interaction], list[CustomerType]]:
    """The call's customer (linked, else matched by any of his numbers), his type, his interactions newest
    first and the customer types -- one trip to a worker thread."""
    c = ctx()

    def run() -> tuple[Customer | None, str | None, list[Interaction], list[CustomerType]]:
        customer: Customer | None = None
        if card.customer_id is not None:
            try:
                customer = c.customers.get(card.customer_id)
            except NotFound:
                customer = None
        if customer is None and card.caller:
            found = c.customers.find_by_phone(card.caller)
            customer = found[0] if found else None
        types = c.customer_types.list()
        if customer is None:
            return None, None, [], types
        history = [i for i in c.interactions.for_customer(customer.id, HISTORY + 1)
                   if i.call_uuid != card.call_uuid or i.kind is not InteractionKind.CALL][:HISTORY]
        return customer, c.customer_types.of_customer(customer.id), history, types

    return c.run(run, "screen pop")


def _pop_context(agent: str) -> dict[str, Any]:
    card = _desk().card(agent)
    if card is None:
        return {"card": None}
    user = current_user()
    resource = _call_resource(card)
    if not allowed(user, Permission.VIEW_CUSTOMERS, resource):
        return {"card": None}
    customer, type_code, history, types = _lookup(card)
    if customer is not None and card.customer_id is None:
        card.customer_id = customer.id
    zh = _is_zh()
    type_label = next(((t.label_zh if zh else t.label_en) or t.code for t in types if t.code == type_code), "")
    form = CustomerForm(formdata=None, call_uuid=card.call_uuid, prefix="new")
    form.customer_type.choices = _type_choices(types)
    results = ctx().config.results or DEFAULT_RESULTS
    rows = [{"at": i.at, "kind": i.kind.value, "agent": i.agent_id or "", "queue": i.queue or "",
             "result": label(i.disposition, results) if i.disposition else "",
             "note": mask_text(i.note)} for i in history]
    # numbers stay masked on the page for everyone; one who may reveal them asks with a reason (pop_reveal)
    phones = [shown_number(p.number, False) for p in customer.phones] if customer is not None else []
    return {"card": card, "number": shown_number(card.caller, False), "region": region_of(card.caller,
            ctx().config.region), "customer": customer, "customer_type": type_label, "history": rows,
            "phones": phones, "customer_form": form, "ivr_path": " → ".join(card.ivr_path),
            "may_edit": may(Permission.EDIT_CUSTOMERS, resource),
            "may_reveal": bool(card.caller) and may(Permission.REVEAL_NUMBERS, resource)}


@bp.get("/pop")
@signed_in
def pop() -> str:
    """The screen pop of the agent's latest call."""
    return render_template("workbench/_pop.html", **_pop_context(_my_agent()))


@bp.post("/pop/reveal")
@signed_in
def pop_reveal() -> tuple[str, int] | str:
    """The whole number of the agent's current call, to this request alone (reveal_numbers on the call, a
    reason; audited)."""
    card = _desk().card(_my_agent())
    if card is None or not card.caller:
        abort(404)
    return reveal_number(card.caller, f"caller of call {card.call_uuid}", _call_resource(card), "pop")


@bp.get("/pop/status")
@signed_in
def call_status() -> str:
    """The pop's status line: ringing, in call, ended (the rest of the pop stays as the agent left it)."""
    card = _desk().card(_my_agent())
    if card is None:
        return ""
    return render_template("workbench/_call_status.html", card=card)


@bp.post("/customer")
@signed_in
def add_customer() -> tuple[str, int] | str:
    """A new customer with the calling number, linked to the call."""
    agent = _my_agent()
    desk, c = _desk(), ctx()
    form = CustomerForm(prefix="new")
    card = desk.card(agent)
    if card is None or card.call_uuid != form.call_uuid.data:
        abort(409)
    user = current_user()
    require(Permission.EDIT_CUSTOMERS, _call_resource(card))
    types = c.run(c.customer_types.list, "customer types")
    form.customer_type.choices = _type_choices(types)
    if not form.validate_on_submit():
        ctx_ = _pop_context(agent)
        ctx_["customer_form"] = form
        return render_template("workbench/_pop.html", **ctx_), 400
    name, note, type_code = (form.name.data or "").strip(), form.note.data or "", form.customer_type.data or None
    number = card.caller

    def run() -> Customer:
        found = c.customers.find_by_phone(number)
        if found:
            return found[0]
        customer = c.customers.create(Customer("", name=name, note=note, phones=(PhoneNumber(number),)))
        if type_code:
            c.customer_types.set_for_customer(customer.id, type_code)
        return customer

    try:
        customer = c.run(run, "a new customer")
    except InvalidValue:
        ctx_ = _pop_context(agent)
        ctx_["customer_form"] = form
        ctx_["form_error"] = gettext("This number cannot be saved as a phone number.")
        return render_template("workbench/_pop.html", **ctx_), 400
    desk.link(agent, card.call_uuid, customer.id)
    log.info("web: user %s added customer %s from call %s", user.login, customer.id, card.call_uuid)
    return render_template("workbench/_pop.html", **_pop_context(agent))


def _result_context(agent: str, form: ResultForm | None = None) -> dict[str, Any]:
    desk = _desk()
    card = desk.card(agent)
    if card is None or card.bridged_at is None or card.saved:
        return {"result_card": None, "result_form": None}
    c = ctx()
    if form is None:
        form = ResultForm(formdata=None, call_uuid=card.call_uuid, prefix="res")
    form.result.choices = [("", "—")] + [(ch.code, ch.label) for ch in choices(c.config.results, DEFAULT_RESULTS)]
    types = c.run(c.customer_types.list, "customer types")
    form.customer_type.choices = _type_choices(types)
    form.then.choices = [("ready", label("ready"))] + [
        (f"not_ready:{ch.code}", f"{label('not_ready')} · {ch.label}") for ch in choices(c.config.reasons,
                                                                                          DEFAULT_REASONS)]
    return {"result_card": card, "result_form": form, "result_required": card.needs_result
            or desk.requires_result(card.queue)}


@bp.get("/result")
@signed_in
def result() -> str:
    """The result form of the agent's latest answered call (empty before one, and once saved)."""
    return render_template("workbench/_result.html", **_result_context(_my_agent()))


@bp.post("/result")
@signed_in
def save_result() -> tuple[str, int, dict[str, str]]:
    """Save the call's result (it becomes its CRM interaction), schedule the callback, set the next state."""
    agent = _my_agent()
    desk, c = _desk(), ctx()
    form = ResultForm(prefix="res")
    card = desk.card(agent)
    if card is None or card.call_uuid != form.call_uuid.data or card.bridged_at is None:
        abort(409)
    context = _result_context(agent, form)
    error = None
    due: float | None = None
    if form.validate_on_submit():
        try:
            due = local_minute(form.callback_at.data or "", c.config.timezone)
        except ValueError:
            error = gettext("Enter the callback time as a date and a time.")
    else:
        error = gettext("Choose a result.")
    if error is not None:
        return render_template("workbench/_result.html", error=error, **context), 400, {}
    type_code = form.customer_type.data or None
    result_code, note = form.result.data, (form.note.data or "").strip()
    saved = desk.save_result(agent, card.call_uuid, result_code, note)
    if saved is None:
        abort(409)
    customer_id = saved.customer_id

    def extras() -> None:
        if customer_id is not None and type_code:
            c.customer_types.set_for_customer(customer_id, type_code)
        if due is not None:
            c.interactions.put(Interaction(id=f"callback-{card.call_uuid}", at=due, kind=InteractionKind.CALLBACK,
                                           customer_id=customer_id, agent_id=agent, call_uuid=card.call_uuid,
                                           queue=card.queue, note=note))

    c.run(extras, "result of a call")
    if due is not None and c.reminders is not None:   # its reminders: at due - 5 min and at due
        c.reminders.schedule(Interaction(id=f"callback-{card.call_uuid}", at=due, kind=InteractionKind.CALLBACK,
                                         customer_id=customer_id, agent_id=agent, call_uuid=card.call_uuid,
                                         queue=card.queue, note=note))
    then = form.then.data or "ready"
    ctl = c.service.controller
    if ctl is not None and agent in ctl.acd.world.agents:
        try:
            if then == "ready":
                ctl.set_status(agent, AgentStatus.AVAILABLE)
            elif then.startswith("not_ready:"):
                ctl.set_status(agent, AgentStatus.ON_BREAK, then.split(":", 1)[1])
            view = _view_of(agent)
            if view is not None and view.state is AgentState.WRAP_UP:   # the result is the end of the wrap-up
                ctl.wrap_up_done(agent)
        except CCError as exc:
            log.warning("web: agent %s: next state after the result: %s", agent, exc)
    return (render_template("workbench/_result.html", saved=True, **_result_context(agent)), 200,
            {"HX-Trigger": "cc-state"})


# ------------------------------------------------------------------ in the call: hold, DTMF, hang up, transfer ...
@dataclass(frozen=True)
class Consultation:
    """The agent's consultation in progress, as the call's session and its ``call_consult`` hooks say."""

    target: str
    phase: str    #: ringing (B's phone rings) or talking (A and B talk, the caller waits with music)


def _consultation(call: Any) -> Consultation | None:
    transfers = getattr(call.session, "transfers", None)
    rb = getattr(transfers, "consulting", None)
    phase = getattr(transfers, "phase", "")
    if rb is None or not phase:
        return None
    return Consultation(str(rb.agent_id), str(phase))


def _transfer_targets(agent: str) -> dict[str, Any]:
    """Whom the agent may transfer to: the Ready agents the policy lets him see (view_live), every queue."""
    ctl = ctx().service.controller
    if ctl is None:
        return {"agents": [], "queues": []}
    user = current_user()
    visible = ctx().watch.directory.visible_agents(user, Permission.VIEW_LIVE)
    world = ctl.acd.world
    agents = sorted(((a.cfg.id, a.cfg.name or a.cfg.id) for aid, a in world.agents.items()
                     if aid != agent and (visible is None or aid in visible) and a.status is AgentStatus.AVAILABLE
                     and a.state is AgentState.IDLE and a.offer is None and a.call is None
                     and aid not in ctl.outbound_holds), key=lambda t: t[0])
    return {"agents": agents, "queues": sorted(world.queues)}


def _call_context(agent: str, **extra: Any) -> dict[str, Any]:
    ctl = ctx().service.controller
    call = agent_call(ctl, agent) if ctl is not None else None
    if call is None:
        return {"call": None, **extra}
    return {"call": call, "consult": _consultation(call), "targets": _transfer_targets(agent), "note_max": NOTE_MAX,
            "kinds": TRANSFER_KINDS, **extra}


def _transfer_args() -> tuple[str, str, str]:
    """The transfer form's kind, its target (the field of that kind) and the note."""
    kind = request.form.get("kind", "agent")
    target = request.form.get(f"target_{kind}", "").strip() if kind in TRANSFER_KINDS else ""
    return kind, target, request.form.get("note", "").strip()


@bp.get("/call")
@signed_in
def call_panel() -> str:
    """The controls of the call the agent is talking on (refreshed on the switch's events)."""
    return render_template("workbench/_call.html", **_call_context(_my_agent()))


@bp.post("/call")
@signed_in
def call_action() -> tuple[str, int] | str:
    """Hold / resume, hang up, send DTMF, pause / resume the recording: the API's agent_call verbs. What the
    panel then shows of hold is what the switch's events said (a hold asked and not yet confirmed shows as
    asked)."""
    agent = _my_agent()
    ctl = ctx().service.controller
    if ctl is None:
        abort(409)
    if not getattr(ctx().service, "leading", True):
        return render_template("workbench/_call.html", **_call_context(
            agent, error=gettext("This controller is a standby; it does not change anything."))), 409
    action = request.form.get("action", "")
    kind, target, note = _transfer_args() if action in ("transfer", "consult") else ("", "", "")
    if action == "consult":
        kind = "agent"
    try:
        if agent_call(ctl, agent) is None:
            raise NotFound("call of agent", agent)
        act(ctl, agent, action, request.form.get("digits", "").strip(), kind=kind, target=target, note=note)
    except NotFound as exc:
        message = (gettext("You are not in a call.") if exc.kind == "call of agent"
                   else gettext("No such agent or queue."))
        return render_template("workbench/_call.html", **_call_context(agent, error=message)), 409 if (
            exc.kind == "call of agent") else 404
    except InvalidValue as exc:
        message = {"digits": gettext("Enter the digits to send (0-9, * and #)."),
                   "target": gettext("Choose whom to transfer to."),
                   "note": gettext("The note is too long.")}.get(exc.field, gettext("This cannot be done."))
        return render_template("workbench/_call.html", **_call_context(agent, error=message)), 400
    except CCError as exc:
        log.info("web: agent %s: %s refused: %s", agent, action, exc)
        message = (gettext("The transfer was refused (is the agent still ready?); the call is as shown.")
                   if action in ("transfer", "consult", "complete", "cancel")
                   else gettext("The switch refused this; the call is as shown."))
        return render_template("workbench/_call.html", **_call_context(agent, error=message)), 409
    asked = {"hold": "hold", "resume": "resume", "transfer": "transfer", "complete": "complete"}.get(action)
    sent = {"dtmf": gettext("Digits sent."), "record_pause": gettext("Recording paused."),
            "record_resume": gettext("Recording resumed.")}.get(action)
    return render_template("workbench/_call.html", **_call_context(agent, asked=asked, sent=sent))


# ------------------------------------------------------------------ my day and my callbacks
def _today(now: float) -> tuple[float, float]:
    """The start and end of ``now``'s day in the pages' time zone (epoch seconds)."""
    zone = zoneinfo.ZoneInfo(ctx().config.timezone)
    local = datetime.datetime.fromtimestamp(now, zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.timestamp(), (start + datetime.timedelta(days=1)).timestamp()


@bp.get("/day")
@signed_in
def my_day() -> str:
    """My day (calls, talk time, results, callbacks kept) and my callbacks due today, the due ones marked."""
    agent = _my_agent()
    c = ctx()
    ctl = c.service.controller
    now = ctl.clock.now() if ctl is not None else time.time()
    since, until = _today(now)
    repo = AgentDayRepo(c.db)
    day, callbacks = c.run(lambda: (repo.day(agent, since, until), repo.callbacks(agent, since, until)), "my day")
    results = c.config.results or DEFAULT_RESULTS
    rows = [{"at": cb.at, "due": cb.at <= now, "note": mask_text(cb.note), "customer": cb.customer_id or ""}
            for cb in callbacks]
    return render_template("workbench/_day.html", day=day, talk=int(day.talk_s),
                           results=[(label(code, results), n) for code, n in day.results.items()], callbacks=rows)
