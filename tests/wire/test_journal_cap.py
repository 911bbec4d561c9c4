"""A writer journal at its cap (the database has not taken records for long): new calls are refused at the
door as ``refused:journal``, calls in progress go on, /healthz says degraded; all of it undone once the database
takes the backlog (cc.sim over TCP, SQLite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gevent
import pytest
from sqlalchemy.exc import OperationalError

from cc.api.app import ApiApp
from cc.api.metrics import MetricsCollector, render_metrics
from cc.model import Agent, QueueConfig, Tier
from cc.sim.endpoints import AgentSpec
from cc.store.writer import Writer
from tests.wire.harness import Harness

pytestmark = pytest.mark.timeout(60)


def one_agent() -> tuple[list[QueueConfig], list[tuple[Agent, AgentSpec]], list[Tier]]:
    """A queue ``support`` with agent 1001."""
    a = Agent("1001", name="Agent 1001", contact="user/1001@sim", wrap_up_s=1.0)
    return ([QueueConfig("support", moh="", announce_position=False)],
            [(a, AgentSpec(a.id, answer_after=1.0, talk_time=2.0))], [Tier(a.id, "support")])


def metrics(h: Harness) -> dict[str, float]:
    """The /metrics samples as {'name{labels}': value}."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(render_metrics(MetricsCollector(h.service)).decode()):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def healthz(app: ApiApp) -> tuple[int, dict[str, Any]]:
    """/healthz through the WSGI application."""
    status: list[str] = []
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz"}, lambda s, h: status.append(s)))
    return int(status[0].split()[0]), json.loads(body)


def test_a_full_journal_refuses_new_calls_until_the_database_takes_the_backlog(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Harness(tmp_path, *one_agent()) as h:
        assert h.service is not None and h.service.writer is not None
        writer = h.service.writer
        app = ApiApp(h.service)
        app.watch.start()
        app.watch.wait_first(5.0)
        down = [True]
        real_insert = Writer._insert

        def insert(self: Writer, grouped: Any) -> None:
            if down[0]:
                raise OperationalError("INSERT", {}, Exception("connection refused"))
            real_insert(self, grouped)

        monkeypatch.setattr(Writer, "_insert", insert)
        writer.max_queue = 1
        writer.journal.max_bytes = 600
        for _ in range(5):   # agent state records pile up in the journal while the database is away
            h.ctl.set_status("1001", h.ctl.acd.world.agents["1001"].status)
            h.ctl.logout("1001")
            h.ctl.login("1001")
            gevent.sleep(0.05)
        assert writer.stats().journal_level == "full"
        code, doc = healthz(app)
        assert code == 503 and doc["status"] == "degraded" and doc["writer"]["journal_level"] == "full"
        [refused] = h.wait([h.call("7000")])
        assert not refused.answered and refused.hangup_cause == "NORMAL_TEMPORARY_FAILURE"
        assert h.ctl.admission.by_reason.get("journal") == 1
        gevent.sleep(0.3)   # the refused call is hung up over the inbound link
        m = metrics(h)
        assert m['cc_admission_refused_total{reason="journal"}'] == 1.0
        assert m['cc_admission_refused_total{reason="lag"}'] == 0.0
        assert m['cc_journal_level{level="full"}'] == 1.0 and m['cc_journal_level{level="ok"}'] == 0.0
        assert m["cc_journal_bytes"] >= 600 and m["cc_journal_max_bytes"] == 600 and m["cc_journal_records"] > 0
        assert m['cc_settle_actions_total{kind="killed"}'] == 1.0   # the refused call, hung up over the link
        assert m["cc_leader"] == 1.0 and m['cc_leadership_role{role="single"}'] == 1.0
        down[0] = False
        assert writer.flush(20)
        assert writer.stats().journal_level == "ok"
        [served] = h.wait([h.call("7000")])
        assert served.answered and served.bridged_to
        h.settle()
        assert healthz(app)[1]["writer"]["journal_level"] == "ok"
        dispositions = sorted(c.disposition for c in h.calls())
        assert dispositions == ["answered", "refused:journal"]
        app.close()
