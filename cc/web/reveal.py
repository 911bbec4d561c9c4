"""Revealing one masked number on a page: the reveal_numbers decision, a reason, an audit row, then the number."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext

from cc.authz import Permission, Resource
from cc.errors import InvalidValue
from cc.privacy.reveal import Disclosure, check_reason
from cc.web.guard import ctx, current_user, require

__all__ = ["reveal_number"]


def reveal_number(number: str, what: str, resource: Resource, slot: str) -> tuple[str, int] | str:
    """The answer of a page's Reveal form for ``number``: 403 without ``reveal_numbers`` on ``resource``; the
    form again with an error (400) without a one-line reason; else the reveal is written to the audit log through
    :class:`Disclosure` (``reveal``, the reason, ``what``; in a worker thread) and the whole number is answered to
    this request alone (pages keep showing it masked)."""
    require(Permission.REVEAL_NUMBERS, resource)
    reason = request.form.get("reason", "")
    try:
        check_reason(reason, "reason")
    except InvalidValue:
        return render_template("_reveal.html", reveal_id=slot, reveal_url=request.path, revealed=None,
                               reveal_error=gettext("Give the reason for seeing the whole number.")), 400
    c, user = ctx(), current_user()
    disclosure = Disclosure(audit=c.audit)
    c.run(lambda: disclosure.view_for(user, reason, f"web: {what}", resource), "audit of a reveal")
    return render_template("_reveal.html", reveal_id=slot, reveal_url=request.path, revealed=number,
                           reveal_error=None)
