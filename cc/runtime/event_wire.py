"""The wire form of hook events between the processes of a standby pair (pure; cc.store.event_channel carries it).

An event is one JSON object in ASCII (``ensure_ascii``: a payload may be cut at any byte), sent as one or
more notifications ``PUB:SEQ:I:N:chunk`` of at most :data:`MAX_PAYLOAD` bytes (PostgreSQL refuses payloads
of 8000 bytes or more). ``PUB`` names the publishing process, ``SEQ`` counts its events (it also keeps two
equal events from being folded into one notification by the server), ``I`` of ``N`` is the chunk.
:class:`Reassembler` puts the chunks back together and counts the events a gap in ``SEQ`` shows were missed.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass

from cc.runtime.hooks import HookEvent

__all__ = ["MAX_PAYLOAD", "Reassembler", "decode_event", "encode_event"]

#: Bytes of one notification's payload at most (PostgreSQL refuses 8000 and more).
MAX_PAYLOAD = 7900


def encode_event(ev: HookEvent, pub: str, seq: int, max_payload: int = MAX_PAYLOAD) -> list[str]:
    """``ev`` as the payloads of its notifications, in order (one unless it is bigger than ``max_payload``)."""
    body = json.dumps({"k": ev.kind, "t": ev.at, "c": ev.call_uuid, "a": ev.agent_id, "q": ev.queue, "d": ev.data},
                      ensure_ascii=True, default=str, separators=(",", ":"))
    head = f"{pub}:{seq}:"
    room = max_payload - len(head) - 24   # the I:N: part, generously
    if room <= 0:
        raise ValueError(f"max_payload {max_payload} leaves no room for data")
    chunks = [body[i:i + room] for i in range(0, len(body), room)] or [""]
    n = len(chunks)
    return [f"{head}{i}:{n}:{c}" for i, c in enumerate(chunks)]


def decode_event(body: str) -> HookEvent:
    """The event a whole body carries; ValueError for anything else."""
    doc = json.loads(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("k"), str) or not isinstance(doc.get("d", {}), dict):
        raise ValueError("not an event")
    return HookEvent(doc["k"], float(doc.get("t") or 0.0), call_uuid=doc.get("c"), agent_id=doc.get("a"),
                     queue=doc.get("q"), data=doc.get("d") or {})


@dataclass
class _Partial:
    n: int
    parts: dict[int, str]


class Reassembler:
    """Chunks in, whole events out, in the order their last chunk came; counts gaps and bad payloads."""

    def __init__(self, *, max_pending: int = 64, ignore_pub: str | None = None) -> None:
        self.max_pending = max_pending
        self.ignore_pub = ignore_pub
        self._pending: OrderedDict[tuple[str, int], _Partial] = OrderedDict()
        self._last: dict[str, int] = {}
        self.missed = 0        #: events a gap in a publisher's SEQ shows were not received
        self.bad = 0           #: payloads that were not ours or did not decode

    def feed(self, payload: str) -> HookEvent | None:
        """One notification's payload; the event once its last chunk is in, else None."""
        try:
            pub, seq_s, i_s, n_s, chunk = payload.split(":", 4)
            seq, i, n = int(seq_s), int(i_s), int(n_s)
            if not 0 <= i < n:
                raise ValueError("chunk index")
        except ValueError:
            self.bad += 1
            return None
        if pub == self.ignore_pub:
            return None
        key = (pub, seq)
        if n == 1:
            return self._whole(pub, seq, chunk)
        part = self._pending.get(key)
        if part is None:
            part = self._pending[key] = _Partial(n, {})
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
                self.missed += 1
        part.parts[i] = chunk
        if len(part.parts) < part.n:
            return None
        del self._pending[key]
        return self._whole(pub, seq, "".join(part.parts[j] for j in range(part.n)))

    def _whole(self, pub: str, seq: int, body: str) -> HookEvent | None:
        last = self._last.get(pub)
        if last is not None and seq > last + 1:
            self.missed += seq - last - 1
        self._last[pub] = seq if last is None else max(last, seq)
        try:
            return decode_event(body)
        except (ValueError, TypeError):
            self.bad += 1
            return None
