"""One server for the API and the pages: Werkzeug's DispatcherMiddleware sends /api, /healthz, /metrics and
/openapi.json to the API application unchanged, and everything else to the web app."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware

__all__ = ["API_PREFIXES", "mount"]

#: the paths that stay the API's (the API routes on the whole path)
API_PREFIXES = ("/api", "/healthz", "/metrics", "/openapi.json")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _WholePath:
    """The API as a mounted application: it sees the path it was mounted under as part of PATH_INFO again."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve one request with SCRIPT_NAME folded back into PATH_INFO."""
        environ["PATH_INFO"] = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        environ["SCRIPT_NAME"] = ""
        return self.app(environ, start_response)


def mount(web: WSGIApp, api: WSGIApp) -> WSGIApp:
    """The pages at ``/`` with the API at its own paths."""
    whole = _WholePath(api)
    dispatcher: WSGIApp = DispatcherMiddleware(web, {prefix: whole for prefix in API_PREFIXES})
    return dispatcher
