"""How much load one cc.sim process generates against a minimal outbound app; prints one JSON object.

The app runs in a child process (so its CPU is not the simulator's): a raw gevent ESL peer that per call
sends ``connect``, ``myevents``, ``sendmsg execute answer``, waits for the answer's completion, sends
``sendmsg execute hangup`` and reads until the simulator closes the socket. An inbound client in the
bench process subscribes to ``event plain ALL`` (every event rendered and sent twice: outbound myevents
and inbound ALL, which is the worst case a controller can ask for).

- ``calls_per_s``: calls that went through the whole cycle (created, socket, answer, hang-up, destroyed)
  per second of wall time, ``--calls`` of them placed ``--window`` at a time.
- ``events_per_s``: events the simulator published per second over the same run (each rendered in
  plain; the inbound ALL client and the outbound sockets receive them).
- ``calls_per_s_myevents_only`` / ``events_per_s_myevents_only``: the same without the inbound ALL client
  (what a controller that subscribes narrowly costs the simulator).
- ``max_concurrent_calls``: channels held up at once in a second phase: ``--concurrent`` callers are placed
  at once, each kept up by a 60 s playback (time scale 0.001), all must complete; the figure is the peak.

Usage: ``python bench/sim.py [--calls 3000] [--window 300] [--concurrent 3000]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import sys
import time
from typing import Any


def _app(port_q: Any, hold: str) -> None:
    import gevent
    import gevent.server

    def handle(sock: socket.socket, addr: Any) -> None:
        buf = b""

        def read_until(marker: bytes) -> bool:
            nonlocal buf
            while marker not in buf:
                data = sock.recv(65536)
                if not data:
                    return False
                buf += data
            buf = buf[buf.index(marker) + len(marker):]
            return True

        try:
            sock.sendall(b"connect\n\n")
            read_until(b"Control: full\n\n")
            sock.sendall(b"myevents\n\nsendmsg\ncall-command: execute\nexecute-app-name: answer\n\n")
            read_until(b"Event-Name: CHANNEL_EXECUTE_COMPLETE")
            if hold:
                sock.sendall(b"sendmsg\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: "
                             + hold.encode() + b"\n\n")
                read_until(b"Application: playback\nApplication-Data")
                read_until(b"Event-Name: CHANNEL_EXECUTE_COMPLETE")
            sock.sendall(b"sendmsg\ncall-command: execute\nexecute-app-name: hangup\n\n")
            while sock.recv(65536):
                pass
        except OSError:
            pass
        finally:
            sock.close()

    srv = gevent.server.StreamServer(("127.0.0.1", 0), handle, backlog=4096)
    srv.start()
    port_q.put(srv.server_port)
    srv.serve_forever()


def _start_app(hold: str) -> tuple[multiprocessing.Process, int]:
    q: Any = multiprocessing.Queue()
    p = multiprocessing.Process(target=_app, args=(q, hold), daemon=True)
    p.start()
    return p, int(q.get(timeout=10))


def _inbound_all(addr: tuple[str, int]) -> Any:
    import gevent
    import gevent.socket

    s = gevent.socket.create_connection(addr)
    s.sendall(b"auth ClueCon\n\nevent plain ALL\n\n")
    got = [0]

    def drain() -> None:
        while True:
            data = s.recv(1 << 20)
            if not data:
                return
            got[0] += len(data)

    return s, gevent.spawn(drain), got


def run_throughput(calls: int, window: int, listen_all: bool = True) -> dict[str, float]:
    import gevent

    from cc.sim import CallerSpec, Simulator

    proc, port = _start_app("")
    try:
        with Simulator(time_scale=0.001, socket_address=("127.0.0.1", port)) as sim:
            if listen_all:
                sock, g, got = _inbound_all(sim.inbound_address)
            gevent.sleep(0.1)
            ev0 = sim.bus.count
            t0 = time.perf_counter()
            pending: list[Any] = []
            placed = 0
            done = 0
            while done < calls:
                while placed < calls and len(pending) < window:
                    pending.append(sim.place_call(CallerSpec("7000")))
                    placed += 1
                gevent.sleep(0.001)
                still = [h for h in pending if not h.done]
                done += len(pending) - len(still)
                pending = still
            wall = time.perf_counter() - t0
            events = sim.bus.count - ev0
            if not listen_all:
                return {"calls_per_s_myevents_only": round(calls / wall, 1),
                        "events_per_s_myevents_only": round(events / wall, 1)}
            g.kill()
            sock.close()
            return {"calls_per_s": round(calls / wall, 1), "events_per_s": round(events / wall, 1),
                    "inbound_mb_per_s": round(got[0] / wall / 1e6, 2)}
    finally:
        proc.terminate()


def run_concurrency(n: int, tmpdir: str) -> dict[str, float]:
    import gevent

    from cc.sim import CallerSpec, Simulator
    from cc.sim.wav import write_silence

    prompt = f"{tmpdir}/hold.wav"
    write_silence(prompt, 60.0)
    proc, port = _start_app(prompt)
    try:
        with Simulator(time_scale=0.001, socket_address=("127.0.0.1", port)) as sim:
            t0 = time.perf_counter()
            handles = [sim.place_call(CallerSpec("7000")) for _ in range(n)]
            results = [h.wait(300) for h in handles]
            wall = time.perf_counter() - t0
            ok = sum(1 for r in results if r.answered and r.hangup_cause == "NORMAL_CLEARING")
            gevent.sleep(0)
            return {"max_concurrent_calls": sim.peak_sessions if ok == n else ok,
                    "concurrent_completed": ok, "concurrent_wall_s": round(wall, 2)}
    finally:
        proc.terminate()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--window", type=int, default=300)
    ap.add_argument("--concurrent", type=int, default=3000)
    a = ap.parse_args(argv)
    import tempfile

    out: dict[str, Any] = {}
    out.update(run_throughput(a.calls, a.window))
    out.update(run_throughput(a.calls, a.window, listen_all=False))
    with tempfile.TemporaryDirectory() as d:
        out.update(run_concurrency(a.concurrent, d))
    out.update({"calls": a.calls, "window": a.window})
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
