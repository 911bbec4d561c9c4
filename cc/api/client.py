"""ControllerClient: how the CLI talks to a running controller's HTTP API (stdlib only, short timeouts)."""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

from cc.errors import ApiError, ControllerUnreachable

__all__ = ["DEFAULT_URL", "ControllerClient", "resolve_controller_url"]

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8080"


def resolve_controller_url(url: str | None = None) -> str:
    """``url`` if given, else ``$CC_URL``, else http://127.0.0.1:8080."""
    return (url or os.environ.get("CC_URL") or DEFAULT_URL).rstrip("/")


class ControllerClient:
    """JSON requests to the control API; ControllerUnreachable (exit 3) or ApiError (exit 1) on failure."""

    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 5.0) -> None:
        self.url = resolve_controller_url(url)
        self.token = token if token is not None else os.environ.get("CC_TOKEN")
        self.timeout = timeout

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                query: dict[str, str] | None = None) -> Any:
        """Send one request; the decoded JSON answer."""
        target = self.url + path
        if query:
            target += "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
        data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        req = urllib.request.Request(target, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise self._api_error(exc) from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            why = getattr(exc, "reason", None) or exc
            raise ControllerUnreachable(self.url, str(why)) from None
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise ControllerUnreachable(self.url, "the answer is not JSON (is this a cc controller?)") from None

    @staticmethod
    def _api_error(exc: urllib.error.HTTPError) -> ApiError:
        try:
            info = json.loads(exc.read())["error"]
            return ApiError(int(info["status"]), str(info["message"]), kind=str(info.get("kind", "")))
        except (ValueError, KeyError, TypeError, OSError):
            return ApiError(exc.code, f"HTTP {exc.code} {exc.reason}")

    def get(self, path: str, **query: str) -> Any:
        """GET ``path``."""
        return self.request("GET", path, query={k: v for k, v in query.items() if v is not None} or None)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST ``body`` to ``path``."""
        return self.request("POST", path, body=body)

    @staticmethod
    def quote(part: str) -> str:
        """A path segment, escaped."""
        return quote(part, safe="")
