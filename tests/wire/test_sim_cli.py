"""`ccctl sim` from the command line: callers, agents and parties files, a summary, one-line errors with exit 2."""

from __future__ import annotations

import json
import time
from pathlib import Path

import gevent
import gevent.server
import pytest
from click.testing import CliRunner

from cli import cc

DATA = Path(__file__).resolve().parents[1] / "data" / "sim"


@pytest.mark.timeout(30)
def test_cc_sim_runs_callers_against_an_outbound_app(tmp_path: Path) -> None:
    calls: list[str] = []

    def app(sock: gevent.socket.socket, addr: object) -> None:   # a minimal outbound app: answer, hang up
        sock.sendall(b"connect\n\nmyevents\n\nsendmsg\ncall-command: execute\nexecute-app-name: answer\n\n"
                     b"sendmsg\ncall-command: execute\nexecute-app-name: hangup\n\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        calls.append(data.decode(errors="replace"))

    srv = gevent.server.StreamServer(("127.0.0.1", 0), app)
    srv.start()
    try:
        res = CliRunner().invoke(cc, [
            "sim", "--listen", "127.0.0.1:0", "--socket", f"127.0.0.1:{srv.server_port}", "--route", "6000=park",
            "--roster", str(DATA / "agents.yaml"), "--callers", str(DATA / "callers.yaml"),
            "--time-scale", "0.001", "--json"])
    finally:
        srv.stop()
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["calls"] == 4 and summary["answered"] == 4
    assert summary["hangup_causes"] == {"NORMAL_CLEARING": 4}
    assert len(calls) == 1 and "Event-Name: CHANNEL_HANGUP_COMPLETE" in calls[0]


@pytest.mark.parametrize(("args", "needle"), [
    (["--time-scale", "fast"], "--time-scale"),
    (["--time-scale", "0"], "--time-scale"),
    (["--listen", "nowhere"], "--listen"),
    (["--route", "6000=dance"], "--route"),
    (["--callers", str(DATA / "bad_callers.yaml")], "callers[0].patience"),
    (["--roster", "/nonexistent/agents.yaml"], "cannot read"),
])
def test_bad_arguments_one_line_exit_2(args: list[str], needle: str) -> None:
    res = CliRunner().invoke(cc, ["sim", "--listen", "127.0.0.1:0", *args] if "--listen" not in args
                             else ["sim", *args])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("ccctl:")]
    assert len(lines) == 1 and needle in lines[0]


def test_help_has_an_example() -> None:
    res = CliRunner().invoke(cc, ["sim", "--help"])
    assert res.exit_code == 0 and "Example:" in res.output and "--time-scale 0.01" in res.output


@pytest.mark.timeout(30)
def test_cc_sim_parties_file_reaches_gateway_dials() -> None:
    """`--parties FILE`: a campaign's dials through sofia/gateway/carrier/NUMBER reach the file's numbers, and
    the JSON summary carries the simulator's party counters."""
    import socket

    from tests.wire.sim_fixtures import EslClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    jobs: list[str] = []

    def campaign() -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                client = EslClient.connect(("127.0.0.1", port))
                break
            except OSError:
                assert time.monotonic() < deadline
                gevent.sleep(0.05)
        client.read()
        client.command("auth ClueCon")
        for number in ("13800000002", "13800000003", "13800000001"):
            jobs.append(client.command(f"api originate {{originate_timeout=10}}sofia/gateway/carrier/{number} "
                                       "&park()", timeout=10).text)
        client.close()

    g = gevent.spawn(campaign)
    res = CliRunner().invoke(cc, ["sim", "--listen", f"127.0.0.1:{port}", "--parties", str(DATA / "parties.yaml"),
                                  "--time-scale", "0.01", "--duration", "300s", "--json"])
    g.join(5)
    assert res.exit_code == 0, res.output
    assert jobs[:2] == ["-ERR USER_BUSY\n", "-ERR NORMAL_TEMPORARY_FAILURE\n"] and jobs[2].startswith("+OK ")
    summary = json.loads(res.output.strip().splitlines()[-1])
    parties = summary["parties"]
    assert parties["outcomes"] == {"busy": 1, "off": 1, "answer": 1} and parties["answered"] == 1


def test_cc_sim_bad_parties_file_names_file_and_line() -> None:
    res = CliRunner().invoke(cc, ["sim", "--listen", "127.0.0.1:0", "--parties", str(DATA / "bad_parties.yaml")])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("ccctl:")]
    assert len(lines) == 1 and "bad_parties.yaml:8: numbers[1].ring" in lines[0], res.output
