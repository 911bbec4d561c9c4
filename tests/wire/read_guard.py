"""The read guard: every event header `cc` reads must be one a real FreeSWITCH sends for that event.

During the wire tests every ``Event.header`` call made from `cc`'s own code (not from cc.sim, not from
the tests) is recorded as (Event-Name, header name). A name passes when

- a real capture in tests/data/esl-captures shows it on an event of that name (the outbound ``connect``
  reply counts as CHANNEL_DATA), or
- it is a channel variable that `cc` sets itself: ``variable_cc_*``, the originate/dialplan variables
  listed in ``CC_SETS`` with the place that sets them, and every variable named in a command `cc` sent
  during the test (``set``/``export``/``multiset``, the result variable of ``play_and_get_digits`` and
  ``read``, ``uuid_setvar[_multi]``, ``{a=b}`` / ``[a=b]`` blocks of originate and bridge), or
- it is on ``FROM_SOURCE``, where each entry cites the FreeSWITCH source that sends it.

Anything else is a header that only the simulator sends: code that reads it works on cc.sim and fails
on a real switch (it happened: the dialled number was read from ``variable_destination_number``).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

from cc.esl import connection, protocol
from cc.esl.capture import read_capture

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "esl-captures"
CC_DIR = str(Path(protocol.__file__).resolve().parents[1])
SKIP = (str(Path(protocol.__file__).resolve()), str(Path(CC_DIR) / "sim"))

#: channel variables cc itself puts on channels, and where
CC_SETS = {
    # cc/runtime/dispatcher.py: originate {...} of agent legs and callbacks
    "variable_origination_uuid", "variable_origination_caller_id_number", "variable_origination_caller_id_name",
    # cc/runtime/call.py and the flows' set/export verbs: read back by the interpreter
    "variable_park_after_bridge", "variable_hangup_after_bridge",
}

#: headers no capture shows yet, each with the FreeSWITCH source that sends it (signalwire/freeswitch)
FROM_SOURCE: dict[tuple[str, str], str] = {
    # (Event-Name, header): "path/in/signalwire/freeswitch.c function: the line that sets or sends it"
    ("CUSTOM", "Event-Subclass"): "src/switch_event.c switch_event_create_subclass_detailed: "
                                  "switch_event_add_header_string(*event, SWITCH_STACK_BOTTOM, \"Event-Subclass\", "
                                  "subclass_name)",
}


@cache
def captured_names() -> dict[str, frozenset[str]]:
    """Event-Name -> every header name a real capture shows on such an event."""
    out: dict[str, set[str]] = {}
    for path in sorted(CAPTURES.rglob("*.esl")):
        for rec in read_capture(path).recvs:
            fr = rec.frame()
            ctype = fr.content_type
            if ctype == "text/event-json":
                d: dict[str, Any] = json.loads(fr.body)
                names = list(d)   # "_body": the event body in the json framing (BACKGROUND_JOB)
                name = str(d.get("Event-Name"))
            elif ctype == "text/event-plain" or fr.get("Event-Name") == "CHANNEL_DATA":
                ev = fr.event()
                names = [k for k, _ in ev.headers()]
                name = str(ev.name)
            else:
                continue
            out.setdefault(name, set()).update(names)
    # headers every captured event carries (Event-Name, Core-UUID, Event-Sequence ...: switch_event.c
    # switch_event_prep_for_delivery_detailed adds them to every event) hold for any event, CUSTOM included
    common = frozenset.intersection(*(frozenset(v) for v in out.values() if v)) if out else frozenset()
    result = {k: frozenset(v) for k, v in out.items()}
    result["*"] = common
    return result


_VAR_BLOCK = re.compile(r"[{\[]([^{}\[\]]*)[}\]]")
#: dialplan applications that set the variable named by their argument: app -> index of the name
_RESULT_VAR = {"play_and_get_digits": 7, "read": 3}


def named_variables(raw: bytes) -> set[str]:
    """The ``variable_<name>`` headers a command `cc` sends will put on the channel."""
    text = raw.decode("utf-8", "replace")
    out: set[str] = set()
    head = dict(line.partition(": ")[::2] for line in text.split("\n") if ": " in line)
    app, arg = head.get("execute-app-name", ""), head.get("execute-app-arg", "")
    if app in ("set", "export"):
        out.add(arg.partition("=")[0])
    elif app == "multiset":
        out.update(pair.partition("=")[0] for pair in arg.split())
    elif app in _RESULT_VAR:
        words = arg.split()
        if len(words) > _RESULT_VAR[app]:
            out.add(words[_RESULT_VAR[app]])
    first = text.split("\n", 1)[0]
    words = first.split()
    if len(words) >= 4 and words[0] in ("api", "bgapi") and words[1] == "uuid_setvar":
        out.add(words[3])
    if len(words) >= 4 and words[0] in ("api", "bgapi") and words[1] == "uuid_setvar_multi":
        out.update(pair.partition("=")[0] for pair in words[3].split(";"))
    for block in _VAR_BLOCK.findall(text):
        out.update(pair.partition("=")[0] for pair in block.split(","))
    return {"variable_" + n.strip() for n in out if n.strip()}


def allowed(event: str, header: str, sent: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether `cc` may read ``header`` from an event named ``event`` (``sent``: variables cc named)."""
    names = captured_names()
    if header in names.get(event, ()) or header in names["*"]:
        return True
    if header.startswith("variable_cc_") or header in CC_SETS or header in sent:
        return True
    return (event, header) in FROM_SOURCE


def reading_frame(depth: int = 3) -> FrameType | None:
    """The first frame (from ``depth`` up) outside cc/esl/protocol.py, when it is `cc`'s own code (not cc.sim)."""
    f: FrameType | None = sys._getframe(depth)
    while f is not None:
        fn = f.f_code.co_filename
        if fn.startswith(SKIP[0]):
            f = f.f_back
            continue
        return f if fn.startswith(CC_DIR) and not fn.startswith(SKIP[1]) else None
    return None


def _caller() -> str | None:
    """The file of the code that reads a header (see :func:`reading_frame`)."""
    f = reading_frame(3)
    return None if f is None else f.f_code.co_filename


class Reads(dict[tuple[str, str], str]):
    """(Event-Name, header) -> the file that read it; ``sent``: the variables cc's commands named."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: set[str] = set()


@contextmanager
def recording() -> Iterator[Reads]:
    """Record (Event-Name, header) -> reading file for every read `cc` makes while the block runs, and the
    variables named in every command `cc` sends."""
    reads = Reads()
    send = connection.Link.send

    def sending(self: connection.Link, raw: bytes, *args: Any, **kw: Any) -> Any:
        reads.sent.update(named_variables(raw))
        return send(self, raw, *args, **kw)
    classes = [protocol.Event, protocol.PlainEvent, protocol.JsonEvent]
    originals = {cls: cls.__dict__["header"] for cls in classes if "header" in cls.__dict__}

    def wrap(orig: Any) -> Any:
        def header(self: protocol.Event, name: str, default: str | None = None) -> str | None:
            where = _caller()
            if where is not None:
                ev = orig(self, "Event-Name")
                key = (str(ev), name)
                if key not in reads:
                    reads[key] = where
            return orig(self, name, default)
        return header

    for cls, orig in originals.items():
        cls.header = wrap(orig)
    connection.Link.send = sending   # type: ignore[method-assign]
    try:
        yield reads
    finally:
        connection.Link.send = send   # type: ignore[method-assign]
        for cls, orig in originals.items():
            cls.header = orig


def violations(reads: Reads) -> list[str]:
    """The reads no capture, cc-set variable or cited source allows, one line each."""
    return [f"{where}: reads {header!r} from {event}, which no real capture shows"
            for (event, header), where in sorted(reads.items()) if not allowed(event, header, reads.sent)]
