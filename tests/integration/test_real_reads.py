"""On a real FreeSWITCH: every event header `cc` reads during a whole call-center run is one the switch sent.

The wire tests' read guard (tests/wire/read_guard.py) checks cc's reads against the captures. Here the
same reads are checked against the switch itself: the controller runs in this process (so its reads
can be seen) against the real switch, with SIPp callers (menu digits) and agent phones that refuse
(486), ring unanswered and answer, in a queue that records. Every (Event-Name, header) that cc's own
code asks for is noted with whether the real event had it. A header cc reads that the switch never
sent on any event of that name during the run is code that can only work on cc.sim.

Opt-in (``--fs-host``) like the rest of tests/integration; see test_call_center.py for the set-up.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gevent
import pytest

from cc.config import NodeConfig, ServiceConfig
from cc.esl import protocol
from cc.model import RecordPolicy, Strategy
from cc.service import Service
from cc.store.db import Database
from tests.calm_admission import TEST_OVERLOAD
from tests.integration.conftest import OUTBOUND, CcServer, Esl, Sipp, errors_of, tcp_port_free
from tests.integration.test_call_center import Outcome, _agent, _check_invariants, _queue, _setup
from tests.wire import read_guard

pytestmark = pytest.mark.timeout(180)

def _reader() -> str | None:
    """The file:line of cc's own code reading a header (cc.sim and the tests are not cc)."""
    f = read_guard.reading_frame(3)
    return None if f is None else f"{f.f_code.co_filename[len(read_guard.CC_DIR) - 2:]}:{f.f_lineno}"


@contextmanager
def reads_seen() -> Iterator[dict[tuple[str, str], list[Any]]]:
    """(Event-Name, header) -> [first reader, times present, times absent] for every read cc makes."""
    seen: dict[tuple[str, str], list[Any]] = {}
    classes = [protocol.Event, protocol.PlainEvent, protocol.JsonEvent]
    originals = {cls: cls.__dict__["header"] for cls in classes if "header" in cls.__dict__}

    def wrap(orig: Any) -> Any:
        def header(self: protocol.Event, name: str, default: str | None = None) -> str | None:
            value = orig(self, name, None)
            where = _reader()
            if where is not None:
                entry = seen.setdefault((str(orig(self, "Event-Name")), name), [where, 0, 0])
                entry[1 if value is not None else 2] += 1
            return default if value is None else value
        return header

    for cls, orig in originals.items():
        cls.header = wrap(orig)
    try:
        yield seen
    finally:
        for cls, orig in originals.items():
            cls.header = orig


def _wait_process(proc: Any, timeout: float) -> int | None:
    """Wait for a subprocess without blocking the gevent hub (the controller runs in this process)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        gevent.sleep(0.2)
    return proc.poll()


def test_cc_reads_only_headers_the_real_switch_sends(fs: tuple[str, int, str], fs_api: Esl, sipp: Sipp,
                                                     tmp_path: Path) -> None:
    if not tcp_port_free(*OUTBOUND):
        pytest.fail(f"{OUTBOUND[0]}:{OUTBOUND[1]} is taken: freeswitch-conf's dialplan sends calls there")
    busy = sipp.phone("uas_busy.xml")
    ringing = sipp.phone("uas_noanswer.xml")
    answering = sipp.phone("uas_answer.xml", TALK_MS=2000)
    work = tmp_path / "cc"
    (work / "flows").mkdir(parents=True)
    srv = CcServer(work, fs)   # only for the seeding helpers: the controller runs in this process
    agents = [_agent("3201", busy.port), _agent("3202", ringing.port), _agent("3203", answering.port)]
    _setup(srv, agents, _queue(offer_timeout_s=3.0, strategy=Strategy.TOP_DOWN, record_policy=RecordPolicy.ALWAYS))
    host, port, password = fs
    cfg = ServiceConfig(nodes=(NodeConfig("fs1", host, port, password),), outbound_host=OUTBOUND[0],
                        outbound_port=OUTBOUND[1], database_url=srv.db_url, flows_dir="flows",
                        routes={"7000": "menu.yaml"}, recordings_dir=str(work / "recordings"), base_dir=str(work),
                        drain_timeout_s=5, overload=TEST_OVERLOAD)
    db = Database(srv.db_url)
    with reads_seen() as seen:
        svc = Service(cfg, database=db, journal_path=str(work / "journal.jsonl"))
        svc.start(wait_nodes=10)
        try:
            for a in agents:
                svc.controller.login(a.id)   # type: ignore[union-attr]
            callers = sipp.callers("7000", calls=3, rate=0.2, digits="1", wait_ms=60000, limit=1)
            rc = _wait_process(callers, 120)
            assert rc == 0, f"SIPp callers: exit {rc}\n{errors_of(sipp.workdir, 'uac_caller')}"
            deadline = time.monotonic() + 15
            while fs_api.channels() and time.monotonic() < deadline:
                gevent.sleep(0.25)
            assert not fs_api.channels()
        finally:
            svc.stop(drain_timeout=5)
    out = Outcome(srv.db_url)
    _check_invariants(out, calls=3)
    assert seen, "no read recorded: the recorder did not see cc's reads"
    # cc's own channel variables (``cc_*``, CallSession.mark) are there only on a call that comes back into cc (a
    # restart, a transfer back, a redial), which this run has none of: the rule allows them, as the wire guard does
    never = {key: where for key, (where, present, _absent) in seen.items()
             if present == 0 and not key[1].startswith("variable_cc_")}
    assert not never, "cc read headers the real switch never sent on that event during the run:\n" + "\n".join(
        f"  {ev} {name}  (read at {where})" for (ev, name), where in sorted(never.items()))
