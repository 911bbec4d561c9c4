"""The controller's configuration file (cc.yaml): FreeSWITCH nodes, the outbound listener, flows, store.

Example::

    nodes:
      - {name: fs1, host: 127.0.0.1, port: 8021, password: ClueCon}
    outbound: {listen: 127.0.0.1:8084}
    database: sqlite:///cc.db            # or the CC_DATABASE_URL environment variable
    flows:
      dir: flows
      routes: {"7000": main_menu.yaml, "7001": support.yaml}
      default: main_menu.yaml
    recordings: {dir: recordings, notice: optional}   # notice: required -> no recording before the notice
    moh: local_stream://moh
    callback: {dial: "sofia/gateway/carrier/{number}", caller_id: "+15551230000"}
    drain_timeout: 30s
    overload: {max_lag: 500ms, max_busy: 0.95, hold: 2s, max_calls: 0, cause: NORMAL_TEMPORARY_FAILURE}
    reconcile: {interval: 30s, grace: 10s, release_agent: 30s}
    ha: {role: auto, lock_id: 4242, check_interval: 1s, takeover_after: 3s}   # PostgreSQL only
    journal: {max_size: 1GiB, warn_at: 0.8}   # records waiting for the database; at the cap new calls are refused
    web: {secret_key: "...", reasons: [break, meal, training], result_required: [sales]}   # docs/web.md

Every problem is reported as ``file:line:col: path: what`` (a ConfigError), all of them at once.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cc.errors import ConfigError
from cc.ivr_dsl.loader import Doc, read_yaml, read_yaml_file
from cc.privacy.policy import DATA_TYPES, RetentionPolicy, parse_age

__all__ = ["CallbackConfig", "HaConfig", "JournalConfig", "Label", "NodeConfig", "OverloadConfig", "ReconcileConfig",
           "ServiceConfig", "WebConfig", "load_config", "parse_config", "parse_duration", "parse_size"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$")
_SIZE_UNITS = {None: 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def parse_size(value: object) -> int:
    """Bytes from ``1048576``, ``512MB``, ``1GiB`` (B, KB, MB, GB, KiB, MiB, GiB); ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a size, not a boolean")
    if isinstance(value, int):
        if value < 1:
            raise ValueError("a size must be at least 1 byte")
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ValueError(f"not a size: {value!r} (write 512MB, 1GiB or a number of bytes)")
    size = int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])
    if size < 1:
        raise ValueError("a size must be at least 1 byte")
    return size


def parse_duration(value: object) -> float:
    """Seconds from ``30``, ``30s``, ``250ms``, ``2m`` or ``1h``; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("a duration, not a boolean")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (write 30s, 250ms, 2m or 1h)")
    scale = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]
    return float(m.group(1)) * scale


@dataclass(frozen=True)
class NodeConfig:
    """One FreeSWITCH server cc connects to over inbound ESL."""

    name: str
    host: str = "127.0.0.1"
    port: int = 8021
    password: str = "ClueCon"
    hostname: str | None = None  # FreeSWITCH-Hostname, to tell which node an outbound call came from


@dataclass(frozen=True)
class CallbackConfig:
    """How a queue callback reaches the customer: a dial-string template with ``{number}``."""

    dial: str = "sofia/internal/{number}"
    caller_id: str = ""
    timeout_s: float = 30.0


@dataclass(frozen=True)
class OverloadConfig:
    """Admission control: when cc is behind, new calls are refused at the door (calls in progress go on).

    ``fallback`` (e.g. ``busy_message XML default``) sends a refused or given-up call there with
    ``uuid_transfer`` instead of hanging it up with ``cause``.
    """

    max_lag_s: float = 0.5            # event-loop lag above which new calls are refused
    max_busy: float = 0.95            # share of the last second the hub worked, above which they are (1: off)
    hold_s: float = 2.0               # refusing goes on this long after the lag is back under max_lag
    max_calls: int = 0                # calls in progress at most (0: no limit)
    max_pending: int = 0              # commands waiting on the inbound links at most (0: no limit)
    cause: str = "NORMAL_TEMPORARY_FAILURE"
    fallback: str = ""
    command_timeout_s: float = 10.0   # ESL command timeout (time the process was stalled is not counted)


@dataclass(frozen=True)
class ReconcileConfig:
    """The periodic reconciliation of cc's calls with each switch's ``show channels``."""

    interval_s: float = 30.0          # the safety pass (passes also run on events: give-ups, stalls, reconnects)
    grace_s: float = 10.0             # a channel in cc's socket application with no session, at least this long
    release_agent_s: float = 30.0     # an agent busy in the ACD with no channel on any switch this long is released


@dataclass(frozen=True)
class HaConfig:
    """A standby pair on one PostgreSQL: ``role`` off (one process, no lock) or auto (lead when the lock is free)."""

    role: str = "off"
    lock_id: int = 0x63630001        # the advisory lock's key, the same in both processes of a pair
    check_interval_s: float = 1.0     # the leader confirms its lock this often (the standby tries it as often)
    takeover_after_s: float = 3.0     # a standby that got the lock waits this long before it leads
    fence_s: float = 2.0              # a leader whose last confirmation is older stops routing (< takeover_after_s)


@dataclass(frozen=True)
class JournalConfig:
    """The store writer's journal (records spilled while the database does not take them)."""

    max_bytes: int = 1 << 30          # cap on the records not yet in the database; at it new calls are refused
    warn_share: float = 0.8           # share of the cap where one WARNING is logged and /healthz turns degraded


@dataclass(frozen=True)
class Label:
    """A code the pages offer (a not-ready reason, a call result) with its own labels; an empty label is the
    catalog's translation of the code's built-in name (docs/web.md)."""

    code: str
    zh: str = ""
    en: str = ""


@dataclass(frozen=True)
class WebConfig:
    """The web desktop served with the HTTP API (``web:``; docs/web.md)."""

    enabled: bool = True              #: serve the pages at / next to the API (needs http.listen or --http)
    secret_key: str = ""              #: signs session cookies; empty: generated once and kept in ``secret_file``
    secret_file: str = "cc-web-secret"   #: relative to the configuration's folder
    secure_cookie: str = "auto"       #: auto (Secure over HTTPS), always, never
    session_s: float = 12 * 3600.0    #: a session ends this long after sign-in
    region: str = "CN"                #: the region of numbers written without a country code
    timezone: str = "Asia/Shanghai"   #: the time zone times are shown and entered in (IANA name)
    reasons: tuple[Label, ...] = ()   #: not-ready reason codes (empty: break, meal, training, meeting)
    results: tuple[Label, ...] = ()   #: call results of queue calls (empty: the built-in set)
    result_required: tuple[str, ...] = ()   #: queues whose calls need a result before Ready ("*": all)


@dataclass(frozen=True)
class ServiceConfig:
    """Everything `ccctl serve` needs to run."""

    nodes: tuple[NodeConfig, ...] = (NodeConfig("fs1"),)
    outbound_host: str = "127.0.0.1"
    outbound_port: int = 8084
    database_url: str = "sqlite:///cc.db"
    flows_dir: str = "flows"
    routes: dict[str, str] = field(default_factory=dict)
    default_flow: str | None = None
    recordings_dir: str = "recordings"
    #: ``required``: cc starts no recording of a call before the caller heard the recording notice (a flow's
    #: record_notice node or the queue's record_notice prompt); flows without their own record_notice: key
    #: inherit it. ``optional`` (the default, as before): recordings need no notice
    record_notice: str = "optional"
    moh: str = "local_stream://moh"
    callback: CallbackConfig = CallbackConfig()
    drain_timeout_s: float = 30.0
    http_listen: str | None = None
    base_dir: str = "."
    overload: OverloadConfig = OverloadConfig()
    reconcile: ReconcileConfig = ReconcileConfig()
    ha: HaConfig = HaConfig()
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    journal: JournalConfig = JournalConfig()
    web: WebConfig = WebConfig()

    def flow_path(self, name: str) -> Path:
        """Where the flow file ``name`` lives (relative names are under ``flows_dir``)."""
        p = Path(name)
        if p.is_absolute():
            return p
        return Path(self.base_dir) / self.flows_dir / p


class _Reader:
    """Walks the YAML document, collecting every problem with its position."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        self.problems: list[str] = []

    def fail(self, path: tuple[str | int, ...], message: str, *, key: bool = False) -> None:
        self.problems.append(str(self.doc.problem(path, message, key=key)))

    def mapping(self, value: Any, path: tuple[str | int, ...], allowed: set[str]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, "expected a mapping")
            return {}
        for key in value:
            if key not in allowed:
                self.fail((*path, key), f"unknown key {key!r} (known: {', '.join(sorted(allowed))})",
                          key=True)
        return value

    def string(self, value: Any, path: tuple[str | int, ...], default: str) -> str:
        if value is None:
            return default
        if isinstance(value, (dict, list, bool)):
            self.fail(path, "expected a string")
            return default
        return str(value)

    def port(self, value: Any, path: tuple[str | int, ...], default: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
            self.fail(path, f"expected a port number 0-65535, not {value!r}")
            return default
        return value

    def share(self, value: Any, path: tuple[str | int, ...], default: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            self.fail(path, f"expected a share between 0 (excluded) and 1, not {value!r}")
            return default
        return float(value)

    def count(self, value: Any, path: tuple[str | int, ...], default: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(path, f"expected a whole number >= 0, not {value!r}")
            return default
        return value

    def duration(self, value: Any, path: tuple[str | int, ...], default: float) -> float:
        if value is None:
            return default
        try:
            return parse_duration(value)
        except ValueError as e:
            self.fail(path, str(e))
            return default

    def address(self, value: Any, path: tuple[str | int, ...], default: tuple[str, int]) -> tuple[str, int]:
        if value is None:
            return default
        text = str(value)
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not host:
            self.fail(path, f"expected HOST:PORT, not {text!r}")
            return default
        return host, self.port(int(port), path, default[1])


def _retention(r: _Reader, value: Any) -> RetentionPolicy:
    """``retention:``: a period per data type (180d, 2y, forever), how often and in what batches it runs."""
    raw = r.mapping(value, ("retention",), {*DATA_TYPES, "interval", "batch"})
    periods: dict[str, float | None] = {}
    for kind in DATA_TYPES:
        try:
            periods[kind] = parse_age(raw.get(kind))
        except ValueError as e:
            r.fail(("retention", kind), str(e))
            periods[kind] = None
    d = RetentionPolicy()
    interval = r.duration(raw.get("interval"), ("retention", "interval"), d.interval_s)
    if interval <= 0:
        r.fail(("retention", "interval"), "must be more than 0")
        interval = d.interval_s
    batch = r.count(raw.get("batch"), ("retention", "batch"), d.batch)
    if batch < 1:
        r.fail(("retention", "batch"), "must be at least 1")
        batch = d.batch
    return RetentionPolicy(periods=periods, interval_s=interval, batch=batch)


def parse_config(doc: Doc, *, base_dir: str = ".") -> ServiceConfig:
    """Build a ServiceConfig from a read YAML document; ConfigError lists every problem."""
    r = _Reader(doc)
    top = r.mapping(doc.value, (), {"nodes", "outbound", "database", "flows", "recordings", "moh",
                                     "callback", "drain_timeout", "http", "overload", "reconcile", "ha",
                                     "retention", "journal", "web"})
    nodes: list[NodeConfig] = []
    raw_nodes = top.get("nodes")
    if raw_nodes is None:
        nodes.append(NodeConfig("fs1"))
    elif not isinstance(raw_nodes, list) or not raw_nodes:
        r.fail(("nodes",), "expected a list of nodes ({name, host, port, password})")
    else:
        seen: set[str] = set()
        for i, raw in enumerate(raw_nodes):
            path: tuple[str | int, ...] = ("nodes", i)
            n = r.mapping(raw, path, {"name", "host", "port", "password", "hostname"})
            name = r.string(n.get("name"), (*path, "name"), f"fs{i + 1}")
            if name in seen:
                r.fail((*path, "name"), f"node name {name!r} is used twice")
            seen.add(name)
            hostname = n.get("hostname")
            nodes.append(NodeConfig(
                name=name,
                host=r.string(n.get("host"), (*path, "host"), "127.0.0.1"),
                port=r.port(n.get("port"), (*path, "port"), 8021),
                password=r.string(n.get("password"), (*path, "password"), "ClueCon"),
                hostname=None if hostname is None else r.string(hostname, (*path, "hostname"), ""),
            ))
    outbound = r.mapping(top.get("outbound"), ("outbound",), {"listen"})
    ob_host, ob_port = r.address(outbound.get("listen"), ("outbound", "listen"), ("127.0.0.1", 8084))
    flows = r.mapping(top.get("flows"), ("flows",), {"dir", "routes", "default"})
    routes_raw = flows.get("routes") or {}
    routes: dict[str, str] = {}
    if not isinstance(routes_raw, dict):
        r.fail(("flows", "routes"), "expected a mapping of number -> flow file")
    else:
        for number, flow in routes_raw.items():
            routes[str(number)] = r.string(flow, ("flows", "routes", number), "")
    recordings = r.mapping(top.get("recordings"), ("recordings",), {"dir", "notice"})
    notice = r.string(recordings.get("notice"), ("recordings", "notice"), "optional")
    if notice not in ("required", "optional"):
        r.fail(("recordings", "notice"), f"expected required or optional, not {notice!r}")
        notice = "optional"
    cb = r.mapping(top.get("callback"), ("callback",), {"dial", "caller_id", "timeout"})
    dial = r.string(cb.get("dial"), ("callback", "dial"), CallbackConfig.dial)
    if "{number}" not in dial:
        r.fail(("callback", "dial"), "the dial string must contain {number}")
    http = r.mapping(top.get("http"), ("http",), {"listen"})
    http_listen = None
    if http.get("listen") is not None:
        h, p = r.address(http.get("listen"), ("http", "listen"), ("127.0.0.1", 8080))
        http_listen = f"{h}:{p}"
    default_flow = flows.get("default")
    ov = r.mapping(top.get("overload"), ("overload",), {"max_lag", "hold", "max_calls", "max_pending", "cause",
                                                        "fallback", "command_timeout", "max_busy"})
    d = OverloadConfig()
    overload = OverloadConfig(
        max_lag_s=r.duration(ov.get("max_lag"), ("overload", "max_lag"), d.max_lag_s),
        hold_s=r.duration(ov.get("hold"), ("overload", "hold"), d.hold_s),
        max_busy=r.share(ov.get("max_busy"), ("overload", "max_busy"), d.max_busy),
        max_calls=r.count(ov.get("max_calls"), ("overload", "max_calls"), d.max_calls),
        max_pending=r.count(ov.get("max_pending"), ("overload", "max_pending"), d.max_pending),
        cause=r.string(ov.get("cause"), ("overload", "cause"), d.cause),
        fallback=r.string(ov.get("fallback"), ("overload", "fallback"), d.fallback),
        command_timeout_s=r.duration(ov.get("command_timeout"), ("overload", "command_timeout"),
                                     d.command_timeout_s))
    if not overload.cause.replace("_", "").isalnum() or not overload.cause.isupper():
        r.fail(("overload", "cause"), f"expected a hang-up cause such as NORMAL_TEMPORARY_FAILURE, "
                                      f"not {overload.cause!r}")
    if overload.command_timeout_s <= 0:
        r.fail(("overload", "command_timeout"), "must be more than 0")
    rc = r.mapping(top.get("reconcile"), ("reconcile",), {"interval", "grace", "release_agent"})
    dr = ReconcileConfig()
    reconcile = ReconcileConfig(interval_s=r.duration(rc.get("interval"), ("reconcile", "interval"), dr.interval_s),
                                grace_s=r.duration(rc.get("grace"), ("reconcile", "grace"), dr.grace_s),
                                release_agent_s=r.duration(rc.get("release_agent"), ("reconcile", "release_agent"),
                                                           dr.release_agent_s))
    if reconcile.interval_s <= 0:
        r.fail(("reconcile", "interval"), "must be more than 0")
    database_url = r.string(top.get("database"), ("database",), os.environ.get("CC_DATABASE_URL", "sqlite:///cc.db"))
    hr = r.mapping(top.get("ha"), ("ha",), {"role", "lock_id", "check_interval", "takeover_after", "fence"})
    dh = HaConfig()
    ha = HaConfig(role=r.string(hr.get("role"), ("ha", "role"), dh.role),
                  lock_id=r.count(hr.get("lock_id"), ("ha", "lock_id"), dh.lock_id),
                  check_interval_s=r.duration(hr.get("check_interval"), ("ha", "check_interval"), dh.check_interval_s),
                  takeover_after_s=r.duration(hr.get("takeover_after"), ("ha", "takeover_after"), dh.takeover_after_s),
                  fence_s=r.duration(hr.get("fence"), ("ha", "fence"), dh.fence_s))
    if ha.role not in ("off", "auto"):
        r.fail(("ha", "role"), f"expected off or auto, not {ha.role!r}")
    elif ha.role == "auto" and not database_url.startswith("postgresql"):
        r.fail(("ha", "role"), "a standby controller needs PostgreSQL (its advisory lock elects the leader); "
                               "on SQLite cc runs as one process: set ha.role to off")
    if ha.check_interval_s <= 0:
        r.fail(("ha", "check_interval"), "must be more than 0")
    if not ha.check_interval_s < ha.fence_s < ha.takeover_after_s:
        r.fail(("ha", "fence"), f"expected check_interval < fence < takeover_after, not {ha.check_interval_s:g} s, "
                                f"{ha.fence_s:g} s, {ha.takeover_after_s:g} s")
    cfg = ServiceConfig(
        nodes=tuple(nodes),
        outbound_host=ob_host,
        outbound_port=ob_port,
        database_url=database_url,
        flows_dir=r.string(flows.get("dir"), ("flows", "dir"), "flows"),
        routes=routes,
        default_flow=None if default_flow is None else r.string(default_flow, ("flows", "default"), ""),
        recordings_dir=r.string(recordings.get("dir"), ("recordings", "dir"), "recordings"),
        record_notice=notice,
        moh=r.string(top.get("moh"), ("moh",), "local_stream://moh"),
        callback=CallbackConfig(dial=dial,
                                caller_id=r.string(cb.get("caller_id"), ("callback", "caller_id"), ""),
                                timeout_s=r.duration(cb.get("timeout"), ("callback", "timeout"), 30.0)),
        drain_timeout_s=r.duration(top.get("drain_timeout"), ("drain_timeout",), 30.0),
        http_listen=http_listen,
        base_dir=base_dir,
        overload=overload,
        reconcile=reconcile,
        ha=ha,
        retention=_retention(r, top.get("retention")),
        journal=_journal(r, top.get("journal")),
        web=_web(r, top.get("web")),
    )
    if r.problems:
        raise ConfigError("\n".join(r.problems), file=doc.file)
    return cfg


def _journal(r: _Reader, value: Any) -> JournalConfig:
    """The ``journal:`` section."""
    j = r.mapping(value, ("journal",), {"max_size", "warn_at"})
    d = JournalConfig()
    max_bytes = d.max_bytes
    if j.get("max_size") is not None:
        try:
            max_bytes = parse_size(j["max_size"])
        except ValueError as e:
            r.fail(("journal", "max_size"), str(e))
    warn_share = r.share(j.get("warn_at"), ("journal", "warn_at"), d.warn_share)
    return JournalConfig(max_bytes=max_bytes, warn_share=warn_share)


def _labels(r: _Reader, value: Any, key: str) -> tuple[Label, ...]:
    """A list of codes, each a word or ``{code, zh, en}``."""
    path: tuple[str | int, ...] = ("web", key)
    if value is None:
        return ()
    if not isinstance(value, list):
        r.fail(path, "expected a list of codes (a word, or {code, zh, en})")
        return ()
    out: list[Label] = []
    for i, item in enumerate(value):
        raw = r.mapping(item, (*path, i), {"code", "zh", "en"}) if isinstance(item, dict) else {"code": item}
        code = r.string(raw.get("code"), (*path, i, "code"), "")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", code):
            r.fail((*path, i), f"expected a code of letters, digits, _ . - (at most 64), not {code!r}")
            continue
        if any(lbl.code == code for lbl in out):
            r.fail((*path, i), f"code {code!r} is listed twice")
            continue
        out.append(Label(code, r.string(raw.get("zh"), (*path, i, "zh"), ""),
                         r.string(raw.get("en"), (*path, i, "en"), "")))
    return tuple(out)


def _web(r: _Reader, value: Any) -> WebConfig:
    """The ``web:`` section."""
    w = r.mapping(value, ("web",), {"enabled", "secret_key", "secret_file", "secure_cookie", "session", "region",
                                    "timezone", "reasons", "results", "result_required"})
    d = WebConfig()
    enabled = w.get("enabled", d.enabled)
    if not isinstance(enabled, bool):
        r.fail(("web", "enabled"), f"expected true or false, not {enabled!r}")
        enabled = d.enabled
    secure = r.string(w.get("secure_cookie"), ("web", "secure_cookie"), d.secure_cookie)
    if secure not in ("auto", "always", "never"):
        r.fail(("web", "secure_cookie"), f"expected auto, always or never, not {secure!r}")
        secure = d.secure_cookie
    session_s = r.duration(w.get("session"), ("web", "session"), d.session_s)
    if session_s <= 0:
        r.fail(("web", "session"), "must be more than 0")
        session_s = d.session_s
    region = r.string(w.get("region"), ("web", "region"), d.region).upper()
    if not re.fullmatch(r"[A-Z]{2}", region):
        r.fail(("web", "region"), f"expected a two-letter region code such as CN, not {region!r}")
        region = d.region
    zone = r.string(w.get("timezone"), ("web", "timezone"), d.timezone)
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        r.fail(("web", "timezone"), f"unknown time zone {zone!r} (an IANA name such as Asia/Shanghai)")
        zone = d.timezone
    required = w.get("result_required")
    queues: tuple[str, ...] = ()
    if required is not None:
        if not isinstance(required, list) or not all(isinstance(q, str | int) for q in required):
            r.fail(("web", "result_required"), "expected a list of queue names ('*': every queue)")
        else:
            queues = tuple(str(q) for q in required)
    return WebConfig(enabled=enabled, secret_key=r.string(w.get("secret_key"), ("web", "secret_key"), ""),
                     secret_file=r.string(w.get("secret_file"), ("web", "secret_file"), d.secret_file),
                     secure_cookie=secure, session_s=session_s, region=region, timezone=zone,
                     reasons=_labels(r, w.get("reasons"), "reasons"), results=_labels(r, w.get("results"), "results"),
                     result_required=queues)


def load_config(path: str | None = None, text: str | None = None) -> ServiceConfig:
    """Read cc.yaml from ``path`` (or ``text``); relative paths in it are relative to its folder."""
    if text is not None:
        doc, problems = read_yaml(text, path or "<config>")
        base = "."
    elif path is not None:
        doc, problems = read_yaml_file(path)
        base = str(Path(path).resolve().parent)
    else:
        raise ConfigError("no configuration given")
    if problems:
        raise ConfigError("\n".join(str(p) for p in problems), file=path)
    return parse_config(doc, base_dir=base)
