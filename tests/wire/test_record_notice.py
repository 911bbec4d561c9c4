"""The recording notice over real ESL against cc.sim (issue 19): a queue that records always records a caller who
heard the notice (in the flow or played by the queue), refuses one who did not (no uuid_record reaches the
switch; the refusal is on the channel and in the call's row), the API's record start answers 409, and a flow
with a path that records without the notice is refused when the controller loads it."""

from __future__ import annotations

import json
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
import pytest

from cc.clock import ScaledClock
from cc.config import NodeConfig, ServiceConfig
from cc.errors import FlowError
from cc.model import Agent, QueueConfig, RecordPolicy, Tier
from cc.sim.endpoints import AgentSpec, CallerSpec
from cc.sim.simulator import Simulator
from cc.store.db import Database, upgrade
from cc.store.repos import AgentRepo, CallRepo, QueueRepo, RecordingRepo, TierRepo
from cc.store.tokens import TokenRepo
from cc.store.users import UserRepo
from tests.calm_admission import TEST_OVERLOAD

pytestmark = pytest.mark.timeout(120)

SCALE = 0.02
NOTICE_FLOW = """
flow: recorded
record_notice: required
start: notice
nodes:
  notice: {record_notice: "silence_stream://500", next: q}
  q: {enqueue: support, next: bye}
  bye: {hangup: NORMAL_CLEARING}
"""
PLAIN_FLOW = """
flow: plain
record_notice: required
start: q
nodes:
  q: {enqueue: support, next: bye}
  bye: {hangup: NORMAL_CLEARING}
"""


@dataclass
class Center:
    """A Service on one simulator, with the uuid_record commands the switch received."""

    svc: Any
    sim: Simulator
    db: Database
    uuid_records: list[str]
    token: str

    def http(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One real HTTP request to the controller's API, run off the hub."""
        assert self.svc.api is not None
        url = self.svc.api.url

        def run() -> tuple[int, Any]:
            data = None if body is None else json.dumps(body).encode()
            req = urllib.request.Request(url + path, data=data, method=method)
            req.add_header("Content-Type", "application/json")
            req.add_header("Authorization", f"Bearer {self.token}")
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status, json.loads(resp.read() or b"null")
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read() or b"null")

        out: tuple[int, Any] = gevent.get_hub().threadpool.spawn(run).get(timeout=20)
        return out

    def settle(self) -> None:
        """Let the recording rows and the call rows reach the database."""
        gevent.sleep(0.5)
        ctl = self.svc.controller
        for _ in range(200):
            if not ctl.dispatcher.tasks:
                break
            gevent.sleep(0.05)
        assert self.svc.writer.flush(10)


@contextmanager
def center(tmp: Path, queue: QueueConfig, flow: str, *, talk_time: float = 20.0, notice: str = "optional",
           http: bool = False) -> Iterator[Center]:
    """A call center with one agent (1001) in ``queue`` and ``flow`` on 7000."""
    from cc.service import Service

    (tmp / "flows").mkdir(exist_ok=True)
    (tmp / "flows" / "f.yaml").write_text(textwrap.dedent(flow))
    url = f"sqlite:///{tmp}/cc.db"
    db = Database(url)
    upgrade(engine=db.engine)
    QueueRepo(db).create(queue)
    AgentRepo(db).create(Agent("1001", contact="user/1001@sim", wrap_up_s=1))
    TierRepo(db).add(Tier("1001", queue.name))
    UserRepo(db).add("boss")
    UserRepo(db).grant("boss", "admin", "*")
    token = TokenRepo(db).create("t-boss", user="boss")[1]
    sim = Simulator(time_scale=SCALE, agents=[AgentSpec("1001", answer_after=1, talk_time=talk_time)],
                    recordings_dir=tmp / "sim-rec")
    seen: list[str] = []
    real = sim.api.commands["uuid_record"]

    def uuid_record(arg: str) -> str:   # what reaches the switch over the inbound socket
        seen.append(arg)
        return real(arg)

    sim.api.commands["uuid_record"] = uuid_record
    sim.start()
    cfg = ServiceConfig(nodes=(NodeConfig("sim", *sim.inbound_address),), outbound_port=0, database_url=url,
                        flows_dir="flows", routes={"7000": "f.yaml"}, recordings_dir="recordings", base_dir=str(tmp),
                        record_notice=notice, http_listen="127.0.0.1:0" if http else None, overload=TEST_OVERLOAD)
    svc = Service(cfg, clock=ScaledClock(SCALE), database=db, journal_path=str(tmp / "journal.jsonl"))
    try:
        svc.start(wait_nodes=5)
        sim.socket_address = svc.outbound_address
        assert svc.controller is not None
        svc.controller.login("1001")
        yield Center(svc, sim, db, seen, token)
    finally:
        svc.stop(drain_timeout=2)
        sim.stop()
        db.dispose()


def _queue(**kw: Any) -> QueueConfig:
    return QueueConfig("support", moh="", announce_position=False, record_policy=RecordPolicy.ALWAYS, **kw)


def test_a_caller_notified_in_the_flow_is_recorded_by_the_queue(tmp_path: Path) -> None:
    with center(tmp_path, _queue(), NOTICE_FLOW) as c:
        [res] = [c.sim.place_call(CallerSpec("7000")).wait(30)]
        assert res.bridged_to
        c.settle()
        [rec] = list(RecordingRepo(c.db).scan(0, 4e9))
        assert "/support/" in rec.path and Path(rec.path).is_file()
        assert [a.split()[1] for a in c.uuid_records] == ["start", "stop"]
        [call] = list(CallRepo(c.db).scan(0, 4e9))
        assert call.recording_refused is None


def test_the_queue_plays_its_notice_to_a_caller_the_flow_did_not_notify(tmp_path: Path) -> None:
    with center(tmp_path, _queue(record_notice="silence_stream://300"), PLAIN_FLOW) as c:
        handle = c.sim.place_call(CallerSpec("7000"))
        assert handle.wait(30).bridged_to
        c.settle()
        assert len(list(RecordingRepo(c.db).scan(0, 4e9))) == 1
        [call] = list(CallRepo(c.db).scan(0, 4e9))
        assert call.recording_refused is None


def test_a_caller_who_did_not_hear_the_notice_is_not_recorded(tmp_path: Path) -> None:
    with center(tmp_path, _queue(), PLAIN_FLOW, talk_time=200) as c:
        handle = c.sim.place_call(CallerSpec("7000"))
        ctl = c.svc.controller
        for _ in range(400):
            if [x["state"] for x in ctl.calls()] == ["talking"]:
                break
            gevent.sleep(0.05)
        # the refusal is on the channel, for a restarted controller and for the switch's own CDR
        assert c.sim.api.execute("uuid_getvar", f"{handle.uuid} cc_rec_refused").strip() == "notice_not_played"
        assert ctl.calls()[0]["recording"] is None
        ctl.hangup_call(handle.uuid)
        handle.wait(30)
        c.settle()
        assert c.uuid_records == [], "no uuid_record reached the switch"
        assert list(RecordingRepo(c.db).scan(0, 4e9)) == []
        [call] = list(CallRepo(c.db).scan(0, 4e9))
        assert call.recording_refused == "notice_not_played"


def test_the_apis_record_start_is_409_without_the_notice(tmp_path: Path) -> None:
    q = QueueConfig("support", moh="", announce_position=False)   # records on demand only
    with center(tmp_path, q, PLAIN_FLOW, talk_time=200, http=True) as c:
        handle = c.sim.place_call(CallerSpec("7000"))
        ctl = c.svc.controller
        for _ in range(400):
            if [x["state"] for x in ctl.calls()] == ["talking"]:
                break
            gevent.sleep(0.05)
        status, body = c.http("POST", f"/api/v1/calls/{handle.uuid}/record", {"action": "start"})
        assert status == 409, body
        assert "recording notice is required" in json.dumps(body)
        assert c.uuid_records == []
        ctl.hangup_call(handle.uuid)
        handle.wait(30)
        c.settle()
        [call] = list(CallRepo(c.db).scan(0, 4e9))
        assert call.recording_refused == "notice_not_played"


def test_the_apis_record_start_works_after_the_notice(tmp_path: Path) -> None:
    q = QueueConfig("support", moh="", announce_position=False)
    with center(tmp_path, q, NOTICE_FLOW, talk_time=200, http=True) as c:
        handle = c.sim.place_call(CallerSpec("7000"))
        ctl = c.svc.controller
        for _ in range(400):
            if [x["state"] for x in ctl.calls()] == ["talking"]:
                break
            gevent.sleep(0.05)
        status, body = c.http("POST", f"/api/v1/calls/{handle.uuid}/record", {"action": "start"})
        assert status == 200 and body["recording"], body
        assert [a.split()[1] for a in c.uuid_records] == ["start"]
        ctl.hangup_call(handle.uuid)
        handle.wait(30)


def test_a_flow_recording_without_the_notice_is_refused_when_the_controller_loads_it(tmp_path: Path) -> None:
    flow = """
    flow: rec
    start: rec
    nodes:
      rec: {record_call: start, next: bye}
      bye: {hangup: NORMAL_CLEARING}
    """
    # cc.yaml recordings.notice: required applies to a flow without its own record_notice: key
    with pytest.raises(FlowError) as info, center(tmp_path, _queue(), flow, notice="required"):
        pass
    assert "f.yaml:5:" in str(info.value) and "record_call start may run before the caller heard" in str(info.value)
