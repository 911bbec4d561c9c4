"""End to end: the controller (this process) against `ccctl sim` (a separate process) over real ESL.

Phase 1 (throughput): callers arrive at a fixed rate, each is queued, an agent is rung, answers, talks
briefly; the highest rate of the ladder at which every call was answered is the sustained setup rate.
Enqueue -> originate (the bgapi leaving the controller) and the originate round trip (bgapi -> +OK Job-UUID)
latencies and the controller's CPU per call come from this phase.
Phase 2 (overload): callers into an IVR flow (answer, a second of prompt, hang up: cc's own work, no agent
capacity to wait for) at an offered rate that climbs (x1.25 a rung) until the door starts refusing calls
(admission control, docs/operations.md); that rate is ``refuse_onset_per_s``. Then callers come at twice
that rate: every call that is not answered must be one refused at the door (``refused``), none dropped in
the middle (``dropped_mid_call``: esl-error, error, gave-up, or no calls row at all). Rungs are repeated
(``--repeat``) and the onset reported as their median.
Phase 3 (hold): callers keep arriving into a queue with no agent until N calls are held at once; RSS
per concurrent call is the growth of this process's RSS divided by the calls held.

Prints one JSON object. Usage: python bench/e2e.py [--rates 50,100,200] [--seconds 10] [--hold 2000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import gevent

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cc.config import NodeConfig, ServiceConfig  # noqa: E402
from cc.model import Agent, CallRecord, QueueConfig, Tier  # noqa: E402
from cc.service import Service  # noqa: E402
from cc.store.db import Database, upgrade  # noqa: E402
from cc.store.repos import AgentRepo, CallRepo, QueueRepo, TierRepo  # noqa: E402

#: simulated callers start this long after the simulator, once the controller's ESL link is up
LEAD_S = 4.0
FLOW = "flow: q\nstart: q\nnodes:\n  q: {enqueue: {queue: %s}, next: bye}\n  bye: {hangup: NORMAL_CLEARING}\n"
#: the overload phase's calls: cc's own work only (answer, a second of prompt, hang up), no agent to wait for
IVR_FLOW = ("flow: ivr\nstart: hi\nnodes:\n  hi: {play: silence_stream://1000, next: bye}\n"
            "  bye: {hangup: NORMAL_CLEARING}\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


class Bench:
    def __init__(self, agents: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cc-e2e-"))
        (self.dir / "flows").mkdir()
        (self.dir / "flows" / "served.yaml").write_text(FLOW % "served")
        (self.dir / "flows" / "held.yaml").write_text(FLOW % "held")
        (self.dir / "flows" / "ivr.yaml").write_text(IVR_FLOW)
        self.db = Database(f"sqlite:///{self.dir}/cc.db")
        upgrade(engine=self.db.engine)
        QueueRepo(self.db).create(QueueConfig("served", moh="", announce_position=False, wrap_up_s=0))
        QueueRepo(self.db).create(QueueConfig("held", moh="", announce_position=False))
        self.agent_ids = [str(10000 + i) for i in range(agents)]
        for aid in self.agent_ids:
            AgentRepo(self.db).create(Agent(aid, contact=f"user/{aid}@sim", wrap_up_s=0))
            TierRepo(self.db).add(Tier(aid, "served"))
        self.sim_port = free_port()
        self.out_port = free_port()
        agents_yaml = "agents:\n" + "".join(
            f"  - {{id: '{aid}', answer_after: 0.2, talk_time: 1.0}}\n" for aid in self.agent_ids)
        (self.dir / "agents.yaml").write_text(agents_yaml)
        cfg = ServiceConfig(nodes=(NodeConfig("sim", "127.0.0.1", self.sim_port),), outbound_port=self.out_port,
                            database_url=self.db.url, flows_dir="flows", base_dir=str(self.dir),
                            routes={"7000": "served.yaml", "7001": "held.yaml", "7002": "ivr.yaml"}, drain_timeout_s=5)
        self.svc = Service(cfg, database=self.db, journal_path=str(self.dir / "journal.jsonl"))

    def sim(self, callers_yaml: str, duration: float) -> subprocess.Popen[bytes]:
        (self.dir / "callers.yaml").write_text(callers_yaml)
        return subprocess.Popen(
            [sys.executable, "-c", "import cli; cli.main()", "sim", "--listen", f"127.0.0.1:{self.sim_port}",
             "--socket", f"127.0.0.1:{self.out_port}", "--roster", str(self.dir / "agents.yaml"),
             "--callers", str(self.dir / "callers.yaml"), "--duration", f"{duration}s", "--json"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def start_controller(self) -> None:
        self.svc.start(wait_nodes=15)
        ctl = self.svc.controller
        assert ctl is not None
        for aid in self.agent_ids:
            ctl.login(aid)

    def answered_since(self, t0: float) -> tuple[int, int]:
        outcome = self.outcome_since(t0)
        return sum(outcome.values()), outcome["answered"]

    def outcome_since(self, t0: float) -> Counter[str]:
        """The dispositions of the calls rows started since ``t0``."""
        return Counter(str(c.disposition) for c in self.rows_since(t0))

    def rows_since(self, t0: float) -> list[CallRecord]:
        """The calls rows started since ``t0``."""
        assert self.svc.writer is not None
        self.svc.writer.flush(30)
        return list(CallRepo(self.db).scan(t0 - 1, time.time() + 60))

    def rung(self, rate: float, seconds: float) -> dict[str, object]:
        """Callers at ``rate``/s for ``seconds`` into the IVR flow; what became of them."""
        count = int(rate * seconds)
        callers = (f"callers:\n  - {{destination: '7002', patience: 60, count: {count}, every: {1 / rate:.6f},"
                   f" start: {LEAD_S}}}\n")
        proc = self.sim(callers, LEAD_S + seconds + 30)
        wait_listening(self.sim_port, 15)
        ctl = self.svc.controller
        assert ctl is not None
        for node in ctl.nodes:
            node.switch.wait_connected(15)
        refused0 = ctl.admission.refused
        t0 = time.time()
        while proc.poll() is None:
            gevent.sleep(0.2)
        gevent.sleep(0.5)
        rows = self.rows_since(t0)
        out = Counter(str(c.disposition) for c in rows)
        starts = sorted(c.started_at for c in rows)
        span = starts[-1] - starts[0] if len(starts) > 1 else 0.0
        answered = out["hangup"]   # the IVR flow ran to its end
        refused = sum(n for d, n in out.items() if d.startswith("refused:"))
        dropped = sum(n for d, n in out.items() if d in ("esl-error", "error") or d.startswith("gave-up:"))
        recorded = sum(out.values())
        return {"rate_per_s": rate, "seen_rate_per_s": round(len(rows) / span, 1) if span else None,
                "calls": count, "recorded": recorded, "answered": answered,
                "failed_calls": count - answered, "refused": refused,
                "dropped_mid_call": dropped + max(0, count - recorded),
                "other": {d: n for d, n in out.items() if d != "hangup" and not d.startswith("refused:")},
                "door_refusals": ctl.admission.refused - refused0, "max_lag_s": round(ctl.monitor.max_lag_s, 3)}


def wait_listening(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def starve(share: float, period: float = 0.1) -> None:
    """Take the CPU from this process (the hub blocked) ``1 - share`` of every ``period``."""
    while True:
        time.sleep(period * (1 - share))
        gevent.sleep(period * share)


def overload(b: Bench, args: argparse.Namespace, start: float) -> dict[str, object]:
    """The refuse onset (median over ``--repeat`` climbs) and a run at twice it."""
    onsets: list[float] = []
    climbs: list[list[dict[str, object]]] = []
    saturated: list[float] = []
    for _ in range(args.repeat):
        rate = start
        climb: list[dict[str, object]] = []
        best = 0.0
        while rate <= 4000:
            r = b.rung(rate, args.overload_seconds)
            climb.append(r)
            if r["refused"]:
                onsets.append(rate)
                break
            seen = float(r["seen_rate_per_s"] or 0.0)   # type: ignore[arg-type]
            if seen < best * 1.05:
                # offering more does not bring more calls to cc (the simulator, on the same cores, is the limit)
                saturated.append(rate)
                break
            best = max(best, seen)
            rate = round(rate * 1.25)
        climbs.append(climb)
    if onsets:
        onset = statistics.median(onsets)
    elif saturated:
        onset = statistics.median(saturated)
    else:
        return {"refuse_onset_per_s": None, "climbs": climbs}
    at_2x = [b.rung(2 * onset, args.overload_seconds) for _ in range(args.repeat)]
    return {"refuse_onset_per_s": statistics.median(onsets) if onsets else None, "onsets": onsets,
            "saturated_at_per_s": saturated,
            "at_2x": {"rate_per_s": 2 * onset,
                      "failed_calls": [r["failed_calls"] for r in at_2x],
                      "refused": [r["refused"] for r in at_2x],
                      "dropped_mid_call": [r["dropped_mid_call"] for r in at_2x],
                      "answered": [r["answered"] for r in at_2x],
                      "failed_are_all_refused": all(r["failed_calls"] == r["refused"] for r in at_2x),
                      "runs": at_2x},
            "climbs": climbs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rates", default="25,50,100,150,200,250,300")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--hold", type=int, default=2000)
    ap.add_argument("--agents", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3, help="overload rungs are run this many times (0: skip)")
    ap.add_argument("--overload-seconds", type=float, default=4.0)
    ap.add_argument("--overload-start", type=float, default=None,
                    help="the overload climb's first rate (default: the sustained setup rate of phase 1)")
    ap.add_argument("--cpu-share", type=float, default=1.0,
                    help="during the overload phase the controller's process runs only this share of the time "
                         "(the rest it is descheduled, as beside a FreeSWITCH at real-time priority)")
    ap.add_argument("--latency-rate", type=float, default=100.0,
                    help="the top-level originate latencies are those of the highest rung at or below this rate "
                         "(the ladder has every rung's)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    b = Bench(args.agents)
    out: dict[str, object] = {"setups_per_s": 0.0, "failed_calls": None, "max_concurrent_calls": 0,
                              "originate_p50_ms": None, "originate_p99_ms": None, "cpu_ms_per_call": None,
                              "rss_kb_per_call": None, "ladder": []}
    ladder: list[dict[str, object]] = []
    started = False
    latencies: list[float] = []
    cpu_per_call: list[float] = []
    for rate in [float(r) for r in args.rates.split(",")]:
        count = int(rate * args.seconds)
        callers = (f"callers:\n  - {{destination: '7000', patience: 60, count: {count}, every: {1 / rate:.6f},"
                   f" start: {LEAD_S}}}\n")
        proc = b.sim(callers, LEAD_S + args.seconds + 30)
        wait_listening(b.sim_port, 15)
        if not started:
            b.start_controller()
            started = True
        else:
            for node in b.svc.controller.nodes:  # type: ignore[union-attr]
                node.switch.wait_connected(15)
        ctl = b.svc.controller
        assert ctl is not None
        ctl.dispatcher.enqueue_to_originate_s.clear()
        ctl.dispatcher.offer_latency_s.clear()
        t0 = time.time()
        c0 = cpu_s()
        while proc.poll() is None:
            gevent.sleep(0.2)
        c1 = cpu_s()
        gevent.sleep(0.5)
        calls, answered = b.answered_since(t0)
        lat = list(ctl.dispatcher.enqueue_to_originate_s)
        ack = list(ctl.dispatcher.offer_latency_s)
        failed = count - answered
        ladder.append({"rate_per_s": rate, "calls": count, "recorded": calls, "answered": answered,
                       "failed": failed, "cpu_ms_per_call": round(1000 * (c1 - c0) / max(1, count), 3),
                       "enqueue_to_originate_p50_ms": round(1000 * (pct(lat, 0.5) or 0), 3),
                       "enqueue_to_originate_p99_ms": round(1000 * (pct(lat, 0.99) or 0), 3),
                       "originate_ack_p50_ms": round(1000 * (pct(ack, 0.5) or 0), 3),
                       "originate_ack_p99_ms": round(1000 * (pct(ack, 0.99) or 0), 3)})
        if failed == 0:
            out["setups_per_s"] = rate
            cpu_per_call.append((c1 - c0) / count)
            if rate <= args.latency_rate:
                latencies = lat
                out["latency_at_rate_per_s"] = rate
        else:
            break
    out["ladder"] = ladder
    out["failed_calls"] = ladder[-1]["failed"] if ladder else None
    if latencies:
        out["originate_p50_ms"] = round(1000 * statistics.median(latencies), 3)
        out["originate_p99_ms"] = round(1000 * (pct(latencies, 0.99) or 0), 3)
    if cpu_per_call:
        out["cpu_ms_per_call"] = round(1000 * cpu_per_call[-1], 3)
    # phase 2: overload: where the door starts refusing, and twice that rate
    if args.repeat > 0:
        starver = gevent.spawn(starve, args.cpu_share) if args.cpu_share < 1.0 else None
        first = args.overload_start or float(out["setups_per_s"] or ladder[0]["rate_per_s"])   # type: ignore[arg-type]
        out["overload"] = overload(b, args, first)
        out["overload"]["cpu_share"] = args.cpu_share   # type: ignore[index]
        if starver is not None:
            starver.kill()
        ctl = b.svc.controller
        assert ctl is not None
        deadline = time.monotonic() + 20
        while ctl.admission.share < 1.0 and time.monotonic() < deadline:
            gevent.sleep(0.2)   # the door lets every call in again before the hold phase
    # phase 3: hold calls in a queue with no agent
    ctl = b.svc.controller
    assert ctl is not None
    gevent.sleep(1.0)
    base_rss = rss_kb()
    hold_rate = 250.0
    callers = (f"callers:\n  - {{destination: '7001', patience: {args.hold / hold_rate + 20:.0f}, count: {args.hold},"
               f" every: {1 / hold_rate:.6f}, start: {LEAD_S}}}\n")
    proc = b.sim(callers, LEAD_S + args.hold / hold_rate + 40)
    wait_listening(b.sim_port, 15)
    for node in ctl.nodes:
        node.switch.wait_connected(15)
    peak = 0
    peak_rss = base_rss
    deadline = time.monotonic() + LEAD_S + args.hold / hold_rate + 30
    while time.monotonic() < deadline and proc.poll() is None:
        n = len(ctl.sessions)
        if n >= peak:
            peak = n
            peak_rss = max(peak_rss, rss_kb())
        if peak >= args.hold:
            break
        gevent.sleep(0.1)
    out["max_concurrent_calls"] = peak
    out["rss_kb_per_call"] = round((peak_rss - base_rss) / peak, 1) if peak else None
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    b.svc.stop(drain_timeout=2)
    out["note"] = ("controller in this process, ccctl sim in another; 2 cores shared by both; "
                   f"{args.agents} simulated agents answering after 0.2 s and talking 1 s")
    print(json.dumps(out))
    os._exit(0)


if __name__ == "__main__":
    main()
