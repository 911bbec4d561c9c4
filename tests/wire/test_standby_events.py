"""The leader's hook events reach the SSE clients of the standby (PostgreSQL LISTEN/NOTIFY, cc.sim, real TCP):
an agent's status changed through the leader's API, in order, and an event bigger than a notification whole;
after a takeover the new leader publishes instead of listening."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

import gevent
import pytest

from cc.runtime.hooks import HookEvent
from tests.wire.test_standby_api import post, standby_pair

pytestmark = [pytest.mark.timeout(90), pytest.mark.postgres]


class SseClient:
    """An SSE client in a worker thread: reads ``url`` until ``count`` events came (or 20 s passed)."""

    def __init__(self, url: str, token: str, count: int) -> None:
        self.connected = threading.Event()
        self.events: list[tuple[str, dict[str, Any]]] = []
        req = urllib.request.Request(url)
        req.add_header("Authorization", f"Bearer {token}")
        self.result = gevent.get_hub().threadpool.spawn(self._read, req, count)

    def _read(self, req: urllib.request.Request, count: int) -> list[tuple[str, dict[str, Any]]]:
        with urllib.request.urlopen(req, timeout=20) as resp:
            kind, data = "", ""
            for raw in resp:
                line = raw.decode().rstrip("\n")
                if line == ": connected":
                    self.connected.set()
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and kind:
                    self.events.append((kind, json.loads(data)))
                    kind = ""
                    if len(self.events) >= count:
                        break
        return self.events

    def wait_connected(self) -> None:
        deadline = gevent.get_hub().loop.now() + 10
        while not self.connected.is_set() and gevent.get_hub().loop.now() < deadline:
            gevent.sleep(0.02)
        assert self.connected.is_set(), "the SSE stream did not open"


def until(cond: Any, timeout: float = 10.0) -> bool:
    """Wait (in the hub) until ``cond()`` holds; its last value."""
    deadline = gevent.get_hub().loop.now() + timeout
    while not cond() and gevent.get_hub().loop.now() < deadline:
        gevent.sleep(0.05)
    return bool(cond())


def test_the_standby_streams_the_leaders_events_in_order_and_whole(tmp_path: Path, pg_url: str) -> None:
    with standby_pair(tmp_path, pg_url) as (leader, standby, token):
        assert leader.relay is not None and until(lambda: leader.relay is not None and leader.relay.mode == "leading")
        assert standby.relay is not None and standby.relay.mode == "listening"
        assert standby.api is not None and leader.api is not None
        numbered = 40
        big = {"note": "客户的长备注 with words, " * 800}   # ~20 KB of JSON: three notifications
        assert len(json.dumps(big, ensure_ascii=True)) > 20_000
        sse = SseClient(f"{standby.api.url}/api/v1/events?kinds=agent_status,campaign_status", token,
                        count=3 + numbered + 1)
        sse.wait_connected()
        gevent.sleep(0.6)   # the standby's listener is on its channel (it LISTENs at start; a poll turn at most)
        for verb in ("login", "logout", "login"):   # changes go to the leader; its events come back via the standby
            code, _, body = post(f"{leader.api.url}/api/v1/agents/1001/{verb}", token)
            assert code == 200, body
        for i in range(numbered):
            leader.hooks.emit(HookEvent("campaign_status", float(i), data={"n": i, "campaign": "spring"}))
        leader.hooks.emit(HookEvent("campaign_status", 99.0, data=big))
        got = sse.result.get(timeout=20)
        status = [(d["agent_id"], d["data"].get("status")) for k, d in got if k == "agent_status"]
        assert status == [("1001", "available"), ("1001", "logged_out"), ("1001", "available")], got[:3]
        campaign = [d["data"] for k, d in got if k == "campaign_status"]
        assert [c.get("n") for c in campaign[:numbered]] == list(range(numbered))
        assert campaign[-1] == big
        assert standby.relay.missed == 0 and standby.relay.received >= 3 + numbered + 1
        # a burst goes in batches, not one trip per event (the leader counts a batch once its round trip returned,
        # which may be after the standby got it)
        assert until(lambda: leader.relay is not None and leader.relay.published >= 3 + numbered + 1)
        assert leader.relay.batches < leader.relay.published

        # takeover: the leader goes, the standby leads, stops listening and publishes its own events
        leader.stop(drain_timeout=1)
        assert standby.leadership is not None and standby.leadership.wait_leading(15)
        assert until(lambda: standby.relay is not None and standby.relay.mode == "leading")
        assert standby.relay._listen_thread is None
