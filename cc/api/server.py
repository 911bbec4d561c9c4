"""ApiServer: the control API on a gevent WSGI server inside the controller process."""

from __future__ import annotations

import logging
import socket
from typing import Any

import gevent.socket
from gevent.pywsgi import WSGIServer

from cc.api.app import ApiApp
from cc.errors import InvalidValue

__all__ = ["ApiServer", "parse_listen"]

log = logging.getLogger(__name__)


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` -> (host, port); InvalidValue otherwise."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidValue("http.listen", listen, "expected HOST:PORT")
    return host.strip("[]"), int(port)


class ApiServer:
    """Serves :class:`ApiApp` for a Service on ``listen`` (``host:port``; port 0 picks a free one)."""

    def __init__(self, service: Any, listen: str) -> None:
        self.service = service
        self.listen = parse_listen(listen)
        self.app = ApiApp(service)
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
        self._server = WSGIServer(listener, self.app, log=None, error_log=log)
        self._server.start()
        log.info("api: listening on %s", self.url)

    def stop(self, timeout: float = 1.0) -> None:
        """End event streams and stop serving."""
        self.app.close()
        if self._server is not None:
            self._server.stop(timeout=timeout)
            self._server = None
