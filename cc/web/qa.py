"""QA pages (issue 19): the work list, scoring a call with its recording playing in the page and comments at a
time in it, and the agent's own scores with a dispute button. The decisions are cc.qa.service's (the same as the
API's QA routes): ``score_calls`` over the call's agent and never one's own calls, ``agent_self`` for one's scores.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response

from cc.errors import ApiError, CCError, InvalidValue, NotFound
from cc.qa.score import parse_answer
from cc.qa.service import QaService
from cc.qa.views import clock, score_dict
from cc.qa.worklist import ItemState
from cc.store.qa import Comment, QaRepo
from cc.store.recording_search import RecordingSearch
from cc.web.guard import ctx, current_user, signed_in

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("qa", __name__, url_prefix="/qa")

T = TypeVar("T")
#: comment rows a scoring form offers
COMMENTS = 3
_OFFSET = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")
#: QA states, answers and resolutions as the pages show them
LABELS = {"todo": lazy_gettext("To do"), "in_progress": lazy_gettext("In progress"), "scored": lazy_gettext("Scored"),
          "disputed": lazy_gettext("Disputed"), "resolved": lazy_gettext("Resolved"), "pass": lazy_gettext("Pass"),
          "fail": lazy_gettext("Fail"), "na": lazy_gettext("Not applicable"), "upheld": lazy_gettext("Upheld"),
          "changed": lazy_gettext("Changed")}


@bp.app_template_filter("qa_label")
def qa_label(code: str) -> str:
    """A QA state, answer or resolution in the page's language (points stay numbers)."""
    found = LABELS.get(str(code))
    return str(found) if found is not None else str(code)


def _service() -> QaService:
    c = ctx()
    return QaService(QaRepo(c.db), lambda: c.watch.directory, client="web")


def _run(fn: Callable[[], T], what: str) -> T:
    """A QA service call in a worker thread; its refusals become 403/404 pages."""
    try:
        return ctx().run(fn, what)
    except ApiError as exc:
        if exc.status == 403:
            abort(403)
        raise
    except NotFound:
        abort(404)


def _offset(text: str) -> float | None:
    """``M:SS`` or ``H:MM:SS`` into the recording -> seconds (None when empty); InvalidValue otherwise."""
    text = text.strip()
    if not text:
        return None
    m = _OFFSET.match(text)
    if m is None:
        raise InvalidValue("comment time", text, "M:SS")
    return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3))


@bp.get("")
@signed_in
def worklist() -> str:
    """The work list (calls of agents in the user's scope; never his own)."""
    user, svc = current_user(), _service()
    state = request.args.get("state") or None
    if state is not None and state not in {s.value for s in ItemState}:
        abort(400)
    mine = request.args.get("mine") == "1"
    items = _run(lambda: svc.worklist(user, state=ItemState(state) if state else None, mine=mine), "qa work list")
    return render_template("qa/worklist.html", items=items, state=state or "", mine=mine,
                           states=[s.value for s in ItemState])


def _recording_of(call_uuid: str) -> str | None:
    c = ctx()

    return c.run(lambda: RecordingSearch(c.db).first_of_calls([call_uuid]).get(call_uuid), "a call's recording")


@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
@signed_in
def score(item_id: int) -> Any:
    """Score a work-list item's call: the scorecard's items, the recording, comments at a time in it."""
    user, svc = current_user(), _service()
    item = _run(lambda: svc.item(user, item_id), "qa item")
    cards = _run(lambda: svc.scorecards(user), "scorecards")
    chosen = request.values.get("scorecard") or (cards[0].name if cards else "")
    card = next((c for c in cards if c.name == chosen), None)
    error = None
    if request.method == "POST" and card is not None:
        try:
            answers = {i.key: parse_answer(i.key, request.form.get(f"answer-{i.key}", ""))
                       for i in card.card.items()}
            comments = [Comment(text.strip()[:4000], _offset(at))
                        for text, at in zip(request.form.getlist("comment"), request.form.getlist("comment_at"),
                                            strict=False) if text.strip()]
            done = _run(lambda: svc.score(user, item_id, card.name, answers, comments), "qa score")
            return redirect(url_for("qa.show", score_id=done.id), 303)
        except InvalidValue as exc:
            error = gettext("Check the answers and the comment times: %(what)s", what=str(exc))
        except CCError as exc:
            log.info("web: qa score of item %s refused: %s", item_id, exc)
            error = gettext("This call cannot be scored in its current state.")
    return render_template("qa/score.html", item=item, cards=cards, card=card, recording=_recording_of(item.call_uuid),
                           error=error, comments=COMMENTS, form=request.form), (400 if error else 200)


@bp.get("/scores/<int:score_id>")
@signed_in
def show(score_id: int) -> str:
    """One score with its answers, comments (a click plays the recording from there) and dispute."""
    user, svc = current_user(), _service()
    sc = _run(lambda: svc.score_view(user, score_id), "qa score")
    return render_template("qa/show.html", s=score_dict(sc), card=sc.card, recording=_recording_of(sc.call_uuid),
                           own=sc.agent_id == user.agent_id)


@bp.get("/mine")
@signed_in
def mine() -> str:
    """The agent's own scores."""
    user, svc = current_user(), _service()
    if user.agent_id is None:
        abort(403)
    scores = _run(lambda: svc.my_scores(user), "my qa scores")
    return render_template("qa/mine.html", scores=[score_dict(s) for s in scores], clock=clock)


@bp.post("/scores/<int:score_id>/dispute")
@signed_in
def dispute(score_id: int) -> Response | tuple[str, int]:
    """Dispute one's own score, once, with a reason."""
    user, svc = current_user(), _service()
    reason = request.form.get("reason", "").strip()[:4000]
    if not reason:
        sc = _run(lambda: svc.score_view(user, score_id), "qa score")
        return render_template("qa/show.html", s=score_dict(sc), card=sc.card, own=True,
                               recording=_recording_of(sc.call_uuid), error=gettext("Give a reason.")), 400
    try:
        _run(lambda: svc.dispute(user, score_id, reason), "qa dispute")
    except CCError:
        sc = _run(lambda: svc.score_view(user, score_id), "qa score")
        return render_template("qa/show.html", s=score_dict(sc), card=sc.card, own=True,
                               recording=_recording_of(sc.call_uuid),
                               error=gettext("This score cannot be disputed (once only).")), 409
    return redirect(url_for("qa.show", score_id=score_id), 303)
