"""The supervisor console: the wallboard (live by SSE, a full-screen mode for a TV), the agent grid of the
supervisor's teams (force Not ready, log out), and monitoring (listen, whisper, barge) through eavesdrop.

Permissions are the API's, decided by ``cc.authz.allowed``: ``view_live`` on the shared queues for the
wallboard and per agent for the grid, ``control_agents`` on the agent for a forced change, ``monitor_calls`` on
the agent's call for monitoring. Every change is audited (``agent.status``, ``agent.logout``, ``monitor.*``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request
from flask_babel import force_locale, get_locale, gettext

from cc.acd.views import AgentView
from cc.authz import Permission, Resource, ResourceKind
from cc.errors import CCError, Conflict
from cc.model import AgentStatus
from cc.privacy.mask import mask_number
from cc.runtime.monitor import MODES
from cc.store.audit import Actor, AuditRepo
from cc.store.campaigns import CampaignRepo
from cc.store.repos import QueueEventRepo
from cc.web.guard import ctx, current_user, may, require, signed_in
from cc.web.labels import DEFAULT_REASONS, choices, label
from cc.web.wallboard import Board, CampaignLine, WallboardFeed, agent_bucket

__all__ = ["bp", "feed"]

log = logging.getLogger(__name__)

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")

#: campaigns shown on the wallboard
LIVE_CAMPAIGNS = ("running", "paused")



# ------------------------------------------------------------------ the feed (one per app)
def _render_board(app: Flask, board: Board, locale: str, reasons: Any) -> str:
    with app.test_request_context("/"), force_locale(locale):
        return render_template("supervisor/_board.html", board=board,
                               reason_label=lambda code: label(code, reasons) if code else gettext("No reason"))


def _figures(c: Any) -> tuple[dict[str, Any], tuple[CampaignLine, ...]]:
    """Today's (UTC) queue figures and the live campaigns' figures (in a worker thread)."""
    ctl = c.service.controller
    now = ctl.clock.now() if ctl is not None else 0.0
    start = now - now % 86400.0
    stats = {s.queue: s for s in QueueEventRepo(c.db).queue_stats(start, now + 1.0)}
    lines = []
    repo = CampaignRepo(c.db)
    for camp in repo.list():
        if camp.status.value not in LIVE_CAMPAIGNS:
            continue
        f = repo.figures(camp.name, now)
        lines.append(CampaignLine(camp.name, camp.status.value, f.dials, f.contacts, f.abandon_rate))
    return stats, tuple(lines)


def feed() -> WallboardFeed:
    """This app's wallboard feed (made on first use)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    made = app.extensions.get("cc.wallboard")
    if made is None:
        c = ctx()
        made = WallboardFeed(c.service.hooks, lambda: c.service.controller,
                             lambda board, loc: _render_board(app, board, loc, c.config.reasons or DEFAULT_REASONS),
                             lambda: _figures(c), c.run)
        app.extensions["cc.wallboard"] = made
    return made  # type: ignore[no-any-return]


def _locale() -> str:
    return "zh_CN" if str(get_locale() or "").startswith("zh") else "en"


def _require_console() -> None:
    require(Permission.VIEW_LIVE, Resource.common(ResourceKind.QUEUE))


# ------------------------------------------------------------------ wallboard
@bp.get("/wallboard")
@signed_in
def wallboard() -> str:
    """The wallboard page (``?tv=1``: the full-screen layout for a TV)."""
    _require_console()
    return render_template("supervisor/wallboard.html", board_html=feed().current(_locale()),
                           tv=request.args.get("tv") == "1")


@bp.get("/wallboard/board")
@signed_in
def board() -> str:
    """The board alone (what the stream pushes)."""
    _require_console()
    return feed().current(_locale())


@bp.get("/events")
@signed_in
def events() -> Response:
    """The wallboard stream: ``wallboard`` events carry the rendered board, ``agents`` tell the grid to reload."""
    _require_console()
    return Response(feed().stream(_locale()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


# ------------------------------------------------------------------ agent grid
@dataclass(frozen=True)
class AgentRow:
    """One agent of the grid."""

    id: str
    name: str
    team: str
    code: str           #: ready, ringing, in_call, wrap_up, not_ready, logged_out
    state: str
    reason: str
    elapsed_s: float
    call_number: str
    call_queue: str
    call_s: float | None
    calls: int
    may_control: bool
    may_monitor: bool


def _calls_of(ctl: Any) -> dict[str, tuple[str, str, float]]:
    """Agent -> (caller, queue, talk start) of the calls being talked now."""
    out = {}
    for s in list(ctl.sessions.values()):
        stay = s.stay
        r = stay.ringing if stay is not None else None
        if r is not None and not r.ended and stay.bridged_at is not None:
            out[r.agent_id] = (s.caller or "", stay.queue or "", stay.bridged_at)
    return out


def _rows() -> list[AgentRow]:
    c = ctx()
    ctl = c.service.controller
    if ctl is None:
        return []
    directory = c.watch.directory
    now = ctl.clock.now()
    calls = _calls_of(ctl)
    reasons = c.config.reasons or DEFAULT_REASONS
    rows = []
    view: AgentView
    for view in ctl.acd.agents(now):
        resource = directory.agent(view.id)
        if not may(Permission.VIEW_LIVE, resource):
            continue
        rt = ctl.acd.world.agents.get(view.id)
        cfg = rt.cfg if rt is not None else None
        bucket = agent_bucket(view.status, view.state) or "logged_out"
        elapsed = view.in_status_s if bucket in ("logged_out", "not_ready") else view.in_state_s
        call = calls.get(view.id)
        call_res = directory.agent(view.id, ResourceKind.CALL)
        number = mask_number(call[0]) if call else ""   # a reveal needs a reason (the pop's Reveal control)
        rows.append(AgentRow(view.id, cfg.name if cfg is not None else "", (cfg.team or "") if cfg else "", bucket,
                             label(bucket), label(view.reason, reasons) if bucket == "not_ready" else "",
                             max(0.0, elapsed), number, call[1] if call else "",
                             max(0.0, now - call[2]) if call else None, view.calls_answered,
                             may(Permission.CONTROL_AGENTS, resource),
                             bucket == "in_call" and may(Permission.MONITOR_CALLS, call_res)))
    return rows


def _grid_context(error: str | None = None) -> dict[str, Any]:
    user = current_user()
    ctl = ctx().service.controller
    mine = ctl.monitoring.of_supervisor(user.login) if ctl is not None else []
    reasons = choices(ctx().config.reasons, DEFAULT_REASONS)
    return {"rows": _rows(), "reasons": reasons, "monitors": mine, "modes": list(MODES), "error": error,
            "has_phone": _phone() is not None}


@bp.get("/agents")
@signed_in
def agents() -> str:
    """The agent grid page."""
    _require_console()
    return render_template("supervisor/agents.html", **_grid_context())


@bp.get("/agents/grid")
@signed_in
def grid() -> str:
    """The grid alone (reloaded on every wallboard push)."""
    _require_console()
    return render_template("supervisor/_grid.html", **_grid_context())


def _audit(action: str, kind: str, resource: str, detail: dict[str, Any]) -> None:
    c, user = ctx(), current_user()
    actor = Actor(user.login, user.id, request.remote_addr or "")
    c.run(lambda: AuditRepo(c.db).append(actor, action, kind, resource, {**detail, "via": "web"}),
          "audit of a supervisor's action")


def _controller() -> Any:
    ctl = ctx().service.controller
    if ctl is None:
        abort(503)
    return ctl


@bp.post("/agents/<agent_id>/state")
@signed_in
def force_state(agent_id: str) -> tuple[str, int] | str:
    """Force an agent Not ready (with a reason) or log him out (control_agents on him; audited)."""
    ctl = _controller()
    if agent_id not in ctl.acd.world.agents:
        abort(404)
    require(Permission.CONTROL_AGENTS, ctx().watch.directory.agent(agent_id))
    if not getattr(ctx().service, "leading", True):
        return render_template("supervisor/_grid.html", **_grid_context(
            gettext("This controller is a standby; it does not change anything."))), 409
    to, reason = request.form.get("to", ""), request.form.get("reason") or None
    refused = ctl.driver.refused
    if to == "not_ready":
        if reason not in {r.code for r in choices(ctx().config.reasons, DEFAULT_REASONS)}:
            return render_template("supervisor/_grid.html", **_grid_context(gettext("Choose a reason."))), 400
        ctl.set_status(agent_id, AgentStatus.ON_BREAK, reason)
        action = "agent.status"
    elif to == "logout":
        ctl.logout(agent_id, reason)
        action = "agent.logout"
    else:
        abort(400)
    if ctl.driver.refused != refused:
        return render_template("supervisor/_grid.html", **_grid_context(
            gettext("The controller refused this change in the current state."))), 409
    _audit(action, "agent", agent_id, {"status": to, "reason": reason})
    return render_template("supervisor/_grid.html", **_grid_context())


# ------------------------------------------------------------------ monitoring
def _phone() -> str | None:
    """The signed-in supervisor's phone: the contact of the agent his user is."""
    user = current_user()
    ctl = ctx().service.controller
    if ctl is None or user.agent_id is None:
        return None
    rt = ctl.acd.world.agents.get(user.agent_id)
    return rt.cfg.contact if rt is not None and rt.cfg.contact else None


@bp.post("/agents/<agent_id>/monitor")
@signed_in
def monitor(agent_id: str) -> tuple[str, int] | str:
    """Listen, whisper or barge on the agent's call (monitor_calls on his call; audited)."""
    ctl = _controller()
    if agent_id not in ctl.acd.world.agents:
        abort(404)
    require(Permission.MONITOR_CALLS, ctx().watch.directory.agent(agent_id, ResourceKind.CALL))
    mode = request.form.get("mode", "")
    if mode not in MODES:
        abort(400)
    phone = _phone()
    if phone is None:
        return render_template("supervisor/_grid.html", **_grid_context(
            gettext("You have no phone to listen on: your user is not an agent with a phone."))), 409
    try:
        m = ctl.monitoring.start(agent_id, phone, mode, current_user().login)
    except Conflict:
        return render_template("supervisor/_grid.html", **_grid_context(
            gettext("This agent is not in a call."))), 409
    _audit("monitor.start", "agent", agent_id, {"mode": mode, "monitor": m.uuid, "leg": m.target})
    return render_template("supervisor/_grid.html", **_grid_context())


def _own(monitor_id: str) -> Any:
    ctl = _controller()
    m = ctl.monitoring.active.get(monitor_id)
    if m is None:
        abort(404)
    if m.supervisor != current_user().login:
        abort(403)
    return m


@bp.post("/monitors/<monitor_id>/mode")
@signed_in
def monitor_mode(monitor_id: str) -> tuple[str, int] | str:
    """Switch one's monitoring to another mode in the call."""
    m = _own(monitor_id)
    require(Permission.MONITOR_CALLS, ctx().watch.directory.agent(m.agent_id, ResourceKind.CALL))
    mode = request.form.get("mode", "")
    if mode not in MODES:
        abort(400)
    try:
        _controller().monitoring.switch(monitor_id, mode)
    except CCError:
        return render_template("supervisor/_grid.html", **_grid_context(
            gettext("The monitoring has ended."))), 409
    _audit("monitor.mode", "agent", m.agent_id, {"mode": mode, "monitor": m.uuid})
    return render_template("supervisor/_grid.html", **_grid_context())


@bp.post("/monitors/<monitor_id>/stop")
@signed_in
def monitor_stop(monitor_id: str) -> str:
    """End one's monitoring."""
    m = _own(monitor_id)
    _controller().monitoring.stop(monitor_id)
    _audit("monitor.stop", "agent", m.agent_id, {"monitor": m.uuid})
    return render_template("supervisor/_grid.html", **_grid_context())
