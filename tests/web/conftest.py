"""Browser tests' harness: a seeded store, cc.sim and `ccctl serve --http` as subprocesses, Debian's Chromium.

Each test module gets one controller (module scope) on a fresh SQLite database, seeded with users who are
agents (password sign-in), a queue whose calls need a result, and a customer with three earlier
interactions. The switch (tests/web/sim_driver.py) and the controller each run in their own process;
the test process only drives Chromium through Playwright's sync API. Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cc.model import Agent, Customer, Interaction, InteractionKind, PhoneNumber, QueueConfig, Tier
from cc.store.campaigns import CustomerTypeRepo
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, CustomerRepo, InteractionRepo, QueueRepo, TierRepo
from cc.store.users import UserRepo
from tests.calm_admission import TEST_OVERLOAD_YAML

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "Desk-pass-2026"
#: the seeded customer's numbers: the first calls in; the test knows his 3 interactions
KNOWN = "+8613812345678"
KNOWN_OTHER = "+8613900001111"
AGENTS = ("1001", "1002", "1003")
USERS = {"li": "1001", "wang": "1002", "zhao": "1003"}



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Until something listens on ``port`` (start-up of a subprocess; not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def seed(url: str) -> None:
    """The store the tests run on."""
    db = Database(url)
    upgrade(engine=db.engine)
    QueueRepo(db).create(QueueConfig("support", moh="", announce_position=False, offer_timeout_s=30))
    for aid in AGENTS:
        AgentRepo(db).create(Agent(aid, name=f"Agent {aid}", contact=f"user/{aid}@sim"))
        TierRepo(db).add(Tier(aid, "support"))
    users = UserRepo(db)
    for login, aid in USERS.items():
        users.add(login, display_name=f"{login} ({aid})", password=PASSWORD, agent_id=aid)
        users.grant(login, "agent")
    users.add("sun", display_name="sun", password=PASSWORD)   # no agent, no role
    types = CustomerTypeRepo(db)
    types.ensure_defaults()
    customers = CustomerRepo(db, default_region="CN")
    c = customers.create(Customer("c-zhang", name="张伟", note="VIP", phones=(PhoneNumber(KNOWN, "mobile"),
                                                                              PhoneNumber(KNOWN_OTHER, "home"))))
    types.set_for_customer(c.id, "member")
    day = 86400.0
    base = 1_795_000_000.0   # 2026-11-18
    history = InteractionRepo(db)
    seeded = (("resolved", "问询账单"), ("follow_up", "要求回电"), ("complaint", "投诉送货慢"))
    for i, (disp, note) in enumerate(seeded):
        history.add(Interaction(f"seed-{i}", base + i * day, InteractionKind.CALL, customer_id=c.id, agent_id="1002",
                                call_uuid=f"seed-call-{i}", queue="support", disposition=disp, note=note))
    db.engine.dispose()


@dataclass
class Controller:
    """A running `ccctl serve --http` with its switch."""

    url: str
    db_url: str
    base: Path
    sim: subprocess.Popen[str]
    serve: subprocess.Popen[bytes]
    placed: int = 0
    logs: list[Path] = field(default_factory=list)

    def call(self, number: str, destination: str = "7000") -> None:
        """A simulated caller from ``number`` dials ``destination`` now."""
        assert self.sim.stdin is not None and self.sim.stdout is not None
        self.sim.stdin.write(f"call {destination} {number}\n")
        self.sim.stdin.flush()
        assert self.sim.stdout.readline().strip() == "placed"
        self.placed += 1

    def channels(self) -> list[dict[str, Any]]:
        """The switch's channels now: uuid, cc_agent, current application and its data, eavesdrop mode."""
        assert self.sim.stdin is not None and self.sim.stdout is not None
        self.sim.stdin.write("channels\n")
        self.sim.stdin.flush()
        return list(json.loads(self.sim.stdout.readline()))

    def database(self) -> Database:
        """The controller's store (read it from the test)."""
        return Database(self.db_url)


@pytest.fixture(scope="module")
def controller(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Controller]:
    """A module may add to the store (``EXTRA_SEED(url)``), give the switch more phones that answer (``SIM_PHONES``:
    agent ids not in the queue, e.g. supervisors') and make calls last longer (``TALK_TIME`` seconds),
    run the controller and the switch on simulated time (``TIME_SCALE``) and have numbers answer outbound calls
    (``SIM_ANSWER``)."""
    base = tmp_path_factory.mktemp("web")
    db_url = f"sqlite:///{base}/cc.db"
    seed(db_url)
    extra_seed = getattr(request.module, "EXTRA_SEED", None)
    if extra_seed is not None:
        extra_seed(db_url)
    phones = AGENTS + tuple(getattr(request.module, "SIM_PHONES", ()))
    talk = str(getattr(request.module, "TALK_TIME", 3))
    scale = str(getattr(request.module, "TIME_SCALE", 1.0))   # the controller's and the switch's time scale
    answer = ",".join(getattr(request.module, "SIM_ANSWER", ()))  # numbers that answer outbound calls
    (base / "flows").mkdir()
    (base / "flows" / "q.yaml").write_text(
        "flow: q\nstart: q\nnodes:\n  q: {enqueue: {queue: support}, next: bye}\n  bye: {hangup: NORMAL_CLEARING}\n")
    esl, outbound, http = free_port(), free_port(), free_port()
    (base / "cc.yaml").write_text(
        f"nodes: [{{name: sim, host: 127.0.0.1, port: {esl}, password: ClueCon}}]\n"
        f"outbound: {{listen: '127.0.0.1:{outbound}'}}\ndatabase: {db_url}\n"
        "flows: {dir: flows, routes: {'7000': q.yaml}}\ndrain_timeout: 1s\n"
        "web: {result_required: [support], secure_cookie: auto}\n" + TEST_OVERLOAD_YAML
        + str(getattr(request.module, "EXTRA_YAML", "")))   # a module's own settings (e.g. callback: ...)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sim_log = open(base / "sim.log", "w")   # closed at teardown
    sim = subprocess.Popen([sys.executable, str(ROOT / "tests" / "web" / "sim_driver.py"), "--listen",
                            f"127.0.0.1:{esl}", "--socket", f"127.0.0.1:{outbound}", "--agents", ",".join(phones),
                            "--answer-after", "3", "--talk-time", talk, "--time-scale", scale, "--answer", answer],
                           cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sim_log, text=True)
    assert sim.stdout is not None and sim.stdout.readline().strip() == "ready", "the simulator did not start"
    serve_log = open(base / "serve.log", "wb")
    serve = subprocess.Popen([sys.executable, "-c", "import cli; cli.main()", "serve", "-c", str(base / "cc.yaml"),
                              "--http", f"127.0.0.1:{http}", "--log-level", "info", "--time-scale", scale],
                             cwd=ROOT, env=env,
                             stdout=serve_log, stderr=subprocess.STDOUT)
    ctl = Controller(f"http://127.0.0.1:{http}", db_url, base, sim, serve, logs=[base / "serve.log", base / "sim.log"])
    try:
        if not wait_port(http, 60, serve):
            pytest.fail("ccctl serve --http did not start:\n" + (base / "serve.log").read_text()[-3000:])
        yield ctl
    finally:
        serve.terminate()
        try:
            serve.wait(15)
        except subprocess.TimeoutExpired:
            serve.kill()
        if sim.stdin is not None:
            sim.stdin.close()
        try:
            sim.wait(10)
        except subprocess.TimeoutExpired:
            sim.kill()
        sim_log.close()
        serve_log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for log in ctl.logs:
            if log.exists():
                shutil.copy(log, ARTIFACTS / f"{base.name}-{log.name}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (.ci/run installs it: apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def shot(page: Any, name: str) -> Path:
    """A full-page screenshot under test-artifacts/web/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Any, url: str, login: str, password: str = PASSWORD) -> None:
    """Through the sign-in form."""
    page.goto(f"{url}/signin")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
