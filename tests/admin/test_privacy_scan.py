"""No unmasked number in what cc hands out to a user without reveal: a scan over the whole output of a run.

Calls from Chinese mobiles (written as the switch may write them) run through a real Service on cc.sim
with its API; everything that leaves cc is collected: every API answer and error, the event stream,
the live CLI's output, report exports (CSV, xlsx, JSON) and every log line of the run (through the
masking filter `ccctl serve` installs on its log handlers). Then one regex looks for the numbers.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import re
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import gevent
import pytest

from cc.privacy.logmask import MaskingFilter, install_log_masking
from cc.sim.endpoints import CallerSpec

from .conftest import Live, off_hub
from .test_api_live import wait_for

pytestmark = pytest.mark.timeout(90)

CALLERS = ("13812341234", "+8613912345678", "008615012345678")
#: the national digits of each caller: none of them may appear anywhere
NEEDLES = re.compile(r"13812341234|13912345678|15012345678")


def stream(live: Live, token: str, limit: int) -> str:
    """Read the event stream until ``limit`` events (off the hub)."""
    def run() -> str:
        req = urllib.request.Request(f"{live.url}/api/v1/events?limit={limit}",
                                     headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return str(resp.read().decode())
    return str(off_hub(run, timeout=40))


def reveal_refused(live: Live, token: str) -> str:
    """A reveal asked by a token without the permission: 403, nothing revealed."""
    def run() -> tuple[int, str]:
        req = urllib.request.Request(f"{live.url}/api/v1/calls", headers={
            "Authorization": f"Bearer {token}", "X-Reveal-Reason": "checking a complaint"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
    status, body = off_hub(run)
    assert status == 403 and "reveal" in body
    return str(body)


def xlsx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


def test_no_unmasked_number_leaves_cc_for_a_user_without_reveal(live: Live, tmp_path: Path) -> None:
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    install_log_masking(root)
    outputs: dict[str, str] = {}
    try:
        ctl = live.svc.controller
        assert ctl is not None
        sup, admin = live.tokens["supervisor"], live.tokens["admin"]
        for agent_id in ("1000", "1001", "1002"):
            live.http("POST", f"/api/v1/agents/{agent_id}/logout", admin, {})
        events = gevent.spawn(stream, live, sup, 6)
        gevent.sleep(0.3)
        handles = [live.sim.place_call(CallerSpec("7000", caller_id_number=c, patience=10_000)) for c in CALLERS]
        wait_for(lambda: sum(c["state"] == "queued" for c in ctl.calls()) == len(CALLERS))
        for method, path in (("GET", "/api/v1/calls"), ("GET", "/api/v1/status"), ("GET", "/api/v1/queues"),
                             ("GET", "/api/v1/queues/support"), ("GET", "/api/v1/agents")):
            outputs[path] = json.dumps(live.http(method, path, sup)[1], ensure_ascii=False)
        uuid = ctl.calls()[0]["uuid"]
        outputs["transfer 400"] = json.dumps(live.http("POST", f"/api/v1/calls/{uuid}/transfer", sup,
                                                       {"target": "13812341234!"})[1])
        outputs["reveal refused"] = reveal_refused(live, sup)
        outputs["call list"] = live.cli("call", "list", "--json").output + live.cli("call", "list").output
        outputs["queue status"] = live.cli("queue", "status", "support").output
        live.http("POST", "/api/v1/agents/1000/login", admin, {})        # answer one; the rest hang up
        wait_for(lambda: any(c["state"] == "talking" for c in ctl.calls()))
        for c in ctl.calls():
            live.http("POST", f"/api/v1/calls/{c['uuid']}/hangup", sup, {})
        for h in handles:
            off_hub(h.wait, 15)
        wait_for(lambda: not ctl.calls())
        outputs["events"] = events.get(timeout=30)
        assert live.svc.writer.flush(10)
        today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
        for name in ("calls", "queues", "agents", "all"):
            xlsx = tmp_path / f"{name}.xlsx"
            r = live.cli("report", name, "--from", today, "--xlsx", str(xlsx), "--json")
            assert r.exit_code == 0, r.output
            outputs[f"report {name}"] = r.output + xlsx_text(xlsx)
        csv = tmp_path / "calls.csv"
        assert live.cli("report", "calls", "--from", today, "--csv", str(csv)).exit_code == 0
        outputs["report calls csv"] = csv.read_text()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for h in root.handlers:
            for f in [f for f in h.filters if isinstance(f, MaskingFilter)]:
                h.removeFilter(f)
    outputs["logs"] = logs.getvalue()
    leaks = {name: NEEDLES.findall(text) for name, text in outputs.items() if NEEDLES.search(text)}
    assert leaks == {}, leaks
    # the run really carried the numbers: their masked forms are there
    everything = "\n".join(outputs.values())
    assert "138****1234" in outputs["/api/v1/calls"] and "+86139****5678" in outputs["/api/v1/calls"]
    assert "138****1234" in outputs["events"] and "138****1234" in outputs["logs"]
    assert "call_started" in outputs["events"]
    assert len(everything) > 10_000

