"""Units of cc.api without a service: token checks, the event hub (filters, overflow, close), the metrics
histogram, the WSGI app's error mapping and the client's error mapping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cc.api.auth import Caller, Locate, authenticate, authorize, locate
from cc.api.client import ControllerClient
from cc.api.events import EventHub
from cc.api.metrics import BUCKETS, MetricsCollector, render_metrics
from cc.api.server import parse_listen
from cc.authz import Directory, GrantSpec, Permission, UserSpec
from cc.errors import ApiError, ControllerUnreachable, InvalidValue
from cc.runtime.hooks import HookEvent, Hooks

DIRECTORY = Directory(units={"a": None, "b": None},
                      users=[UserSpec(1, "root"), UserSpec(2, "sup-a"), UserSpec(3, "desk", "1001"),
                             UserSpec(4, "gone", disabled=True)],
                      grants=[GrantSpec(1, "admin", everywhere=True), GrantSpec(2, "supervisor", units=("a",)),
                              GrantSpec(3, "agent"), GrantSpec(4, "admin", everywhere=True)],
                      agents={"1001": "a", "1002": "b"})
ADMIN, SUP, AGENT, GONE = (Caller(f"t{i}", DIRECTORY.users[i]) for i in (1, 2, 3, 4))


def test_authenticate() -> None:
    lookup = {"good": ADMIN, "off": GONE}.get
    assert authenticate("Bearer good", lookup) is ADMIN
    assert authenticate("bearer   good ", lookup) is ADMIN
    for header in (None, "", "Basic good", "Bearer", "Bearer bad", "Bearer off"):
        with pytest.raises(ApiError) as e:
            authenticate(header, lookup)
        assert e.value.status == 401


@pytest.mark.parametrize(("caller", "permission", "how", "agent", "ok"), [
    (ADMIN, Permission.EDIT_CONFIG, Locate.ORG, None, True),
    (SUP, Permission.EDIT_CONFIG, Locate.ORG, None, False),
    (SUP, Permission.CONTROL_AGENTS, Locate.AGENT, "1001", True),     # in his unit a
    (SUP, Permission.CONTROL_AGENTS, Locate.AGENT, "1002", False),    # unit b
    (AGENT, Permission.CONTROL_AGENTS, Locate.AGENT, "1001", True),   # his own agent (agent_self)
    (AGENT, Permission.CONTROL_AGENTS, Locate.AGENT, "1002", False),
    (AGENT, Permission.CONTROL_CALLS, Locate.AGENT, "1001", False),   # not self-service
    (AGENT, Permission.VIEW_LIVE, Locate.SELF, None, True),
    (AGENT, Permission.VIEW_LIVE, Locate.SHARED, None, False),
    (SUP, Permission.VIEW_LIVE, Locate.SHARED, None, True),
])
def test_authorize(caller: Caller, permission: Permission, how: Locate, agent: str | None, ok: bool) -> None:
    resource = locate(how, {"agent_id": agent or ""}, caller, DIRECTORY)
    if ok:
        authorize(caller, permission, resource)
    else:
        with pytest.raises(ApiError) as e:
            authorize(caller, permission, resource)
        assert e.value.status == 403 and caller.user.login in str(e.value)


def test_a_call_is_located_by_its_agent() -> None:
    agents = {"c1": "1001", "c2": None}.get
    assert locate(Locate.CALL, {"uuid": "c1"}, SUP, DIRECTORY, agents).unit == "a"
    assert locate(Locate.CALL, {"uuid": "c2"}, SUP, DIRECTORY, agents).shared      # queued: no agent yet
    # an agent the directory does not know yet: the controller's configuration names his unit
    assert locate(Locate.AGENT, {"agent_id": "9"}, SUP, DIRECTORY, agent_unit={"9": "a"}.get).unit == "a"


def ev(kind: str, agent: str | None = None) -> HookEvent:
    return HookEvent(kind, 1.0, call_uuid="c1", agent_id=agent, data={"status": "available"})


def test_hub_filters_by_kind_and_agent_and_ends_on_close() -> None:
    hooks = Hooks()
    hub = EventHub(hooks, keepalive_s=0.05)
    everything = hub.stream()
    only_bridged = hub.stream(kinds=frozenset({"bridged"}))
    mine = hub.stream(agent_id="1001", limit=1)
    assert next(everything).startswith(b"retry:") and next(only_bridged) and next(mine)
    assert hub.clients == 3
    hooks.emit(ev("agent_status", "1002"))
    hooks.emit(ev("bridged", "1001"))
    first = next(everything).decode()
    assert first.startswith("id: 1\nevent: agent_status\n")
    assert json.loads(first.split("data: ", 1)[1])["agent_id"] == "1002"
    assert b"event: bridged" in next(everything)
    assert b"event: bridged" in next(only_bridged)
    assert b'"agent_id":"1001"' in next(mine)
    assert list(mine) == []                       # limit reached: the stream ends
    assert next(everything) == b": keepalive\n\n"  # nothing for a while
    hub.close()
    assert list(everything) == [] and list(only_bridged) == []
    assert hub.clients == 0
    hooks.emit(ev("bridged"))                      # no listener left, nothing raised


def test_hub_disconnects_a_slow_client() -> None:
    hooks = Hooks()
    hub = EventHub(hooks, max_queue=3)
    slow = hub.stream()
    next(slow)
    for _ in range(10):
        hooks.emit(ev("agent_status", "1"))
    assert hub.dropped == 1 and hub.clients == 0
    chunks = list(slow)
    assert len(chunks) == 4 and chunks[-1].startswith(b"event: overflow")


class _Driver:
    def __init__(self) -> None:
        self.events = 0
        self.refused = 0
        from collections import deque

        self.decision_s: Any = deque(maxlen=4)


def test_histogram_counts_each_decision_once_even_when_the_window_wraps() -> None:
    from types import SimpleNamespace

    driver = _Driver()
    col = MetricsCollector(SimpleNamespace(controller=None, writer=None))
    for value in (0.00005, 0.0003, 0.002):
        driver.decision_s.append(value)
        driver.events += 1
    col._observe_decisions(driver)
    col._observe_decisions(driver)           # nothing new: nothing counted twice
    assert sum(col._counts) == 3
    for _ in range(6):                        # more than the window holds: only what is still there
        driver.decision_s.append(2.0)
        driver.refused += 1
    col._observe_decisions(driver)
    assert sum(col._counts) == 7 and col._counts[len(BUCKETS)] == 4
    assert b"cc_calls" not in render_metrics(col)   # no controller: no controller metrics, no error


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:0") == ("::1", 0)
    for bad in ("8080", "host:", ":80", "h:99999", "h:x"):
        with pytest.raises(InvalidValue):
            parse_listen(bad)


def _serve_once(status: str, body: bytes) -> int:
    """A one-shot HTTP server (greenlet) answering ``status`` with ``body``; its port."""
    from gevent.server import StreamServer

    def handle(sock: Any, addr: Any) -> None:
        sock.recv(65536)
        sock.sendall(f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                     + body)
        sock.close()

    server = StreamServer(("127.0.0.1", 0), handle)
    server.start()
    return int(server.server_port)


def test_client_maps_errors() -> None:
    from .conftest import closed_port, off_hub

    with pytest.raises(ControllerUnreachable) as e:
        ControllerClient(f"http://127.0.0.1:{closed_port()}", "t").get("/api/v1/calls")
    assert "127.0.0.1" in str(e.value) and e.value.exit_code == 3
    port = _serve_once("403 Forbidden", b'{"error": {"status": 403, "kind": "forbidden", "message": "no"}}')
    with pytest.raises(ApiError) as api:
        off_hub(ControllerClient(f"http://127.0.0.1:{port}", "t").get, "/x")
    assert (api.value.status, api.value.kind, str(api.value)) == (403, "forbidden", "no")
    port = _serve_once("500 Oops", b"<html>")
    with pytest.raises(ApiError) as api:
        off_hub(ControllerClient(f"http://127.0.0.1:{port}", "t").get, "/x")
    assert api.value.status == 500
    port = _serve_once("200 OK", b"<html>")
    with pytest.raises(ControllerUnreachable):
        off_hub(ControllerClient(f"http://127.0.0.1:{port}", "t").get, "/x")

