"""The running call center: what every call, the ACD driver and the dispatcher share (built by Service)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from cc.acd import Acd, AgentLogin, AgentLogout, AgentStatusChanged, WrapUpDone
from cc.config import ServiceConfig
from cc.errors import InvalidValue, NotFound
from cc.esl.outbound import CallChannel
from cc.model import AgentStatus, BusinessCalendar
from cc.runtime.acd_driver import AcdDriver
from cc.runtime.call import CallSession
from cc.runtime.dispatcher import Dispatcher
from cc.runtime.flows import FlowBook
from cc.runtime.history import History, RecordSink
from cc.runtime.hooks import Hooks
from cc.runtime.nodes import NodeSet
from cc.runtime.timebase import Timebase

__all__ = ["Controller"]

log = logging.getLogger(__name__)


class Controller:
    """Calls, queue members, the ACD and its dispatcher, history and hooks, for one process."""

    def __init__(self, *, config: ServiceConfig, acd: Acd, nodes: NodeSet, flows: FlowBook,
                 sink: RecordSink | None, clock: Timebase, hooks: Hooks | None = None,
                 calendars: Mapping[str, BusinessCalendar] | None = None) -> None:
        self.config = config
        self.acd = acd
        self.nodes = nodes
        self.flows = flows
        self.clock = clock
        self.hooks = hooks if hooks is not None else Hooks()
        self.calendars = dict(calendars or {})
        self.history = History(sink, clock)
        #: every call in progress, by its channel UUID
        self.sessions: dict[str, CallSession] = {}
        #: calls waiting in a queue (members of the Acd), by channel UUID
        self.members: dict[str, CallSession] = {}
        #: callback entries (their call is gone): member UUID -> node name
        self.callback_nodes: dict[str, str] = {}
        self.dispatcher = Dispatcher(self)
        self.driver = AcdDriver(acd, clock, self.dispatcher.handle)
        self.recordings_dir = os.path.abspath(os.path.join(config.base_dir, config.recordings_dir))
        self.accepting = True
        self.calls_total = 0

    def record_template(self, queue: str | None) -> str:
        """The recording path template of ``queue`` (the default one without a queue)."""
        q = self.acd.world.queues.get(queue or "")
        return q.cfg.record_template if q is not None else "{yyyy}/{mm}/{dd}/{queue}/{uuid}.wav"

    def handle_call(self, ch: CallChannel) -> None:
        """The outbound server's handler: run one call in the current greenlet."""
        if not self.accepting:
            log.info("call %s: refused while draining", ch.uuid)
            ch.hangup("NORMAL_TEMPORARY_FAILURE")
            return
        self.calls_total += 1
        peer = ch.address[0] if ch.address else None
        data = ch.channel_data
        node = self.nodes.for_call(data.header("FreeSWITCH-Hostname"), data.header("Core-UUID"),
                                   str(peer) if peer else None)
        CallSession(self, ch, node).run()

    # ------------------------------------------------------------------ agent status (CLI, API, embedding)
    def _agent(self, agent_id: str) -> None:
        if agent_id not in self.acd.world.agents:
            raise NotFound("agent", agent_id)

    def login(self, agent_id: str, status: AgentStatus = AgentStatus.AVAILABLE, reason: str | None = None) -> None:
        """Log an agent in (available by default); NotFound for an unknown agent."""
        self._agent(agent_id)
        self.driver.submit(AgentLogin(agent_id, status, reason))

    def logout(self, agent_id: str, reason: str | None = None) -> None:
        """Log an agent out."""
        self._agent(agent_id)
        self.driver.submit(AgentLogout(agent_id, reason))

    def set_status(self, agent_id: str, status: AgentStatus, reason: str | None = None) -> None:
        """Change an agent's status (available, on demand, on break with a reason code ...)."""
        self._agent(agent_id)
        self.driver.submit(AgentStatusChanged(agent_id, status, reason))

    def wrap_up_done(self, agent_id: str) -> None:
        """An agent ends wrap-up early."""
        self._agent(agent_id)
        self.driver.submit(WrapUpDone(agent_id))

    # ------------------------------------------------------------------ live call control (CLI, API)
    def _session(self, uuid: str) -> CallSession:
        session = self.sessions.get(uuid)
        if session is None:
            raise NotFound("call", uuid)
        return session

    def calls(self) -> list[dict[str, object]]:
        """The calls in progress, oldest first, as JSON-ready dicts."""
        out: list[dict[str, object]] = []
        for s in sorted(self.sessions.values(), key=lambda s: s.started_at):
            stay = s.stay
            state = "flow"
            if stay is not None:
                state = "talking" if stay.bridged_at is not None else "queued"
            out.append({"uuid": s.uuid, "caller": s.caller, "destination": s.dnis, "node": s.node.name,
                        "flow": s.flow_name, "node_in_flow": s.flow_run.node if s.flow_run else None,
                        "state": state, "queue": stay.queue if stay else s.last_queue, "agent": s.last_agent,
                        "started_at": s.started_at, "answered_at": s.answered_at,
                        "recording": s.recorder.path if s.recorder.active else None})
        return out

    def hangup_call(self, uuid: str, cause: str = "NORMAL_CLEARING") -> None:
        """Hang up a call in progress (``uuid_kill``); NotFound for an unknown call."""
        session = self._session(uuid)
        session.node.api(f"uuid_kill {uuid} {cause}")

    def transfer_call(self, uuid: str, target: str, context: str = "default") -> None:
        """Send a call in progress to ``target`` in the dialplan (``uuid_transfer``)."""
        session = self._session(uuid)
        session.node.api(f"uuid_transfer {uuid} {target} XML {context}")

    def record_call(self, uuid: str, action: str) -> None:
        """``start``, ``pause``, ``resume`` or ``stop`` the recording of a call in progress."""
        session = self._session(uuid)
        rec = session.recorder
        actions = {"start": lambda: rec.start(session.last_queue, reason="api"), "pause": rec.pause,
                   "resume": rec.resume, "stop": rec.stop}
        if action not in actions:
            raise InvalidValue("action", action, "expected start, pause, resume or stop")
        actions[action]()
