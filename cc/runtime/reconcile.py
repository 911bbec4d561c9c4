"""Reconciliation with each switch: what the switch has (``show channels as json``) against what cc holds.

Two kinds of limbo are settled:

- orphans: channels in cc's ``socket`` application that no session, no open outbound connection and
  no settling in progress claims, for longer than a grace period (measured on time the process could
  run: a stall does not age them). They are hung up (or sent to the fallback) over the inbound link.
- ghosts: calls and bridged agent legs cc holds whose channel the switch no longer has, in two passes
  in a row (a hang-up whose events are still on the way is not settled twice). A call's session is
  ended as if the caller hung up (its member leaves its queue, its agent is released); a bridged agent
  leg whose caller is still there ends the talk as if the agent hung up.
- stuck agents: an agent the ACD has reserved, ringing or in a call while no channel of his (his call, his
  agent leg) is on any switch, for longer than ``release_after`` (running time, 30 s by default), is released
  (:class:`AgentBook`), with one WARNING line naming the agent and how long.

:class:`ChannelBook` is the pure part (rows and what cc holds in, findings out, O(n) per pass);
:class:`Reconciler` runs passes per node: one every ``interval`` as a safety net, and at once when
something asks (:meth:`Reconciler.kick`: a give-up, a stall of the process), then again when the
earliest orphan candidate's grace runs out. The restart recovery uses the same passes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event

from cc.errors import CCError, ESLProtocolError

if TYPE_CHECKING:
    from cc.runtime.nodes import Node

__all__ = ["AgentBook", "ChannelBook", "Findings", "Holdings", "Reconciler", "SwitchChannel", "parse_channels"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SwitchChannel:
    """One row of ``show channels as json`` (the fields the reconciliation reads)."""

    uuid: str
    application: str = ""
    application_data: str = ""
    state: str = ""
    callstate: str = ""


def parse_channels(text: str) -> list[SwitchChannel]:
    """The rows of ``api show channels as json``; ESLProtocolError when the text is not that."""
    try:
        doc: Any = json.loads(text)
    except ValueError as exc:
        raise ESLProtocolError(f"show channels as json: not JSON ({exc}): {text[:80]!r}") from None
    if not isinstance(doc, dict) or "row_count" not in doc:
        raise ESLProtocolError(f"show channels as json: no row_count in {text[:80]!r}")
    rows = doc.get("rows") or []
    if not isinstance(rows, list):
        raise ESLProtocolError("show channels as json: rows is not a list")
    out = []
    for row in rows:
        if isinstance(row, dict) and row.get("uuid"):
            out.append(SwitchChannel(str(row["uuid"]), str(row.get("application") or ""),
                                     str(row.get("application_data") or ""), str(row.get("state") or ""),
                                     str(row.get("callstate") or "")))
    return out


def _socket_port(data: str) -> int | None:
    """The port of ``socket HOST:PORT async full`` application data (None when it does not say)."""
    target = data.split()[0] if data.split() else ""
    _, sep, port = target.rpartition(":")
    return int(port) if sep and port.isdigit() else None


@dataclass
class Findings:
    """What one pass found on one switch."""

    orphans: list[str] = field(default_factory=list)
    gone_calls: list[str] = field(default_factory=list)
    gone_legs: list[str] = field(default_factory=list)
    #: the earliest running time at which a candidate orphan's grace runs out (None: no candidate)
    next_due: float | None = None


class ChannelBook:
    """Remembers when each unclaimed socket channel of one switch was first seen; judges a pass."""

    #: seconds of running time until a pass confirms a missing call or leg
    CONFIRM_S = 1.0

    def __init__(self, grace_s: float, port: int | None = None) -> None:
        self.grace_s = grace_s
        self.port = port
        self.first_seen: dict[str, float] = {}
        self.suspects: set[str] = set()

    def review(self, rows: Iterable[SwitchChannel], now: float, *, claimed: set[str], calls: Iterable[str],
               legs: Mapping[str, str]) -> Findings:
        """Judge one pass. ``claimed``: channels cc owns now; ``calls``, ``legs`` (leg -> its call): what cc
        held BEFORE asking.

        ``now`` is running time (see LagMonitor.running_time).
        """
        found = Findings()
        present: set[str] = set()
        seen: dict[str, float] = {}
        for row in rows:
            present.add(row.uuid)
            if row.application != "socket" or row.uuid in claimed:
                continue
            port = _socket_port(row.application_data)
            if self.port is not None and port is not None and port != self.port:
                continue   # another controller's socket
            since = self.first_seen.get(row.uuid, now)
            if now - since >= self.grace_s:
                found.orphans.append(row.uuid)
            else:
                seen[row.uuid] = since
                due = since + self.grace_s
                found.next_due = due if found.next_due is None else min(found.next_due, due)
        self.first_seen = seen
        missing_calls = [u for u in calls if u not in present]
        missing_legs = [u for u, call in legs.items() if u not in present and call in present]
        found.gone_calls = [u for u in missing_calls if u in self.suspects]
        found.gone_legs = [u for u in missing_legs if u in self.suspects]
        self.suspects = set(missing_calls) | set(missing_legs)
        self.suspects.difference_update(found.gone_calls, found.gone_legs)
        if self.suspects:
            due = now + self.CONFIRM_S
            found.next_due = due if found.next_due is None else min(found.next_due, due)
        return found


class AgentBook:
    """Remembers since when each busy agent has had no channel on any switch; says who is overdue (pure)."""

    def __init__(self, release_after_s: float) -> None:
        self.release_after_s = release_after_s
        #: agent -> running time his channels were first all missing
        self.missing_since: dict[str, float] = {}

    def review(self, agents: Mapping[str, Iterable[str]], present: set[str], now: float) -> list[tuple[str, float]]:
        """``agents``: each busy agent -> the channels that are his (call, agent legs); ``present``: every channel
        on every switch. Returns (agent, seconds without a channel) of those missing for ``release_after_s``;
        they are forgotten (a release is asked once)."""
        missing: dict[str, float] = {}
        overdue: list[tuple[str, float]] = []
        for agent, uuids in agents.items():
            if any(u in present for u in uuids):
                continue
            since = self.missing_since.get(agent, now)
            if self.release_after_s > 0 and now - since >= self.release_after_s:
                overdue.append((agent, now - since))
            else:
                missing[agent] = since
        self.missing_since = missing
        return overdue

    def next_due(self) -> float | None:
        """The earliest running time at which an agent missing now becomes overdue."""
        if not self.missing_since or self.release_after_s <= 0:
            return None
        return min(self.missing_since.values()) + self.release_after_s


@dataclass
class Holdings:
    """What cc holds on one node, as the Reconciler's callbacks report it."""

    claimed: set[str]
    calls: list[str]
    #: bridged agent legs -> the call each is bridged to
    legs: dict[str, str]
    #: agents reserved, ringing or in a call -> the channels that are theirs (their call, their agent legs)
    agents: dict[str, set[str]] = field(default_factory=dict)


class Reconciler:
    """Runs reconciliation passes against every node; the callbacks connect it to the controller.

    ``holdings(node)`` -> Holdings; ``settle_orphan(node, uuid)``, ``end_call(uuid)``, ``end_leg(uuid)`` and
    ``release_agent(agent_id)`` carry the findings out; ``clock()`` is running time. Agents are judged on the
    channels of every node together, only when every node was listed on its latest pass.
    """

    #: the kinds of :attr:`actions`
    KINDS = ("orphan_settled", "call_ended", "leg_ended", "agent_released")

    def __init__(self, nodes: Iterable[Node], *, interval_s: float, grace_s: float, port: int | None,
                 clock: Callable[[], float], holdings: Callable[[Node], Holdings],
                 settle_orphan: Callable[[Node, str], None], end_call: Callable[[str], None],
                 end_leg: Callable[[str], None], allowed: Callable[[], bool] = lambda: True,
                 after_pass: Callable[[Node, list[SwitchChannel]], None] | None = None,
                 release_agent: Callable[[str], None] | None = None, release_after_s: float = 30.0) -> None:
        self.nodes = list(nodes)
        self.interval_s = interval_s
        self.clock = clock
        self.holdings = holdings
        self.settle_orphan = settle_orphan
        self.end_call = end_call
        self.end_leg = end_leg
        self.allowed = allowed
        #: sees every pass's rows (the restart recovery's sweep of parked channels of cc's)
        self.after_pass = after_pass
        self.books = {n.name: ChannelBook(grace_s, port) for n in self.nodes}
        self.release_agent = release_agent
        self.agent_book = AgentBook(release_after_s)
        #: per node: the channels its latest pass listed (None: not listed since it was last down)
        self.listed: dict[str, set[str] | None] = {n.name: None for n in self.nodes}
        self.passes = 0
        self.orphans = 0
        self.gone_calls = 0
        self.gone_legs = 0
        self.agents_released = 0
        self._kick = gevent.event.Event()
        self._g: gevent.Greenlet | None = None

    def start(self) -> None:
        """Start the passes."""
        if self._g is None or self._g.dead:
            self._g = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop the passes."""
        if self._g is not None:
            self._g.kill(block=False)
            self._g = None

    def kick(self) -> None:
        """Run a pass soon (something may have been left in limbo)."""
        self._kick.set()

    def _run(self) -> None:
        due: float | None = None
        while True:
            wait = self.interval_s
            if due is not None:
                wait = max(0.05, min(wait, due - self.clock() + 0.05))
            self._kick.wait(wait)
            self._kick.clear()
            due = None
            for node in self.nodes:
                try:
                    nd = self.run_pass(node)
                except CCError as exc:
                    log.warning("reconcile: node %s: %s", node.name, exc)
                    continue
                except Exception:
                    log.exception("reconcile: node %s failed", node.name)
                    continue
                if nd is not None:
                    due = nd if due is None else min(due, nd)

    @property
    def actions(self) -> dict[str, int]:
        """What the passes did, by kind (see :attr:`KINDS`)."""
        return {"orphan_settled": self.orphans, "call_ended": self.gone_calls, "leg_ended": self.gone_legs,
                "agent_released": self.agents_released}

    def run_pass(self, node: Node) -> float | None:
        """One pass against ``node``; returns when the next pass is due for a waiting orphan candidate."""
        if not node.up:
            self.listed[node.name] = None
            return None
        if not self.allowed():
            return self.clock() + 1.0   # behind: a backlog is still being read; look again shortly
        before = self.holdings(node)
        text = node.api("show channels as json")
        rows = parse_channels(text)
        after = self.holdings(node)   # what opened while the switch answered is claimed too
        claimed = before.claimed | after.claimed
        found = self.books[node.name].review(rows, self.clock(), claimed=claimed, calls=before.calls,
                                             legs=before.legs)
        self.passes += 1
        for uuid in found.orphans:
            self.orphans += 1
            log.warning("reconcile: channel %s on node %s sits in cc's socket application with no session; "
                        "settling it", uuid, node.name)
            self.settle_orphan(node, uuid)
        for uuid in found.gone_calls:
            self.gone_calls += 1
            log.warning("reconcile: call %s is gone from node %s; ending it", uuid, node.name)
            self.end_call(uuid)
        for uuid in found.gone_legs:
            self.gone_legs += 1
            log.warning("reconcile: agent leg %s is gone from node %s; ending its talk", uuid, node.name)
            self.end_leg(uuid)
        if self.after_pass is not None:
            self.after_pass(node, rows)
        self.listed[node.name] = {r.uuid for r in rows}
        due = self._agents(before.agents)
        if due is not None:
            found.next_due = due if found.next_due is None else min(found.next_due, due)
        return found.next_due

    def _agents(self, agents: Mapping[str, set[str]]) -> float | None:
        """Release the agents with no channel on any switch for ``release_after_s``; when the next one is due."""
        if self.release_agent is None:
            return None
        present: set[str] = set()
        for uuids in self.listed.values():
            if uuids is None:   # a node not listed: an agent's call may be there
                return None
            present |= uuids
        for agent, seconds in self.agent_book.review(agents, present, self.clock()):
            self.agents_released += 1
            log.warning("reconcile: agent %s has had no call on any switch for %.0f s; releasing him", agent,
                        seconds)
            self.release_agent(agent)
        return self.agent_book.next_due()
