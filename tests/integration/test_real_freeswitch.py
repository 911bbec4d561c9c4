"""Against a real FreeSWITCH 1.10+ with freeswitch-conf/ installed: `pytest tests/integration --fs-host HOST`.

Skipped unless --fs-host is given (CI has no FreeSWITCH). The controller's outbound server must be
reachable from FreeSWITCH at the address of freeswitch-conf's dialplan (127.0.0.1:8084), so run these on
the FreeSWITCH host. Calls are made with FreeSWITCH's own loopback endpoint: no SIP phone is needed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gevent
import pytest

from cc.config import NodeConfig, ServiceConfig
from cc.esl.inbound import Switch
from cc.model import QueueConfig
from cc.service import Service
from cc.store.db import Database, upgrade
from cc.store.repos import CallRepo, QueueRepo
from tests.calm_admission import TEST_OVERLOAD

pytestmark = pytest.mark.timeout(60)


def test_event_socket_answers_status(fs: tuple[str, int, str]) -> None:
    sw = Switch(*fs)
    sw.connect()
    try:
        assert "UP" in sw.api("status")
        assert sw.api("uuid_exists 00000000-0000-0000-0000-000000000000").strip() == "false"
    finally:
        sw.close()


def test_originate_park_then_kill(fs: tuple[str, int, str]) -> None:
    sw = Switch(*fs)
    sw.connect()
    sw.subscribe(["CHANNEL_HANGUP_COMPLETE"])
    try:
        # vanilla's default context answers 9196 with an echo: a channel with no phone at all
        job = sw.bgapi("originate {origination_uuid=cc-it-0001,originate_timeout=5}loopback/9196/default &park()")
        body = job.wait(15)
        assert body.startswith("+OK"), body
        uuid = body.split()[1]
        assert sw.api(f"uuid_exists {uuid}").strip() == "true"
        assert sw.api(f"uuid_kill {uuid}").startswith("+OK")
        deadline = gevent.get_hub().loop.now() + 10
        while gevent.get_hub().loop.now() < deadline:
            ev = sw.events.get(timeout=10)
            if ev.name == "CHANNEL_HANGUP_COMPLETE" and ev.uuid == uuid:
                break
        else:
            pytest.fail("no CHANNEL_HANGUP_COMPLETE for the killed leg")
    finally:
        sw.close()


def test_a_call_to_7000_reaches_the_controller_and_is_recorded(fs: tuple[str, int, str]) -> None:
    work = Path(tempfile.mkdtemp(prefix="cc-it-"))
    (work / "hello.yaml").write_text(
        "flow: hello\nstart: hi\nnodes:\n  hi: {play: 'tone_stream://%(500,0,440)', next: bye}\n"
        "  bye: {hangup: NORMAL_CLEARING}\n")
    db = Database(f"sqlite:///{work}/cc.db")
    upgrade(engine=db.engine)
    QueueRepo(db).create(QueueConfig("support"))
    host, port, password = fs
    cfg = ServiceConfig(nodes=(NodeConfig("fs", host, port, password),), outbound_host="127.0.0.1",
                        outbound_port=8084, database_url=db.url, flows_dir=str(work),
                        routes={"7000": "hello.yaml"}, base_dir=str(work), overload=TEST_OVERLOAD)
    svc = Service(cfg, database=db, journal_path=str(work / "journal.jsonl"))
    svc.start(wait_nodes=10)
    try:
        sw = svc.controller.nodes.nodes[0].switch  # type: ignore[union-attr]
        # the loopback leg dials 7000 in the public context: freeswitch-conf hands it to cc's socket
        body = sw.bgapi("originate loopback/7000/public &park()").wait(20)
        assert body.startswith("+OK"), body
        deadline = gevent.get_hub().loop.now() + 20
        calls: list[object] = []
        while gevent.get_hub().loop.now() < deadline and not calls:
            gevent.sleep(0.5)
            assert svc.writer is not None
            svc.writer.flush(5)
            calls = [c for c in CallRepo(db).scan(0, 4e9) if c.flow == "hello"]  # type: ignore[attr-defined]
        assert calls, "the call to 7000 reached cc and was written"
    finally:
        svc.stop(drain_timeout=5)
