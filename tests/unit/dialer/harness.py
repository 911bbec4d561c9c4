"""A fake switch and agents for the dialer's property tests: simulated time, optional lost and repeated events."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from cc.dialer import commands as cmd
from cc.dialer import events as ev
from cc.dialer.engine import Dialer
from cc.dialer.model import ResultCode


@dataclass
class Log:
    """Every command the dialer emitted, with the time."""

    commands: list[tuple[float, cmd.DialerCommand]] = field(default_factory=list)

    def of(self, kind: type) -> list[tuple[float, cmd.DialerCommand]]:
        """The commands of one type."""
        return [(t, c) for t, c in self.commands if isinstance(c, kind)]


class World:
    """Runs a Dialer against called parties and agents; ``drop``/``dup``: chance an event is lost/repeated."""

    def __init__(self, dialer: Dialer, rng: random.Random, *, answer: float = 0.4, drop: float = 0.0,
                 dup: float = 0.0, talk_s: float = 60.0, wrap_s: float = 10.0) -> None:
        self.d = dialer
        self.rng = rng
        self.answer = answer
        self.drop = drop
        self.dup = dup
        self.talk_s = talk_s
        self.wrap_s = wrap_s
        self.now = dialer.now
        self.q: list[tuple[float, int, ev.DialerEvent]] = []
        self.seq = 0
        self.log = Log()

    def at(self, t: float, e: ev.DialerEvent, wire: bool = True) -> None:
        """Schedule ``e`` at ``t``; a wire event may be lost or repeated."""
        if wire and self.rng.random() < self.drop:
            return
        copies = 2 if wire and self.rng.random() < self.dup else 1
        for i in range(copies):
            self.seq += 1
            heapq.heappush(self.q, (t + i * self.rng.uniform(0, 5), self.seq, e))

    def feed(self, e: ev.DialerEvent, t: float | None = None) -> list[cmd.DialerCommand]:
        """Hand ``e`` to the dialer at ``t`` (default now) and react to the commands."""
        if t is not None:
            self.now = max(self.now, t)
        out = self.d.handle(e, self.now)
        self.react(out)
        return out

    def react(self, out: Iterable[cmd.DialerCommand]) -> None:
        """The switch's and the agents' answers to the commands."""
        now = self.now
        for c in out:
            self.log.commands.append((now, c))
            if isinstance(c, cmd.Originate):
                r = self.rng.random()
                if r < self.answer:
                    self.at(now + self.rng.uniform(1, 20), ev.OriginateAnswered(c.uuid))
                elif r < self.answer + 0.2:
                    t = now + self.rng.uniform(0, 2)
                    self.at(t, ev.OriginateFailed(c.uuid, "USER_BUSY", 486))
                    self.at(t, ev.CallHungUp(c.uuid, "USER_BUSY", 486))
                else:
                    self.at(now + c.timeout_s, ev.OriginateFailed(c.uuid, "NO_ANSWER"))
            elif isinstance(c, cmd.Bridge):
                self.at(now + 0.2, ev.Bridged(c.uuid, c.agent_id))
                talk = self.rng.expovariate(1.0 / self.talk_s)
                self.at(now + talk, ev.CallHungUp(c.uuid))
                self.at(now + talk + self.wrap_s, ev.ResultSet(c.uuid, c.agent_id, ResultCode.CONNECTED),
                        wire=False)
            elif isinstance(c, cmd.PreviewOffer):   # the agent reads the screen, then dials
                self.at(now + self.rng.uniform(1, 10), ev.PreviewDial(c.agent_id, c.lead.lead_id), wire=False)
            elif isinstance(c, cmd.PlayOverflow):
                self.at(now + 5, ev.CallHungUp(c.uuid))

    def run_until(self, end: float, tick: float = 60.0) -> None:
        """Deliver events and ticks (at least every ``tick`` s and at next_wakeup) until ``end``."""
        while self.now < end:
            wake = self.d.next_wakeup()
            nxt = min(self.now + tick, end)
            if wake is not None and wake > self.now:
                nxt = min(nxt, wake)
            if self.q and self.q[0][0] <= nxt:
                t, _, e = heapq.heappop(self.q)
                self.feed(e, t)
            else:
                self.feed(ev.Tick(), nxt)
                if nxt >= end:
                    break
