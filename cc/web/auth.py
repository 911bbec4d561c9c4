"""Sign-in (the store's argon2 check with lock-out, every attempt audited), sign-out, and the language switch."""

from __future__ import annotations

import datetime
import logging
import time

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_babel import format_datetime, gettext, lazy_gettext
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from cc.privacy.audit import AuditEntry
from cc.store.audit import Actor
from cc.store.users import SignInOutcome
from cc.web.guard import ctx, current_user, signed_in
from cc.web.i18n import LOCALES

__all__ = ["LocaleForm", "SignInForm", "bp"]

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

#: argon2 verification in a worker thread may take a while on a busy machine
SIGN_IN_TIMEOUT_S = 15.0


class SignInForm(FlaskForm):  # type: ignore[misc]
    """User name and password."""

    login = StringField(lazy_gettext("User name"), validators=[DataRequired(), Length(max=128)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class LocaleForm(FlaskForm):  # type: ignore[misc]
    """The language switch."""

    locale = SelectField(choices=list(LOCALES.items()))
    next = HiddenField()


def _safe_next(target: str | None) -> str:
    """A local path to go back to (never another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home")


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Response | str | tuple[str, int]:
    """The sign-in page and its form."""
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    error = None
    if form.validate_on_submit():
        c = ctx()
        login, password = (form.login.data or "").strip(), form.password.data or ""
        client = request.remote_addr or ""
        outcome = c.run(lambda: c.users.sign_in(login, password, client=client), "sign-in",
                        timeout_s=SIGN_IN_TIMEOUT_S)
        if outcome.ok and outcome.user is not None:
            user = outcome.user
            chosen = session.get("locale")
            session.clear()
            session.permanent = True
            session.update(uid=user.id, login=user.login, name=user.display_name or user.login, at=time.time(),
                           locale=user.locale if user.locale in LOCALES else chosen)
            log.info("web: user %s signed in from %s", user.login, client)
            return redirect(_safe_next(form.next.data))
        if outcome.outcome is SignInOutcome.LOCKED and outcome.locked_until is not None:
            until = datetime.datetime.fromtimestamp(outcome.locked_until, datetime.UTC)
            error = gettext("Too many failed attempts: this account is locked until %(time)s.",
                            time=format_datetime(until, "short"))
        elif outcome.outcome is SignInOutcome.DISABLED:
            error = gettext("This account is disabled.")
        else:
            error = gettext("Wrong user name or password.")
        return render_template("signin.html", form=form, error=error), 401
    if request.method == "POST":
        error = gettext("Enter your user name and password.")
        return render_template("signin.html", form=form, error=error), 400
    if g.get("user") is not None:
        return redirect(url_for("home"))
    return render_template("signin.html", form=form, error=None)


@bp.post("/signout")
@signed_in
def signout() -> Response:
    """End the session (audited)."""
    user = current_user()
    c = ctx()
    client = request.remote_addr or ""
    try:
        c.run(lambda: c.audit.append(AuditEntry(user.login, "sign_out", f"user:{user.login}", {"client": client})),
              "audit of a sign-out")
    except Exception as exc:   # the session ends whatever the audit log says
        log.warning("web: sign-out of %s not audited: %s", user.login, exc)
    session.clear()
    return redirect(url_for("auth.signin"))


@bp.post("/locale")
def locale() -> Response:
    """Switch the pages' language; kept on the user (his next sign-in) and in the session."""
    form = LocaleForm()
    if form.validate_on_submit():
        chosen = form.locale.data
        session["locale"] = chosen
        user = g.get("user")
        if user is not None:
            c = ctx()
            actor = Actor(user.login, user.id, request.remote_addr or "")
            c.run(lambda: c.users.set(user.login, locale=chosen, actor=actor), "language of a user")
    return redirect(_safe_next(form.next.data))
