"""`ccctl replay`: a cc outbound IVR app answers a real call replayed from a FreeSWITCH wire capture."""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from cc.commands.output import dumps, out_console

__all__ = ["DemoResult", "default_capture", "replay", "run_demo"]

ROOT = Path(__file__).resolve().parents[2]


def default_capture() -> Path:
    """``$CC_ESL_CAPTURES/outbound_ivr.esl``, else the checkout's ``tests/data/esl-captures/outbound_ivr.esl``."""
    base = Path(os.environ.get("CC_ESL_CAPTURES", ROOT / "tests" / "data" / "esl-captures"))
    return base / "outbound_ivr.esl"


@dataclass
class DemoResult:
    """What the demo call did: steps (ms since the call came in, what, result) and what it saw."""

    capture: str
    uuid: str = ""
    caller: str = ""
    destination: str = ""
    steps: list[tuple[float, str, str]] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    digits: str | None = None
    dtmf: list[str] = field(default_factory=list)
    outcome: str = ""
    setup_ms: float = 0.0
    total_ms: float = 0.0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"capture": self.capture, "uuid": self.uuid, "caller": self.caller,
                "destination": self.destination,
                "steps": [{"at_ms": round(t, 1), "step": s, "result": r} for t, s, r in self.steps],
                "events": dict(self.events), "digits": self.digits, "dtmf": self.dtmf,
                "outcome": self.outcome, "setup_ms": round(self.setup_ms, 2),
                "total_ms": round(self.total_ms, 1), "replay_mismatches": self.problems}


def _settings(sends: list[bytes]) -> dict[str, Any]:
    """How the captured client talked (linger, addressed sendmsg, event-lock), so cc talks the same."""
    linger: bool | int = False
    for s in sends:
        m = re.fullmatch(rb"linger(?: (\d+))?\n\n", s)
        if m:
            linger = int(m.group(1)) if m.group(1) else True
    msgs = [s for s in sends if s.startswith(b"sendmsg")]
    return {"linger": linger, "addressed": bool(msgs) and msgs[0].startswith(b"sendmsg "),
            "event_lock": any(b"event-lock: true" in s for s in msgs)}


def run_demo(capture: Path, speed: float = 5.0, timeout: float = 60.0) -> DemoResult:
    """Start an OutboundServer on loopback, replay ``capture``'s FreeSWITCH side into it, run the IVR."""
    import gevent

    from cc.errors import CallGone, ESLError
    from cc.esl.capture import read_capture
    from cc.esl.outbound import CallChannel, OutboundServer
    from cc.esl.replay import dial_async

    cap = read_capture(capture)
    res = DemoResult(capture=str(capture))
    t0 = [time.monotonic()]

    def step(what: str, result: str) -> None:
        res.steps.append(((time.monotonic() - t0[0]) * 1000, what, result))

    def ivr(ch: CallChannel) -> None:
        res.setup_ms = (time.monotonic() - t0[0]) * 1000
        res.uuid = ch.uuid
        res.caller = ch.channel_data.header("Caller-Caller-ID-Number") or ""
        res.destination = ch.channel_data.header("Caller-Destination-Number") or ""
        ch.on("*", lambda ev: res.events.update([ev.name or "?"]))
        step("connect", f"channel data: {len(ch.channel_data.headers())} headers")
        try:
            step("answer", ch.answer().application_response or "")
            step("playback welcome", ch.playback("/tmp/cc_prompts/tone2s.wav").application_response or "")
            res.digits = ch.play_and_get_digits(1, 3, 1, 5000, "#", "/tmp/cc_prompts/tone2s.wav",
                                                "/tmp/cc_prompts/tone1s.wav", "cc_digits", "\\d+")
            step("play_and_get_digits", f"digits={res.digits!r}")
            ch.set("cc_x", "1")
            step("set cc_x=1", f"cc_x={ch.variable('cc_x')}")
            ch.export("cc_y", "2")
            step("export cc_y=2", f"export_vars={ch.variable('export_vars')}")
            path = f"/tmp/cc_rec/{ch.uuid}.wav"
            ch.record_session(path)
            step("record_session", path)
            br = ch.bridge("sofia/internal/agent@127.0.0.1:5090")
            step("bridge agent", f"DIALSTATUS={br.variable('DIALSTATUS')} "
                                 f"hangup={br.variable('bridge_hangup_cause')}")
            ch.stop_record_session(path)
            step("stop_record_session", f"record_ms={ch.variable('record_ms')}")
            ch.hangup("NORMAL_CLEARING")
            step("hangup", ch.hangup_cause or "")
            res.outcome = "completed"
        except CallGone as e:
            step("caller hung up", e.cause)
            res.outcome = f"caller hung up ({e.cause})"
        except ESLError as e:
            step("error", str(e))
            res.outcome = f"error: {e}"
        finally:
            res.dtmf = [ch.dtmf.get_nowait() for _ in range(ch.dtmf.qsize())]

    srv = OutboundServer("127.0.0.1", 0, ivr, command_timeout=10, **_settings([r.data for r in cap.sends]))
    srv.start()
    try:
        t0[0] = time.monotonic()
        g = dial_async("127.0.0.1", srv.address[1], cap.records, speed=speed)
        session = g.get(timeout=timeout)
        gevent.sleep(0.05)
        res.problems = list(session.problems)
    finally:
        srv.stop(timeout=1)
    res.total_ms = (time.monotonic() - t0[0]) * 1000
    if not res.outcome:
        res.outcome = "the call never reached the app"
    return res


def _print(res: DemoResult) -> None:
    from rich.table import Table

    con = out_console()
    con.print(f"[bold]ccctl replay[/bold]: a cc outbound app handled a call replayed from "
              f"[cyan]{Path(res.capture).name}[/cyan] (FreeSWITCH's side, over real TCP on 127.0.0.1)")
    con.print(f"call [bold]{res.uuid}[/bold] from {res.caller} to {res.destination}; "
              f"call set-up {res.setup_ms:.1f} ms")
    t = Table(title="What the app did")
    t.add_column("at (ms)", justify="right")
    t.add_column("step")
    t.add_column("result")
    for at, what, result in res.steps:
        t.add_row(f"{at:.1f}", what, result)
    con.print(t)
    ev = Table(title="Events seen on the call's socket")
    ev.add_column("event")
    ev.add_column("count", justify="right")
    for name, n in sorted(res.events.items()):
        ev.add_row(name, str(n))
    con.print(ev)
    con.print(f"DTMF heard: {' '.join(res.dtmf) or '-'}; digits collected: {res.digits!r}")
    con.print(f"outcome: [bold]{res.outcome}[/bold]; total {res.total_ms / 1000:.2f} s")
    if res.problems:
        n = len(res.problems)
        con.print(f"[yellow]the app's commands differed from the capture's {n} time(s):[/yellow]")
        for p in res.problems:
            con.print(f"  {p[:160]}")


@click.command("replay")
@click.option("--capture", "capture", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="outbound capture to replay (default: tests/data/esl-captures/outbound_ivr.esl)")
@click.option("--speed", type=float, default=5.0, show_default=True,
              help="replay speed (1 = the capture's real timing)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object instead of tables")
def replay(capture: Path | None, speed: float, as_json: bool) -> None:
    """Run a small cc IVR against a real FreeSWITCH call replayed from a wire capture.

    cc starts its outbound ESL server on 127.0.0.1; the capture's FreeSWITCH side connects to it like
    the dialplan's `socket` application; the app answers, plays a prompt, collects digits, sets
    variables, records, bridges and hangs up; the summary shows what happened.

    \b
    Example:
      ccctl replay
      ccctl replay --speed 1 --capture tests/data/esl-captures/outbound_caller_hangup.esl
    """
    path = capture or default_capture()
    if not path.is_file():
        click.echo(f"ccctl replay: capture not found: {path} (set CC_ESL_CAPTURES or pass --capture)", err=True)
        raise SystemExit(2)
    if speed <= 0:
        click.echo(f"ccctl replay: --speed must be > 0, got {speed}", err=True)
        raise SystemExit(2)
    res = run_demo(path, speed=speed)
    if as_json:
        click.echo(dumps(res.as_dict()))
    else:
        _print(res)
