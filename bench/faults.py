"""Faults under steady load: the controller (``serve`` in a process of its own, so that kill -9 is real) on cc.sim.

Each fault runs on a fresh store (a PostgreSQL schema of its own; SQLite only where PostgreSQL is not
reachable, and only for the faults that do not need it) with callers arriving at a steady rate into one
queue of simulated agents, over real TCP (inbound ESL, outbound sockets, the database through a loopback
proxy):

- ``kill9``: the controller is killed with SIGKILL and started again 10 s later on the same store, journal and
  port (the dialplan parks what its socket lets go, as freeswitch-conf/ ships it);
- ``failover``: a standby pair (ha: auto) on PostgreSQL; the leader is killed with SIGKILL, the standby takes
  over; the killed one is started again 10 s later as the new standby (as a supervisor restarts it);
- ``db_refuse``: the proxy in front of PostgreSQL closes every connection and refuses new ones for 60 s;
- ``db_blackhole``: the proxy keeps every connection open and carries no byte for 60 s (a partition);
- ``esl_cut``: the simulator drops the inbound ESL link and refuses it for 30 s.

After the fault the callers keep coming for a while, then the bench waits for every call to end and for the
agents' wrap-ups, and counts, per call the simulator placed: ``completed`` (bridged to an agent), ``lost``
(no ended ``calls`` row, or a queue stay without its final event), ``duplicated`` (a second ENTER or final event
for one stay, or a second segment row for one call), ``stuck_agents`` (not available and idle in the
controller's /metrics once everything has ended), ``orphan_channels`` (channels left on the simulator) and
``recovery_s``: from the fault's end (the restart, the kill for a failover, the restore) to the first bridge
of a caller after it, from the simulator's bridge times (time scale 1: the simulator's clock is wall time).

The soak keeps ``--soak-calls`` calls in progress for ``--soak-seconds`` (a new caller as each call ends) and
samples the controller's RSS and open fds (/proc), greenlets and the hub lag histogram (/metrics) every
minute; figures at start (after the ramp) and end, the slope per hour, hub lag p50/p99 (from the histogram),
calls completed, errors (calls not bridged, ERROR lines in the controller's log).

Prints ONE JSON object: {"database", "faults": [...], "soak": {...}}; progress goes to stderr.

Usage: python bench/faults.py [--quick] [--only kill9,esl_cut|soak] [--no-soak] [--soak-seconds 3600]
       [--soak-calls 500] [--db postgresql+psycopg://postgres@127.0.0.1:5432/test]
       [--tracemalloc growth.txt [--tracemalloc-at 180]]   (the soak's top 30 allocation growths, to find leaks)
       [--memstats mem.jsonl [--memstats-trim]]   (where the controller's memory is, at each soak sample)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import gevent

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cc.model import (  # noqa: E402
    Agent,
    AgentState,
    AgentStateEvent,
    AgentStatus,
    QueueConfig,
    QueueEventType,
    Tier,
)
from cc.sim.endpoints import AgentSpec, CallerSpec  # noqa: E402
from cc.sim.simulator import CallHandle, CallResult, Simulator  # noqa: E402
from cc.store.db import Database, upgrade  # noqa: E402
from cc.store.repos import AgentRepo, AgentStateEventRepo, CallRepo, QueueEventRepo, QueueRepo, TierRepo  # noqa: E402

FAULTS = ("kill9", "failover", "db_refuse", "db_blackhole", "esl_cut")
NEEDS_PG = {"failover", "db_refuse", "db_blackhole"}
TERMINAL = {QueueEventType.ABANDON, QueueEventType.COMPLETE_AGENT, QueueEventType.COMPLETE_CALLER,
            QueueEventType.EXIT_TIMEOUT, QueueEventType.EXIT_NO_AGENT, QueueEventType.EXIT_FULL,
            QueueEventType.EXIT_KEY, QueueEventType.EXIT_OTHER, QueueEventType.CALLBACK_REQUESTED}
FLOW = ("flow: support\nstart: q\nnodes:\n  q: {enqueue: {queue: support}, next: bye}\n"
        "  bye: {hangup: NORMAL_CLEARING}\n")
#: the figures every fault reports
SHAPE = ("fault", "calls", "completed", "lost", "duplicated", "stuck_agents", "orphan_channels", "recovery_s")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Timing:
    """How long (real seconds) each phase of a fault run lasts."""

    warm_s: float      # load before the fault
    outage_s: float    # the fault (db: 60, esl: 30)
    esl_s: float
    down_s: float      # kill -9: the restart comes this much later
    tail_s: float      # load after the fault
    patience_s: float  # a caller waits this long for an agent, then hangs up (an abandon, not a loss)


FULL = Timing(warm_s=20.0, outage_s=60.0, esl_s=30.0, down_s=10.0, tail_s=30.0, patience_s=600.0)
QUICK = Timing(warm_s=5.0, outage_s=8.0, esl_s=6.0, down_s=4.0, tail_s=8.0, patience_s=120.0)


#: --keep: the work folders (configurations, controller logs) are left in place
KEEP = False

#: ``--tracemalloc``: the controller's first SIGUSR1 starts tracemalloc (3 frames a trace; not from the start:
#: the imports under it would take minutes), its second takes the baseline snapshot, each later one a snapshot
#: whose top 30 differences from the baseline (grouped by traceback) it writes to the file named by
#: CC_TRACEMALLOC_OUT.
TRACEMALLOC_BOOT = """
import linecache, os, signal, time, tracemalloc
_base = []
def _cc_snapshot(signum, frame):
    if not tracemalloc.is_tracing():
        tracemalloc.start(3)
        return
    t0 = time.monotonic()
    skip = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, '<frozen *>'),
            tracemalloc.Filter(False, '<unknown>')]
    snap = tracemalloc.take_snapshot().filter_traces(skip)
    if not _base:
        _base.append((time.time(), snap))
        return
    since, base = _base[0]
    diff = snap.compare_to(base, 'traceback')
    total = sum(st.size for st in snap.statistics('filename'))
    total0 = sum(st.size for st in base.statistics('filename'))
    with open(os.environ['CC_TRACEMALLOC_OUT'], 'w') as out:
        out.write(f'traced: {total0 / 2**20:.1f} MB -> {total / 2**20:.1f} MB over {time.time() - since:.0f} s '
                  f'(snapshot {time.monotonic() - t0:.1f} s)\\n\\n')
        for st in diff[:30]:
            out.write(f'{st.size_diff / 2**10:+.1f} KiB ({st.count_diff:+d} blocks), now {st.size / 2**10:.1f} KiB '
                      f'in {st.count} blocks\\n')
            for line in st.traceback.format():
                out.write(f'    {line}\\n')
            out.write('\\n')
    linecache.clearcache()   # the source lines just read for the file: not the controller's growth
signal.signal(signal.SIGUSR1, _cc_snapshot)
"""

#: ``--memstats``: each SIGUSR2 appends one JSON line of where the controller's memory is to the file named by
#: CC_MEMSTATS_OUT: RSS by kind of mapping (/proc/self/smaps), glibc's malloc counters (mallinfo2), pymalloc's
#: arenas (sys._debugmallocstats), the collector's counts and how many objects of each type (20 or more) it tracks,
#: threads; with CC_MEMSTATS_TRIM=1 also the RSS after a
#: malloc_trim(0) (what glibc held free without giving back).
MEMSTATS_BOOT = r"""
import ctypes, gc, json, os, re, signal, sys, tempfile, threading, time
def _cc_rss():
    with open('/proc/self/status') as f:
        return {k: int(v.split()[0]) / 1024 for k, _, v in (ln.partition(':') for ln in f)
                if k in ('VmRSS', 'RssAnon', 'RssFile')}
def _cc_smaps():
    kinds, kind, size = {}, None, 0
    with open('/proc/self/smaps') as f:
        for ln in f:
            head = ln.split()
            if re.match('^[0-9a-f]+-[0-9a-f]+ ', ln):
                lo, hi = (int(x, 16) for x in head[0].split('-'))
                path = head[5] if len(head) > 5 else ''
                size = hi - lo
                if path.startswith('['):
                    kind = path
                elif path:
                    kind = 'file'
                else:
                    kind = 'anon>=1M' if size >= 2**20 else 'anon<1M'
            elif head and head[0] == 'Rss:':
                kinds[kind] = kinds.get(kind, 0) + int(head[1]) / 1024
                kinds[kind + ' maps'] = kinds.get(kind + ' maps', 0) + 1
    return {k: round(v, 1) for k, v in kinds.items()}
class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks',
                                               'fsmblks', 'uordblks', 'fordblks', 'keepcost')]
_libc = ctypes.CDLL(None)
def _cc_mallinfo():
    try:
        f = _libc.mallinfo2
    except AttributeError:
        return None
    f.restype = _MallInfo2
    m = f()
    return {n: round(getattr(m, n) / 2**20, 2) if n not in ('ordblks', 'smblks', 'hblks') else getattr(m, n)
            for n, _ in _MallInfo2._fields_}
def _cc_pymalloc():
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile('w+') as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read()
    out = {}
    for key, pat in (('arenas_now', r'# arenas allocated current\s*=\s*([\d,]+)'),
                     ('arenas_highwater', r'# arenas highwater mark\s*=\s*([\d,]+)'),
                     ('arenas_total', r'# arenas allocated total\s*=\s*([\d,]+)'),
                     ('in_blocks', r'# bytes in allocated blocks\s*=\s*([\d,]+)'),
                     ('free_blocks', r'# bytes in available blocks\s*=\s*([\d,]+)'),
                     ('unused_pools', r'unused pools \* \d+ bytes\s*=\s*([\d,]+)'),
                     ('arena_bytes', r'Total\s*=\s*([\d,]+)')):
        m = re.search(pat, text)
        if m:
            n = int(m.group(1).replace(',', ''))
            out[key] = n if key.startswith('arenas') else round(n / 2**20, 2)
    return out
def _cc_memstats(signum, frame):
    objects = gc.get_objects()
    census = {}
    for o in objects:
        k = type(o).__module__ + '.' + type(o).__qualname__
        census[k] = census.get(k, 0) + 1
    del objects
    rec = {'t': time.time(), 'rss': _cc_rss(), 'smaps': _cc_smaps(), 'mallinfo2': _cc_mallinfo(),
           'pymalloc': _cc_pymalloc(), 'objects': sum(census.values()), 'gc_garbage': len(gc.garbage),
           'gc': gc.get_stats(), 'frozen': gc.get_freeze_count(),
           'census': {k: n for k, n in census.items() if n >= 20},
           'threads': threading.active_count(), 'tasks': len(os.listdir('/proc/self/task'))}
    if os.environ.get('CC_MEMSTATS_TRIM') == '1':
        _libc.malloc_trim(0)
        rec['rss_after_trim'] = _cc_rss()
    with open(os.environ['CC_MEMSTATS_OUT'], 'a') as out:
        out.write(json.dumps(rec) + '\n')
signal.signal(signal.SIGUSR2, _cc_memstats)
"""


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    """A fresh folder, removed after unless --keep."""
    if KEEP:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        say(f"work folder {path}")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def say(msg: str) -> None:
    """One progress line on stderr."""
    print(f"[faults {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------------- the store
def pg_reachable(url: str) -> bool:
    """Whether PostgreSQL at ``url`` answers."""
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        admin = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


@contextmanager
def store(kind: str, pg_url: str, folder: Path) -> Iterator[str]:
    """A fresh store: a PostgreSQL schema of its own (dropped after), or a SQLite file in ``folder``."""
    if kind == "sqlite":
        yield f"sqlite:///{folder}/cc.db"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"cc_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def seed(url: str, agents: list[AgentSpec]) -> None:
    """One queue, the agents on it, logged in (the controller restores them available and idle)."""
    db = Database(url)
    try:
        upgrade(engine=db.engine)
        QueueRepo(db).create(QueueConfig("support", moh="local_stream://moh", announce_position=False))
        now = time.time()
        for spec in agents:
            AgentRepo(db).create(Agent(spec.id, name=f"Agent {spec.id}", contact=f"user/{spec.id}@sim", wrap_up_s=2.0,
                                       no_answer_delay_s=2.0, busy_delay_s=2.0, reject_delay_s=2.0))
            TierRepo(db).add(Tier(spec.id, "support"))
            AgentStateEventRepo(db).add(AgentStateEvent(f"seed-{spec.id}", now, spec.id, AgentStatus.AVAILABLE,
                                                        AgentState.IDLE))
    finally:
        db.engine.dispose()


class Proxy:
    """A TCP proxy to the database in native threads: ``refuse()`` closes every connection and the port (new
    connections are refused), ``blackhole()`` keeps them open and carries nothing, ``restore()`` ends either."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.flowing = threading.Event()
        self.flowing.set()
        self.lock = threading.Lock()
        self.socks: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.closed = False
        self._listen()

    def _listen(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if data:
                self.flowing.wait()       # a blackhole: the bytes stop here, nothing is closed
            try:
                if not data:
                    dst.close()
                    return
                dst.sendall(data)
            except OSError:
                src.close()
                return

    def refuse(self) -> None:
        """Close the port and every connection through it."""
        with self.lock:
            socks, self.socks = self.socks, []
            if self.listener is not None:
                self.listener.close()
                self.listener = None
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def blackhole(self) -> None:
        """Carry no byte (connections and the port stay open)."""
        self.flowing.clear()

    def restore(self) -> None:
        """Carry bytes again, and listen again after a refusal."""
        if self.listener is None:
            self._listen()
        self.flowing.set()

    def close(self) -> None:
        """Close everything."""
        self.flowing.set()
        self.refuse()


# ---------------------------------------------------------------------------------------------- the controller
LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


class Controller:
    """One ``serve`` process: its configuration file, its log, its ports."""

    def __init__(self, folder: Path, name: str, sim: Simulator, url: str, *, ha_lock: int | None = None,
                 tracemalloc_out: Path | None = None, memstats_out: Path | None = None,
                 memstats_trim: bool = False) -> None:
        self.folder = folder / name
        self.tracemalloc_out = tracemalloc_out
        self.memstats_out = memstats_out
        self.memstats_trim = memstats_trim
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "flows").mkdir(exist_ok=True)
        (self.folder / "flows" / "support.yaml").write_text(FLOW)
        self.name = name
        self.port = free_port()
        self.http = free_port()
        host, sim_port = sim.inbound_address
        ha = (f"ha: {{role: auto, lock_id: {ha_lock}, check_interval: 1s, fence: 2s, takeover_after: 3s}}\n"
              if ha_lock is not None else "")
        (self.folder / "cc.yaml").write_text(
            f"nodes: [{{name: sim1, host: {host}, port: {sim_port}, password: ClueCon, hostname: sim1}}]\n"
            f"outbound: {{listen: '127.0.0.1:{self.port}'}}\ndatabase: '{url}'\n"
            "flows: {dir: flows, routes: {'7000': support.yaml}}\ndrain_timeout: 5s\n"
            f"http: {{listen: '127.0.0.1:{self.http}'}}\n"
            "reconcile: {interval: 10s, grace: 5s}\n" + ha)
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def log_path(self) -> Path:
        """This run's stderr."""
        return self.folder / f"serve-{self.runs}.log"

    def start(self) -> None:
        """Start the process (``runs`` counts the starts; each has its log)."""
        self.runs += 1
        err = open(self.log_path, "wb")
        boot, env = "", dict(os.environ)
        if self.tracemalloc_out is not None:
            boot, env["CC_TRACEMALLOC_OUT"] = boot + TRACEMALLOC_BOOT, str(self.tracemalloc_out)
        if self.memstats_out is not None:
            boot, env["CC_MEMSTATS_OUT"] = boot + MEMSTATS_BOOT, str(self.memstats_out)
            env["CC_MEMSTATS_TRIM"] = "1" if self.memstats_trim else "0"
        boot += "import cli; cli.main()"
        self.proc = subprocess.Popen([sys.executable, "-c", boot, "serve", "-c",
                                      str(self.folder / "cc.yaml"), "--log-level", "warning"],
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, env=env,
                                     preexec_fn=_die_with_parent)
        err.close()

    def log(self) -> str:
        """This run's log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_log(self, needle: str, timeout: float) -> float | None:
        """When (Unix time, from the log line's own time) a line containing ``needle`` was logged."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.log().splitlines():
                if needle in line:
                    m = LOG_TIME.match(line)
                    if m:
                        return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                    return time.time()
            if self.proc is not None and self.proc.poll() is not None:
                return None
            gevent.sleep(0.05)
        return None

    def wait_listening(self, timeout: float) -> bool:
        """Until its outbound port accepts (it leads, or runs without ha)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                gevent.sleep(0.05)
        return False

    def metrics(self, timeout: float = 5.0) -> dict[str, float]:
        """Its /metrics, as {sample name with labels: value}; {} when it does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/metrics", timeout=timeout) as r:
                text = r.read().decode()
        except OSError:
            return {}
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                try:
                    out[key] = float(value)
                except ValueError:
                    pass
        return out

    def snapshot(self, timeout: float = 120.0, *, wait: bool = True) -> bool:
        """``--tracemalloc``: SIGUSR1 (the first starts tracing, the second takes the baseline; a later one
        writes the differences, waited for up to ``timeout``); False when it runs without tracemalloc."""
        if self.tracemalloc_out is None or self.proc is None or self.proc.poll() is not None:
            return False
        before = self.tracemalloc_out.stat().st_mtime if self.tracemalloc_out.exists() else None
        self.proc.send_signal(signal.SIGUSR1)
        if not wait:
            return True
        deadline = time.time() + timeout
        while time.time() < deadline:
            gevent.sleep(1.0)
            if self.tracemalloc_out.exists() and self.tracemalloc_out.stat().st_mtime != before:
                gevent.sleep(1.0)   # let it finish the file
                return True
        return False

    def memstats(self) -> bool:
        """``--memstats``: SIGUSR2 (one line of where its memory is, appended to the file); False without."""
        if self.memstats_out is None or self.proc is None or self.proc.poll() is not None:
            return False
        self.proc.send_signal(signal.SIGUSR2)
        return True

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (it drains and flushes its history); its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return -9

    def pid(self) -> int:
        """Its process id."""
        assert self.proc is not None
        return self.proc.pid


def stuck_from_metrics(m: dict[str, float]) -> int | None:
    """Agents the controller has logged in but not available and idle (None: no /metrics)."""
    total = idle = 0.0
    seen = False
    for key, value in m.items():
        if key.startswith("cc_agents{"):
            seen = True
            if 'status="logged_out"' in key:
                continue
            total += value
            if 'status="available"' in key and 'state="idle"' in key:
                idle += value
    return int(total - idle) if seen else None


def live(sim: Simulator) -> list[str]:
    """The simulator's channels still up."""
    return [u for u, c in list(sim.channels.items()) if not c.gone.is_set()]


# ---------------------------------------------------------------------------------------------- load
@dataclass
class Load:
    """Callers into the queue at a steady rate (open loop) or keeping ``concurrent`` calls up (closed loop)."""

    sim: Simulator
    patience_s: float
    rate: float = 1.0
    concurrent: int = 0
    handles: list[CallHandle] = field(default_factory=list)
    running: bool = False
    _g: gevent.Greenlet | None = None
    _n: int = 0

    def _place(self) -> None:
        self._n += 1
        self.handles.append(self.sim.place_call(CallerSpec("7000", caller_id_number=f"1555{self._n:07d}",
                                                           patience=self.patience_s)))

    def _open(self) -> None:
        start = time.monotonic()
        while self.running:
            self._place()
            wait = start + self._n / self.rate - time.monotonic()
            if wait > 0:
                gevent.sleep(wait)

    def _closed(self) -> None:
        up: list[CallHandle] = []
        while self.running:
            up = [h for h in up if not h.done]
            for _ in range(min(self.concurrent - len(up), 20)):   # at most 20 at once: a ramp, not a burst
                self._place()
                up.append(self.handles[-1])
            gevent.sleep(0.05)

    def start(self) -> None:
        """Start placing callers."""
        self.running = True
        self._g = gevent.spawn(self._closed if self.concurrent else self._open)

    def stop(self) -> None:
        """Place no more callers."""
        self.running = False
        if self._g is not None:
            self._g.join()

    def wait(self, timeout: float) -> list[CallResult | None]:
        """Every call's result (None: still up after ``timeout`` real seconds overall)."""
        deadline = time.monotonic() + timeout
        out: list[CallResult | None] = []
        for h in self.handles:
            try:
                out.append(h.wait(max(0.1, deadline - time.monotonic())))
            except Exception:
                out.append(None)
        return out


def agent_specs(n: int, seed_: int = 7) -> list[AgentSpec]:
    """``n`` agents answering after 1 s, talking 8 to 16 s (the caller stays until the agent hangs up)."""
    rnd = random.Random(seed_)
    return [AgentSpec(str(1000 + i), answer_after=1.0, talk_time=round(rnd.uniform(8.0, 16.0), 1)) for i in range(n)]


# ---------------------------------------------------------------------------------------------- the records
def check_records(url: str, placed: list[str]) -> dict[str, Any]:
    """Per call placed: its ended calls row, one ENTER and one final queue event; duplicates; dispositions."""
    db = Database(url)
    try:
        calls = {c.uuid: c for c in CallRepo(db).scan(0, 4e9)}
        events = list(QueueEventRepo(db).scan(0, 4e9))
        repo = CallRepo(db)
        segments = {u: repo.segments(u) for u in placed if u in calls}
        latest = AgentStateEventRepo(db).latest_all()
    finally:
        db.engine.dispose()
    by_member: dict[str, list[QueueEventType]] = {}
    for e in events:
        by_member.setdefault(e.member_uuid, []).append(e.type)
    lost: list[dict[str, Any]] = []
    duplicated: list[dict[str, Any]] = []
    dispositions: dict[str, int] = {}
    for u in placed:
        row = calls.get(u)
        types = by_member.get(u, [])
        enters = types.count(QueueEventType.ENTER)
        finals = sum(1 for t in types if t in TERMINAL)
        visits = segments.get(u, [])
        # a caller in its flow at a kill runs it again as the call's second visit (its first row flow-restarted)
        restarted = row is not None and row.disposition == "flow-restarted"
        if row is None or row.ended_at is None or (enters and not finals) \
                or any(v.ended_at is None for v in visits) or (restarted and not visits):
            lost.append({"uuid": u, "row": None if row is None else ("open" if row.ended_at is None else "ended"),
                         "events": [t.value for t in types], "visits": len(visits)})
        if enters > 1 or finals > 1 or len(visits) > (1 if restarted else 0):
            duplicated.append({"uuid": u, "events": [t.value for t in types], "segments": len(visits)})
        if row is not None:
            key = row.disposition or "none"
            dispositions[key] = dispositions.get(key, 0) + 1
    not_idle = {a: f"{ev.status.value}/{ev.state.value}" for a, ev in latest.items()
                if not (ev.status is AgentStatus.AVAILABLE and ev.state is AgentState.IDLE)}
    return {"lost": lost, "duplicated": duplicated, "dispositions": dispositions, "rows": calls,
            "unknown_rows": len(set(calls) - set(placed)), "agents_not_idle_in_store": not_idle}


def not_completed(results: list[CallResult | None], rows: dict[str, Any]) -> dict[str, int]:
    """Calls never bridged to an agent, by (disposition of their row, hang-up cause, who hung up first)."""
    out: dict[str, int] = {}
    for r in results:
        if r is None or r.bridged_to:
            continue
        row = rows.get(r.uuid)
        key = f"{row.disposition if row is not None else 'no-row'} {r.hangup_cause}" + (" abandoned" if r.abandoned
                                                                                           else "")
        out[key] = out.get(key, 0) + 1
    return out


def first_bridge_after(results: list[CallResult | None], t: float) -> float | None:
    """Seconds from ``t`` to the first caller bridged at or after it (simulator time)."""
    after = [r.bridged_at for r in results if r is not None and r.bridged_at is not None and r.bridged_at >= t]
    return round(min(after) - t, 3) if after else None


# ---------------------------------------------------------------------------------------------- one fault
def run_fault(fault: str, timing: Timing, kind: str, pg_url: str, agents: int, rate: float) -> dict[str, Any]:
    """Run one fault under load and count what it cost."""
    with workdir(f"cc-faults-{fault}-") as folder:
        specs = agent_specs(agents)
        with store(kind, pg_url, folder) as url:
            seed(url, specs)
            return _run(fault, timing, kind, url, folder, specs, rate)


def _route(sim: Simulator, ports: list[int]) -> None:
    """The dialplan: each controller's socket in turn, then park (as freeswitch-conf/ ships it)."""
    sim.routes["7000"] = [("set", "cc_service_number=7000"),
                          *[("socket", f"127.0.0.1:{p} async full") for p in ports], ("park", "")]


def _run(fault: str, timing: Timing, kind: str, url: str, folder: Path, specs: list[AgentSpec],
         rate: float) -> dict[str, Any]:
    sim = Simulator(time_scale=1.0, agents=specs, hostname="sim1")
    sim.start()
    proxy: Proxy | None = None
    ctl_url = url
    if kind == "postgresql" and fault in ("db_refuse", "db_blackhole"):
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
        ctl_url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    lock = random.randint(1, 2**31 - 1) if fault == "failover" else None
    a = Controller(folder, "a", sim, ctl_url, ha_lock=lock)
    b = Controller(folder, "b", sim, ctl_url, ha_lock=lock) if fault == "failover" else None
    load = Load(sim, timing.patience_s, rate=rate)
    out: dict[str, Any] = {"fault": fault, "database": kind}
    try:
        a.start()
        if not a.wait_listening(60):
            raise RuntimeError(f"{fault}: the controller did not start:\n{a.log()[-3000:]}")
        if b is not None:
            b.start()
            if b.wait_log("standby", 60) is None:
                raise RuntimeError(f"{fault}: the standby did not start:\n{b.log()[-3000:]}")
        _route(sim, [a.port] + ([b.port] if b is not None else []))
        gevent.sleep(1.0)   # the restored agents are logged in
        load.start()
        say(f"{fault}: load {rate:g} calls/s on {len(specs)} agents, {timing.warm_s:g} s before the fault")
        gevent.sleep(timing.warm_s)
        up = live(sim)
        out["bridged_at_fault"] = sum(1 for u in up if sim.channels.get(u) and sim.channels[u].bridged_to) // 2
        out["channels_at_fault"] = len(up)
        start_t = sim.scheduler.now()
        leader = a
        if fault == "kill9":
            a.kill()
            gevent.sleep(timing.down_s)
            end_t = sim.scheduler.now()
            a.start()
            if not a.wait_listening(60):
                raise RuntimeError(f"kill9: the restart did not listen:\n{a.log()[-3000:]}")
            out["restart_listening_s"] = round(sim.scheduler.now() - end_t, 3)
        elif fault == "failover":
            assert b is not None
            a.kill()
            end_t, killed_at = sim.scheduler.now(), time.time()
            led = b.wait_log("cc: leading", 60)   # the log line's own time (Unix)
            out["takeover_s"] = None if led is None else round(led - killed_at, 3)
            leader = b
            gevent.sleep(max(0.0, timing.down_s - (sim.scheduler.now() - end_t)))
            a.start()   # the supervisor restarts the killed one: it is the standby now (and replays its journal)
            out["old_leader_back_as_standby"] = a.wait_log("standby", 60) is not None
        elif fault in ("db_refuse", "db_blackhole"):
            assert proxy is not None
            (proxy.refuse if fault == "db_refuse" else proxy.blackhole)()
            gevent.sleep(timing.outage_s)
            proxy.restore()
            end_t = sim.scheduler.now()
            backlog = None
            deadline = time.time() + 120
            while time.time() < deadline:   # the writer's backlog back to 0: the store caught up
                backlog = a.metrics(2.0).get("cc_writer_backlog")
                if backlog == 0:
                    break
                gevent.sleep(0.25)
            out["writer_caught_up_s"] = round(sim.scheduler.now() - end_t, 3) if backlog == 0 else None
        elif fault == "esl_cut":
            sim.cut_inbound()
            gevent.sleep(timing.esl_s)
            sim.cut_inbound(False)
            end_t = sim.scheduler.now()
        else:
            raise ValueError(fault)
        out["fault_s"] = round(end_t - start_t, 3)
        say(f"{fault}: fault over after {end_t - start_t:.1f} s; load goes on {timing.tail_s:g} s")
        gevent.sleep(max(0.0, timing.tail_s - (sim.scheduler.now() - end_t)))
        load.stop()
        say(f"{fault}: {len(load.handles)} calls placed; waiting for them to end")
        results = load.wait(timing.patience_s + 60)
        with gevent.Timeout(30, False):
            while live(sim):
                gevent.sleep(0.2)
        orphans = live(sim)
        stuck = None
        deadline = time.time() + 30   # wrap-ups (2 s) and a reconcile pass (10 s)
        while time.time() < deadline:
            stuck = stuck_from_metrics(leader.metrics())
            if stuck == 0:
                break
            gevent.sleep(0.5)
        out["metrics_end"] = {k: v for k, v in leader.metrics().items()
                              if k.startswith(("cc_calls", "cc_esl_reconnects", "cc_writer", "cc_greenlets"))}
        for c in (a, b):
            if c is not None:
                c.stop()
        rec = check_records(url, [h.uuid for h in load.handles])
        logs = "\n".join(p.read_text(errors="replace") for c in (a, b) if c is not None
                         for p in sorted(c.folder.glob("serve-*.log")))
        out.update({
            "calls": len(load.handles),
            "completed": sum(1 for r in results if r is not None and r.bridged_to),
            "lost": len(rec["lost"]),
            "duplicated": len(rec["duplicated"]),
            "stuck_agents": stuck,
            "orphan_channels": len(orphans),
            "recovery_s": first_bridge_after(results, end_t),
            "still_up_at_end": sum(1 for r in results if r is None),
            "dispositions": rec["dispositions"],
            "agents_not_idle_in_store": rec["agents_not_idle_in_store"],
            "unknown_rows": rec["unknown_rows"],
            "error_lines": sum(1 for ln in logs.splitlines() if " ERROR " in ln),
            "tracebacks": logs.count("Traceback (most recent call last)"),
        })
        out["not_completed"] = not_completed(results, rec["rows"])
        if rec["lost"]:
            out["lost_sample"] = rec["lost"][:5]
        if rec["duplicated"]:
            out["duplicated_sample"] = rec["duplicated"][:5]
        if orphans:
            out["orphan_sample"] = [{"uuid": u, "app": getattr(sim.channels.get(u), "current_app", None)}
                                    for u in orphans[:5]]
        say(f"{fault}: {json.dumps({k: out[k] for k in SHAPE})}")
        return out
    finally:
        load.running = False
        for c in (a, b):
            if c is not None:
                c.kill()
        if proxy is not None:
            proxy.close()
        sim.stop()


# ---------------------------------------------------------------------------------------------- the soak
def proc_figures(pid: int) -> dict[str, float]:
    """RSS (MB) and open fds of a process."""
    rss = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    return {"rss_mb": round(rss, 1), "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def lag_histogram(m: dict[str, float]) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of cc_hub_lag_seconds."""
    out = []
    for key, value in m.items():
        if key.startswith("cc_hub_lag_seconds_bucket{"):
            le = key.split('le="')[1].split('"')[0]
            out.append((float("inf") if le == "+Inf" else float(le), value))
    return sorted(out)


def quantile(start: list[tuple[float, float]], end: list[tuple[float, float]], q: float) -> float | None:
    """The ``q`` quantile of the turns between two readings of a cumulative histogram (linear in a bucket)."""
    before = dict(start)
    counts = [(le, n - before.get(le, 0.0)) for le, n in end]
    if not counts or counts[-1][1] <= 0:
        return None
    rank = q * counts[-1][1]
    lower, below = 0.0, 0.0
    for le, n in counts:
        if n >= rank:
            if le == float("inf"):
                return lower
            return round(lower + (le - lower) * ((rank - below) / max(n - below, 1e-9)), 6)
        lower, below = le, n
    return None


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, per hour."""
    if len(points) < 2:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return round(3600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den, 2) if den else None


def run_soak(seconds: float, concurrent: int, kind: str, pg_url: str, every_s: float = 60.0, *,
             tracemalloc_out: Path | None = None, tracemalloc_at: float = 180.0,
             memstats_out: Path | None = None, memstats_trim: bool = False) -> dict[str, Any]:
    """``concurrent`` calls kept up for ``seconds``; the controller's figures over time.

    With ``tracemalloc_out``, the controller's baseline snapshot is taken at ``tracemalloc_at`` s and the
    differences at the end (before the load stops) are written there."""
    with workdir("cc-soak-") as folder:
        specs = [AgentSpec(str(1000 + i), answer_after=1.0, talk_time=round(random.Random(i).uniform(40, 80), 1))
                 for i in range(concurrent + concurrent // 10)]
        with store(kind, pg_url, folder) as url:
            seed(url, specs)
            sim = Simulator(time_scale=1.0, agents=specs, hostname="sim1")
            sim.start()
            ctl = Controller(folder, "soak", sim, url, tracemalloc_out=tracemalloc_out,
                             memstats_out=memstats_out, memstats_trim=memstats_trim)
            load = Load(sim, patience_s=300.0, concurrent=concurrent)
            samples: list[dict[str, Any]] = []
            try:
                ctl.start()
                if not ctl.wait_listening(120):
                    raise RuntimeError(f"soak: the controller did not start:\n{ctl.log()[-3000:]}")
                _route(sim, [ctl.port])
                if tracemalloc_out is not None:
                    ctl.proc.send_signal(signal.SIGUSR1)   # type: ignore[union-attr]  # start tracing
                gevent.sleep(2.0)
                load.start()
                t0 = time.time()
                ramp = min(120.0, seconds / 4)
                say(f"soak: {concurrent} concurrent calls on {len(specs)} agents for {seconds:g} s "
                    f"({ramp:g} s ramp)")
                first: dict[str, Any] | None = None
                baseline = tracemalloc_out is None
                while time.time() - t0 < seconds:
                    gevent.sleep(min(every_s, max(0.0, seconds - (time.time() - t0))))
                    m = ctl.metrics(10.0)
                    sample: dict[str, Any] = {"t": round(time.time() - t0, 1), **proc_figures(ctl.pid()),
                              "greenlets": m.get("cc_greenlets"), "in_progress": m.get("cc_calls_in_progress"),
                              "up": sum(1 for h in load.handles if not h.done),
                              "placed": len(load.handles), "lag": lag_histogram(m)}
                    samples.append(sample)
                    ctl.memstats()
                    say(f"soak: t={sample['t']:.0f} s rss={sample['rss_mb']} MB fds={sample['fds']} "
                        f"greenlets={sample['greenlets']} up={sample['up']} placed={sample['placed']}")
                    if first is None and sample["t"] >= ramp:
                        first = sample
                    if not baseline and sample["t"] >= tracemalloc_at:
                        baseline = True
                        say(f"soak: tracemalloc baseline at t={time.time() - t0:.0f} s")
                        ctl.snapshot(wait=False)
                if tracemalloc_out is not None and baseline:
                    say(f"soak: tracemalloc differences at t={time.time() - t0:.0f} s "
                        f"{'written to' if ctl.snapshot() else 'NOT written to'} {tracemalloc_out}")
                load.stop()
                results = load.wait(400)
                with gevent.Timeout(30, False):
                    while live(sim):
                        gevent.sleep(0.2)
                orphans = live(sim)
                stuck = None
                deadline = time.time() + 30
                while time.time() < deadline:
                    stuck = stuck_from_metrics(ctl.metrics())
                    if stuck == 0:
                        break
                    gevent.sleep(0.5)
                ctl.stop(60)
                rec = check_records(url, [h.uuid for h in load.handles])
                errors_in_log = sum(1 for ln in ctl.log().splitlines() if " ERROR " in ln)
                tracebacks = ctl.log().count("Traceback (most recent call last)")
            finally:
                load.running = False
                ctl.kill()
                sim.stop()
    last = samples[-1] if samples else None
    first = first or last
    steady = [s for s in samples if first is not None and s["t"] >= first["t"]]
    completed = sum(1 for r in results if r is not None and r.bridged_to)

    def figures(s: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if s is None else {k: s[k] for k in ("t", "rss_mb", "fds", "greenlets", "up")}

    return {
        "seconds": seconds, "concurrent_target": concurrent, "agents": len(specs), "database": kind,
        "start": figures(first), "end": figures(last),
        "slope_per_hour": {k: slope_per_hour([(s["t"], s[k]) for s in steady if s[k] is not None])
                           for k in ("rss_mb", "fds", "greenlets")},
        "concurrent_median": statistics.median([s["up"] for s in steady]) if steady else None,
        "hub_lag_p50_s": quantile(first["lag"], last["lag"], 0.5) if first and last else None,
        "hub_lag_p99_s": quantile(first["lag"], last["lag"], 0.99) if first and last else None,
        "calls": len(load.handles), "completed": completed,
        "errors": len(load.handles) - completed, "error_lines": errors_in_log, "tracebacks": tracebacks,
        "lost": len(rec["lost"]), "duplicated": len(rec["duplicated"]), "stuck_agents": stuck,
        "orphan_channels": len(orphans), "dispositions": rec["dispositions"],
        "not_completed": not_completed(results, rec["rows"]),
        "samples": [{k: v for k, v in s.items() if k != "lag"} for s in samples],
    }


# ---------------------------------------------------------------------------------------------- main
def parse_only(value: str) -> list[str]:
    """``--only``: fault names (and ``soak``), comma-separated."""
    names = [v.strip() for v in value.split(",") if v.strip()]
    bad = [n for n in names if n not in (*FAULTS, "soak")]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"expected some of {', '.join((*FAULTS, 'soak'))}, not {value!r}")
    return names


def _die_with_parent() -> None:
    """In the child before exec: the kernel kills it when the bench dies (even by SIGKILL), so that an
    interrupted bench leaves no controller serving on its ports (Linux; elsewhere nothing)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the faults (and the soak); print and return the JSON object."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Example: python bench/faults.py --quick --no-soak")
    ap.add_argument("--quick", action="store_true", help="short faults (a smoke run)")
    ap.add_argument("--only", type=parse_only, default=None, metavar="NAMES",
                    help=f"only these, comma-separated: {', '.join(FAULTS)}, soak")
    ap.add_argument("--no-soak", action="store_true", help="skip the soak")
    ap.add_argument("--soak-seconds", type=float, default=3600.0)
    ap.add_argument("--soak-calls", type=int, default=500, help="calls kept in progress during the soak")
    ap.add_argument("--agents", type=int, default=20, help="agents for the faults")
    ap.add_argument("--rate", type=float, default=1.0, help="callers per second during the faults")
    ap.add_argument("--keep", action="store_true", help="keep the work folders (controller logs)")
    ap.add_argument("--tracemalloc", type=Path, default=None, metavar="FILE",
                    help="soak: run the controller under tracemalloc and write the top 30 growths between "
                         "--tracemalloc-at and the end to FILE (slows the controller; for finding leaks)")
    ap.add_argument("--tracemalloc-at", type=float, default=180.0, metavar="SECONDS",
                    help="soak: when the tracemalloc baseline is taken (default 180)")
    ap.add_argument("--memstats", type=Path, default=None, metavar="FILE",
                    help="soak: at each sample the controller appends a JSON line of where its memory is "
                         "(smaps by kind, mallinfo2, pymalloc arenas, objects, threads) to FILE")
    ap.add_argument("--memstats-trim", action="store_true",
                    help="with --memstats: each sample also calls malloc_trim(0) in the controller and records "
                         "the RSS after it (changes what it measures: for diagnosis)")
    ap.add_argument("--db", default=os.environ.get("CC_TEST_DATABASE_URL") or DEFAULT_PG,
                    help="PostgreSQL URL (default: CC_TEST_DATABASE_URL, else the local test database)")
    args = ap.parse_args(argv)
    logging.getLogger("cc.sim").setLevel(logging.ERROR)   # a refused socket per caller while cc is down: expected
    global KEEP
    KEEP = args.keep
    if args.soak_seconds <= 0 or args.soak_calls <= 0 or args.agents <= 0 or args.rate <= 0:
        ap.error("--soak-seconds, --soak-calls, --agents and --rate must be more than 0")
    kind = "postgresql" if pg_reachable(args.db) else "sqlite"
    if kind == "sqlite":
        say(f"PostgreSQL at {args.db} is not reachable: SQLite, and the faults that need PostgreSQL are skipped")
    timing = QUICK if args.quick else FULL
    names = args.only or [*FAULTS, "soak"]
    result: dict[str, Any] = {"database": kind, "quick": args.quick, "timing": timing.__dict__,
                              "load": {"agents": args.agents, "rate_per_s": args.rate}, "faults": [], "soak": None}
    for fault in FAULTS:
        if fault not in names:
            continue
        if kind == "sqlite" and fault in NEEDS_PG:
            result["faults"].append({"fault": fault, "skipped": "needs PostgreSQL"})
            continue
        result["faults"].append(run_fault(fault, timing, kind, args.db, args.agents, args.rate))
    if "soak" in names and not args.no_soak:
        result["soak"] = run_soak(args.soak_seconds, args.soak_calls, kind, args.db,
                                  every_s=min(60.0, max(5.0, args.soak_seconds / 20)),
                                  tracemalloc_out=args.tracemalloc and args.tracemalloc.resolve(),
                                  tracemalloc_at=args.tracemalloc_at,
                                  memstats_out=args.memstats and args.memstats.resolve(),
                                  memstats_trim=args.memstats_trim)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
