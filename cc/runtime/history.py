"""History records as the controller produces them, handed to the store writer (never awaited).

Besides the queue log and the agent log, each stay of a call in a queue is summed up as one QueueCall
(cc.reports.summary) and written as it settles, so the queue report is one GROUP BY over those rows.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from typing import Any, Protocol

from cc.model import (
    AgentState,
    AgentStateEvent,
    AgentStatus,
    CallDirection,
    CallLeg,
    CallRecord,
    CallSegment,
    QueueCall,
    QueueEvent,
    QueueEventType,
    RecordingRecord,
    SurveyResult,
)
from cc.privacy.mask import mask_text
from cc.reports.summary import QueueCallSummarizer
from cc.runtime.timebase import Timebase

__all__ = ["History", "RecordSink", "connect_id", "enter_detail"]

log = logging.getLogger(__name__)


class RecordSink(Protocol):
    """Where history records go: the store's Writer, or anything with the same ``submit``."""

    def submit(self, record: Any) -> None:
        """Take a record; must return at once."""
        ...


def enter_detail(priority: int) -> str:
    """The detail of a stay's ENTER line (written again, the same, when a restarted controller takes it over)."""
    return f"priority={priority}"


def new_id() -> str:
    """A fresh idempotency key for a history record."""
    return uuidlib.uuid4().hex


#: the namespace of the ids derived from a stay (:func:`connect_id`)
_STAY_IDS = uuidlib.UUID("6d1c3b52-8f0e-4d8a-9a57-3c1f0b7e2a41")


def connect_id(enter_id: str, bridged_at: float) -> str:
    """The id of a stay's CONNECT line: from its ENTER's id and the bridge time kept on the channel
    (``cc_enter``, ``cc_bridged``), so that a restarted controller writes a CONNECT the killed one had not
    stored yet under the same id (inserted once) instead of a second line."""
    return uuidlib.uuid5(_STAY_IDS, f"{enter_id}/{bridged_at!r}").hex


class History:
    """Builds the history records of calls, queues and agents and submits them."""

    def __init__(self, sink: RecordSink | None, clock: Timebase) -> None:
        self.sink = sink
        self.clock = clock
        self.submitted = 0
        self.summarizer = QueueCallSummarizer(live=True)

    def _submit(self, record: Any) -> None:
        self.submitted += 1
        if self.sink is None:
            return
        try:
            self.sink.submit(record)
        except Exception:
            # the writer journals what the database refuses; reaching here means it is closed
            log.exception("history record lost: %s", mask_text(repr(record)))

    def _summaries(self, calls: list[QueueCall]) -> None:
        for c in calls:
            self._submit(c)

    def _summarize(self, record: QueueEvent | AgentStateEvent) -> None:
        try:
            self._summaries(self.summarizer.feed(record))
        except Exception:
            # the queue report then computes this call's slot from the queue log (nothing is lost)
            log.exception("queue call summary failed at %s", mask_text(repr(record)))

    def queue_event(self, type_: QueueEventType, queue: str, member_uuid: str, *, agent_id: str | None = None,
                    wait_s: float | None = None, talk_s: float | None = None, detail: str = "",
                    at: float | None = None, hold_s: float | None = None, id_: str | None = None) -> str:
        """Append a queue-log line (and write the stay's QueueCall if the line settles it); returns its id."""
        ev = QueueEvent(id_ or new_id(), self.clock.now() if at is None else at, queue, member_uuid, type_,
                        agent_id, wait_s, talk_s, detail, hold_s)
        self._submit(ev)
        self._summarize(ev)
        return ev.id

    def resume_stay(self, enter_id: str, queue: str, member_uuid: str, joined_at: float, *,
                    agent_id: str | None = None, connected_at: float | None = None, detail: str = "",
                    logged: bool = False, bridged_mark: float | None = None) -> None:
        """A stay a previous process logged (its ENTER, and CONNECT when bridged) goes on here: the summary
        starts from those lines, so the stay's QueueCall keeps its id (no double count).

        The ENTER is submitted again under its id unless it was read from the store (``logged``): a process
        killed with SIGKILL loses what its writer had not stored yet, and a log line is inserted once (ON
        CONFLICT DO NOTHING), so the line is written when it was lost and left as it is when it was not. So is
        the CONNECT when ``bridged_mark`` (the bridge time the channel keeps) names its id (:func:`connect_id`)."""
        enter = QueueEvent(enter_id, joined_at, queue, member_uuid, QueueEventType.ENTER, detail=detail)
        if not logged:
            self._submit(enter)
        self._summarize(enter)
        if connected_at is not None:
            cid = connect_id(enter_id, bridged_mark) if bridged_mark is not None else new_id()
            connect = QueueEvent(cid, connected_at, queue, member_uuid, QueueEventType.CONNECT, agent_id,
                                 connected_at - joined_at)
            if not logged and bridged_mark is not None:
                self._submit(connect)
            self._summarize(connect)

    def agent_state(self, agent_id: str, status: AgentStatus, state: AgentState, reason: str | None,
                    at: float) -> None:
        """Append an agent status/state change (a wrap-up's end settles the call it followed)."""
        ev = AgentStateEvent(new_id(), at, agent_id, status, state, reason)
        self._submit(ev)
        self._summarize(ev)

    def call(self, record: CallRecord) -> None:
        """Write the one row of a finished call."""
        self._submit(record)
        if record.ended_at is not None:   # no late TRANSFER can come: its stays are final
            self._summaries(self.summarizer.call_ended(record.uuid))

    def call_segment(self, record: CallSegment) -> None:
        """Write the row of a later visit of a call (same channel UUID); the call's first row is left alone."""
        self._submit(record)
        if record.ended_at is not None:
            self._summaries(self.summarizer.call_ended(record.call_uuid))

    def flush(self) -> int:
        """Write the QueueCall of every stay not settled yet, as it stands (at shutdown); returns how many."""
        calls = self.summarizer.flush()
        self._summaries(calls)
        return len(calls)

    def leg(self, record: CallLeg) -> None:
        """Write one channel of a call."""
        self._submit(record)

    def recording(self, record: RecordingRecord) -> None:
        """Write a closed recording."""
        self._submit(record)

    def survey(self, call_uuid: str, survey: str, question: str, score: int, agent_id: str | None,
               queue: str | None) -> None:
        """Write a survey answer."""
        self._submit(SurveyResult(new_id(), self.clock.now(), call_uuid, survey, question, score, agent_id, queue))

    @staticmethod
    def inbound_call(uuid: str, caller: str, callee: str, started_at: float, node: str) -> CallRecord:
        """The start of an inbound call's record (completed when the call ends)."""
        return CallRecord(uuid=uuid, direction=CallDirection.INBOUND, caller=caller, callee=callee,
                          started_at=started_at, node=node)
