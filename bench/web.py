"""Web desktop costs; prints one JSON object.

1. Customer search over ``--customers`` customers (1,000,000 by default) on PostgreSQL (``CC_TEST_DATABASE_URL``'s
   server, a scratch database ``cc_bench_web`` made and dropped here, rows loaded with COPY): the CRM page's query
   (cc.store.crm.CustomerSearch.page, first page of 50) on the schema of the migrations (revision 0010_crm's GIN
   indexes: pg_trgm on the numbers, cc_name_grams on the names) by 4-6 digits of a number
   (``search_phone_p95_ms``), by the 1-2 characters of a given name (``search_name_p95_ms``), by one character
   (``search_name1_p95_ms``: a surname or given-name character) and by a whole name (``search_fullname_p95_ms``);
   ``search_*_plan`` = the index the PostgreSQL plan of the first such query uses ("seq" when none).
2. ``ccctl serve --http`` on cc.sim (both subprocesses, SQLite): ``page_load_p95_ms`` (GET of the wallboard and of
   an agent's workbench, warm, signed in); then, while agents change status through the API at ``--rate`` events
   per second (8 connections, so the rate holds when the controller slows): (a) ``--wallboards`` wallboard streams
   (``/supervisor/events``): ``wallboard_event_to_page_p50_ms``/``p99`` = arrival of a board minus the wall time of
   the first hook event it reflects (the board's ``data-event-at``); (b) ``--agents`` agents, each signed in (a
   session cookie as sign-in makes it) on his own workbench stream (``/workbench/events``):
   ``event_to_page_p50_ms``/``p99`` = arrival of his event minus its ``at`` (same machine clock), ``foreign_events``
   = events of another agent seen on a stream (must be 0). ``*cpu_ms_per_*_s`` = the controller's CPU time over the
   window divided by streams x seconds; ``*_loadavg_1m`` = the machine's load when the phase started. The streams
   are read by gevent clients in this process.

Usage: ``python bench/web.py [--customers 1000000] [--agents 500] [--wallboards 500] [--rate 50] [--seconds 20]
[--search-only]`` (``--customers 0`` skips part 1, ``--search-only`` part 2).
"""

from __future__ import annotations

import gevent.monkey

gevent.monkey.patch_all()

import argparse  # noqa: E402
import http.client  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import gevent.queue  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅兵辉鹏飞云峰亮宇婷雪琳晨阳"
PASSWORD = "Bench-pass-2026"


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values`` (nearest rank)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


# ------------------------------------------------------------------ part 1: customer search on PostgreSQL
def search_bench(n: int, queries: int = 60, keep: bool = False) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    from cc.store.crm import CustomerQuery, CustomerSearch
    from cc.store.db import Database, upgrade

    base = os.environ.get("CC_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS cc_bench_web"))
        conn.execute(text("CREATE DATABASE cc_bench_web"))
    url = base.rsplit("/", 1)[0] + "/cc_bench_web"
    db = Database(url)
    try:
        upgrade(engine=db.engine)
        rnd = random.Random(18)
        numbers: list[str] = []
        names: list[str] = []
        seen: set[str] = set()
        t0 = time.perf_counter()
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            cust, phones = io.StringIO(), io.StringIO()
            for i in range(n):
                name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2))))
                cid = f"c{i:07d}"
                cust.write(f"{cid}\t{name}\t\t2026-01-01 00:00:00+00\n")
                for k in range(1 if i % 5 else 2):
                    number = f"+861{rnd.choice('35789')}{rnd.randrange(10**9):09d}"
                    while number in seen:   # a number belongs to one customer only (unique index)
                        number = f"+861{rnd.choice('35789')}{rnd.randrange(10**9):09d}"
                    seen.add(number)
                    phones.write(f"{cid}\t{number}\t{'mobile' if k == 0 else 'home'}\n")
                    if i % (n // 200 or 1) == 0:
                        numbers.append(number)
                if i % (n // 200 or 1) == 0:
                    names.append(name)
            with cur.copy("COPY customers (id, name, note, created_at) FROM STDIN") as cp:
                cp.write(cust.getvalue())
            with cur.copy("COPY customer_phones (customer_id, number, label) FROM STDIN") as cp:
                cp.write(phones.getvalue())
            raw.commit()
            cur.execute("ANALYZE customers")
            cur.execute("ANALYZE customer_phones")
            raw.commit()
        finally:
            raw.close()
        load_s = time.perf_counter() - t0
        repo = CustomerSearch(db, default_region="CN")

        def timed(make: Any) -> list[float]:
            out = []
            for i in range(queries):
                q = make(i)
                t = time.perf_counter()
                repo.page(q, limit=51)
                out.append((time.perf_counter() - t) * 1000)
            return out[5:]   # warm

        def phone_q(i: int) -> CustomerQuery:
            number = numbers[i % len(numbers)]
            k = rnd.choice((4, 5, 6))
            start = rnd.randrange(3, len(number) - k)
            return CustomerQuery(text=number[start:start + k])

        def name_q(i: int) -> CustomerQuery:
            name = names[i % len(names)]
            return CustomerQuery(text=name[1:] if len(name) > 2 else name)

        def name1_q(i: int) -> CustomerQuery:
            name = names[i % len(names)]
            return CustomerQuery(text=name[i % len(name)])

        def fullname_q(i: int) -> CustomerQuery:
            return CustomerQuery(text=names[i % len(names)])

        def plan(q: CustomerQuery) -> str:
            from sqlalchemy.dialects import postgresql

            stmt = repo._filtered(q).order_by(t.CustomerRow.name, t.CustomerRow.id).limit(51)
            sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            with db.engine.connect() as conn:
                lines = [r[0] for r in conn.execute(text("EXPLAIN " + sql))]
            used = sorted({m for ln in lines for m in re.findall(r"(ix_\w+)", ln)})
            return ",".join(used) or "seq"

        from cc.store import tables as t

        out: dict[str, Any] = {"customers": n, "customer_load_s": round(load_s, 1)}
        for label, make in (("phone", phone_q), ("name", name_q), ("name1", name1_q), ("fullname", fullname_q)):
            ms = timed(make)
            out[f"search_{label}_p95_ms"] = round(pct(ms, .95), 1)
            out[f"search_{label}_p50_ms"] = round(pct(ms, .5), 1)
            out[f"search_{label}_plan"] = plan(make(0))
        return out
    finally:
        db.engine.dispose()
        with admin.connect() as conn:
            if not keep:
                conn.execute(text("DROP DATABASE IF EXISTS cc_bench_web WITH (FORCE)"))
        admin.dispose()


# ------------------------------------------------------------------ part 2: pages and streams
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, agents: int, agent_users: int = 0) -> tuple[str, dict[str, str]]:
    """The queue, ``agents`` agents in it, agent0 and boss (with the password), and ``agent_users`` users
    ``u<aid>`` (agents 2001..) without a password, each with his own agent; returns the API token and
    agent id -> user id."""
    from cc.model import Agent, QueueConfig, Tier
    from cc.store.db import Database, upgrade
    from cc.store.repos import AgentRepo, QueueRepo, TierRepo
    from cc.store.tokens import TokenRepo
    from cc.store.users import UserRepo

    db = Database(url)
    upgrade(engine=db.engine)
    QueueRepo(db).create(QueueConfig("support", moh="", announce_position=False))
    users = UserRepo(db)
    for i in range(agents):
        aid = f"{2000 + i}"
        AgentRepo(db).create(Agent(aid, name=f"Agent {aid}", contact=f"user/{aid}@sim"))
        TierRepo(db).add(Tier(aid, "support"))
    users.add("agent0", password=PASSWORD, agent_id="2000")
    users.grant("agent0", "agent")
    users.add("boss", password=PASSWORD)
    users.grant("boss", "supervisor", "*")
    token = TokenRepo(db).create("bench", user="boss")[1]
    ids: dict[str, str] = {}
    for i in range(1, agent_users + 1):   # 2000 is agent0's
        aid = f"{2000 + i}"
        user = users.add(f"u{aid}", agent_id=aid)
        users.grant(f"u{aid}", "agent")
        ids[aid] = str(user.id)
    db.engine.dispose()
    return token, ids


def mint_cookie(secret: str, user_id: str, login: str) -> str:
    """A session cookie as sign-in makes it (same fields, signed with the configured web secret): 500 argon2
    verifications would cost the controller minutes of CPU before the measurement starts."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    app = Flask("bench")
    app.secret_key = secret
    signer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert signer is not None
    value = signer.dumps({"_permanent": True, "uid": int(user_id) if user_id.isdigit() else user_id,
                          "login": login, "name": login, "at": time.time(), "locale": "en"})
    return f"cc_session={value}"


class Client:
    """A signed-in HTTP session (cookie) over keep-alive connections."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        self.conn.request(method, path, body=body, headers=h)
        resp = self.conn.getresponse()
        data = resp.read()
        for k, v in resp.getheaders():
            if k.lower() == "set-cookie" and v.startswith("cc_session="):
                self.cookie = v.split(";", 1)[0]
        return resp.status, data

    def sign_in(self, login: str) -> None:
        _, page = self.request("GET", "/signin")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
            re.search(rb'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token is not None, page[:500]
        body = urllib.parse.urlencode({"csrf_token": token.group(1).decode(), "login": login, "password": PASSWORD})
        status, _ = self.request("POST", "/signin", body, {"Content-Type": "application/x-www-form-urlencoded"})
        assert status in (302, 303), status


def stream(port: int, cookie: str, arrivals: list[float], ready: list[int]) -> None:
    """One wallboard page's event stream: each board's arrival minus its event time, in ms."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"GET /supervisor/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nCookie: {cookie}\r\n"
                 "\r\n".encode())
    buf = b""
    ready.append(1)
    pat = re.compile(rb'data-event-at="([0-9.]+)"')
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return
            now = time.time()
            buf += chunk
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                if b"event: wallboard" in event:
                    m = pat.search(event)
                    if m:
                        arrivals.append((now - float(m.group(1))) * 1000)
    finally:
        sock.close()


def agent_stream(port: int, cookie: str, own: str, arrivals: list[float], ready: list[int],
                 foreign: list[str]) -> None:
    """One agent's workbench event stream: each of his events' arrival minus its ``at`` (the hook's wall time),
    in ms; an event of another agent goes to ``foreign`` (the scope check of the bench)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"GET /workbench/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nCookie: {cookie}\r\n"
                 "\r\n".encode())
    buf = b""
    head = True
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return
            now = time.time()
            buf += chunk
            if head and b"\r\n\r\n" in buf:
                status, buf = buf.split(b"\r\n\r\n", 1)
                assert status.startswith(b"HTTP/1.1 200"), status[:200]
                head = False
                ready.append(1)
            while not head and b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                for line in event.split(b"\n"):
                    if line.startswith(b"data: {"):
                        ev = json.loads(line[6:])
                        if ev.get("agent_id") != own:
                            foreign.append(str(ev.get("agent_id")))
                        else:
                            arrivals.append((now - float(ev["at"])) * 1000)
    finally:
        sock.close()


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def live_bench(streams: int, agent_streams: int, rate: float, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        url = f"sqlite:///{base}/cc.db"
        n_agents = max(40, agent_streams + 1)
        token, user_ids = seed(url, n_agents, agent_streams)
        secret = "bench-" + os.urandom(24).hex()
        (base / "flows").mkdir()
        flow = ("flow: q\nstart: q\nnodes:\n  q: {enqueue: {queue: support}, next: bye}\n"
                "  bye: {hangup: NORMAL_CLEARING}\n")
        (base / "flows" / "q.yaml").write_text(flow)
        esl, outbound, http_port = free_port(), free_port(), free_port()
        (base / "cc.yaml").write_text(
            f"nodes: [{{name: sim, host: 127.0.0.1, port: {esl}, password: ClueCon}}]\n"
            f"outbound: {{listen: '127.0.0.1:{outbound}'}}\ndatabase: {url}\n"
            "flows: {dir: flows, routes: {'7000': q.yaml}}\ndrain_timeout: 1s\n"
            f"web: {{secret_key: '{secret}'}}\n")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        agents = ",".join(f"{2000 + i}" for i in range(n_agents))
        sim = subprocess.Popen([sys.executable, str(ROOT / "tests" / "web" / "sim_driver.py"), "--listen",
                                f"127.0.0.1:{esl}", "--socket", f"127.0.0.1:{outbound}", "--agents", agents],
                               cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        assert sim.stdout is not None and sim.stdout.readline().strip() == "ready"
        serve = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", "serve", "-c",
                                  str(base / "cc.yaml"), "--http", f"127.0.0.1:{http_port}", "--log-level", "warning"],
                                 cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", http_port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            api = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
            auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

            def call_api(path: str, body: dict[str, Any]) -> None:
                api.request("POST", path, body=json.dumps(body), headers=auth)
                api.getresponse().read()

            conns: gevent.queue.Queue[http.client.HTTPConnection] = gevent.queue.Queue()
            for _ in range(8):
                conns.put(http.client.HTTPConnection("127.0.0.1", http_port, timeout=30))

            def call_async(path: str, body: dict[str, Any]) -> None:
                """The call on a free connection of 8, without waiting: the rate holds when the controller slows."""
                def run() -> None:
                    conn = conns.get()
                    try:
                        conn.request("POST", path, body=json.dumps(body), headers=auth)
                        conn.getresponse().read()
                    finally:
                        conns.put(conn)
                gevent.spawn(run)

            for i in range(n_agents):
                call_api(f"/api/v1/agents/{2000 + i}/login", {"status": "on_break", "reason": "break"})
            boss, agent = Client(http_port), Client(http_port)
            boss.sign_in("boss")
            agent.sign_in("agent0")
            loads = []
            for who, path in ((boss, "/supervisor/wallboard"), (agent, "/workbench")):
                for i in range(60):
                    t = time.perf_counter()
                    status, _ = who.request("GET", path)
                    assert status == 200, (path, status)
                    if i >= 10:
                        loads.append((time.perf_counter() - t) * 1000)
            out: dict[str, Any] = {"page_load_p95_ms": round(pct(loads, .95), 1),
                                   "page_load_p50_ms": round(pct(loads, .5), 1)}
            k = 0

            def drive(first: int, spread: int) -> tuple[int, float, float]:
                """Status changes at ``rate``/s for ``seconds``, round robin over ``spread`` agents from ``first``;
                returns (events sent, window s, controller CPU s)."""
                nonlocal k
                cpu0, t0 = cpu_s(serve.pid), time.monotonic()
                sent = 0
                while time.monotonic() - t0 < seconds:
                    aid = first + k % spread
                    status = "available" if (k // spread) % 2 == 0 else "on_break"
                    body = {"status": status} if status == "available" else {"status": status, "reason": "break"}
                    call_async(f"/api/v1/agents/{aid}/status", body)
                    sent += 1
                    k += 1
                    gevent.sleep(max(0.0, t0 + sent / rate - time.monotonic()))
                gevent.sleep(1.0)
                window = time.monotonic() - t0
                return sent, window, cpu_s(serve.pid) - cpu0

            if streams:   # 1. the shared wallboard: every board to every page
                arrivals: list[float] = []
                ready: list[int] = []
                greenlets = [gevent.spawn(stream, http_port, boss.cookie, arrivals, ready) for _ in range(streams)]
                while len(ready) < streams:
                    gevent.sleep(0.05)
                gevent.sleep(2.0)
                arrivals.clear()
                load = os.getloadavg()[0]
                sent, window, cpu = drive(2000, n_agents)
                gevent.killall(greenlets)
                out.update({"wallboards": streams, "events": sent, "events_per_s": round(sent / (seconds or 1), 1),
                            "boards_received": len(arrivals),
                            "wallboard_event_to_page_p50_ms": round(pct(arrivals, .5), 1),
                            "wallboard_event_to_page_p99_ms": round(pct(arrivals, .99), 1),
                            "wallboard_cpu_ms_per_stream_s": round(cpu * 1000 / (streams * window), 3),
                            "wallboard_controller_cpu_share": round(cpu / window, 2),
                            "wallboard_loadavg_1m": round(load, 2)})
                gevent.sleep(1.0)
            if agent_streams:   # 2. every agent his own workbench stream, each event to its agent only
                a_arrivals: list[float] = []
                a_ready: list[int] = []
                foreign: list[str] = []
                greenlets = [gevent.spawn(agent_stream, http_port, mint_cookie(secret, user_ids[aid], f"u{aid}"),
                                          aid, a_arrivals, a_ready, foreign) for aid in user_ids]
                while len(a_ready) < agent_streams:
                    gevent.sleep(0.05)
                gevent.sleep(2.0)
                a_arrivals.clear()
                load = os.getloadavg()[0]
                sent, window, cpu = drive(2001, agent_streams)
                gevent.killall(greenlets)
                out.update({"agents": agent_streams, "agent_events": sent,
                            "agent_events_per_s": round(sent / (seconds or 1), 1),
                            "agent_updates_received": len(a_arrivals), "foreign_events": len(foreign),
                            "event_to_page_p50_ms": round(pct(a_arrivals, .5), 1),
                            "event_to_page_p99_ms": round(pct(a_arrivals, .99), 1),
                            "cpu_ms_per_agent_s": round(cpu * 1000 / (agent_streams * window), 3),
                            "agent_controller_cpu_share": round(cpu / window, 2),
                            "agent_loadavg_1m": round(load, 2)})
            return out
        finally:
            serve.terminate()
            try:
                serve.wait(15)
            except subprocess.TimeoutExpired:
                serve.kill()
            if sim.stdin is not None:
                sim.stdin.close()
            sim.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=500, help="agents, each with his own workbench stream "
                        "(at most 500; 0: none)")
    parser.add_argument("--wallboards", type=int, default=500, help="wallboard streams (at most 500; 0: none)")
    parser.add_argument("--rate", type=float, default=50.0, help="agent status events per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--search-only", action="store_true", help="only part 1 (the customer search)")
    parser.add_argument("--keep-db", action="store_true", help="keep part 1's database cc_bench_web (to EXPLAIN)")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    if args.customers > 0:
        out.update(search_bench(args.customers, keep=args.keep_db))
    if not args.search_only:
        out.update(live_bench(min(args.wallboards, 500), min(args.agents, 500), args.rate, args.seconds))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
