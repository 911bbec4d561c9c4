"""The web desktop: server-rendered pages (Flask, Jinja2, htmx with server-sent events) on the API's services.

``build_web(service, api)`` is what cc/service.py mounts next to the HTTP API on the same gevent server; the
layout of the package is described in :mod:`cc.web.app`. Pages check permissions with the one decision,
``cc.authz.allowed``, on the API's in-memory directory, and run every store call in a worker thread.
"""

from __future__ import annotations

from typing import Any

from cc.web.app import create_app
from cc.web.context import WebContext
from cc.web.mount import mount

__all__ = ["WebContext", "build_web", "create_app"]


def build_web(service: Any, api: Any) -> Any:
    """The WSGI application serving the pages at / and ``api`` (an ApiApp) at its own paths."""
    return mount(create_app(WebContext.from_api(service, api)), api)
