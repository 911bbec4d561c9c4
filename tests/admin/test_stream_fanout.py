"""Event streams to many pages after the fan-out work (bench/web.py): an agent's stream carries only his own
events and asks the policy once per event, not once per connected stream; the wallboard feed builds a board's
bytes once per language and a page outside the policy never gets a stream."""

from __future__ import annotations

import json
from typing import Any

from cc.api.events import EventHub
from cc.authz import Directory, GrantSpec, Permission, ResourceKind, UserSpec, allowed
from cc.runtime.hooks import HookEvent, Hooks
from cc.web.wallboard import KEEPALIVE, WallboardFeed

AGENTS = [f"{1000 + i}" for i in range(50)]
DIRECTORY = Directory(units={"a": None, "b": None},
                      users=[UserSpec(i + 1, f"u{aid}", aid) for i, aid in enumerate(AGENTS)]
                      + [UserSpec(99, "sup-a")],
                      grants=[GrantSpec(i + 1, "agent") for i in range(len(AGENTS))]
                      + [GrantSpec(99, "supervisor", units=("a",))],
                      agents={aid: ("a" if i % 2 else "b") for i, aid in enumerate(AGENTS)})


def _payloads(stream: Any, n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        chunk = next(stream).decode()
        out.append(json.loads(chunk.split("data: ", 1)[1]))
    return out


def test_each_agents_stream_carries_only_his_events_and_asks_the_policy_once_per_event() -> None:
    hooks = Hooks()
    hub = EventHub(hooks, keepalive_s=0.01)
    asked: list[tuple[str, str | None]] = []
    revoked: set[int] = set()

    def scope_of(user_id: int) -> Any:
        def in_scope(ev: HookEvent) -> bool:   # what cc/web/workbench.py's stream asks
            asked.append((DIRECTORY.users[user_id].login, ev.agent_id))
            user = DIRECTORY.users[user_id]
            if user_id in revoked or ev.agent_id is None:
                return False
            return bool(allowed(user, Permission.VIEW_LIVE, DIRECTORY.agent(ev.agent_id, ResourceKind.EVENTS)))
        return in_scope

    streams = {aid: hub.stream(agent_id=aid, scope=scope_of(i + 1)) for i, aid in enumerate(AGENTS)}
    for s in streams.values():
        assert next(s).startswith(b"retry:")
    for rnd in range(3):
        for aid in AGENTS:
            hooks.emit(HookEvent("agent_status", float(rnd), agent_id=aid, data={"status": "available"}))
    hooks.emit(HookEvent("call_started", 9.0, call_uuid="c9"))            # nobody's agent: nobody's stream
    # one policy decision per event (its own agent's stream), not one per connected stream
    assert len(asked) == 3 * len(AGENTS)
    assert all(login == f"u{aid}" for login, aid in asked)
    for aid, s in streams.items():
        got = _payloads(s, 3)
        assert [p["agent_id"] for p in got] == [aid] * 3
        assert next(s) == b": keepalive\n\n"                                # and nothing else
    # a grant taken away: his own events stop at once
    revoked.add(1)
    hooks.emit(HookEvent("agent_status", 5.0, agent_id=AGENTS[0], data={}))
    hooks.emit(HookEvent("agent_status", 5.0, agent_id=AGENTS[1], data={}))
    assert next(streams[AGENTS[0]]) == b": keepalive\n\n"
    assert _payloads(streams[AGENTS[1]], 1)[0]["agent_id"] == AGENTS[1]
    hub.close()


def test_a_supervisors_stream_sees_only_his_units_agents() -> None:
    hooks = Hooks()
    hub = EventHub(hooks, keepalive_s=0.01)
    sup = DIRECTORY.users[99]

    def in_scope(ev: HookEvent) -> bool:
        return ev.agent_id is not None and bool(
            allowed(sup, Permission.VIEW_LIVE, DIRECTORY.agent(ev.agent_id, ResourceKind.EVENTS)))

    s = hub.stream(scope=in_scope)
    next(s)
    for aid in AGENTS:
        hooks.emit(HookEvent("agent_status", 1.0, agent_id=aid, data={}))
    mine = [aid for i, aid in enumerate(AGENTS) if i % 2]     # unit a
    assert [p["agent_id"] for p in _payloads(s, len(mine))] == mine
    assert next(s) == b": keepalive\n\n"
    hub.close()


class _Ctl:
    """Just enough controller for board_of: no queues, no agents."""

    class clock:
        @staticmethod
        def now() -> float:
            return 100.0

    class acd:
        @staticmethod
        def agents(now: float) -> list[Any]:
            return []

        @staticmethod
        def queues(now: float) -> list[Any]:
            return []


def test_the_wallboard_renders_once_per_language_and_sends_the_same_bytes_to_every_page() -> None:
    rendered: list[tuple[int, str]] = []

    def render(board: Any, locale: str) -> str:
        rendered.append((board.seq, locale))
        return f"<div>{locale}\n{board.seq}</div>"

    feed = WallboardFeed(Hooks(), lambda: _Ctl(), render, lambda: ({}, ()), lambda fn, what: fn())
    feed._started = True   # the loops are not needed: refresh() is what they call
    feed.refresh()         # board 1, before the pages connect
    pages = [(loc, feed._run(_page(feed, loc))) for loc in ("en", "zh_CN") * 100]
    sent: dict[int, list[bytes]] = {1: [], 2: []}
    for loc, it in pages:
        assert next(it).startswith(b"retry:")
        first = next(it)                            # the current board at once
        assert first.startswith(b"id: 1\nevent: wallboard\ndata: <div>" + loc.encode() + b" 1</div>")
        sent[1].append(first)
    feed.refresh()         # board 2, pushed to every page
    for loc, it in pages:
        second = next(it)
        assert second.startswith(b"id: 2\nevent: wallboard\ndata: <div>" + loc.encode() + b" 2</div>")
        sent[2].append(second)
    assert sorted(rendered) == [(1, "en"), (1, "zh_CN"), (2, "en"), (2, "zh_CN")]
    assert all(len({id(c) for c in chunks}) == 2 for chunks in sent.values())   # bytes made once per language
    en = [p for p in feed.pages if p.locale == "en"]
    # quiet pages get the feed's keepalive; a page with a board queued keeps just its board
    feed.keepalive()
    assert all(p.queue.get_nowait() == KEEPALIVE for p in en)
    feed.refresh()
    feed.keepalive()
    assert all(p.queue.qsize() == 1 for p in en)


def _page(feed: WallboardFeed, locale: str) -> Any:
    from cc.web.wallboard import _Page
    page = _Page(locale)
    feed.pages.add(page)
    return page


def test_a_wallboard_opened_after_a_quiet_spell_gets_a_new_board_so_its_timers_start_from_now() -> None:
    rendered: list[int] = []

    def render(board: Any, locale: str) -> str:
        rendered.append(board.seq)
        return f"<div>{board.seq}</div>"

    # fresh_s=0: any board is older than that when the next page opens (the production value is 1 s)
    feed = WallboardFeed(Hooks(), lambda: _Ctl(), render, lambda: ({}, ()), lambda fn, what: fn(), fresh_s=0.0)
    feed._started = True
    feed.refresh()                                   # board 1, before anyone looks
    assert feed.current("en") == "<div>2</div>"      # the page itself: a board built for it
    it = feed._run(_page(feed, "en"))
    assert next(it).startswith(b"retry:")
    assert next(it).startswith(b"id: 3\nevent: wallboard\ndata: <div>3</div>")   # its stream: another new one
    assert rendered == [2, 3]
    fresh = WallboardFeed(Hooks(), lambda: _Ctl(), render, lambda: ({}, ()), lambda fn, what: fn())
    fresh._started = True
    fresh.refresh()
    assert fresh.current("en") == "<div>1</div>"     # within fresh_s the board is shared, not rebuilt
