"""execute() round trip through cc's OutboundServer/CallChannel with many concurrent sessions.

A fake FreeSWITCH runs in a separate process (like the real one): it dials cc's outbound server
`--sessions` times at once, answers `connect` with real captured channel data, `myevents`/`linger` with
+OK, and every sendmsg execute with `+OK` followed at once by a real captured CHANNEL_EXECUTE_COMPLETE
(~6.5 KB) carrying the Application-UUID cc sent. In cc, each session's handler runs `--executes`
executes, pausing a random 0..`--think-ms` between them (an IVR does not execute back to back), and
times each execute() from call to return. Then each session's caller hangs up during a last execute:
callgone_* is the time from that execute's call to CallGone (sendmsg, +OK, CHANNEL_HANGUP included).
Prints one JSON object.
Usage: python bench/esl_roundtrip.py [--sessions 1000] [--executes 10] [--think-ms 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gevent
import gevent.event
import gevent.socket

from cc.errors import CallGone
from cc.esl.capture import read_capture
from cc.esl.outbound import CallChannel, OutboundServer

CAPTURES = Path(os.environ.get("CC_ESL_CAPTURES",
                               Path(__file__).resolve().parents[1] / "tests" / "data" / "esl-captures"))
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def templates() -> tuple[bytes, bytes, bytes]:
    cap = read_capture(CAPTURES / "outbound_ivr.esl")
    connect = cap.recvs[0].data
    hangup = next(r.data for r in cap.recvs if b"Event-Name: CHANNEL_HANGUP\n" in r.data)
    complete = next(r.data for r in cap.recvs
                    if b"Event-Name: CHANNEL_EXECUTE_COMPLETE" in r.data
                    and b"Application: playback" in r.data)
    return connect, complete, hangup


def peer(port: int, sessions: int) -> None:
    """The fake FreeSWITCH side (runs in its own process)."""
    connect, complete, hangup = templates()
    au = re.search(rb"Application-UUID: (\S+)", complete)
    assert au
    old = au.group(1)
    head, tail = complete.split(old, 1)
    ok = b"Content-Type: command/reply\nReply-Text: +OK\n\n"

    def one(i: int) -> None:
        sock = gevent.socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(gevent.socket.IPPROTO_TCP, gevent.socket.TCP_NODELAY, 1)
        buf = b""
        try:
            while True:
                while b"\n\n" not in buf:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                cmd, buf = buf.split(b"\n\n", 1)
                if cmd == b"connect":
                    sock.sendall(connect)
                elif cmd.startswith(b"sendmsg") and b"execute-app-arg: /hangup-now" in cmd:
                    sock.sendall(ok + hangup)        # the caller hangs up while the app waits
                elif cmd.startswith(b"sendmsg"):
                    eu = re.search(rb"Event-UUID: (\S+)", cmd)
                    sock.sendall(ok + head + (eu.group(1) if eu else old) + tail)
                elif cmd == b"exit":
                    sock.sendall(b"Content-Type: command/reply\nReply-Text: +OK bye\n\n")
                    return
                else:
                    sock.sendall(ok)
        finally:
            sock.close()

    gevent.joinall([gevent.spawn(one, i) for i in range(sessions)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--executes", type=int, default=10)
    ap.add_argument("--think-ms", type=float, default=1000.0)
    ap.add_argument("--peer", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.peer:
        peer(a.peer, a.sessions)
        return

    lat: list[float] = []
    gone: list[float] = []
    started = gevent.event.Event()
    ready = [0]
    done = gevent.event.Event()
    finished = [0]
    rnd = random.Random(1)

    def handler(ch: CallChannel) -> None:
        ready[0] += 1
        if ready[0] == a.sessions:
            started.set()
        started.wait()                      # all sessions are connected before anyone executes
        for _ in range(a.executes):
            gevent.sleep(rnd.random() * a.think_ms / 1000.0)
            t0 = time.perf_counter()
            ch.execute("playback", "/tmp/cc_prompts/tone1s.wav")
            lat.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        try:
            ch.execute("playback", "/hangup-now")
        except CallGone:
            gone.append(time.perf_counter() - t0)
        finished[0] += 1
        if finished[0] == a.sessions:
            done.set()

    srv = OutboundServer("127.0.0.1", 0, handler, linger=False)
    srv.start()
    proc = subprocess.Popen([sys.executable, __file__, "--peer", str(srv.address[1]),
                             "--sessions", str(a.sessions)])
    t0 = time.perf_counter()
    try:
        if not started.wait(120):
            raise SystemExit(f"only {ready[0]} of {a.sessions} sessions connected")
        t_setup = time.perf_counter() - t0
        t1 = time.perf_counter()
        if not done.wait(600):
            raise SystemExit(f"only {finished[0]} of {a.sessions} sessions finished")
        elapsed = time.perf_counter() - t1
    finally:
        gevent.sleep(0.2)
        srv.stop()
        proc.wait(30)
    lat.sort()
    gone.sort()

    def pct(p: float, xs: list[float] = lat) -> float:
        return round(xs[min(len(xs) - 1, int(p * len(xs)))] * 1000, 3) if xs else -1.0

    print(json.dumps({
        "execute_p50_ms": pct(0.50), "execute_p99_ms": pct(0.99), "execute_max_ms": pct(1.0),
        "sessions": a.sessions, "executes": len(lat), "think_ms_max": a.think_ms,
        "executes_per_s": round(len(lat) / elapsed), "setup_s_all_sessions": round(t_setup, 3),
        "callgone_p50_ms": pct(0.5, gone), "callgone_p99_ms": pct(0.99, gone), "callgone_count": len(gone),
    }))


if __name__ == "__main__":
    main()
