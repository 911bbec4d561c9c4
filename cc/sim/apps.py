"""The dialplan applications (dptools) the simulator runs, with FreeSWITCH's responses and variables.

Each application is ``fn(channel, arg) -> Application-Response``; it may block the channel's session
greenlet for simulated time (playback, sleep, digit collection, bridge, park, echo).
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Callable

from cc.sim.channel import App, Channel

__all__ = ["APPS", "EAVESDROP_MODES", "collect_digits", "play_file", "split_args"]

log = logging.getLogger(__name__)

#: The applications by name (the simulator hands this table to its channels).
APPS: dict[str, App] = {}


def app(name: str) -> Callable[[App], App]:
    """Register a dialplan application under ``name``."""
    def deco(fn: App) -> App:
        APPS[name] = fn
        return fn
    return deco


def split_args(arg: str) -> list[str]:
    """Split an application argument on blanks, keeping 'single quoted' or "double quoted" parts."""
    try:
        lex = shlex.shlex(arg, posix=True)
        lex.whitespace_split = True
        lex.escape = ""
        lex.commenters = ""
        return list(lex)
    except ValueError:
        return arg.split()


def _broken(ch: Channel) -> bool:
    return ch.hungup or ch.break_requested or ch.next_program is not None


def play_file(ch: Channel, path: str, *, dtmf_stops: bool = False) -> str:
    """Play ``path`` for its duration; PLAYBACK_START/STOP; returns the Application-Response."""
    sim = ch.sim
    dur = sim.prompt_duration(path)
    if dur is None:
        log.info("call %s: playback of missing file %s", ch.uuid, path)
        return "PLAYBACK ERROR"
    ftype = [("Playback-File-Type", "local_stream")] if path.startswith("local_stream://") else []
    ch.fire("PLAYBACK_START", post=[*ftype, ("Playback-File-Path", path)])
    if ch.endpoint is not None and not ftype:      # a called party hears a message (cc.sim.parties counts it)
        ch.endpoint.on_playback(ch, path)
    start = ch.now()   # the timer that started it (a broadcast 0.2 s after a hold), not when this greenlet ran
    ch.wait(dur, lambda: _broken(ch) or (dtmf_stops and bool(ch.dtmf)))
    played = min(dur, max(0.0, ch.now() - start))
    ms = int(played * 1000)
    ch.set_var("playback_seconds", str(ms // 1000))
    ch.set_var("playback_ms", str(ms))
    ch.set_var("playback_samples", str(ms * 8))
    ch.set_var("playback_last_offset_pos", str(ms * 8))
    if ch.hungup:
        status, resp = "break", "PLAYBACK ERROR"
    elif played + 1e-9 < dur:
        status, resp = "break", "FILE PLAYED"
    else:
        status, resp = "done", "FILE PLAYED"
    ch.fire("PLAYBACK_STOP", post=[*ftype, ("Playback-File-Path", path), ("Playback-Status", status)])
    ch.break_requested = False
    return resp


def collect_digits(ch: Channel, *, min_digits: int, max_digits: int, timeout_ms: int, terminators: str,
                   prompt: str, digit_timeout_ms: int) -> tuple[str, str, str]:
    """One attempt of switch_ivr_read: play the prompt (cut by a digit), then collect.

    Returns (digits, terminator used or "", status) with status success | timeout | failure.
    """
    if terminators.lower() == "none":
        terminators = ""
    ch.dtmf = ""
    if ch.endpoint is not None:
        ch.endpoint.on_collect(ch)
    if prompt and prompt not in ("silence", "''"):
        play_file(ch, prompt, dtmf_stops=True)
    digits = ""
    term = ""
    status = "success"
    while not ch.hungup:
        while ch.dtmf and not term and len(digits) < max_digits:
            d, ch.dtmf = ch.dtmf[0], ch.dtmf[1:]
            if d in terminators:
                term = d
            else:
                digits += d
        if term or len(digits) >= max_digits:
            break
        wait_ms = digit_timeout_ms if digits else timeout_ms
        if not ch.wait(wait_ms / 1000.0, lambda: ch.hungup or bool(ch.dtmf)):
            status = "timeout"
            break
    if ch.hungup:
        return digits, term, "failure"
    if status == "timeout" and digits and len(digits) >= min_digits:
        status = "success"
    elif status == "success" and len(digits) < min_digits:
        status = "failure"
    return digits, term, status


def _int(v: str, default: int) -> int:
    try:
        return int(v)
    except ValueError:
        return default


@app("answer")
def _answer(ch: Channel, arg: str) -> str:
    ch.answer()
    return "_none_"


@app("pre_answer")
def _pre_answer(ch: Channel, arg: str) -> str:
    ch.pre_answer()
    return "_none_"


@app("ring_ready")
def _ring_ready(ch: Channel, arg: str) -> str:
    ch.ring_ready()
    return "_none_"


@app("playback")
def _playback(ch: Channel, arg: str) -> str:
    return play_file(ch, arg.strip())


def _idle(ch: Channel, seconds: float | None) -> None:
    """Wait (None: until broken), running uuid_broadcast applications that arrive meanwhile."""
    sched = ch.sim.scheduler
    end = None if seconds is None else sched.now() + seconds
    while not _broken(ch):
        left = None if end is None else end - sched.now()
        if left is not None and left <= 0:
            return
        ch.wait(left, lambda: _broken(ch) or bool(ch.broadcasts))
        if ch.broadcasts and not _broken(ch):
            ch.run_broadcasts()


@app("sleep")
def _sleep(ch: Channel, arg: str) -> str:
    _idle(ch, _int(arg.strip() or "0", 0) / 1000.0)
    return "_none_"


@app("play_and_get_digits")
def _pagd(ch: Channel, arg: str) -> str:
    a = split_args(arg)
    if len(a) < 9:
        log.warning("call %s: play_and_get_digits needs 9 arguments, got %r", ch.uuid, arg)
        return "_none_"
    min_d, max_d, tries, timeout = (_int(x, d) for x, d in zip(a[:4], (0, 128, 1, 5000), strict=True))
    terminators, prompt, invalid, var, regex = a[4:9]
    digit_timeout = _int(a[9], timeout) if len(a) > 9 else timeout
    failure_ext = a[10:] if len(a) > 10 else []
    try:
        rx = re.compile(regex)
    except re.error:
        rx = re.compile(re.escape(regex))
    last = "timeout"
    for attempt in range(max(1, tries)):
        digits, term, status = collect_digits(ch, min_digits=min_d, max_digits=max_d, timeout_ms=timeout,
                                              terminators=terminators, prompt=prompt,
                                              digit_timeout_ms=digit_timeout)
        if ch.hungup:
            return "_none_"
        if term:
            ch.set_var("read_terminator_used", term)
        if (min_d == 0 and not digits) or (status == "success" and digits and rx.search(digits)):
            ch.set_var(var, digits)
            ch.set_var("read_result", "success")
            return "_none_"
        ch.set_var(f"{var}_invalid", digits)
        last = "timeout" if not digits else "failure"
        if attempt + 1 < tries and invalid and not invalid.startswith("silence_stream"):
            play_file(ch, invalid)
            if ch.hungup:
                return "_none_"
    ch.set_var(var, None)
    ch.set_var("read_result", last)
    if failure_ext:
        ch.transfer(ch.sim.route(ch, failure_ext[0]))
    return "_none_"


@app("read")
def _read(ch: Channel, arg: str) -> str:
    a = split_args(arg)
    if len(a) < 4:
        log.warning("call %s: read needs at least 4 arguments, got %r", ch.uuid, arg)
        return "_none_"
    min_d, max_d = _int(a[0], 0), _int(a[1], 128)
    prompt, var = a[2], a[3]
    timeout = _int(a[4], 5000) if len(a) > 4 else 5000
    terminators = a[5] if len(a) > 5 else "#"
    digit_timeout = _int(a[6], timeout) if len(a) > 6 else timeout
    digits, term, status = collect_digits(ch, min_digits=min_d, max_digits=max_d, timeout_ms=timeout,
                                          terminators=terminators, prompt=prompt, digit_timeout_ms=digit_timeout)
    if ch.hungup:
        return "_none_"
    if term:
        ch.set_var("read_terminator_used", term)
    ch.set_var(var, digits)
    ch.set_var("read_result", status)
    return "_none_"


def _split_assignment(arg: str) -> tuple[str, str | None]:
    k, sep, v = arg.partition("=")
    return k.strip(), (v if sep else None)


@app("set")
def _set(ch: Channel, arg: str) -> str:
    k, v = _split_assignment(arg)
    if k:
        ch.set_var(k, v if v else None)
    return "_none_"


@app("multiset")
def _multiset(ch: Channel, arg: str) -> str:
    for part in split_args(arg):
        _set(ch, part)
    return "_none_"


@app("export")
def _export(ch: Channel, arg: str) -> str:
    k, v = _split_assignment(arg)
    local = True
    if k.startswith("nolocal:"):
        k, local = k[len("nolocal:"):], False
    if k:
        if local:
            ch.set_var(k, v if v else None)
        names = [n for n in (ch.variables.get("export_vars") or "").split(",") if n]
        if k not in names:
            names.append(k)
        ch.set_var("export_vars", ",".join(names))
    return "_none_"


@app("unset")
def _unset(ch: Channel, arg: str) -> str:
    ch.set_var(arg.strip(), None)
    return "_none_"


@app("hangup")
def _hangup(ch: Channel, arg: str) -> str:
    ch.hangup(arg.strip() or "NORMAL_CLEARING")
    return "_none_"


@app("park")
def _park(ch: Channel, arg: str) -> str:
    ch.park_loop("park")
    return "_none_"


@app("echo")
def _echo(ch: Channel, arg: str) -> str:
    _idle(ch, None)
    ch.break_requested = False
    return "_none_"


@app("transfer")
def _transfer(ch: Channel, arg: str) -> str:
    a = split_args(arg)
    if a:       # switch_ivr_session_transfer, as uuid_transfer: a new profile, routing again
        ch.sim.transfer(ch, a[0], a[1] if len(a) > 1 else "XML", a[2] if len(a) > 2 else None)
    return "_none_"


@app("bridge")
def _bridge(ch: Channel, arg: str) -> str:
    ch.sim.bridge_app(ch, arg.strip())
    return "_none_"


@app("record_session")
def _record_session(ch: Channel, arg: str) -> str:
    a = split_args(arg)
    if a:
        ch.sim.start_recording(ch, a[0], "record_session")
    return "_none_"


@app("stop_record_session")
def _stop_record_session(ch: Channel, arg: str) -> str:
    ch.sim.stop_recording(ch, arg.strip() or "all", "success-maxtime")
    return "_none_"


@app("say")
def _say(ch: Channel, arg: str) -> str:
    """mod_say: ``<module>[:<lang>] <type> <method> [<gender>] <text>``; about 0.6 s per word spoken."""
    a = split_args(arg)
    if len(a) < 4:
        log.warning("call %s: say needs <module> <type> <method> <text>, got %r", ch.uuid, arg)
        return "_none_"
    text = a[-1]
    words = max(1, len(text) if a[1].lower() in ("number", "items", "persons", "messages") else len(text.split()))
    ch.wait(0.6 * words, lambda: _broken(ch))   # uuid_break ends it: switch_ivr_play_file takes CF_BREAK
    ch.break_requested = False
    return "_none_"


@app("record")
def _record(ch: Channel, arg: str) -> str:
    """``record <path> [<time_limit_secs>] [<silence_thresh>] [<silence_hits>]``: the caller says nothing,
    so the recording ends after ``silence_hits`` seconds of silence (or the limit, or a DTMF terminator)."""
    a = split_args(arg)
    if not a:
        return "_none_"
    limit = float(_int(a[1], 0)) if len(a) > 1 else 0.0
    silence = float(_int(a[3], 3)) if len(a) > 3 else 3.0
    dur = min(limit, silence) if limit > 0 else silence
    ch.dtmf = ""
    path = a[0]
    ch.sim.start_recording(ch, path, "record")
    ch.wait(dur, lambda: ch.hungup or bool(ch.dtmf))
    ch.sim.stop_recording(ch, path, "success-silence" if not ch.hungup else "hangup")
    return "_none_"


#: eavesdrop_enable_dtmf: 0 back to listening, 1 talk to the other leg, 2 talk to the target, 3 three-way
EAVESDROP_MODES = {"0": "listen", "1": "other", "2": "target", "3": "three_way"}
_BUG_STOP = ("switch_core_media_bug.c", "switch_core_media_bug_destroy", "84")


@app("eavesdrop")
def _eavesdrop(ch: Channel, arg: str) -> str:
    """``eavesdrop <uuid>``: a media bug on the target until this leg, or the target, goes (or ``*``).

    The digits 0-3 change the mode (``ch.eavesdrop_mode``) and ``*`` leaves; none of that fires an event.
    """
    target = ch.sim.channels.get(arg.strip())
    if target is None or target.hungup:
        return "_none_"
    bug = [("Media-Bug-Function", "eavesdrop"), ("Media-Bug-Target", target.uuid)]
    target.fire("MEDIA_BUG_START", pre=bug)
    ch.eavesdrop_mode = "listen"
    ch.dtmf = ""
    leave = False
    while not (ch.hungup or target.hungup or leave or ch.next_program is not None):
        ch.wait(None, lambda: ch.hungup or target.hungup or bool(ch.dtmf) or ch.next_program is not None)
        while ch.dtmf:
            d, ch.dtmf = ch.dtmf[0], ch.dtmf[1:]
            if d == "*":
                leave = True
            elif d in EAVESDROP_MODES:
                ch.eavesdrop_mode = EAVESDROP_MODES[d]
    ch.eavesdrop_mode = None
    if not target.gone.is_set():
        target.fire("MEDIA_BUG_STOP", pre=bug, calling=_BUG_STOP)
    return "_none_"


@app("socket")
def _socket(ch: Channel, arg: str) -> str:
    ch.sim.socket_app(ch, arg.strip())
    return ch.last_response


for _noop in ("log", "info", "event", "respond", "set_global", "hash", "db", "limit", "sched_hangup",
              "set_user", "set_profile_var", "send_display", "start_dtmf", "stop_dtmf", "phrase_note"):
    APPS[_noop] = lambda ch, arg: "_none_"
