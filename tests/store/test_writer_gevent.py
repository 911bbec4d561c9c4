"""The writer in a gevent process: monkey-patched (the drainer is a greenlet) and not patched (the drainer
is a native thread, as when cc.service runs without patching). Either way greenlets submit without
waiting and the hub keeps running while the database is unreachable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import BACKENDS

SCRIPT = textwrap.dedent(
    """
    import sys
    from gevent import monkey
    if sys.argv[3] == "patched":
        monkey.patch_all()

    import json, socket, time
    import gevent
    from cc.model import QueueEvent, QueueEventType
    from cc.store.db import Database
    from cc.store.writer import Writer

    good_url, journal = sys.argv[1], sys.argv[2]
    probe = socket.socket(); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
    if good_url.startswith("sqlite"):
        bad_url = "sqlite:///" + journal + ".missing-dir/x.db"
    else:
        from sqlalchemy.engine import make_url
        bad_url = make_url(good_url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)

    def run(url, n, tag):
        w = Writer(Database(url), journal, max_queue=200, batch_size=100, backoff_initial_s=0.01,
                   backoff_max_s=0.05)
        ticks = []
        def ticker():
            while True:
                ticks.append(time.monotonic()); gevent.sleep(0.01)
        t = gevent.spawn(ticker)
        worst = 0.0
        def producer(k):
            nonlocal worst
            for i in range(n):
                t0 = time.perf_counter()
                w.submit(QueueEvent(f"{tag}{k}-{i}", 1.7e9 + i, "q", "m", QueueEventType.ENTER))
                worst = max(worst, time.perf_counter() - t0)
                gevent.sleep(0)
        gevent.joinall([gevent.spawn(producer, k) for k in range(20)])
        gevent.sleep(0.3)
        native = monkey.get_original("threading", "get_native_id")
        main_native = native()
        seen = []
        orig_sync = w.journal.sync
        def spy(**kw):
            seen.append(native())
            return orig_sync(**kw)
        w.journal.sync = spy
        w._wake.set(); gevent.sleep(0.1)
        kind = ("greenlet" if seen and all(n == main_native for n in seen)
                else "thread" if seen and all(n != main_native for n in seen) else "unknown")
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]  # before flush/close, which may block the caller
        stats = w.stats()
        flushed = w.flush(30) if url == good_url else False
        left = w.close(timeout=0.5)
        t.kill()
        return {"flushed": flushed, "left": left, "written": stats.written,
                "available": stats.database_available,
                "max_tick_gap_s": max(gaps) if gaps else None, "ticks": len(ticks),
                "worst_submit_s": worst, "drainer": kind}

    down = run(bad_url, 50, "a")     # database unreachable: 1000 records journaled, hub keeps ticking
    up = run(good_url, 50, "b")      # reachable: the journal is replayed, then the new records
    db = Database(good_url)
    with db.engine.connect() as c:
        from sqlalchemy import text
        n = c.execute(text("select count(*), count(distinct id) from queue_events")).one()
    print(json.dumps({"down": down, "up": up, "rows": list(n)}))
    """
)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", ["patched", "unpatched"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_writer_under_gevent(db_url: str, tmp_path: Path, mode: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, db_url, str(tmp_path / "g.journal"), mode],
        capture_output=True,
        text=True,
        timeout=80,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    down, up = out["down"], out["up"]
    expected = "greenlet" if mode == "patched" else "thread"
    assert down["drainer"] == up["drainer"] == expected
    assert not down["available"] and down["left"] == 1000 and down["written"] == 0
    assert down["ticks"] >= 20 and down["max_tick_gap_s"] < 0.5  # the hub was never held up
    assert up["flushed"] and up["left"] == 0
    assert out["rows"] == [2000, 2000]
