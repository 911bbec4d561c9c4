"""The api commands the simulator answers, with FreeSWITCH's exact output texts (see the captures)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import gevent

from cc.esl.protocol import new_uuid, url_encode
from cc.sim.channel import Channel, Program, Switch
from cc.sim.events import SimEvent

__all__ = ["VERSION", "Api", "ApiSwitch", "parse_originate"]

log = logging.getLogger(__name__)

VERSION = "1.11.3-dev git cc93a68 2026-08-21 14:10:14Z 64bit"
NO_CHANNEL = "-ERR No such channel!\n"

_CHANNEL_COLS = ("uuid", "direction", "created", "created_epoch", "name", "state", "cid_name", "cid_num",
                 "ip_addr", "dest", "application", "application_data", "dialplan", "context", "read_codec",
                 "read_rate", "read_bit_rate", "write_codec", "write_rate", "write_bit_rate", "secure",
                 "hostname", "presence_id", "presence_data", "accountcode", "callstate", "callee_name",
                 "callee_num", "callee_direction", "call_uuid", "sent_callee_name", "sent_callee_num",
                 "initial_cid_name", "initial_cid_num", "initial_ip_addr", "initial_dest", "initial_dialplan",
                 "initial_context")
_CALL_A = ("uuid", "direction", "created", "created_epoch", "name", "state", "cid_name", "cid_num", "ip_addr",
           "dest", "presence_id", "presence_data", "accountcode", "callstate", "callee_name", "callee_num",
           "callee_direction", "call_uuid", "hostname", "sent_callee_name", "sent_callee_num")
_CALL_B = ("b_uuid", "b_direction", "b_created", "b_created_epoch", "b_name", "b_state", "b_cid_name",
           "b_cid_num", "b_ip_addr", "b_dest", "b_presence_id", "b_presence_data", "b_accountcode",
           "b_callstate", "b_callee_name", "b_callee_num", "b_callee_direction", "b_sent_callee_name",
           "b_sent_callee_num", "call_created_epoch")


def parse_originate(arg: str) -> tuple[str, str, list[str]] | None:
    """Split ``originate`` arguments: (dial string, ``&app(args)`` or extension, the rest); None if bad."""
    s = arg.strip()
    if not s:
        return None
    depth = 0
    i = 0
    while i < len(s):
        c = s[i]
        if c in "{[<":
            depth += 1
        elif c in "}]>":
            depth -= 1
        elif c.isspace() and depth <= 0:
            break
        i += 1
    dial = s[:i]
    rest = s[i:].strip()
    if not rest:
        return None
    if rest.startswith("&"):
        paren = rest.find("(")
        if paren < 0:
            tok, _, more = rest.partition(" ")
            return dial, tok, more.split()
        close = rest.rfind(")")
        if close < paren:
            return None
        return dial, rest[:close + 1], rest[close + 1:].split()
    tok, _, more = rest.partition(" ")
    return dial, tok, more.split()


class ApiSwitch(Switch, Protocol):
    """What the api commands need of the switch beyond what a channel needs (cc.sim.Simulator has it)."""

    @property
    def sessions_since_startup(self) -> int:
        """Channels created since the switch started (``status``)."""

    @property
    def peak_sessions(self) -> int:
        """The most channels up at once (``status``)."""

    def originate(self, dial: str, *, extra_vars: Mapping[str, str] | None = None, timeout: float | None = None,
                  caller: Channel | None = None, after: list[Callable[[], None]] | None = None
                  ) -> tuple[Channel | None, str]:
        """Ring ``dial``; block until a leg answers (-> (leg, "SUCCESS")) or all fail (-> (None, cause))."""

    def uuid_bridge(self, a: Channel, b: Channel) -> None:
        """``uuid_bridge a b``: take both out of what they run and bridge them."""

    def transfer_program(self, ch: Channel, program: Program) -> None:
        """Make ``ch`` leave what it runs and run ``program``."""


class Api:
    """``execute(command, argument) -> output``: what `api` and `bgapi` run."""

    def __init__(self, sim: ApiSwitch) -> None:
        self.sim = sim
        self._after: dict[Any, list[Callable[[], None]]] = {}   # greenlet running a command -> its `after`
        self.commands: dict[str, Callable[[str], str]] = {
            "status": self.status, "version": self.version, "originate": self.originate,
            "uuid_bridge": self.uuid_bridge, "uuid_kill": self.uuid_kill, "uuid_transfer": self.uuid_transfer,
            "uuid_break": self.uuid_break, "uuid_broadcast": self.uuid_broadcast, "uuid_record": self.uuid_record,
            "uuid_setvar": self.uuid_setvar, "uuid_getvar": self.uuid_getvar, "uuid_exists": self.uuid_exists,
            "uuid_hold": self.uuid_hold, "uuid_answer": self.uuid_answer, "uuid_park": self.uuid_park,
            "uuid_setvar_multi": self.uuid_setvar_multi, "uuid_send_dtmf": self.uuid_send_dtmf,
            "uuid_recv_dtmf": self.uuid_recv_dtmf, "uuid_dump": self.uuid_dump,
            "show": self.show, "hupall": self.hupall, "reloadxml": lambda a: "+OK [Success]\n",
            "global_getvar": lambda a: "", "strftime": self.strftime, "uptime": self.uptime,
        }

    def execute(self, cmd: str, arg: str, conn: Any = None, after: list[Callable[[], None]] | None = None) -> str:
        """Run one api command; an unknown one answers ``-ERR <cmd> Command not found!``.

        ``after`` (bgapi): collects what must happen once the BACKGROUND_JOB is out (a failed originate's
        last leg events); without it that runs before this returns.
        """
        bus = self.sim.bus
        if bus.wanted("API", None):
            h = [*bus.core_headers("API"), ("API-Command", cmd)]
            if arg:
                h.append(("API-Command-Argument", arg))
            bus.publish(SimEvent("API", h))
        fn = self.commands.get(cmd.lower())
        if fn is None:
            return f"-ERR {cmd} Command not found!\n"
        me = gevent.getcurrent()
        pending: list[Callable[[], None]] = []
        outer = self._after.get(me)          # an api run from inside another one (an application)
        self._after[me] = pending
        try:
            return fn(arg)
        except Exception:
            log.exception("api %s %s failed", cmd, arg)
            return f"-ERR {cmd} failed\n"
        finally:
            if outer is None:
                del self._after[me]
            else:
                self._after[me] = outer
            if after is not None:
                after.extend(pending)
            else:
                for job in pending:
                    job()

    def _ch(self, uuid: str) -> Channel | None:
        ch = self.sim.channels.get(uuid)
        return ch if ch is not None and not ch.gone.is_set() else None

    # ------------------------------------------------------------------ system
    def status(self, arg: str) -> str:
        """``status``: FreeSWITCH's eight lines."""
        up = self.sim.scheduler.now()
        s = int(up)
        ms = int((up - s) * 1000)
        us = int((up - s) * 1_000_000) % 1000
        sess = len(self.sim.channels)
        return (f"UP 0 years, {s // 86400} days, {s // 3600 % 24} hours, {s // 60 % 60} minutes, {s % 60} seconds, "
                f"{ms} milliseconds, {us} microseconds\n"
                f"FreeSWITCH (Version {VERSION}) is ready\n"
                f"{self.sim.sessions_since_startup} session(s) since startup\n"
                f"{sess} session(s) - peak {self.sim.peak_sessions}, last 5min {self.sim.peak_sessions} \n"
                f"0 session(s) per Sec out of max 30, peak 30, last 5min 0 \n"
                f"1000 session(s) max\nmin idle cpu 0.00/99.00\nCurrent Stack Size/Max 240K/8192K\n")

    def version(self, arg: str) -> str:
        """``version``."""
        return f"FreeSWITCH Version {VERSION.split(' ')[0]}+cc.sim ({VERSION})\n"

    def uptime(self, arg: str) -> str:
        """``uptime``: seconds."""
        return str(int(self.sim.scheduler.now()))

    def strftime(self, arg: str) -> str:
        """``strftime [format]``."""
        return time.strftime(arg or "%Y-%m-%d %T", time.localtime(self.sim.scheduler.wall()))

    # ------------------------------------------------------------------ calls
    def originate(self, arg: str) -> str:
        """``originate <dial string> <&app(args)|extension> [dialplan] [context] [cid name] [cid num] [timeout]``."""
        parsed = parse_originate(arg)
        if parsed is None:
            return "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] " \
                   "[<cid_name>] [<cid_num>] [<timeout_sec>]\n"
        dial, target, rest = parsed
        extra: dict[str, str] = {}
        if len(rest) > 2 and rest[2] != "undef":
            extra["origination_caller_id_name"] = rest[2]
        if len(rest) > 3 and rest[3] != "undef":
            extra["origination_caller_id_number"] = rest[3]
        timeout = float(rest[4]) if len(rest) > 4 and rest[4].isdigit() else None
        if target.startswith("&"):
            m = re.match(r"&([\w-]+)(?:\((.*)\))?$", target, re.S)
            if m is None:
                return "-ERR INVALID_APPLICATION\n"
            program: Program | None = [(str(m.group(1)), str(m.group(2) or "").strip(), None)]
        else:
            program = None
        leg, cause = self.sim.originate(dial, extra_vars=extra, timeout=timeout,
                                        after=self._after.get(gevent.getcurrent()))
        if leg is None:
            return f"-ERR {cause}\n"
        if program is None:             # an extension: the leg runs the dialplan for it
            leg.profile["Destination-Number"] = target
            leg.profile["Context"] = rest[1] if len(rest) > 1 else "default"
            program = self.sim.route(leg, target)
        leg.start_session(program)
        return f"+OK {leg.uuid}\n"

    def uuid_bridge(self, arg: str) -> str:
        """``uuid_bridge <a> <b>`` -> ``+OK <b>``."""
        a = arg.split()
        if len(a) < 2:
            return "-USAGE: <uuid> <other_uuid>\n"
        ca, cb = self._ch(a[0]), self._ch(a[1])
        if ca is None or cb is None or ca.hungup or cb.hungup:
            return f"-ERR Invalid uuid {a[0] if ca is None or ca.hungup else a[1]}\n"
        self.sim.uuid_bridge(ca, cb)
        return f"+OK {cb.uuid}\n"

    def uuid_kill(self, arg: str) -> str:
        """``uuid_kill <uuid> [cause]``."""
        a = arg.split()
        if not a:
            return "-USAGE: <uuid> [cause]\n"
        ch = self._ch(a[0])
        if ch is None:
            return NO_CHANNEL
        ch.hangup(a[1] if len(a) > 1 else "NORMAL_CLEARING")
        return "+OK\n"

    def hupall(self, arg: str) -> str:
        """``hupall [cause] [var value]``."""
        a = arg.split()
        cause = a[0] if a else "NORMAL_CLEARING"
        for ch in list(self.sim.channels.values()):
            if len(a) >= 3 and ch.get_var(a[1]) != a[2]:
                continue
            ch.hangup(cause)
        return f"+OK hangup all channels with cause {cause}\n"

    def uuid_transfer(self, arg: str) -> str:
        """``uuid_transfer <uuid> [-bleg|-both] <dest> [dialplan] [context]``."""
        a = arg.split()
        if len(a) < 2:
            return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
        ch = self._ch(a[0])
        if ch is None:
            return NO_CHANNEL
        legs = [ch]
        rest = a[1:]
        mode = ""
        if rest[0] in ("-bleg", "-both"):
            mode = rest.pop(0)
            other = ch.bridged_to
            legs = ([other] if other else []) if mode == "-bleg" else [ch] + ([other] if other else [])
        if not rest:
            return "-USAGE: <uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]\n"
        dialplan = rest[1] if len(rest) > 1 else "XML"
        context = rest[2] if len(rest) > 2 else None
        for leg in legs:
            self.sim.transfer(leg, rest[0], dialplan, context)
        if mode == "-bleg" and legs and (ch.get_var("park_after_bridge") or "").lower() != "true":
            ch.hangup("NORMAL_CLEARING")     # the leg left behind has nothing more to run (the capture)
        return "+OK\n"

    def uuid_break(self, arg: str) -> str:
        """``uuid_break <uuid> [all]``: cut the current playback (and with ``all`` the queued ones).

        mod_commands sets CF_BREAK; whatever plays a file returns on it (switch_ivr_play_file), ``say`` too:
        mod_say plays its file_string through switch_ivr_play_file, so the whole say ends. The next queued
        application then runs (only ``all`` flushes them); the flag is cleared when an application starts.
        """
        a = arg.split()
        ch = self._ch(a[0]) if a else None
        if ch is None:
            return NO_CHANNEL
        if len(a) > 1 and a[1] == "all":
            ch.queue.clear()
        if ch.current_app in ("playback", "play_and_get_digits", "read", "sleep", "echo", "say"):
            ch.break_requested = True
            ch.poke()
        return "+OK\n"

    def uuid_broadcast(self, arg: str) -> str:
        """``uuid_broadcast <uuid> <path|app::args> [aleg|bleg|both]``."""
        a = arg.split()
        if len(a) < 2:
            return "-USAGE: <uuid> <path> [aleg|bleg|both]\n"
        ch = self._ch(a[0])
        if ch is None:
            return NO_CHANNEL
        what = a[1]
        leg = a[2] if len(a) > 2 else "aleg"
        app, arg2 = ("playback", what)
        if "::" in what:
            app, _, arg2 = what.partition("::")
        targets = [ch] if leg == "aleg" else ([ch.bridged_to] if leg == "bleg" else [ch, ch.bridged_to])
        for t in targets:
            if t is not None:
                self.sim.scheduler.call_later(0.2, t.broadcast, app, arg2, new_uuid())
        return "+OK Message sent\n"

    def uuid_record(self, arg: str) -> str:
        """``uuid_record <uuid> start|stop|mask|unmask <path> [limit]`` -> ``+OK Success``."""
        a = arg.split()
        if len(a) < 3:
            return "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>]\n"
        ch = self._ch(a[0])
        if ch is None:
            return NO_CHANNEL
        action, path = a[1].lower(), a[2]
        if action == "start":
            self.sim.start_recording(ch, path, "uuid_record")
        elif action == "stop":
            if not self.sim.stop_recording(ch, path, "success-maxtime"):
                return "-ERR Cannot Stop Recording\n"
        elif action not in ("mask", "unmask"):
            return "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>]\n"
        return "+OK Success\n"

    def uuid_setvar(self, arg: str) -> str:
        """``uuid_setvar <uuid> <var> [value]`` (no value: unset)."""
        a = arg.split(None, 2)
        if len(a) < 2:
            return "-USAGE: <uuid> <var> [value]\n"
        ch = self._ch(a[0])
        if ch is None:
            return NO_CHANNEL
        ch.set_var(a[1], a[2] if len(a) > 2 else None)
        return "+OK\n"

    def uuid_setvar_multi(self, arg: str) -> str:
        """``uuid_setvar_multi <uuid> <var>=<value>;<var>=<value>``."""
        a = arg.split(None, 1)
        if len(a) < 2:
            return "-USAGE: <uuid> <var>=<value>;<var>=<value>...\n"
        ch = self._ch(a[0])
        if ch is None:
            return NO_CHANNEL
        for part in a[1].split(";"):
            k, _, v = part.partition("=")
            if k.strip():
                ch.set_var(k.strip(), v or None)
        return "+OK\n"

    def uuid_getvar(self, arg: str) -> str:
        """``uuid_getvar <uuid> <var>``: the value, ``_undef_``, or no channel."""
        a = arg.split()
        if len(a) < 2:
            return "-USAGE: <uuid> <var>\n"
        ch = self._ch(a[0])
        if ch is None:
            return NO_CHANNEL
        v = ch.get_var(a[1])
        return v if v else "_undef_"

    def uuid_dump(self, arg: str) -> str:
        """``uuid_dump <uuid> [json]``: a CHANNEL_DATA event of the channel (mod_commands; plain or json)."""
        a = arg.split()
        if not a:
            return "-USAGE: <uuid> [format]\n"
        ch = self._ch(a[0])
        if ch is None:
            return NO_CHANNEL
        ev = SimEvent("CHANNEL_DATA", [*self.sim.bus.core_headers("CHANNEL_DATA"), *ch.headers(True)])
        if len(a) > 1 and a[1].lower() == "json":
            d: dict[str, str] = {}
            for k, v in ev.headers:
                d.setdefault(k, v)
            return json.dumps(d, separators=(",", ":"), ensure_ascii=False)
        plain = len(a) > 1 and a[1].lower() == "plain"   # txt (the default) is URL-encoded, plain is not
        return "".join(f"{k}: {v if plain else url_encode(v)}\n" for k, v in ev.headers)

    def uuid_exists(self, arg: str) -> str:
        """``uuid_exists <uuid>`` -> ``true`` / ``false``."""
        return "true" if self._ch(arg.strip()) is not None else "false"

    def uuid_hold(self, arg: str) -> str:
        """``uuid_hold [off|toggle] <uuid>``."""
        a = arg.split()
        mode = "on"
        if a and a[0] in ("off", "toggle"):
            mode = a.pop(0)
        ch = self._ch(a[0]) if a else None
        if ch is None:
            return NO_CHANNEL
        ch.set_hold((not ch.held) if mode == "toggle" else (mode == "on"), by="api")
        return "+OK Success\n"

    def uuid_answer(self, arg: str) -> str:
        """``uuid_answer <uuid>``."""
        ch = self._ch(arg.strip())
        if ch is None:
            return NO_CHANNEL
        ch.answer()
        return "+OK\n"

    def uuid_park(self, arg: str) -> str:
        """``uuid_park <uuid>``."""
        ch = self._ch(arg.strip())
        if ch is None:
            return NO_CHANNEL
        self.sim.transfer_program(ch, [("park", "", None)])
        return "+OK\n"

    def uuid_send_dtmf(self, arg: str) -> str:
        """``uuid_send_dtmf <uuid> <digits>``: the digits go to the far end (no event here)."""
        a = arg.split()
        if len(a) < 2 or self._ch(a[0]) is None:
            return NO_CHANNEL
        return "+OK Success\n"

    def uuid_recv_dtmf(self, arg: str) -> str:
        """``uuid_recv_dtmf <uuid> <digits>``: digits as if the caller pressed them (DTMF events)."""
        a = arg.split()
        if len(a) < 2:
            return "-USAGE: <uuid> <dtmf_data>\n"
        ch = self._ch(a[0])
        if ch is None:
            return "-ERR Cannot locate session!\n"   # mod_commands' text for this command
        at = 0.02                       # the capture: the DTMF event 20 ms after the reply
        for d in a[1]:
            if d in "wW":
                at += 0.5 if d == "w" else 1.0
            elif d in "0123456789*#ABCDabcd":
                self.sim.scheduler.call_later(at, ch.receive_dtmf, d.upper(), 2000, "APP")
                at += 0.1
        return f"+OK {a[0]} received DTMF {a[1]}.\n"

    # ------------------------------------------------------------------ show
    def _row(self, ch: Channel) -> dict[str, str]:
        p = ch.profile
        created = ch.times["Channel-Created-Time"] / 1e6
        return {
            "uuid": ch.uuid, "direction": ch.direction,
            "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
            "created_epoch": str(int(created)), "name": ch.name, "state": ch.state,
            "cid_name": p.get("Caller-ID-Name", ""), "cid_num": p.get("Caller-ID-Number", ""),
            "ip_addr": p.get("Network-Addr", ""), "dest": p.get("Destination-Number", ""),
            "application": ch.current_app or "", "application_data":
            ch.variables.get("current_application_data", "") if ch.current_app else "",
            "dialplan": p.get("Dialplan", ""), "context": p.get("Context", ""),
            "read_codec": "PCMU" if ch.media else "", "read_rate": "8000" if ch.media else "",
            "read_bit_rate": "64000" if ch.media else "", "write_codec": "PCMU" if ch.media else "",
            "write_rate": "8000" if ch.media else "", "write_bit_rate": "64000" if ch.media else "",
            "secure": "", "hostname": self.sim.bus.core.hostname, "presence_id": ch.presence_id,
            "presence_data": "", "accountcode": "", "callstate": ch.callstate,
            "callee_name": p.get("Callee-ID-Name", ""), "callee_num": p.get("Callee-ID-Number", ""),
            "callee_direction": "", "call_uuid": "", "sent_callee_name": "", "sent_callee_num": "",
            "initial_cid_name": p.get("Caller-ID-Name", ""), "initial_cid_num": p.get("Caller-ID-Number", ""),
            "initial_ip_addr": p.get("Network-Addr", ""), "initial_dest": p.get("Destination-Number", ""),
            "initial_dialplan": p.get("Dialplan", ""), "initial_context": p.get("Context", ""),
        }

    def show(self, arg: str) -> str:
        """``show channels|calls [count] [as json]``."""
        a = arg.split()
        if not a or a[0] not in ("channels", "calls"):
            return "-USAGE: show channels|calls [count] [as json]\n"
        as_json = a[-2:] == ["as", "json"]
        live = [c for c in self.sim.channels.values() if not c.gone.is_set()]
        live.sort(key=lambda c: c.times["Channel-Created-Time"])
        cols: tuple[str, ...]
        if a[0] == "channels":
            rows = [{k: self._row(c)[k] for k in _CHANNEL_COLS} for c in live]
            cols = _CHANNEL_COLS
        else:
            rows = []
            seen: set[str] = set()
            for c in live:
                if c.uuid in seen:
                    continue
                r = self._row(c)
                row = {k: r[k] for k in _CALL_A}
                b = c.bridged_to
                if b is not None and b.uuid not in seen:
                    rb = self._row(b)
                    for k in _CALL_B:
                        base = k[2:]
                        row[k] = rb.get(base, "") if k != "call_created_epoch" else r["created_epoch"]
                    seen.add(b.uuid)
                else:
                    row.update({k: "" for k in _CALL_B})
                seen.add(c.uuid)
                rows.append(row)
            cols = _CALL_A + _CALL_B
        if "count" in a:
            return f"\n{len(rows)} total.\n"
        if as_json:
            if not rows:
                return '{"row_count": 0}\n'
            return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"))
        lines = [",".join(cols)] + [",".join(r[k] for k in cols) for r in rows]
        return "\n".join(lines) + f"\n\n{len(rows)} total.\n"
