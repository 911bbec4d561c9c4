"""ApiServer: the control API on a gevent WSGI server inside the controller process."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any

import gevent.socket
from gevent.pywsgi import WSGIHandler, WSGIServer

from cc.api.app import ApiApp
from cc.errors import InvalidValue

__all__ = ["HEADER_TIMEOUT_S", "MAX_HEADER_BYTES", "ApiServer", "parse_listen"]

log = logging.getLogger(__name__)

#: a client has this long to send its request line and headers (slowloris); the body and the response are not bound
HEADER_TIMEOUT_S = 10.0
#: and at most this many bytes of headers
MAX_HEADER_BYTES = 16 * 1024


_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class _ErrorLog:
    """pywsgi's error log as one WARNING line per message (it writes client junk there)."""

    def write(self, message: str) -> None:
        """Log one message."""
        text = " ".join(message.split())
        if text:
            log.warning("api: %s", text[:300])

    def flush(self) -> None:
        """Nothing to flush."""


class _Handler(WSGIHandler):  # type: ignore[misc]
    """pywsgi's handler with a bound on the time and the size of a request's headers; bad requests from
    clients are one WARNING line (no traceback)."""

    def handle_one_request(self) -> Any:
        """Read one request with the header timeout on the socket."""
        if self.socket is not None:
            self.socket.settimeout(HEADER_TIMEOUT_S)
        return super().handle_one_request()

    def read_request(self, raw_requestline: str) -> Any:
        """Parse the request line and headers; refuse too many header bytes; lift the timeout for the rest."""
        ok = super().read_request(raw_requestline)
        size = sum(len(k) + len(v) + 4 for k, v in self.headers.items()) if self.headers is not None else 0
        if size > MAX_HEADER_BYTES:
            raise ValueError(f"{size} bytes of headers (at most {MAX_HEADER_BYTES})")
        if self.socket is not None:
            self.socket.settimeout(None)   # an event stream may stay quiet for long
        return ok

    def _handle_client_error(self, ex: BaseException) -> Any:
        log.warning("api: bad request from %s: %s", self.client_address, " ".join(str(ex).split())[:200]
                    or type(ex).__name__)
        return "400", _BAD_REQUEST


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` -> (host, port); InvalidValue otherwise."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidValue("http.listen", listen, "expected HOST:PORT")
    return host.strip("[]"), int(port)


class ApiServer:
    """Serves :class:`ApiApp` for a Service on ``listen`` (``host:port``; port 0 picks a free one)."""

    def __init__(self, service: Any, listen: str, *, mount: Callable[[ApiApp], Any] | None = None) -> None:
        """``mount(api)``, when given, returns the WSGI application served instead of the bare API (the web
        desktop with the API under its own paths, see cc.web.mount)."""
        self.service = service
        self.listen = parse_listen(listen)
        self.app = ApiApp(service)
        self.mount = mount
        self._server: WSGIServer | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where the API listens (after start)."""
        if self._server is None:
            return self.listen
        host, port = self._server.address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """``http://host:port`` of the API."""
        host, port = self.address
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Listen and serve in the background (returns at once)."""
        host, port = self.listen
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = gevent.socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted sockets inherit it: a response's headers and body go out without waiting for an ACK
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            listener.bind((host, port))
        except OSError as exc:
            listener.close()
            raise InvalidValue("http.listen", f"{host}:{port}", f"cannot listen: {exc.strerror or exc}") from None
        listener.listen(128)
        app = self.mount(self.app) if self.mount is not None else self.app
        self._server = WSGIServer(listener, app, log=None, error_log=_ErrorLog(), handler_class=_Handler)
        self._server.start()
        self.app.watch.start()
        self.app.watch.wait_first(self.app.offload.timeout_s + 1.0)
        log.info("api: listening on %s", self.url)

    def stop(self, timeout: float = 1.0) -> None:
        """End event streams and stop serving."""
        self.app.close()
        if self._server is not None:
            self._server.stop(timeout=timeout)
            self._server = None
