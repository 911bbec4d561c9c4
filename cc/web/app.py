"""The web desktop's Flask app factory: sessions, CSRF, languages, the signed-in user, and the blueprints.

Layout of cc/web (each page area is a blueprint module; a new area adds its module, its templates under
``templates/<area>/`` and one line in :data:`BLUEPRINTS` and in :data:`cc.web.nav.NAV`):

- ``app.py``        this factory: cookie session (HttpOnly, SameSite=Lax, Secure over HTTPS), CSRF on every
  POST (forms and htmx, header ``X-CSRFToken``), locale per user/session/browser, ``g.user``, errors;
- ``context.py``    :class:`~cc.web.context.WebContext`: the service, the API's offload/directory/event hub,
  the repositories -- every store call goes through ``ctx.run`` (a worker thread, never the gevent hub);
- ``guard.py``      ``signed_in`` (a view decorator) and ``require(permission, resource)``: the one decision,
  ``cc.authz.allowed``, exactly as the API takes it;
- ``auth.py``       sign-in (the store's argon2 sign-in with lock-out, audited), sign-out, language switch;
- ``workbench.py``  the agent's page: state, time in state, screen pop, add customer, result form;
- ``desk.py``       per-agent call cards from the controller's hooks, results required before Ready;
- ``i18n.py``, ``labels.py``, ``translations/``: zh_CN and en catalogs (.po, compiled at start);
- ``mount.py``      the API at /api, /healthz, /metrics, /openapi.json and the pages at / on one server;
- ``templates/base.html`` the layout (header, navigation, language switch, sign-out, ``{% block main %}``);
  ``static/`` htmx, its SSE extension (pinned, see static/README.md), cc.js, cc.css.
"""

from __future__ import annotations

import datetime
import logging
import os
import secrets
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel, format_datetime, get_locale, gettext
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from cc.errors import CCError, ConfigError, DatabaseUnavailable, StoreError
from cc.web import auth, customers, outbound, qa, recordings, supervisor, workbench
from cc.web.context import WebContext
from cc.web.i18n import LOCALES, compile_catalogs, page_locale, pick_locale
from cc.web.labels import label
from cc.web.nav import visible_nav

__all__ = ["BLUEPRINTS", "create_app", "secret_key"]

log = logging.getLogger(__name__)

#: the page areas, in the order their routes are registered
BLUEPRINTS = (auth.bp, workbench.bp, outbound.bp, supervisor.bp, recordings.bp, customers.bp, qa.bp)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session; its Secure flag follows ``web.secure_cookie`` (auto: the request's scheme)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure always, never, or when this request came over HTTPS."""
        if self.mode == "always":
            return True
        if self.mode == "never":
            return False
        return bool(request.is_secure)


def secret_key(configured: str, path: Path) -> str:
    """The key that signs session cookies: the configured one, else the one kept in ``path`` (made on first use,
    mode 0600). ConfigError naming the file when it cannot be read or written."""
    if configured:
        return configured
    try:
        if path.exists():
            key = path.read_text(encoding="ascii").strip()
            if len(key) >= 32:
                return key
            raise ConfigError(f"{path}:1: the web secret is shorter than 32 characters; delete the file to make a "
                              "new one (every session ends)", file=str(path))
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
        log.info("web: made a new session secret in %s", path)
        return key
    except FileExistsError:   # another process made it at the same moment: read that one
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot keep the web session secret there: {exc}", file=str(path)) from None


def create_app(ctx: WebContext, *, blueprints: Iterable[Any] = BLUEPRINTS) -> Flask:
    """The web desktop over ``ctx`` (a started service's parts)."""
    cfg = ctx.config
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(
        SECRET_KEY=secret_key(cfg.secret_key, Path(ctx.base_dir) / cfg.secret_file),
        SESSION_COOKIE_NAME="cc_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=datetime.timedelta(seconds=cfg.session_s),
        WTF_CSRF_TIME_LIMIT=None,          # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=True,
        BABEL_TRANSLATION_DIRECTORIES=str(compile_catalogs()),
        BABEL_DEFAULT_TIMEZONE=cfg.timezone,
        MAX_CONTENT_LENGTH=64 * 1024,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.session_interface = _SessionInterface(cfg.secure_cookie)
    app.extensions["cc"] = ctx
    CSRFProtect(app)
    Babel(app, locale_selector=lambda: pick_locale(session.get("locale"), request.accept_languages))
    for bp in blueprints:
        app.register_blueprint(bp)

    @app.before_request
    def load_user() -> None:
        g.ctx = ctx
        g.user = None
        uid = session.get("uid")
        if uid is None:
            return
        user = ctx.principal(int(uid))
        signed_at = float(session.get("at", 0))
        if user is None or user.disabled or time.time() - signed_at > cfg.session_s:
            session.clear()
            return
        g.user = user

    @app.template_filter("when")
    def when(epoch: float) -> str:
        """An epoch time in the page's language and the configured time zone, to the minute."""
        return str(format_datetime(datetime.datetime.fromtimestamp(epoch, datetime.UTC), "short"))

    @app.template_filter("kind")
    def kind(code: str) -> str:
        """A built-in code's label (an interaction's kind)."""
        return label(code)

    @app.context_processor
    def layout() -> dict[str, Any]:
        user = g.get("user")
        return {"user": user, "nav": visible_nav(user) if user is not None else [], "locales": LOCALES,
                "locale": page_locale(get_locale()),
                "display_name": session.get("name") or (user.login if user is not None else "")}

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.get("/")
    def home() -> Response | str:
        """The signed-in user's first page (his workbench when he is an agent)."""
        user = g.get("user")
        if user is None:
            return redirect(url_for("auth.signin"))
        items = visible_nav(user)
        if items:
            return redirect(url_for(items[0].endpoint))
        return render_template("home.html")

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError) -> tuple[str, int]:
        log.info("web: %s %s refused: %s", request.method, request.path, exc.description)
        return render_template("error.html", status=400, message=gettext(
            "The form expired or did not come from this site. Reload the page and try again.")), 400

    @app.errorhandler(DatabaseUnavailable)
    def db_down(exc: DatabaseUnavailable) -> tuple[str, int]:
        log.warning("web: %s %s: %s", request.method, request.path, exc)
        return render_template("error.html", status=503, message=gettext(
            "The database does not answer right now. Try again in a moment.")), 503

    @app.errorhandler(StoreError)
    def store_error(exc: StoreError) -> tuple[str, int]:
        log.warning("web: %s %s: %s", request.method, request.path, exc)
        return render_template("error.html", status=503, message=gettext(
            "The database does not answer right now. Try again in a moment.")), 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if exc.code is None or exc.code < 400:
            return exc
        messages = {403: gettext("You may not open this page."), 404: gettext("There is no such page."),
                    405: gettext("This page does not take that kind of request."),
                    413: gettext("What was sent is too large.")}
        message = messages.get(exc.code, gettext("The request could not be served."))
        return render_template("error.html", status=exc.code, message=message), exc.code

    @app.errorhandler(CCError)
    def refused(exc: CCError) -> tuple[str, int]:
        log.info("web: %s %s refused: %s", request.method, request.path, exc)
        return render_template("error.html", status=409, message=gettext(
            "The controller refused this change in the current state.")), 409

    return app
