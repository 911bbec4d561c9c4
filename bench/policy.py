"""The permission policy's costs; prints one JSON object.

An organisation of ``--users`` users, ``--teams`` org units in a 5-level tree (1 top unit, 3 departments,
9, 27, then teams), ``--roles`` roles (the 5 built-in ones and defined ones with random permission sets),
``--agents`` agents in the leaf teams. Users: most are agents (role agent, own self), the others supervisors
(1-2 units), QA (a department), managers (a top department), holders of defined roles, and a few admins.

- ``allowed_p99_us`` (and p50): one ``allowed(user, permission, resource)`` call, timed one by one over
  ``--n`` random triples (agent-owned resources, shared ones, the organisation's, the caller's own);
- ``auth_check_p99_us``: authenticate (token -> user, from the warm in-memory directory) + locate + authorize;
- ``auth_overhead_p99_ms`` (and p50): a whole GET /api/v1/whoami through the WSGI application (no HTTP socket)
  with a warm cache: header parsing, token lookup, policy decision, the tiny answer -- an upper bound on
  what authentication and authorisation add to a request (whoami does nothing else);
- ``scoped_request_p99_ms``: GET /api/v1/agents/{id} by a supervisor scoped to two units (the agent route's
  resource located and checked against his scope; no controller runs, so the answer is a 503 after the check);
- ``directory_load_s``: one background refresh (the whole directory read and compiled);
- ``retention_rows``, ``retention_s``, ``calls_failed_during_retention`` (and ``retention_backend``): the
  retention job over ``--retention-rows`` call records and ``--retention-files`` recording files while calls
  flow on cc.sim, measured by ``bench/privacy.py`` (run as a child process; PostgreSQL when
  CC_TEST_DATABASE_URL or CC_BENCH_DATABASE_URL is set); ``--no-retention`` leaves them out.

Usage: ``python bench/policy.py [--users 1000] [--teams 100] [--roles 20] [--agents 800] [--n 100000]
[--retention-rows 1000000] [--retention-files 100000] [--no-retention]``
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cc.api.app import ApiApp
from cc.api.auth import Locate, authenticate, authorize, locate
from cc.authz import BUILTIN_ROLES, Permission, Resource, ResourceKind, allowed
from cc.errors import ApiError
from cc.model import Agent
from cc.runtime.hooks import Hooks
from cc.store.db import Database, upgrade
from cc.store.org import OrgRepo, RoleRepo
from cc.store.repos import AgentRepo
from cc.store.tokens import TokenRepo
from cc.store.users import UserRepo


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def build_tree(teams: int) -> tuple[dict[str, str | None], list[str], list[str]]:
    """{unit: parent}: 1 top, 3, 9, 27 departments, the rest teams under the 27 (5 levels)."""
    units: dict[str, str | None] = {"org": None}
    levels = [["org"]]
    for depth, width in ((1, 3), (2, 3), (3, 3)):
        levels.append([f"d{depth}-{i}" for i in range(len(levels[-1]) * width)])
        for i, name in enumerate(levels[-1]):
            units[name] = levels[-2][i // width]
    leaves = [f"t{i}" for i in range(max(1, teams - len(units)))]
    for i, name in enumerate(leaves):
        units[name] = levels[-1][i % len(levels[-1])]
    return units, leaves, levels[1]


def seed(db: Database, args: argparse.Namespace, rnd: random.Random) -> dict[str, str]:
    units, leaves, tops = build_tree(args.teams)
    org = OrgRepo(db)
    for name, parent in units.items():   # dict order: parents first
        org.add(name, parent, kind="team" if name in leaves else "department")
    agents = [f"a{i}" for i in range(args.agents)]
    for a in agents:
        AgentRepo(db).create(Agent(a, team=rnd.choice(leaves)))
    perms = [p.value for p in Permission]
    defined = [f"role{i}" for i in range(max(0, args.roles - len(BUILTIN_ROLES)))]
    for r in defined:
        RoleRepo(db).add(r, rnd.sample(perms, rnd.randint(3, 8)))
    users, tokens = UserRepo(db), TokenRepo(db)
    depts = [u for u in units if u not in leaves]
    secrets: dict[str, str] = {}
    for i in range(args.users):
        login = f"u{i}"
        if i < len(agents) and i < int(args.users * 0.8):
            users.add(login, agent_id=agents[i])
            users.grant(login, "agent")
        else:
            users.add(login)
            kind = i % 20
            if kind == 0:
                users.grant(login, "admin", "*")
            elif kind < 4:
                users.grant(login, "manager", rnd.choice(tops))
            elif kind < 8:
                users.grant(login, "qa", rnd.choice(depts))
            elif kind < 11 and defined:
                users.grant(login, rnd.choice(defined), rnd.choice(depts))
            else:
                users.grant(login, "supervisor", ",".join(rnd.sample(leaves, rnd.randint(1, 2))))
        secrets[login] = tokens.create(f"tok-{login}", user=login)[1]
    return secrets


def _retention(rows: int, files: int) -> dict[str, Any]:
    """bench/privacy.py's retention figures, from a child process (its calls run on their own simulator)."""
    out = subprocess.run([sys.executable, str(Path(__file__).with_name("privacy.py")), "--rows", str(rows),
                          "--files", str(files)], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    return {"retention_rows": got["retention_rows"], "retention_s": got["retention_s"],
            "calls_failed_during_retention": got["calls_failed_during_retention"],
            "retention_backend": got["backend"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--teams", type=int, default=100)
    ap.add_argument("--roles", type=int, default=20)
    ap.add_argument("--agents", type=int, default=800)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--retention-rows", type=int, default=1_000_000)
    ap.add_argument("--retention-files", type=int, default=100_000)
    ap.add_argument("--no-retention", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rnd = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'policy.db'}"
        upgrade(url)
        db = Database(url)
        secrets = seed(db, args, rnd)
        t0 = time.perf_counter()
        directory, _ = UserRepo(db).directory()
        load_s = time.perf_counter() - t0

        # ---- allowed(), one call at a time
        people = list(directory.users.values())
        agents = list(directory.agent_units)
        perms = list(Permission)
        triples: list[tuple[Any, Permission, Resource]] = []
        for _ in range(args.n):
            user = rnd.choice(people)
            x = rnd.random()
            if x < 0.6:
                res = directory.agent(rnd.choice(agents), ResourceKind.CALL)
            elif x < 0.8:
                res = Resource.common(ResourceKind.QUEUE, "q")
            elif x < 0.9:
                res = Resource.org(ResourceKind.CONFIG)
            else:
                res = directory.user_resource(user.id)
            triples.append((user, rnd.choice(perms), res))
        clock = time.perf_counter_ns
        times = []
        granted = 0
        for user, perm, res in triples:
            t = clock()
            d = allowed(user, perm, res)
            times.append(clock() - t)
            granted += d.allowed
        empty = []
        for _ in range(10_000):   # the timer's own cost, subtracted
            t = clock()
            empty.append(clock() - t)
        timer_ns = pct(empty, 0.5)
        allowed_p50 = max(0.0, pct(times, 0.5) - timer_ns) / 1000
        allowed_p99 = max(0.0, pct(times, 0.99) - timer_ns) / 1000

        # ---- through the WSGI application, warm cache, no socket
        service = SimpleNamespace(db=db, hooks=Hooks(), controller=None, writer=None, leading=True)
        app = ApiApp(service)
        app.watch.check()
        logins = list(secrets)
        sups = [u.login for u in people if "supervisor" in u.roles]

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            start_response.status = status  # type: ignore[attr-defined]

        def call(path: str, login: str) -> float:
            env = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
                   "HTTP_AUTHORIZATION": f"Bearer {secrets[login]}"}
            t = time.perf_counter()
            b"".join(app(env, start_response))
            return time.perf_counter() - t

        for login in logins:      # warm: every token once
            call("/api/v1/whoami", login)
        whoami = [call("/api/v1/whoami", rnd.choice(logins)) for _ in range(args.requests)]
        assert start_response.status.startswith("200"), start_response.status  # type: ignore[attr-defined]
        scoped = [call(f"/api/v1/agents/{rnd.choice(agents)}", rnd.choice(sups)) for _ in range(args.requests // 4)]

        checks = []
        lookup = app.watch.verify
        for _ in range(args.requests):
            login = rnd.choice(sups)
            header = f"Bearer {secrets[login]}"
            params = {"agent_id": rnd.choice(agents)}
            t = time.perf_counter_ns()
            caller = authenticate(header, lookup)
            res = locate(Locate.AGENT, params, caller, app.watch.directory)
            try:
                authorize(caller, Permission.CONTROL_AGENTS, res)
            except ApiError:
                pass
            checks.append(time.perf_counter_ns() - t)
        app.close()
        db.dispose()
    retention: dict[str, Any] = {}
    if not args.no_retention:
        retention = _retention(args.retention_rows, args.retention_files)
    print(json.dumps({
        **retention,
        "users": len(directory.users), "teams": len(directory.tree), "roles": len(directory.roles),
        "agents": len(directory.agent_units),
        "tree_depth": 1 + max(directory.tree.depth(u) for u in directory.tree.parents),
        "allowed_calls": args.n, "allowed_granted_share": round(granted / args.n, 3),
        "allowed_p50_us": round(allowed_p50, 3), "allowed_p99_us": round(allowed_p99, 3),
        "auth_check_p50_us": round(pct(checks, 0.5) / 1000, 2), "auth_check_p99_us": round(pct(checks, 0.99) / 1000, 2),
        "auth_overhead_p50_ms": round(pct(whoami, 0.5) * 1000, 4),
        "auth_overhead_p99_ms": round(pct(whoami, 0.99) * 1000, 4),
        "scoped_request_p99_ms": round(pct(scoped, 0.99) * 1000, 4),
        "directory_load_s": round(load_s, 3),
    }))


if __name__ == "__main__":
    main()
