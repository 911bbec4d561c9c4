"""1,000 concurrent simulated calls at time scale 0.01 complete with no lost event."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import gevent
import pytest

from cc.esl.inbound import Switch
from cc.esl.outbound import CallChannel, OutboundServer
from cc.sim import CallerSpec, Simulator
from cc.sim.wav import write_silence

CALLS = 1000
#: What cc sees on its outbound socket for answer + playback + hangup (myevents, this channel only; the
#: 2026-12 set-up: the codec is negotiated before the dialplan, so no CHANNEL_PROGRESS_MEDIA on answer).
EXPECTED = ["CHANNEL_EXECUTE", "CHANNEL_ANSWER", "CHANNEL_EXECUTE_COMPLETE",
            "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_EXECUTE", "CHANNEL_HANGUP",
            "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_UNPARK", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_STATE",
            "CHANNEL_STATE", "CHANNEL_HANGUP_COMPLETE"]


@pytest.mark.timeout(120)
def test_thousand_concurrent_calls(tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.wav"
    write_silence(prompt, 30.0)
    seen: dict[str, list[str]] = {}

    def app(ch: CallChannel) -> None:
        ch.answer()
        ch.playback(str(prompt))
        ch.hangup()
        names: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ev = ch.events.get(timeout=max(0.01, deadline - time.monotonic()))
            names.append(ev.name or "")
            if ev.name == "CHANNEL_HANGUP_COMPLETE":
                break
        seen[ch.uuid] = names

    srv = OutboundServer("127.0.0.1", 0, app, command_timeout=60)
    srv.start()
    try:
        with Simulator(time_scale=0.01, socket_address=srv.address) as sim:
            host, port = sim.inbound_address
            sw = Switch(host, port, "ClueCon")
            sw.connect()
            sw.subscribe(["CHANNEL_CREATE", "CHANNEL_HANGUP_COMPLETE"])
            handles = [sim.place_call(CallerSpec("7000", caller_id_number=f"1555{i:07d}")) for i in range(CALLS)]
            assert sim.peak_sessions == CALLS
            results = [h.wait(90) for h in handles]
            deadline = time.monotonic() + 30
            while len(seen) < CALLS and time.monotonic() < deadline:
                gevent.sleep(0.05)
            inbound: Counter[str] = Counter()
            while sum(inbound.values()) < 2 * CALLS and time.monotonic() < deadline:
                ev = sw.events.get(timeout=max(0.01, deadline - time.monotonic()))
                inbound[ev.name or ""] += 1
            sw.close()
    finally:
        srv.stop()
    assert all(r.answered and r.hangup_cause == "NORMAL_CLEARING" for r in results)
    assert len(seen) == CALLS, f"only {len(seen)} outbound sessions finished"
    bad = {u: n for u, n in seen.items() if n != EXPECTED}
    assert not bad, f"{len(bad)} calls lost or reordered events, e.g. {next(iter(bad.items()))}"
    assert inbound == {"CHANNEL_CREATE": CALLS, "CHANNEL_HANGUP_COMPLETE": CALLS}
    # the playback really lasted 30 simulated seconds for every call (no upper bound: how long the client
    # takes to hang up after it is real time, stretched 100 times on the simulated clock of a loaded machine)
    assert all(r.ended - (r.answered_at or 0) >= 30.0 for r in results)
