"""Fixtures for tests/integration: a real FreeSWITCH (``--fs-host``), SIPp phones and callers, `ccctl serve`.

Everything here is opt-in: without ``--fs-host`` every test of the folder is skipped, so CI (which has
no FreeSWITCH) stays green. With it, the switch must run freeswitch-conf/ (its dialplan hands 7xxx to
``socket 127.0.0.1:8084 async full``, its ``internal`` profile takes calls from loopback on 5060), and
the tests must run on the switch's host: `ccctl serve` listens on 127.0.0.1:8084 and the SIPp phones on
127.0.0.1. SIPp is Debian's ``sip-tester`` package; the scenarios are in tests/integration/sipp/.

The switch is checked with a tiny Event Socket client of its own (not cc.esl): what the tests see of
the switch does not depend on the code under test.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cc.store.db import Database
from cc.store.tokens import TokenRepo
from tests.calm_admission import TEST_OVERLOAD_YAML

ROOT = Path(__file__).resolve().parents[2]
SIPP_DIR = Path(__file__).resolve().parent / "sipp"
DTMF_PCAPS = Path("/usr/share/sip-tester")
#: where freeswitch-conf's dialplan sends 7xxx (`socket 127.0.0.1:8084 async full`)
OUTBOUND = ("127.0.0.1", 8084)
#: the `internal` profile of freeswitch-conf
SIP_PROFILE = ("127.0.0.1", 5060)


# ---------------------------------------------------------------------------------------------- the switch
class Esl:
    """A minimal inbound Event Socket client: auth and ``api`` (no events), for the tests' own checks."""

    def __init__(self, host: str, port: int, password: str, timeout: float = 15.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        headers, _ = self._frame()
        assert headers.get("Content-Type") == "auth/request", headers
        self.sock.sendall(f"auth {password}\n\n".encode())
        headers, _ = self._frame()
        if not headers.get("Reply-Text", "").startswith("+OK"):
            raise ConnectionError(f"event socket refused the password: {headers}")

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("event socket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self) -> tuple[dict[str, str], bytes]:
        while b"\n\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("event socket closed")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\n\n", 1)
        headers = dict(line.split(": ", 1) for line in head.decode().splitlines() if ": " in line)
        body = self._read(int(headers["Content-Length"])) if "Content-Length" in headers else b""
        return headers, body

    def api(self, command: str) -> str:
        """Run ``api COMMAND`` and return its output."""
        self.sock.sendall(f"api {command}\n\n".encode())
        while True:
            headers, body = self._frame()
            if headers.get("Content-Type") == "api/response":
                return body.decode(errors="replace")

    def channels(self) -> list[dict[str, Any]]:
        """``show channels as json``: the switch's channels now."""
        data = json.loads(self.api("show channels as json"))
        return list(data.get("rows") or [])

    def wait_no_channels(self, timeout: float) -> list[dict[str, Any]]:
        """Wait until the switch has no channel; what is left after ``timeout`` (empty: none)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.channels()
            if not rows or time.monotonic() > deadline:
                return rows
            time.sleep(0.25)

    def close(self) -> None:
        """Say goodbye and close."""
        try:
            self.sock.sendall(b"exit\n\n")
        except OSError:
            pass
        self.sock.close()


class EventTap:
    """A second event-socket connection that keeps the switch's events (json) of the given names, by Unique-ID.

    What the switch itself reported (e.g. a leg's Caller-Channel-Hangup-Time) is the reference the
    tests compare cc's records with.
    """

    def __init__(self, host: str, port: int, password: str, names: list[str]) -> None:
        self.esl = Esl(host, port, password)
        self.esl.sock.sendall(f"event json {' '.join(names)}\n\n".encode())
        self.events: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.esl.sock.settimeout(None)
        try:
            while True:
                headers, body = self.esl._frame()
                if headers.get("Content-Type") == "text/event-json":
                    self.events.append(json.loads(body.decode(errors="replace")))
        except (OSError, ConnectionError, ValueError):
            return

    def of(self, uuid: str, name: str) -> dict[str, Any] | None:
        """The first event ``name`` of channel ``uuid`` seen so far."""
        for ev in list(self.events):
            if ev.get("Unique-ID") == uuid and ev.get("Event-Name") == name:
                return ev
        return None

    def close(self) -> None:
        """Stop listening."""
        try:
            self.esl.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.esl.sock.close()
        self._thread.join(5)


@pytest.fixture
def fs(request: pytest.FixtureRequest) -> tuple[str, int, str]:
    """(host, event socket port, password) of the real FreeSWITCH; skips the test without --fs-host."""
    host = request.config.getoption("--fs-host")
    if not host:
        pytest.skip("no --fs-host: real FreeSWITCH tests are opt-in")
    return host, request.config.getoption("--fs-port"), request.config.getoption("--fs-password")


@pytest.fixture
def fs_api(fs: tuple[str, int, str]) -> Iterator[Esl]:
    """An event-socket client to the switch, which starts (and is left) with no channel."""
    esl = Esl(*fs)
    if esl.channels():   # left over by an earlier test that failed: do not let it spoil this one
        esl.api("hupall MANAGER_REQUEST")
        esl.wait_no_channels(10)
    try:
        yield esl
    finally:
        if esl.channels():
            esl.api("hupall MANAGER_REQUEST")
            esl.wait_no_channels(10)
        esl.close()


# ---------------------------------------------------------------------------------------------- ports
def free_tcp_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    with socket.socket() as s:   # SIPp also opens a TCP socket on its SIP port
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


_taken: set[int] = set()


def free_udp_ports(count: int, step: int = 1) -> int:
    """A first port of ``count`` ports ``step`` apart, all free for UDP and TCP on 127.0.0.1 now.

    Ranges stay away from the switch (5060, RTP 16384-32768) and from the ephemeral ports.
    """
    rng = random.Random()
    for _ in range(500):
        first = rng.randrange(34000, 39000, 2)
        ports = [first + i * step for i in range(count)]
        if not _taken.intersection(ports) and all(_udp_free(p) for p in ports):
            _taken.update(ports)
            return first
    raise RuntimeError("no free UDP ports")


def tcp_port_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


# ---------------------------------------------------------------------------------------------- SIPp
@pytest.fixture
def sipp_bin(fs: tuple[str, int, str]) -> str:
    """The SIPp program (Debian package sip-tester); skips the test if it is missing."""
    path = shutil.which("sipp")
    if path is None:
        pytest.skip("sipp not found (Debian package sip-tester)")
    return path


def render_scenario(name: str, out_dir: Path, digits: str = "", **subs: int | str) -> Path:
    """Copy SIPp scenario ``name`` to ``out_dir`` with its @KEY@ holes and DIGITS filled in.

    ``digits`` become RFC 2833 events played from sip-tester's pcaps, one every 0.8 s, after a first
    1.5 s (the prompt has started by then).
    """
    text = (SIPP_DIR / name).read_text()
    for key, value in subs.items():
        text = text.replace(f"@{key}@", str(value))
    if digits:
        names = {"*": "star", "#": "pound"}
        steps = ['<pause milliseconds="1500"/>']
        for d in digits:
            pcap = DTMF_PCAPS / f"dtmf_2833_{names.get(d, d)}.pcap"
            steps.append(f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
            steps.append('<pause milliseconds="800"/>')
        text = text.replace("<!-- DIGITS -->", "\n  ".join(steps))
    holes = re.findall(r"@[A-Z_]+@", text)
    assert not holes, f"{name}: holes not filled: {holes}"
    out = out_dir / f"{Path(name).stem}-{digits or 'x'}-{os.getpid()}-{time.monotonic_ns()}.xml"
    out.write_text(text)
    return out


@dataclass
class Phone:
    """A SIPp process answering as agent phones on one port (every agent whose dial string points here)."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path

    @property
    def dial(self) -> str:
        """The user part is free: SIPp answers any."""
        return f"sofia/internal/agent@127.0.0.1:{self.port}"

    def stop(self) -> str:
        """Stop SIPp; its unexpected-message log, if any."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return errors_of(self.workdir, self.name)


def errors_of(workdir: Path, stem: str) -> str:
    """The text of SIPp's ``*_errors.log`` files for scenario files starting with ``stem``."""
    return "".join(p.read_text(errors="replace")[-3000:] for p in sorted(workdir.glob(f"{stem}*_errors.log")))


@dataclass
class Sipp:
    """Starts SIPp agent phones and callers in a test's folder; stops every phone at the end."""

    binary: str
    workdir: Path
    phones: list[Phone] = field(default_factory=list)
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def phone(self, scenario: str, **subs: int | str) -> Phone:
        """Start an agent phone (``uas_*.xml``) on a free port."""
        port = free_udp_ports(1)
        media = free_udp_ports(3, step=2)   # SIPp binds media_port and media_port + 2
        sf = render_scenario(scenario, self.workdir, **subs)
        cmd = [self.binary, "-sf", str(sf), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1",
               "-mp", str(media), "-nostdin", "-trace_err", "-max_socket", "1000"]
        proc = subprocess.Popen(cmd, cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        time.sleep(0.3)
        if proc.poll() is not None:
            raise RuntimeError(f"sipp {scenario} did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        ph = Phone(sf.stem, port, proc, self.workdir)
        self.phones.append(ph)
        return ph

    def callers(self, service: str, *, calls: int, rate: float = 1.0, wait_ms: int = 30000, digits: str = "",
                limit: int = 100) -> subprocess.Popen[bytes]:
        """Start ``calls`` SIPp callers to ``service`` (``rate`` new calls a second); returns the process.

        Each presses ``digits`` once answered, then waits up to ``wait_ms`` for the switch's BYE before
        hanging up itself. SIPp's exit code is 0 when every call went through its scenario.
        """
        port = free_udp_ports(1)
        media = free_udp_ports(3, step=2)
        sf = render_scenario("uac_caller.xml", self.workdir, digits=digits, WAIT_MS=wait_ms)
        per_10s = max(1, round(rate * 10))   # SIPp's -r counts calls per -rp milliseconds
        cmd = [self.binary, "-sf", str(sf), "-s", service, "-m", str(calls), "-r", str(per_10s), "-rp", "10000",
               "-l", str(limit), "-i", "127.0.0.1", "-p", str(port), "-mi", "127.0.0.1", "-mp", str(media),
               "-nostdin", "-trace_err", "-trace_stat", "-fd", "1", "-max_socket", "1000",
               f"{SIP_PROFILE[0]}:{SIP_PROFILE[1]}"]
        proc = subprocess.Popen(cmd, cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        self.running.append(proc)
        return proc

    def stop(self) -> None:
        """Stop every phone, and callers still running (a test that failed early)."""
        for proc in self.running:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        for ph in self.phones:
            ph.stop()


@pytest.fixture
def sipp(sipp_bin: str, tmp_path: Path) -> Iterator[Sipp]:
    """SIPp phones and callers for one test (started in tmp_path/sipp, stopped at the end)."""
    work = tmp_path / "sipp"
    work.mkdir()
    s = Sipp(sipp_bin, work)
    try:
        yield s
    finally:
        s.stop()


def wait_callers(proc: subprocess.Popen[bytes], timeout: float, workdir: Path) -> tuple[int, str]:
    """Wait for a callers' SIPp; (exit code, its stderr + unexpected-message log). Killed after ``timeout``."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=5)
        return -9, f"SIPp callers still running after {timeout:.0f} s; killed\n" + errors_of(workdir, "uac_caller")
    return proc.returncode, err.decode(errors="replace") + errors_of(workdir, "uac_caller")


# ---------------------------------------------------------------------------------------------- ccctl serve
def make_prompt(path: Path, seconds: float, freq: int = 440) -> Path:
    """An 8 kHz mono 16-bit sine prompt (sox)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sox = shutil.which("sox")
    if sox is None:
        pytest.skip("sox not found (Debian package sox)")
    subprocess.run([sox, "-n", "-r", "8000", "-c", "1", "-b", "16", str(path), "synth", str(seconds), "sine",
                    str(freq), "vol", "0.3"], check=True)
    return path


@dataclass
class CcServer:
    """`ccctl serve` as a subprocess on a temporary SQLite database (or ``database``), with the HTTP API and an
    admin token; its outbound socket listens on ``outbound`` (freeswitch-conf's first address, or its second for
    the standby of a pair)."""

    workdir: Path
    fs: tuple[str, int, str]
    http_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    token: str = ""
    database: str = ""
    outbound: tuple[str, int] = OUTBOUND

    @property
    def db_url(self) -> str:
        """The controller's database."""
        return self.database or f"sqlite:///{self.workdir}/cc.db"

    def start(self, routes: dict[str, str], timeout: float = 30.0, extra: str = "") -> None:
        """Write cc.yaml (plus ``extra`` lines) and start `ccctl serve`; returns once its API and socket answer."""
        if not tcp_port_free(*self.outbound):
            pytest.fail(f"{self.outbound[0]}:{self.outbound[1]} is taken: freeswitch-conf's dialplan sends calls "
                        "there, and `ccctl serve` of this test must listen on it")
        host, port, password = self.fs
        self.http_port = free_tcp_port()
        route_text = ", ".join(f"'{k}': {v}" for k, v in routes.items())
        (self.workdir / "cc.yaml").write_text(
            f"nodes: [{{name: fs1, host: {host}, port: {port}, password: {password}}}]\n"
            f"outbound: {{listen: '{self.outbound[0]}:{self.outbound[1]}'}}\n"
            f"database: {self.db_url}\n"
            f"flows: {{dir: flows, routes: {{{route_text}}}}}\n"
            f"recordings: {{dir: {self.workdir}/recordings}}\n"
            f"http: {{listen: '127.0.0.1:{self.http_port}'}}\n"
            "drain_timeout: 5s\n" + TEST_OVERLOAD_YAML + extra)
        db = Database(self.db_url)   # seeded by the test (upgraded, queues, agents)
        _, self.token = TokenRepo(db).create(f"it-{self.http_port}", "admin")   # one per server on a shared store
        db.engine.dispose()
        self.launch(timeout)

    def launch(self, timeout: float = 30.0) -> None:
        """Start `ccctl serve` on the written cc.yaml (again, after a stop or a kill); wait until it answers."""
        if not tcp_port_free(*self.outbound):
            pytest.fail(f"{self.outbound[0]}:{self.outbound[1]} is taken: freeswitch-conf's dialplan sends calls "
                        "there")
        self.log = (self.workdir / "cc-serve.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import cli; cli.main()", "serve", "-c", str(self.workdir / "cc.yaml"),
             "--log-level", "INFO"], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"ccctl serve exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                health = self.get("/healthz")
                if not tcp_port_free(*self.outbound) and health:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        pytest.fail(f"ccctl serve did not come up in {timeout:.0f} s:\n{self.log_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: the controller dies with its calls in progress (no drain, no flush)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(5)
        self.log.close()

    def get(self, path: str) -> Any:
        """GET the HTTP API (JSON)."""
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}",
                                     headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read().decode())

    def agents(self) -> dict[str, dict[str, Any]]:
        """The live agents, by id."""
        data = self.get("/api/v1/agents")
        rows = data["agents"] if isinstance(data, dict) else data
        return {a["id"]: a for a in rows}

    def live_calls(self) -> list[dict[str, Any]]:
        """The controller's calls in progress."""
        data = self.get("/api/v1/calls")
        return list(data["calls"] if isinstance(data, dict) else data)

    def log_text(self) -> str:
        """What `ccctl serve` logged so far."""
        return (self.workdir / "cc-serve.log").read_text(errors="replace")

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (drain, flush the history), then wait; the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        return int(self.proc.returncode)


@pytest.fixture
def cc_server(fs: tuple[str, int, str], tmp_path: Path) -> Iterator[CcServer]:
    """A `ccctl serve` for one test, in tmp_path/cc (started by the test with its routes; stopped at the end)."""
    work = tmp_path / "cc"
    (work / "flows").mkdir(parents=True)
    srv = CcServer(work, fs)
    try:
        yield srv
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.stop()
