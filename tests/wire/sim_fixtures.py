"""Helpers for the simulator's wire tests: a raw ESL client, capture replay and the fidelity comparison.

The comparison implements the fidelity contract of tests/data/esl-captures/README.md: non-event frames
in the same order with the same reply texts; per channel the same Event-Names in the same order; per
event the same set of header names (variable_* aside) and the same meaningful values; incidental events
and (outbound) events fired before the ``connect`` are left out.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.server
import gevent.socket

from cc.esl.capture import Record
from cc.esl.protocol import Frame, FrameParser, url_decode
from cc.sim.events import INCIDENTAL

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MEANINGFUL = ("Application", "Application-Response", "Hangup-Cause", "DTMF-Digit", "Answer-State",
              "Channel-Call-State", "Job-Command", "Playback-Status", "Record-Completion-Cause")
NIL = "00000000-0000-0000-0000-000000000000"


@dataclass
class Summary:
    """One frame reduced to what the fidelity contract compares."""

    ctype: str
    reply: str = ""
    body: str = ""
    name: str | None = None
    uuid: str | None = None
    names: frozenset[str] = frozenset()
    values: dict[str, str] = field(default_factory=dict)
    timestamp: int = 0
    sequence: int = 0
    uuids: list[str] = field(default_factory=list)
    varnames: frozenset[str] = frozenset()   #: the variable_* header names
    leg: str | None = None                   #: BACKGROUND_JOB of an originate: the leg's uuid

    @property
    def is_event(self) -> bool:
        return self.name is not None

    @property
    def incidental(self) -> bool:
        return self.name in INCIDENTAL


def summarize(frame: Frame) -> Summary:
    ctype = frame.content_type
    if ctype == "text/event-plain":
        head, _, rest = frame.body.decode("utf-8", "replace").partition("\n\n")
        pairs = [ln.partition(": ") for ln in head.split("\n") if ln]
        values = {k: url_decode(v) for k, _, v in pairs}
        names = [k for k, _, _ in pairs]
        body = rest
    elif ctype == "text/event-json":
        d: dict[str, Any] = json.loads(frame.body)
        values = {k: str(v) for k, v in d.items()}
        names = list(d)
        body = str(d.get("_body", ""))
    else:
        text = frame.text
        uuids = UUID_RE.findall(text) + UUID_RE.findall(frame.get("Job-UUID") or "")
        if ctype == "command/reply" and frame.get("Event-Name") == "CHANNEL_DATA":
            ev = frame.event()
            uid = ev.uuid or ""
            return Summary(ctype, reply=frame.reply_text, uuid=uid, uuids=[uid],
                           timestamp=int(ev.get("Event-Date-Timestamp") or 0),
                           sequence=int(ev.get("Event-Sequence") or 0),
                           names=frozenset(k for k, _ in ev.headers() if not k.startswith("variable_")),
                           varnames=frozenset(k for k, _ in ev.headers() if k.startswith("variable_")))
        return Summary(ctype, reply=frame.reply_text, body=text, uuids=uuids)
    uid = values.get("Unique-ID")
    uuids = [u for u in (uid, values.get("Job-UUID")) if u] + UUID_RE.findall(body)
    leg = None
    if values.get("Event-Name") == "BACKGROUND_JOB" and values.get("Job-Command") == "originate":
        m = re.search(r"origination_uuid=(" + UUID_RE.pattern + ")", values.get("Job-Command-Arg", ""))
        found = [m.group(1)] if m else UUID_RE.findall(body)
        leg = found[0] if found else None
    return Summary(ctype, name=values.get("Event-Name"), uuid=uid, body=body, leg=leg,
                   names=frozenset(n for n in names if not n.startswith("variable_")),
                   varnames=frozenset(n for n in names if n.startswith("variable_")),
                   values={k: values[k] for k in MEANINGFUL if k in values},
                   timestamp=int(values.get("Event-Date-Timestamp") or 0),
                   sequence=int(values.get("Event-Sequence") or 0), uuids=uuids)


class EslClient:
    """A raw ESL peer on a gevent socket: send bytes, read frames."""

    def __init__(self, sock: gevent.socket.socket) -> None:
        self.sock = sock
        self.parser = FrameParser()
        self.frames: list[Frame] = []
        self.closed = False

    @classmethod
    def connect(cls, addr: tuple[str, int]) -> EslClient:
        return cls(gevent.socket.create_connection(addr, timeout=5))

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def fill(self, timeout: float) -> bool:
        """Read what arrives within ``timeout``; False when the peer closed."""
        if self.closed:
            return False
        try:
            with gevent.Timeout(timeout):
                data = self.sock.recv(65536)
        except gevent.Timeout:
            return True
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.frames.extend(self.parser.feed(data))
        return True

    def read(self, timeout: float = 5.0) -> Frame:
        """The next frame."""
        deadline = time.monotonic() + timeout
        while not self.frames:
            left = deadline - time.monotonic()
            if left <= 0 or not self.fill(left):
                raise AssertionError(f"no frame within {timeout:.1f}s (closed={self.closed})")
        return self.frames.pop(0)

    def command(self, cmd: str, timeout: float = 5.0) -> Frame:
        """Send ``cmd`` and return the first non-event frame (events before it are kept)."""
        self.send(cmd + "\n\n")
        kept: list[Frame] = []
        while True:
            f = self.read(timeout)
            if f.is_event:
                kept.append(f)
                continue
            self.frames[:0] = kept
            return f

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def mask_status(text: str) -> str:
    """The ``status`` output with its numbers masked (other texts unchanged)."""
    return re.sub(r"\d+(\.\d+)?", "#", text) if text.startswith("UP ") else text


_ROW_KEYS = ("uuid", "direction", "name", "state", "cid_name", "cid_num", "dest", "application",
             "application_data", "dialplan", "context", "read_codec", "callstate", "presence_id", "call_uuid",
             "b_uuid")


def api_body_problems(cap: str, sim: str) -> list[str]:
    """An api/response body: equal, or (status) equal but for numbers, or (show ... as json) the same
    rows with the same keys and the same meaningful values."""
    if cap.startswith("UP "):
        return [] if mask_status(cap) == mask_status(sim) else [f"status text differs: {cap!r} vs {sim!r}"]
    if cap.startswith("{") and "row_count" in cap:
        try:
            ja, jb = json.loads(cap), json.loads(sim)
        except ValueError:
            return [f"show ... as json: not JSON: {sim!r}"]
        out = []
        if ja["row_count"] != jb.get("row_count") or cap.endswith("\n") != sim.endswith("\n") \
                or (" " in cap) != (" " in sim):
            out.append(f"show ... as json differs: {cap[:80]!r} vs {sim[:80]!r}")
        for ra, rb in zip(ja.get("rows", []), jb.get("rows", []), strict=False):
            if list(ra) != list(rb):
                out.append(f"show row keys differ: {list(ra)} vs {list(rb)}")
            out += [f"show row {k}: {ra[k]!r} vs {rb.get(k)!r}" for k in _ROW_KEYS if k in ra and ra[k] != rb.get(k)]
        return out
    return [] if cap == sim else [f"api/response differs: {cap!r} vs {sim!r}"]


def _old_setup_value(a: Summary, key: str, sim_value: str | None) -> bool:
    """A value that differs only by the set-up: an inbound answer is EARLY-to-answered there (it went through
    CHANNEL_PROGRESS_MEDIA), RINGING-to-answered in the 2026-12 set-up."""
    return a.name == "CHANNEL_ANSWER" and key == "Channel-Call-State" and (a.values.get(key), sim_value) == (
        "EARLY", "RINGING")


def old_setup_only(s: Summary) -> bool:
    """An event only the first set-up sends (see OLD_SETUP_EVENTS), recognised by its Channel-Presence-ID."""
    return s.name in OLD_SETUP_EVENTS and "Channel-Presence-ID" in s.names


def significant(s: Summary) -> bool:
    return not s.incidental


class Replayer:
    """Send a capture connection's commands to a peer, each once the peer sent as many significant
    frames as FreeSWITCH had sent before it (and not sooner than the capture's gap, scaled)."""

    def __init__(self, records: list[Record], client: EslClient, *, time_scale: float,
                 rewrite: Callable[[str], str] = lambda s: s,
                 before: dict[int, Callable[[Replayer], None]] | None = None,
                 stale: Callable[[Summary], bool] | None = None,
                 wait: float = 10.0) -> None:
        self.records = records
        self.client = client
        self.time_scale = time_scale
        self.rewrite = rewrite
        self.before = before or {}
        self.stale = stale or (lambda s: False)
        self.wait = wait
        self.got: list[Summary] = []
        self.uuid_map: dict[str, str] = {}
        self._cap_seen: list[str] = []
        self._sim_seen: list[str] = []
        self._known: set[str] = {NIL}

    def pump(self, timeout: float) -> bool:
        """Read for up to ``timeout`` seconds; False when the peer closed."""
        return self._pump(timeout)

    def _pump(self, timeout: float) -> bool:
        alive = self.client.fill(timeout)
        while self.client.frames:
            s = summarize(self.client.frames.pop(0))
            self.got.append(s)
            for u in s.uuids:
                if u not in self._known and u not in self._sim_seen:
                    self._sim_seen.append(u)
        self._map()
        return alive

    def _map(self) -> None:
        for cap, sim in zip(self._cap_seen, self._sim_seen, strict=False):
            self.uuid_map.setdefault(cap, sim)

    def _sig_count(self) -> int:
        return sum(1 for s in self.got if significant(s))

    def run(self, tail: float = 0.5) -> list[Summary]:
        expected = 0
        last_t = 0.0
        cap_summaries: list[Summary] = []
        for idx, rec in enumerate(self.records):
            if rec.direction == "recv":
                s = summarize(rec.frame())
                cap_summaries.append(s)
                if significant(s) and not self.stale(s) and not old_setup_only(s):
                    expected += 1
                for u in s.uuids:
                    if u not in self._known and u not in self._cap_seen:
                        self._cap_seen.append(u)
                continue
            text = rec.data.decode()
            for u in UUID_RE.findall(text):
                if u not in self._cap_seen:
                    self._known.add(u)
            hook = self.before.get(idx)
            if hook is not None:
                hook(self)
            deadline = time.monotonic() + self.wait
            while self._sig_count() < expected:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"record {rec.index}: simulator sent {self._sig_count()} significant frames, capture had "
                        f"{expected} before this command; got {[s.name or s.ctype for s in self.got]}")
                if not self._pump(min(left, 0.05)) and self._sig_count() < expected:
                    raise AssertionError(f"record {rec.index}: connection closed early; got "
                                         f"{[s.name or s.reply or s.ctype for s in self.got]}")
            gap = max(0.0, (rec.t - last_t) * self.time_scale)
            last_t = rec.t
            end = time.monotonic() + gap
            while time.monotonic() < end:
                if not self._pump(max(0.001, end - time.monotonic())):
                    break
            self._map()
            for cap, sim in self.uuid_map.items():
                text = text.replace(cap, sim)
            self.client.send(self.rewrite(text))
        deadline = time.monotonic() + self.wait
        while self._sig_count() < expected and time.monotonic() < deadline:
            if not self._pump(0.05):
                break
        end = time.monotonic() + tail
        while not self.client.closed and time.monotonic() < end:
            self._pump(0.02)
        self.captured = cap_summaries
        return self.got


def compare(cap: list[Summary], sim: list[Summary], uuid_map: dict[str, str],
            stale: Callable[[Summary], bool] = lambda s: False) -> list[str]:
    """Differences between a capture and a simulator run under the fidelity contract (empty: same)."""
    problems: list[str] = []
    old = any("Channel-Presence-ID" in s.names for s in cap)   # the first set-up (README, set-up differences)
    cap = [s for s in cap if not s.incidental and not stale(s) and not (old and s.name in OLD_SETUP_EVENTS)]
    sim = [s for s in sim if not s.incidental]
    cap_frames = [s for s in cap if not s.is_event]
    sim_frames = [s for s in sim if not s.is_event]

    def norm(text: str) -> str:
        for a, b in uuid_map.items():
            text = text.replace(a, b)
        return text

    if [(s.ctype, norm(s.reply)) for s in cap_frames] != [(s.ctype, s.reply) for s in sim_frames]:
        problems.append(f"non-event frames differ:\n  capture: {[(s.ctype, norm(s.reply)) for s in cap_frames]}"
                        f"\n  sim:     {[(s.ctype, s.reply) for s in sim_frames]}")
    for c, s in zip(cap_frames, sim_frames, strict=False):
        if c.ctype == "api/response" and s.ctype == "api/response":
            problems += api_body_problems(norm(c.body), s.body)
        if c.ctype == "text/disconnect-notice" and c.body != s.body:
            problems.append(f"disconnect notice body differs: {c.body!r} vs {s.body!r}")
        if c.ctype == "command/reply" and c.names:
            only_cap, only_sim = _setup_allowed(c.names - s.names, s.names - c.names, old)
            if only_cap or only_sim:
                problems.append(f"connect reply headers differ: only capture {sorted(only_cap)}, "
                                f"only sim {sorted(only_sim)}")
            extra = s.varnames - c.varnames - (OLD_SETUP_VARIABLES if old else frozenset())
            if extra:
                problems.append(f"connect reply: variables FreeSWITCH does not send: {sorted(extra)}")
    by_cap: dict[str | None, list[Summary]] = {}
    by_sim: dict[str | None, list[Summary]] = {}
    for s in cap:
        if s.is_event:
            by_cap.setdefault(uuid_map.get(s.uuid or "", s.uuid), []).append(s)
    for s in sim:
        if s.is_event:
            by_sim.setdefault(s.uuid, []).append(s)
    if set(by_cap) != set(by_sim):
        problems.append(f"channels differ: capture {sorted(map(str, by_cap))} sim {sorted(map(str, by_sim))}")
    for key, cev in by_cap.items():
        sev = by_sim.get(key, [])
        cn, sn = [e.name for e in cev], [e.name for e in sev]
        if cn != sn:
            problems.append(f"channel {key}: event names differ\n  capture: {cn}\n  sim:     {sn}")
            continue
        for i, (a, b) in enumerate(zip(cev, sev, strict=True)):
            only_cap, only_sim = _setup_allowed(a.names - b.names, b.names - a.names, old)
            if only_cap or only_sim:
                problems.append(f"channel {key} event {i} {a.name}: header names differ: only capture "
                                f"{sorted(only_cap)}, only sim {sorted(only_sim)}")
            extra = b.varnames - a.varnames - (OLD_SETUP_VARIABLES if old else frozenset())
            if extra:
                problems.append(f"channel {key} event {i} {a.name}: variables FreeSWITCH does not send here: "
                                f"{sorted(extra)}")
            for k in MEANINGFUL:
                if a.values.get(k) != b.values.get(k) and not (old and _old_setup_value(a, k, b.values.get(k))):
                    problems.append(f"channel {key} event {i} {a.name}: {k} {a.values.get(k)!r} vs "
                                    f"{b.values.get(k)!r}")
            if a.name == "BACKGROUND_JOB" and mask_status(norm(a.body)) != mask_status(b.body):
                problems.append(f"BACKGROUND_JOB body {norm(a.body)!r} vs {b.body!r}")
    problems += _job_places(cap, sim, uuid_map)
    problems += _cross_leg_order(cap, sim, uuid_map)
    return problems


#: Header names only one of the two FreeSWITCH set-ups sends (README, "Set-up differences from the existing
#: files"): the first has Channel-Presence-ID; the 2026-12 one has the codec negotiated before the dialplan
#: runs, so codec headers (and codec variables) where the first has none. cc.sim follows the 2026-12 set-up.
OLD_SETUP_ONLY = frozenset({"Channel-Presence-ID"})
#: Events only the first set-up sends: `answer` on an inbound call went through CHANNEL_PROGRESS_MEDIA there;
#: with the codec negotiated before the dialplan (2026-12) the answer comes without it.
OLD_SETUP_EVENTS = frozenset({"CHANNEL_PROGRESS_MEDIA"})
NEW_SETUP_ONLY = frozenset({"Channel-Read-Codec-Name", "Channel-Read-Codec-Rate", "Channel-Read-Codec-Bit-Rate",
                            "Channel-Write-Codec-Name", "Channel-Write-Codec-Rate", "Channel-Write-Codec-Bit-Rate"})
OLD_SETUP_VARIABLES = frozenset(f"variable_{n}" for n in (
    "sip_authorized", "sip_acl_authed_by", "remote_video_media_flow", "remote_text_media_flow",
    "remote_audio_media_flow", "remote_media_ip", "remote_media_port", "rtp_audio_recv_pt", "rtp_use_codec_name",
    "rtp_use_codec_rate", "rtp_use_codec_ptime", "rtp_use_codec_channels", "rtp_last_audio_codec_string",
    "read_codec", "original_read_codec", "read_rate", "original_read_rate", "write_codec", "write_rate",
    "dtmf_type"))


def _setup_allowed(only_cap: set[str] | frozenset[str], only_sim: set[str] | frozenset[str], old: bool
                   ) -> tuple[set[str], set[str]]:
    """Header-name differences left once the documented set-up differences are allowed (old: a first-set-up
    capture)."""
    if not old:
        return set(only_cap), set(only_sim)
    return set(only_cap) - OLD_SETUP_ONLY, set(only_sim) - NEW_SETUP_ONLY


def _positions(events: list[Summary], key: Callable[[Summary], str | None]) -> dict[tuple[str | None, int], int]:
    """(channel, index of the event within its channel) -> position in the whole event stream."""
    out: dict[tuple[str | None, int], int] = {}
    count: dict[str | None, int] = {}
    for pos, e in enumerate(events):
        k = key(e)
        i = count.get(k, 0)
        count[k] = i + 1
        out[(k, i)] = pos
    return out


def _job_places(cap: list[Summary], sim: list[Summary], uuid_map: dict[str, str]) -> list[str]:
    """An originate's BACKGROUND_JOB comes after the same events of its leg as in the capture (e.g. after
    CHANNEL_HANGUP_COMPLETE and before CHANNEL_DESTROY for a refused leg)."""
    def before(events: list[Summary], job: Summary, leg: str, mapped: Callable[[str | None], str | None]
               ) -> list[str]:
        out = []
        for e in events:
            if e is job:
                return out
            if e.is_event and mapped(e.uuid) == leg:
                out.append(e.name or "")
        return out

    def cmap(u: str | None) -> str | None:
        return uuid_map.get(u or "", u)

    problems = []
    cap_jobs = [s for s in cap if s.name == "BACKGROUND_JOB" and s.leg]
    sim_jobs = {s.leg: s for s in sim if s.name == "BACKGROUND_JOB" and s.leg}
    for job in cap_jobs:
        leg = cmap(job.leg)
        mine = sim_jobs.get(leg)
        if leg is None or mine is None:
            continue
        want = before(cap, job, leg, cmap)
        got = before(sim, mine, leg, lambda u: u)
        if want != got:
            problems.append(f"BACKGROUND_JOB of leg {leg}: after {want[-2:] or 'nothing'} in the capture, after "
                            f"{got[-2:] or 'nothing'} in the sim (leg events before it: {len(want)} vs {len(got)})")
    return problems


#: Cross-leg pairs whose order FreeSWITCH varies between runs (README, "What changes between runs"): the two
#: legs leaving park for uuid_bridge, and the two legs' ends after a uuid_kill of a bridged pair.
_BRIDGE_ENTRY = frozenset({"CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_EXECUTE"})
_TEARDOWN = frozenset({"CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY", "CHANNEL_UNBRIDGE", "CHANNEL_PARK"})


def _varies(a: Summary, b: Summary) -> bool:
    na, nb = a.name or "", b.name or ""
    if na in _BRIDGE_ENTRY and nb in _BRIDGE_ENTRY:
        return True
    return na in _TEARDOWN and nb in _TEARDOWN


def _cross_leg_order(cap: list[Summary], sim: list[Summary], uuid_map: dict[str, str]) -> list[str]:
    """Events of different legs in the capture's order, but for the variations FreeSWITCH shows itself."""
    cev = [s for s in cap if s.is_event and s.uuid]
    sev = [s for s in sim if s.is_event and s.uuid]
    spos = _positions(sev, lambda e: e.uuid)
    keyed = []
    count: dict[str | None, int] = {}
    for e in cev:
        k = uuid_map.get(e.uuid or "", e.uuid)
        i = count.get(k, 0)
        count[k] = i + 1
        p = spos.get((k, i))
        if p is None or sev[p].name != e.name:
            continue       # a channel whose events differ: reported above
        keyed.append((e, k, p))
    problems = []
    for x in range(len(keyed)):
        a, ka, pa = keyed[x]
        for y in range(x + 1, len(keyed)):
            b, kb, pb = keyed[y]
            if ka != kb and pb < pa and not _varies(a, b):
                problems.append(f"order: capture has {a.name} of {ka} before {b.name} of {kb}; the sim after")
    return problems
