"""Each stay of a call in a queue summed up as one QueueCall record, from the queue log and the agent log (pure).

One definition of what a queued call was (answered? after how long? how much talk and wrap-up?) used
three ways: live by the controller's History, which writes each QueueCall as it settles; over stored
history by ``ccctl report summarize`` (a backfill); and inside QueueReport's streamed path. The queue report in
the database sums QueueCall rows (one GROUP BY), so it agrees with the streamed report by construction.

The rules (docs/reports.md, "Queue calls"): a stay starts at its ENTER line and belongs to that line's
queue and time; a CONNECT (not a callback's) answers it; COMPLETE_* lines add handled calls, talk and hold;
ABANDON and EXIT_* end it; CALLBACK_REQUESTED makes it a callback, ended by CALLBACK_COMPLETED or
CALLBACK_FAILED; the agent's wrap_up span that began within WRAP_MATCH_S of a COMPLETE is that call's
wrap-up, unless another call of the agent (any queue) completed in between; a TRANSFER up to
DONE_KEEP_S after the COMPLETE still counts for the stay.

Input must come in time order. Lines of one instant may come in any order from the store (ids are
random): ``reorder=True`` holds them and releases them in causal order (ENTER before CONNECT ...).
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

from cc.model import AgentState, AgentStateEvent, QueueCall, QueueEvent, QueueEventType

__all__ = ["DONE_KEEP_S", "WRAP_MATCH_S", "QueueCallSummarizer", "causal_rank"]

Q = QueueEventType
#: A COMPLETE and a wrap_up span further apart than this are not one call's.
WRAP_MATCH_S = 60.0
#: How long after its COMPLETE a TRANSFER line still finds its stay.
DONE_KEEP_S = 3600.0
_COMPLETE = (Q.COMPLETE_CALLER, Q.COMPLETE_AGENT)
_IGNORED = frozenset((Q.OFFER, Q.RING_NO_ANSWER, Q.AGENT_BUSY, Q.AGENT_REJECT))
_EXITS = {Q.EXIT_TIMEOUT: "timeout", Q.EXIT_NO_AGENT: "no_agent", Q.EXIT_FULL: "full", Q.EXIT_KEY: "exit_key",
          Q.EXIT_OTHER: "other"}
#: Causal order of queue log lines that carry the same timestamp.
_RANK = {Q.ENTER: 0, Q.OFFER: 1, Q.RING_NO_ANSWER: 2, Q.AGENT_BUSY: 2, Q.AGENT_REJECT: 2, Q.CONNECT: 3,
         Q.CALLBACK_REQUESTED: 3, Q.TRANSFER: 4, Q.COMPLETE_CALLER: 5, Q.COMPLETE_AGENT: 5, Q.ABANDON: 5,
         Q.EXIT_TIMEOUT: 5, Q.EXIT_NO_AGENT: 5, Q.EXIT_FULL: 5, Q.EXIT_KEY: 5, Q.EXIT_OTHER: 5, Q.CALLBACK_FAILED: 6,
         Q.CALLBACK_COMPLETED: 6}


def causal_rank(ev: QueueEvent) -> int:
    """Where a queue-log line goes among lines of the same instant (ENTER first, CALLBACK_* last)."""
    return _RANK.get(ev.type, 9)


class _Stay:
    """The running sums of one stay."""

    __slots__ = ("abandon_wait", "agent", "answer_wait", "answered", "callback", "cb_completed", "cb_failed",
                 "cb_requested", "dirty", "ended_at", "entered_at", "final", "handled", "hold", "id", "max_wait",
                 "member", "outcome", "queue", "settled", "talk", "transfers", "wait_sum", "waits", "wrap",
                 "wrap_pending")

    def __init__(self, ev: QueueEvent) -> None:
        self.id, self.entered_at, self.queue, self.member = ev.id, ev.at, ev.queue, ev.member_uuid
        self.outcome = ""
        self.agent: str | None = None
        self.answered = self.waits = self.handled = self.transfers = 0
        self.cb_requested = self.cb_completed = self.cb_failed = 0
        self.answer_wait: float | None = None
        self.abandon_wait: float | None = None
        self.max_wait: float | None = None
        self.wait_sum = self.talk = self.hold = self.wrap = 0.0
        self.ended_at: float | None = None
        self.callback = self.wrap_pending = self.settled = self.final = False
        self.dirty = True

    def wait(self, w: float) -> None:
        self.waits += 1
        self.wait_sum += w
        self.max_wait = w if self.max_wait is None else max(self.max_wait, w)

    def record(self) -> QueueCall:
        return QueueCall(
            id=self.id, entered_at=self.entered_at, queue=self.queue, member_uuid=self.member,
            outcome=self.outcome, agent_id=self.agent, answered=self.answered, answer_wait_s=self.answer_wait,
            abandon_wait_s=self.abandon_wait, waits=self.waits, wait_sum=self.wait_sum,
            max_wait_s=self.max_wait, handled=self.handled, talk_s=self.talk, hold_s=self.hold, wrap_s=self.wrap,
            transfers=self.transfers, callbacks_requested=self.cb_requested,
            callbacks_completed=self.cb_completed, callbacks_failed=self.cb_failed, ended_at=self.ended_at,
        )


class QueueCallSummarizer:
    """Turns queue-log lines and agent state changes into QueueCall records.

    ``live=True`` (the controller): ``feed`` returns a stay's record as soon as it is settled (ended, its
    wrap-up known) and again whenever a late line changes it (the store upserts by id). ``live=False``
    (reports, backfill): a record is returned once, when nothing can change it any more. ``flush``
    returns what is still open, as it stands (the end of a report's input, or a shutdown).
    ``accept`` decides which ENTER lines start a stay (default: all). Memory: the open stays, the stays
    completed within DONE_KEEP_S (fewer with ``call_ended``) and one pending wrap-up per agent.
    """

    def __init__(self, *, live: bool = True, reorder: bool = False,
                 accept: Callable[[QueueEvent], bool] | None = None) -> None:
        self.live, self.reorder, self.accept = live, reorder, accept
        self.open: dict[str, _Stay] = {}
        self.done: OrderedDict[str, tuple[_Stay, float]] = OrderedDict()
        self.pending: dict[str, tuple[_Stay, float]] = {}        # agent -> (stay, COMPLETE time)
        self.pending_order: deque[tuple[float, str, _Stay]] = deque()
        self.agent_state: dict[str, tuple[AgentState, float]] = {}
        self.held: list[QueueEvent] = []
        self.held_at: float | None = None
        self.out: list[QueueCall] = []

    # ------------------------------------------------------------------ input
    def feed(self, rec: QueueEvent | AgentStateEvent) -> list[QueueCall]:
        """Account one line; returns the records to write now (see the class)."""
        if self.reorder:
            if self.held and rec.at != self.held_at:
                self._release()
            if isinstance(rec, QueueEvent):
                self.held_at = rec.at
                self.held.append(rec)
            else:
                self._expire(rec.at)
                self._agent(rec)
        else:
            self._expire(rec.at)
            if isinstance(rec, QueueEvent):
                self._queue(rec)
            else:
                self._agent(rec)
        return self._take()

    def feed_all(self, records: Iterable[QueueEvent | AgentStateEvent]) -> Iterable[QueueCall]:
        """Feed a time-ordered stream; yields the records as they come, then those of :meth:`flush`."""
        for r in records:
            yield from self.feed(r)
        yield from self.flush()

    def call_ended(self, member_uuid: str) -> list[QueueCall]:
        """The call ``member_uuid`` is over: no late TRANSFER can come, its completed stay is final."""
        found = self.done.pop(member_uuid, None)
        if found is not None and not found[0].wrap_pending:   # else final when its wrap-up resolves
            self._finalize(found[0])
        return self._take()

    def flush(self) -> list[QueueCall]:
        """Every stay not yet final, as it stands (still waiting ones with outcome ""); forgets them all."""
        if self.held:
            self._release()
        stays = {id(s): s for s in self.open.values()}
        stays.update((id(s), s) for s, _ in self.done.values())
        stays.update((id(s), s) for s, _ in self.pending.values())
        for s in sorted(stays.values(), key=lambda s: (s.entered_at, s.id)):
            s.wrap_pending = False
            self._finalize(s)
        self.open.clear()
        self.done.clear()
        self.pending.clear()
        self.pending_order.clear()
        return self._take()

    def __len__(self) -> int:
        """Stays held (open, completed within DONE_KEEP_S, or waiting for their wrap-up)."""
        return len(self.open) + len(self.done) + len(self.pending)

    # ------------------------------------------------------------------ output
    def _take(self) -> list[QueueCall]:
        out, self.out = self.out, []
        return out

    def _changed(self, s: _Stay) -> None:
        s.dirty = True
        if self.live and s.settled:
            self._emit(s)

    def _emit(self, s: _Stay) -> None:
        if s.dirty:
            s.dirty = False
            self.out.append(s.record())

    def _settle(self, s: _Stay) -> None:
        """Ended and wrap-up known: written now when live."""
        if s.settled or s.wrap_pending or s.ended_at is None:
            return
        s.settled = True
        if self.live:
            self._emit(s)

    def _finalize(self, s: _Stay) -> None:
        if s.final:
            return
        s.final = s.settled = True
        self._emit(s)

    # ------------------------------------------------------------------ queue log
    def _release(self) -> None:
        evs, self.held = self.held, []
        if len(evs) > 1:
            evs.sort(key=causal_rank)
        self._expire(evs[0].at)
        for ev in evs:
            self._queue(ev)

    def _queue(self, ev: QueueEvent) -> None:
        t = ev.type
        m = ev.member_uuid
        if t is Q.ENTER:
            if self.accept is None or self.accept(ev):
                old = self.open.pop(m, None)
                if old is not None:   # the same call entered again while its last stay was open
                    self._finalize(old)
                self.open[m] = _Stay(ev)
            return
        s = self.open.get(m)
        if s is None:
            if t is Q.TRANSFER and m in self.done:
                done = self.done[m][0]
                done.transfers += 1
                self._changed(done)
            elif t in _COMPLETE and ev.agent_id is not None and ev.agent_id in self.pending:
                # a call not followed here (another queue, before the window) ended for the agent:
                # the agent's next wrap-up is that call's, not the earlier one's
                self._resolve(ev.agent_id, self.pending[ev.agent_id][0])
            return
        if t in _IGNORED or (t is Q.CONNECT and ev.detail == "callback"):
            return   # OFFER, RING_NO_ANSWER, AGENT_BUSY, AGENT_REJECT are the agent report's
        s.dirty = True
        wait = ev.wait_s if ev.wait_s is not None and math.isfinite(ev.wait_s) else 0.0
        if t is Q.CONNECT:
            s.answered += 1
            s.answer_wait = (s.answer_wait or 0.0) + wait
            s.wait(wait)
            s.outcome = "answered"
            s.agent = ev.agent_id or s.agent
        elif t in _COMPLETE:
            s.handled += 1
            s.talk += ev.talk_s or 0.0
            s.hold += ev.hold_s or 0.0
            if ev.agent_id is not None:
                s.agent = ev.agent_id
                self._await_wrap(ev.agent_id, s, ev.at)
            if ev.detail != "callback" and not s.callback:
                del self.open[m]
                s.outcome = s.outcome or "answered"
                s.ended_at = ev.at
                earlier = self.done.pop(m, None)
                if earlier is not None and earlier[0] is not s and not earlier[0].wrap_pending:
                    self._finalize(earlier[0])   # the call's earlier stay (before a transfer): nothing changes it now
                self.done[m] = (s, ev.at)
                self.done.move_to_end(m)
                while self.done:
                    first_stay, first_at = next(iter(self.done.values()))
                    if first_at >= ev.at - DONE_KEEP_S:
                        break
                    self.done.popitem(last=False)
                    self._finalize(first_stay)
                self._settle(s)
        elif t is Q.ABANDON:
            s.abandon_wait = wait
            s.outcome = "abandoned"
            self._end(s, ev.at)
        elif t in _EXITS:
            s.outcome = _EXITS[t]
            s.wait(wait)
            self._end(s, ev.at)
        elif t is Q.CALLBACK_REQUESTED:
            s.cb_requested += 1
            s.wait(wait)
            s.callback = True
            s.outcome = "callback"
        elif t is Q.CALLBACK_COMPLETED:
            s.cb_completed += 1
            s.outcome = "callback_completed"
            self._end(s, ev.at)
        elif t is Q.CALLBACK_FAILED:
            s.cb_failed += 1
            s.outcome = "callback_failed"
            self._end(s, ev.at)
        elif t is Q.TRANSFER:
            s.transfers += 1

    def _end(self, s: _Stay, at: float) -> None:
        """The stay is over and no later line counts for it: final once its wrap-up is known."""
        self.open.pop(s.member, None)
        s.ended_at = at
        if not s.wrap_pending:   # else finalized when the wrap-up resolves
            self._finalize(s)

    # ------------------------------------------------------------------ wrap-up
    def _await_wrap(self, agent: str, s: _Stay, at: float) -> None:
        old = self.pending.get(agent)
        if old is not None:   # the agent's earlier call gets no wrap-up (a newer call took its place)
            self._resolve(agent, old[0])
        self.pending[agent] = (s, at)
        self.pending_order.append((at, agent, s))
        s.wrap_pending = True

    def _resolve(self, agent: str, s: _Stay, wrap: float = 0.0) -> None:
        self.pending.pop(agent, None)
        s.wrap_pending = False
        if wrap:
            s.wrap += wrap
            s.dirty = True
        if s.ended_at is None:
            return   # a callback's call completed, its CALLBACK_COMPLETED is still to come
        done = self.done.get(s.member)
        if done is None or done[0] is not s:
            self._finalize(s)   # nothing can change it any more
        elif not s.settled:
            self._settle(s)
        elif self.live:
            self._emit(s)   # if the wrap-up changed it

    def _expire(self, now: float) -> None:
        """Wrap-ups that can no longer match their call (WRAP_MATCH_S passed, the agent not in one)."""
        order = self.pending_order
        while order and now - order[0][0] > WRAP_MATCH_S:
            tc, agent, s = order.popleft()
            cur = self.pending.get(agent)
            if cur is None or cur[0] is not s:
                continue
            st = self.agent_state.get(agent)
            if st is not None and st[0] is AgentState.WRAP_UP and abs(st[1] - tc) <= WRAP_MATCH_S:
                continue   # in the matching wrap-up: its end resolves it
            self._resolve(agent, s)

    def _agent(self, ev: AgentStateEvent) -> None:
        a = ev.agent_id
        prev = self.agent_state.get(a)
        if prev is not None and prev[0] is AgentState.WRAP_UP and ev.state is not AgentState.WRAP_UP:
            found = self.pending.get(a)
            if found is not None:
                s, tc = found
                matched = abs(prev[1] - tc) <= WRAP_MATCH_S
                self._resolve(a, s, max(0.0, ev.at - prev[1]) if matched else 0.0)
        if prev is None or prev[0] is not ev.state:
            self.agent_state[a] = (ev.state, ev.at)
