"""Call recording over ESL: start, pause (mask), resume (unmask) and stop, then a recordings row.

Where the recording notice is required (a flow's ``record_notice: required``, cc.yaml ``recordings.notice``),
``start`` refuses a call whose caller has not heard it: no ``uuid_record`` is sent, one line is logged with
the call's UUID, and the refusal is kept on the channel (``cc_rec_refused``) and in the call's row.

The recording runs on the caller's channel (``uuid_record``), so it holds both sides once bridged. When
the call ends the file is closed by FreeSWITCH; the row gets its duration, paused spans, size and SHA-256
when the controller can read the file (the same host, or a shared folder), else what it knows itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import wave
import weakref
from typing import Protocol

import gevent

from cc.errors import CCError
from cc.model import RecordingRecord
from cc.runtime.dispatcher import Dispatcher
from cc.runtime.history import History, new_id
from cc.runtime.nodes import Node
from cc.runtime.timebase import Timebase

__all__ = ["NOTICE_NOT_PLAYED", "CallRecorder", "render_template"]

#: Why a recording was refused: the notice is required and the caller has not heard it.
NOTICE_NOT_PLAYED = "notice_not_played"

log = logging.getLogger(__name__)


def render_template(template: str, *, uuid: str, queue: str | None, at: float) -> str:
    """Fill ``{yyyy}/{mm}/{dd}/{hh}/{queue}/{uuid}`` in a recording path template (UTC date)."""
    t = dt.datetime.fromtimestamp(at, tz=dt.UTC)
    safe_queue = "".join(c if c.isalnum() or c in "-_." else "_" for c in (queue or "none"))
    return template.format(yyyy=f"{t.year:04d}", mm=f"{t.month:02d}", dd=f"{t.day:02d}", hh=f"{t.hour:02d}",
                           queue=safe_queue, uuid=uuid)


def _inspect(path: str, uuid: str) -> tuple[int | None, str | None, float | None]:
    """Size, SHA-256 and WAV duration of a closed recording (Nones when it cannot be read here)."""
    try:
        size = os.path.getsize(path)
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        with wave.open(path, "rb") as w:
            seconds = w.getnframes() / float(w.getframerate() or 1)
        return size, h.hexdigest(), seconds
    except (OSError, wave.Error, EOFError) as exc:
        log.debug("call %s: recording %s not readable here: %s", uuid, path, exc)
        return None, None, None


class RecordingHost(Protocol):
    """What a call's recorder needs of the controller (cc.runtime.Controller has it)."""

    @property
    def clock(self) -> Timebase:
        """The controller's clock."""

    @property
    def recordings_dir(self) -> str:
        """Where relative recording paths are rooted."""

    @property
    def history(self) -> History:
        """Where the recording's row goes."""

    @property
    def dispatcher(self) -> Dispatcher:
        """Runs the row's writing in the background (``spawn``)."""

    def record_template(self, queue: str | None) -> str:
        """The path template of a recording in ``queue`` (None: outside a queue)."""


class RecordedCall(Protocol):
    """The call a recorder records (cc.runtime.call.CallSession is one)."""

    @property
    def uuid(self) -> str:
        """The call's channel UUID."""

    @property
    def node(self) -> Node:
        """The switch the call is on."""

    @property
    def ctl(self) -> RecordingHost:
        """The controller running the call."""

    @property
    def notice_missing(self) -> bool:
        """Whether the recording notice is required for this call and the caller has not heard it."""

    def mark(self, **variables: object) -> None:
        """Keep ``variables`` on the channel (``cc_<name>``), for a restarted controller."""


class CallRecorder:
    """The recording of one call; every ESL failure is logged and never ends the call."""

    def __init__(self, session: RecordedCall) -> None:
        #: the call, held weakly: the call holds its recorder, and that cycle would keep every finished call (its
        #: channel, greenlets, sockets) in memory until the cyclic collector's next full pass
        self._session = weakref.ref(session)
        self.path: str | None = None
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.paused_at: float | None = None
        self.spans: list[tuple[float, float]] = []
        self.reason = ""
        #: why a start was refused (NOTICE_NOT_PLAYED), None while none was
        self.refused: str | None = None

    @property
    def session(self) -> RecordedCall:
        """The call recorded; ReferenceError once it is gone (a recorder is used while its call runs)."""
        s = self._session()
        if s is None:
            raise ReferenceError("the call of this recorder has ended")
        return s

    @property
    def active(self) -> bool:
        """Whether a recording was started and not stopped."""
        return self.path is not None and self.stopped_at is None

    def _api(self, what: str) -> bool:
        s = self.session
        try:
            s.node.api(f"uuid_record {s.uuid} {what} {self.path}")
            return True
        except CCError as exc:
            log.warning("call %s: uuid_record %s %s failed: %s", s.uuid, what, self.path, exc)
            return False

    def start(self, queue: str | None = None, path: str | None = None, reason: str = "") -> bool:
        """Start recording (no-op when one is running) into ``path`` or the configured template; False when it
        did not start: refused (``refused`` says why) or FreeSWITCH failed."""
        s = self.session
        if self.active:
            return True
        if s.notice_missing:
            self.refused = NOTICE_NOT_PLAYED
            log.warning("call %s: recording (%s) refused: the recording notice is required and the caller has not "
                        "heard it", s.uuid, reason or "start")
            s.mark(rec_refused=NOTICE_NOT_PLAYED)
            return False
        ctl = s.ctl
        now = ctl.clock.now()
        if not path:
            template = ctl.record_template(queue)
            path = render_template(template, uuid=s.uuid, queue=queue, at=now)
        if not os.path.isabs(path):
            path = os.path.join(ctl.recordings_dir, path)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as exc:  # FreeSWITCH may be on another host with its own folders
            log.debug("call %s: cannot create %s here: %s", s.uuid, os.path.dirname(path), exc)
        self.path = path
        self.started_at = now
        self.stopped_at = None
        self.spans = []
        self.reason = reason
        if not self._api("start"):
            self.path = None
            self.started_at = None
            return False
        log.info("call %s: recording to %s", s.uuid, path)
        if ";" not in path:   # kept on the channel: a restarted controller writes the row when the call ends
            s.mark(rec=path, rec_started=repr(now))
        return True

    def pause(self) -> None:
        """Mask the recording (silence) until resumed, e.g. while a card number is read."""
        if self.active and self.paused_at is None and self._api("mask"):
            self.paused_at = self.session.ctl.clock.now()

    def resume(self) -> None:
        """End a pause."""
        if self.active and self.paused_at is not None and self._api("unmask"):
            self.spans.append((self.paused_at, self.session.ctl.clock.now()))
            self.paused_at = None

    def stop(self) -> None:
        """Stop recording now and write its row."""
        if not self.active:
            return
        self._api("stop")
        self._closed()
        self.session.mark(rec="none")

    def resume_from(self, path: str | None, started_at: float | None) -> None:
        """A recording a previous process started on this call (``cc_rec``): its row is written at the end."""
        if path and path != "none" and started_at is not None and not self.active:
            self.path, self.started_at, self.stopped_at, self.reason = path, started_at, None, "recovered"

    def call_ended(self) -> None:
        """The call is over: FreeSWITCH closed the file; write the row."""
        if self.active:
            self._closed()

    def _closed(self) -> None:
        s = self.session
        now = s.ctl.clock.now()
        if self.paused_at is not None:
            self.spans.append((self.paused_at, now))
            self.paused_at = None
        self.stopped_at = now
        path, started, spans = self.path, self.started_at, tuple(self.spans)
        assert path is not None and started is not None
        delay = s.ctl.clock.real(1.0)
        # the row is written after the call may have gone: it gets what it needs now
        s.ctl.dispatcher.spawn(_write_row, s.ctl.history, s.uuid, path, started, now, spans,
                               delay=min(max(delay, 0.05), 1.0))


def _write_row(history: History, call_uuid: str, path: str, started: float, stopped: float,
               spans: tuple[tuple[float, float], ...]) -> None:
    """A closed recording's row: its size, hash and length read from the file when this host can read it."""
    # hashing an hour of audio takes a while: in a worker thread, so no call waits for it
    size, digest, wav_s = gevent.get_hub().threadpool.apply(_inspect, (path, call_uuid))
    duration = wav_s if wav_s is not None else max(0.0, stopped - started)
    history.recording(RecordingRecord(uuid=new_id(), call_uuid=call_uuid, path=path, started_at=started,
                                      stopped_at=stopped, duration_s=duration, paused_spans=spans,
                                      size_bytes=size, sha256=digest))
