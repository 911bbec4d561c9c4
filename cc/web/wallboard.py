"""The wallboard's live feed: one greenlet per app renders the wallboard once per language when something changed
and pushes that HTML to every connected wallboard page (server-sent events, htmx's SSE extension swaps it in).

A change after a quiet spell is rendered at once; changes closer together than ``coalesce_s`` are grouped into
the next board (at most one board per ``coalesce_s``). A board's SSE bytes are made once per language, not per
page, and the feed sends the keepalives, so a page's greenlet only waits on its queue and writes.

The ACD's live figures come from memory (``acd.queues``/``acd.agents``); today's service level, abandons and the
campaigns' figures come from the store, asked in a worker thread at most every ``stats_every_s`` seconds and
after calls end. Hook listeners only set a flag (they never block a call); a page that falls behind loses
intermediate boards, never the latest one (its queue keeps one board).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event
import gevent.queue

from cc.model import AgentState, AgentStatus
from cc.runtime.hooks import HookEvent

__all__ = ["AgentCounts", "Board", "BreakLine", "CampaignLine", "QueueLine", "WallboardFeed", "board_of", "sse"]

log = logging.getLogger(__name__)

#: the SSE comment the feed sends to a quiet page every ``keepalive_s``
KEEPALIVE = b": keepalive\n\n"


@dataclass(frozen=True)
class BreakLine:
    """The Not ready agents of a queue with one reason: how many, and the longest time one has been in it."""

    reason: str                     #: the reason's code ("" when none was given)
    agents: int
    longest_s: float


@dataclass(frozen=True)
class AgentCounts:
    """Agents of a queue (logged in) by what they do now; the Not ready ones also by reason."""

    ready: int = 0
    ringing: int = 0
    in_call: int = 0
    wrap_up: int = 0
    not_ready: int = 0
    breaks: tuple[BreakLine, ...] = ()


@dataclass(frozen=True)
class QueueLine:
    """One queue on the wallboard."""

    name: str
    waiting: int
    longest_wait_s: float
    offered: int | None            #: today (None: the store did not answer yet)
    answered: int | None
    abandoned: int | None
    service_level: float | None    #: 0..1, today
    agents: AgentCounts


@dataclass(frozen=True)
class CampaignLine:
    """One running or paused campaign on the wallboard (today's figures from the store)."""

    name: str
    status: str
    dials: int
    contacts: int
    abandon_rate: float | None


@dataclass(frozen=True)
class Board:
    """Everything the wallboard shows, at ``at`` (the controller's clock); ``seq`` counts boards."""

    seq: int
    at: float
    queues: tuple[QueueLine, ...]
    campaigns: tuple[CampaignLine, ...]
    event_at: float | None = None   #: wall time of the latest event this board reflects (event -> page)


def agent_bucket(status: AgentStatus, state: AgentState) -> str | None:
    """Which column of :class:`AgentCounts` an agent falls in (None: logged out)."""
    if status is AgentStatus.LOGGED_OUT:
        return None
    if state in (AgentState.RESERVED, AgentState.RINGING):
        return "ringing"
    if state is AgentState.IN_CALL:
        return "in_call"
    if state is AgentState.WRAP_UP:
        return "wrap_up"
    if status is AgentStatus.ON_BREAK:
        return "not_ready"
    return "ready"


def board_of(ctl: Any, stats: dict[str, Any] | None, campaigns: tuple[CampaignLine, ...], seq: int,
             event_at: float | None = None) -> Board:
    """The board from the controller's memory and the latest store figures (``stats``: queue -> QueueStats; a
    queue missing had no call today; None: the store has not answered yet, the figures show as unknown)."""
    known = stats is not None
    stats = stats or {}
    now = ctl.clock.now()
    counts: dict[str, dict[str, int]] = {}
    breaks: dict[str, dict[str, tuple[int, float]]] = {}     # queue -> reason -> (agents, longest in it)
    for a in ctl.acd.agents(now):
        bucket = agent_bucket(a.status, a.state)
        if bucket is None:
            continue
        for q in a.queues:
            per = counts.setdefault(q, {})
            per[bucket] = per.get(bucket, 0) + 1
            if bucket == "not_ready":
                by_reason = breaks.setdefault(q, {})
                n, longest = by_reason.get(a.reason or "", (0, 0.0))
                by_reason[a.reason or ""] = (n + 1, max(longest, a.in_status_s))
    lines = []
    for q in ctl.acd.queues(now):
        s = stats.get(q.name)
        zero = 0 if known else None
        lines.append(QueueLine(q.name, q.waiting, q.longest_wait_s if q.waiting else 0.0,
                               s.offered if s is not None else zero, s.answered if s is not None else zero,
                               s.abandoned if s is not None else zero, s.service_level if s is not None else None,
                               AgentCounts(**counts.get(q.name, {}), breaks=tuple(
                                   BreakLine(reason, n, max(0.0, longest))
                                   for reason, (n, longest) in sorted(breaks.get(q.name, {}).items())))))
    return Board(seq, now, tuple(lines), campaigns, event_at)


def sse(event: str, data: str, seq: int | None = None) -> bytes:
    """One server-sent event (``data`` on one line: newlines become spaces, which HTML does not mind)."""
    one = data.replace("\r", " ").replace("\n", " ")
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {event}\ndata: {one}\n\n".encode()


@dataclass(eq=False)
class _Page:
    """One connected wallboard page: its language and the latest board not sent yet."""

    locale: str
    queue: gevent.queue.Queue[bytes | None] = field(default_factory=lambda: gevent.queue.Queue(4))

    def offer(self, chunk: bytes | None) -> None:
        while True:
            try:
                self.queue.put_nowait(chunk)
                return
            except gevent.queue.Full:
                try:   # drop the oldest: the page only needs the latest board
                    self.queue.get_nowait()
                except gevent.queue.Empty:
                    pass


class WallboardFeed:
    """Renders and pushes boards. ``render(board, locale)`` returns the board's HTML in that language;
    ``stats()`` (run through ``offload``) returns (queue stats by queue, campaign lines)."""

    #: hook kinds that change what the wallboard shows, and those after which the store's figures change
    KINDS = frozenset({"entered_queue", "left_queue", "offered", "bridged", "call_ended", "agent_status"})
    STORE_KINDS = frozenset({"left_queue", "bridged", "call_ended"})

    def __init__(self, hooks: Any, controller: Callable[[], Any], render: Callable[[Board, str], str],
                 stats: Callable[[], tuple[dict[str, Any], tuple[CampaignLine, ...]]],
                 offload: Callable[[Callable[[], Any], str], Any], *, coalesce_s: float = 0.05,
                 stats_every_s: float = 1.0, store_window_s: float = 4.0, idle_stats_s: float = 10.0,
                 keepalive_s: float = 15.0, fresh_s: float = 1.0) -> None:
        self.hooks = hooks
        self.controller = controller
        self.render = render
        self.stats = stats
        self.offload = offload
        self.coalesce_s = coalesce_s
        self.stats_every_s = stats_every_s
        self.store_window_s = store_window_s
        self.idle_stats_s = idle_stats_s
        self.keepalive_s = keepalive_s
        #: a page that opens later than this after the latest board gets a new one (its timers count from now)
        self.fresh_s = fresh_s
        self._built = -float("inf")
        self.pages: set[_Page] = set()
        self.board: Board | None = None
        self.rendered: dict[str, str] = {}
        self._chunks: dict[str, bytes] = {}
        self._queue_stats: dict[str, Any] | None = None
        self._campaigns: tuple[CampaignLine, ...] = ()
        self._changed = gevent.event.Event()
        self._store_until = time.monotonic() + 1.0   # the first figures at once
        self._event_at: float | None = None
        self._seq = 0
        self._greenlets: list[gevent.Greenlet] = []
        self._started = False
        self.pushed = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Listen to the hooks and run the render and figures loops (once)."""
        if self._started:
            return
        self._started = True
        self.hooks.on("*", self._on_event)
        self._greenlets = [gevent.spawn(self._render_loop), gevent.spawn(self._stats_loop)]

    def stop(self) -> None:
        """Stop the loops and end every page's stream."""
        if not self._started:
            return
        self._started = False
        try:
            self.hooks.off("*", self._on_event)
        except ValueError:
            pass
        gevent.killall(self._greenlets, block=False)
        for page in list(self.pages):
            page.offer(None)

    def _on_event(self, ev: HookEvent) -> None:
        if ev.kind not in self.KINDS:
            return
        if ev.kind in self.STORE_KINDS:   # the writer stores the queue log a moment later: ask for a while
            self._store_until = time.monotonic() + self.store_window_s
        if self._event_at is None:
            self._event_at = time.time()
        self._changed.set()

    # ------------------------------------------------------------------ loops
    def _stats_loop(self) -> None:
        last = 0.0
        while True:
            now = time.monotonic()
            if now < self._store_until or (self.pages and now - last >= self.idle_stats_s):
                last = now
                try:
                    queue_stats, campaigns = self.offload(self.stats, "wallboard figures")
                except Exception as exc:   # the store is down: the board keeps the last figures
                    log.warning("wallboard: today's figures unavailable: %s", exc)
                else:
                    if (queue_stats, campaigns) != (self._queue_stats, self._campaigns):
                        self._queue_stats, self._campaigns = queue_stats, campaigns
                        self._changed.set()
            gevent.sleep(self.stats_every_s)

    def _render_loop(self) -> None:
        last = -float("inf")
        while True:
            if not self._changed.wait(self.keepalive_s):
                self.keepalive()
                continue
            wait = last + self.coalesce_s - time.monotonic()
            if wait > 0:   # a board went out less than coalesce_s ago: group what comes until then
                gevent.sleep(wait)
            self._changed.clear()
            last = time.monotonic()
            try:
                self.refresh()
            except Exception:
                log.exception("wallboard: rendering failed")

    def keepalive(self) -> None:
        """A comment to every page with nothing queued (keeps proxies from closing a quiet stream)."""
        for page in list(self.pages):
            if page.queue.empty():
                page.offer(KEEPALIVE)

    def refresh(self) -> Board | None:
        """Build the board now, render it for the languages in use and push it."""
        ctl = self.controller()
        if ctl is None:
            return None
        self._seq += 1
        event_at, self._event_at = self._event_at, None
        board = board_of(ctl, self._queue_stats, self._campaigns, self._seq, event_at)
        self.board = board
        self._built = time.monotonic()
        self.rendered = {}
        self._chunks = {}
        for page in list(self.pages):
            chunk = self._chunk(board, page.locale)
            page.offer(chunk)
        self.pushed += 1
        return board

    def _chunk(self, board: Board, locale: str) -> bytes:
        if board is self.board and locale in self._chunks:
            return self._chunks[locale]
        text = self.rendered.get(locale)
        if text is None:
            text = self.rendered[locale] = self.render(board, locale)
        chunk = sse("wallboard", text, board.seq) + sse("agents", json.dumps({"seq": board.seq}))
        if board is self.board:
            self._chunks[locale] = chunk
        return chunk

    def current(self, locale: str) -> str:
        """The latest board's HTML in ``locale`` (built now if there is none yet or it is older than ``fresh_s``:
        its timers, the longest wait and the longest Not ready, are as of the board's time)."""
        board = (self.refresh() if self._stale() else None) or self.board
        if board is None:
            return ""
        text = self.rendered.get(locale)
        if text is None:
            text = self.rendered[locale] = self.render(board, locale)
        return text

    def _stale(self) -> bool:
        return self.board is None or time.monotonic() - self._built > self.fresh_s

    # ------------------------------------------------------------------ pages
    def stream(self, locale: str) -> Iterator[bytes]:
        """One page's SSE byte stream: the current board at once, then every new one."""
        self.start()
        page = _Page(locale)
        self.pages.add(page)
        return self._run(page)

    def _run(self, page: _Page) -> Iterator[bytes]:
        try:
            yield b"retry: 2000\n: connected\n\n"
            if self.board is not None and not self._stale():
                yield self._chunk(self.board, page.locale)
            else:   # a new board, pushed to every page (this one too)
                self.refresh()
            while self._started:
                chunk = page.queue.get()   # boards and keepalives come from the feed
                if chunk is None:
                    return
                yield chunk
        finally:
            self.pages.discard(page)

