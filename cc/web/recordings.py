"""Recordings: search (time, agent, number, customer, queue or campaign, result), play in the page with seeking
(HTTP Range requests answered by Werkzeug's ``send_file(conditional=True)``) and download.

The page names a recording by its opaque id only; its file's path never leaves the server. Listing and playing
need ``view_recordings`` on the recording's agent (``directory.visible_agents`` for the list, ``allowed`` for one),
downloading ``download_recordings``; each play (its first request, not every seek) and each download is audited.
"""

from __future__ import annotations

import datetime
import logging
import os
import zoneinfo
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, send_file, url_for

from cc.authz import Permission, Resource, ResourceKind, allowed
from cc.privacy.mask import mask_number
from cc.store.audit import Actor, AuditRepo
from cc.store.recording_search import RecordingFilter, RecordingHit, RecordingSearch
from cc.web.guard import ctx, current_user, signed_in
from cc.web.labels import DEFAULT_RESULTS, choices, label

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("recordings", __name__, url_prefix="/recordings")

PAGE = 50



def _resource(hit: RecordingHit) -> Resource:
    if hit.agent_id is None:
        return Resource.org(ResourceKind.RECORDING, hit.id)
    return ctx().watch.directory.agent(hit.agent_id, ResourceKind.RECORDING)


def _day(text: str, zone: str, *, end: bool = False) -> float | None:
    """An HTML date (``2026-12-07``) in ``zone`` -> the epoch of its start (``end``: of the next day)."""
    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        return None
    if end:
        day += datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(), zoneinfo.ZoneInfo(zone)).timestamp()


def _filter() -> RecordingFilter:
    a = request.args
    zone = ctx().config.timezone
    return RecordingFilter(start=_day(a.get("from", ""), zone), end=_day(a.get("to", ""), zone, end=True),
                           agent=a.get("agent", "").strip()[:64], number=a.get("number", "").strip()[:32],
                           customer=a.get("customer", "").strip()[:128], queue=a.get("queue", "").strip()[:64],
                           campaign=a.get("campaign", "").strip()[:64], result=a.get("result", "").strip()[:64])


def _row(hit: RecordingHit) -> dict[str, Any]:
    results = ctx().config.results or DEFAULT_RESULTS
    return {"id": hit.id, "at": hit.started_at, "duration_s": hit.duration_s, "caller": mask_number(hit.caller),
            "callee": mask_number(hit.callee), "agent": hit.agent_id or "", "queue": hit.queue or "",
            "campaign": hit.campaign or "", "customer": hit.customer_name or "", "customer_id": hit.customer_id,
            "result": label(hit.result, results) if hit.result else ""}


@bp.get("")
@signed_in
def search() -> str:
    """The search form and a page of recordings, newest first."""
    user = current_user()
    if not user.holds(Permission.VIEW_RECORDINGS) and user.agent_id is None:
        abort(403)
    c = ctx()
    agents = c.watch.directory.visible_agents(user, Permission.VIEW_RECORDINGS)
    before = None
    key = request.args.get("before", "")
    if key:
        at, _, rid = key.partition(":")
        try:
            before = (float(at), rid)
        except ValueError:
            abort(400)
    f = _filter()
    repo = RecordingSearch(c.db)
    hits = c.run(lambda: repo.search(f, agents=agents, before=before, limit=PAGE + 1), "recording search")
    more = len(hits) > PAGE
    hits = hits[:PAGE]
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "before" and v}
    next_url = url_for("recordings.search", **args, before=f"{hits[-1].started_at!r}:{hits[-1].id}") \
        if more and hits else None
    return render_template("recordings/search.html", rows=[_row(h) for h in hits], args=request.args,
                           next_url=next_url, first_url=url_for("recordings.search", **args) if before else None,
                           results=choices(c.config.results, DEFAULT_RESULTS))


def _hit(recording_id: str, permission: Permission) -> RecordingHit:
    c = ctx()
    repo = RecordingSearch(c.db)
    hit = c.run(lambda: repo.get(recording_id), "a recording")
    if hit is None:
        abort(404)
    user = current_user()
    decision = allowed(user, permission, _resource(hit))
    if not decision:
        log.info("web: user %s refused %s on recording %s: %s", user.login, permission, recording_id, decision.reason)
        abort(403)
    return hit


def _audit(action: str, hit: RecordingHit) -> None:
    c, user = ctx(), current_user()
    actor = Actor(user.login, user.id, request.remote_addr or "")
    detail = {"call": hit.call_uuid, "agent": hit.agent_id, "via": "web"}
    c.run(lambda: AuditRepo(c.db).append(actor, action, "recording", hit.id, detail), "audit of a recording")


@bp.get("/<recording_id>")
@signed_in
def show(recording_id: str) -> str:
    """One recording: its facts and the player."""
    hit = _hit(recording_id, Permission.VIEW_RECORDINGS)
    may_download = bool(allowed(current_user(), Permission.DOWNLOAD_RECORDINGS, _resource(hit)))
    return render_template("recordings/show.html", r=_row(hit), may_download=may_download)


def _file(hit: RecordingHit) -> str:
    """The recording's file, which must lie in the controller's recordings folder (404 when it is not here)."""
    ctl = ctx().service.controller
    folder = os.path.realpath(ctl.recordings_dir) if ctl is not None else None
    path = os.path.realpath(hit.path)
    if folder is None or os.path.commonpath([folder, path]) != folder or not os.path.isfile(path):
        log.warning("web: recording %s: its file is not in this controller's recordings folder", hit.id)
        abort(404)
    return path


@bp.get("/<recording_id>/audio")
@signed_in
def audio(recording_id: str) -> Response:
    """The file for the page's player; Range requests (seeking) answer 206. The first request of a play is
    audited (one without Range, or from byte 0), not every seek."""
    hit = _hit(recording_id, Permission.VIEW_RECORDINGS)
    path = _file(hit)
    rng = request.headers.get("Range", "")
    if not rng or rng.replace(" ", "").startswith("bytes=0-"):
        _audit("recording.play", hit)
    resp = send_file(path, conditional=True, download_name=f"{hit.id}{os.path.splitext(path)[1]}", max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.get("/<recording_id>/download")
@signed_in
def download(recording_id: str) -> Response:
    """The file as an attachment (download_recordings; audited)."""
    hit = _hit(recording_id, Permission.DOWNLOAD_RECORDINGS)
    path = _file(hit)
    _audit("recording.download", hit)
    resp = send_file(path, as_attachment=True, download_name=f"recording-{hit.id}{os.path.splitext(path)[1]}",
                     conditional=True, max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp
