"""Flow files: load, check against the verb schemas, and analyse the graph (refs, reachability, loops,
variables read before written, prompt files, call-answered preconditions, the recording notice).

Every problem is ``file:line:col: path: what (hint: ...)``. ``load_flow`` raises one FlowError carrying
all of them when any is an error; ``check_file`` returns them instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cc.errors import FlowError, InvalidValue
from cc.ivr_dsl.calendars import parse_calendars
from cc.ivr_dsl.expr import Template
from cc.ivr_dsl.limits import MAX_STEPS
from cc.ivr_dsl.loader import Doc, Path, read_yaml, read_yaml_file
from cc.ivr_dsl.problems import Pos, Problem, Severity, raise_if_errors
from cc.ivr_dsl.schema import Invalid, NodeRef, did_you_mean
from cc.ivr_dsl.verbs import COMMON_KEYS, Registry, default_registry
from cc.ivr_dsl.verbs.base import CheckContext, Precondition, Verb, Waits
from cc.ivr_dsl.verbs.subflow import SubflowVerb
from cc.model import BusinessCalendar

__all__ = [
    "BUILTIN_VARS",
    "NOTICE_MODES",
    "Flow",
    "Node",
    "check_file",
    "check_text",
    "load_calendars",
    "load_flow",
    "load_flow_text",
]

#: Variables every run starts with (set by the runtime from the channel).
BUILTIN_VARS = frozenset({"call_uuid", "caller_id", "caller_name", "destination", "language"})
_TOP_KEYS = (
    "flow",
    "start",
    "nodes",
    "description",
    "vars",
    "inputs",
    "calendars",
    "language",
    "auto_answer",
    "prompts_dir",
    "record_notice",
)
#: Values of the top-level ``record_notice:`` key (and of cc.yaml ``recordings.notice``).
NOTICE_MODES = ("required", "optional")
_NODE_NAME = re.compile(r"^\w[\w.-]{0,63}$")  # \w: letters and digits of any script (菜单, menü), and _
_MAX_SUBFLOW_DEPTH = 8
#: Most problems reported for one file.
MAX_PROBLEMS = 500


@dataclass
class Node:
    """One node: its verb (with converted config), where each outcome goes, and where it is written."""

    name: str
    verb: Verb
    transitions: dict[str, str]
    pos: Pos
    opt_paths: dict[str, Path] = field(default_factory=dict)

    @property
    def verb_name(self) -> str:
        """The verb's name."""
        return self.verb.name


@dataclass
class Flow:
    """A loaded, validated flow; ``problems`` holds its warnings (and those of its subflows)."""

    name: str
    file: str
    start: str
    nodes: dict[str, Node]
    vars: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    calendars: dict[str, BusinessCalendar] = field(default_factory=dict)
    language: str = "en"
    auto_answer: bool = True
    description: str = ""
    base_dir: str = "."
    subflows: dict[str, Flow] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: ``required``: no recording may start before the caller heard the notice (the flow's key, else the default
    #: the loader was given, e.g. cc.yaml ``recordings.notice``); ``optional``: recordings need no notice
    record_notice: str = "optional"
    #: every way back out of this flow (its ``return`` nodes) passes a ``record_notice`` node
    notice_always: bool = False
    #: a path from start to a ``record_call: start`` (or a subflow that starts one) that plays no notice
    unnotified_record: tuple[str, ...] = ()

    @property
    def notice_required(self) -> bool:
        """Whether a recording needs the notice first."""
        return self.record_notice == "required"

    @property
    def warnings(self) -> list[Problem]:
        """The warnings found while loading."""
        return [p for p in self.problems if not p.is_error]

    def may_write(self) -> set[str]:
        """Every variable some node of this flow (or its subflows) may write."""
        out = set(self.vars)
        for node in self.nodes.values():
            out |= node.verb.writes()
        return out

    def edges(self) -> list[tuple[str, str, str]]:
        """(from, outcome, to) for every transition, in file order."""
        return [(n.name, outcome, to) for n in self.nodes.values() for outcome, to in n.transitions.items()]


class _Checker:
    def __init__(
        self,
        doc: Doc,
        registry: Registry,
        base_dir: str,
        calendars: Mapping[str, BusinessCalendar] | None,
        stack: tuple[str, ...],
        cache: dict[str, Flow],
        notice_default: str | None = None,
    ) -> None:
        self.doc = doc
        self.notice_default = notice_default or "optional"
        self.registry = registry
        self.base_dir = base_dir
        self.ext_calendars = dict(calendars or {})
        self.has_ext_calendars = calendars is not None
        self.stack = stack
        self.cache = cache
        self.problems: list[Problem] = []
        self._errors = 0
        self._names_cache: tuple[frozenset[str], list[str]] | None = None

    def err(self, path: Path, message: str, hint: str = "", *, key: bool = False, warning: bool = False) -> None:
        if not warning:
            self._errors += 1
        if len(self.problems) >= MAX_PROBLEMS:
            if len(self.problems) == MAX_PROBLEMS:
                more = f"more than {MAX_PROBLEMS} problems; the rest are not shown"
                self.problems.append(self.doc.problem((), more, warning=warning))
            return
        self.problems.append(self.doc.problem(path, message, key=key, hint=hint, warning=warning))

    def add(self, problems: list[Problem]) -> None:
        """Take problems found elsewhere (a calendars file, a subflow, a calendar section)."""
        self._errors += sum(1 for p in problems if p.is_error)
        self.problems.extend(problems)

    @property
    def errors(self) -> int:
        return self._errors

    # --- top level ---------------------------------------------------------------------------------
    def run(self) -> Flow | None:
        top = self.doc.value
        if not isinstance(top, Mapping):
            self.err((), f"a flow file is a mapping with flow:, start: and nodes:, not {type(top).__name__}")
            return None
        for key in top:
            if key not in _TOP_KEYS and not str(key).startswith("x-"):
                self.err((key,), f"unknown top-level key {key!r}", did_you_mean(str(key), _TOP_KEYS), key=True)
        for key in ("flow", "start", "nodes"):
            if key not in top:
                self.err((), f"missing required top-level key {key!r}", "a flow needs flow:, start: and nodes:")
        name = top.get("flow")
        if "flow" in top and (not isinstance(name, str) or not name.strip()):
            self.err(("flow",), "flow: is the flow's name (a string)")
        start = top.get("start")
        if "start" in top and (isinstance(start, bool) or not isinstance(start, (str, int))):
            self.err(("start",), "start: names the first node")
        nodes_raw = top.get("nodes")
        if "nodes" in top and (not isinstance(nodes_raw, Mapping) or not nodes_raw):
            self.err(("nodes",), "nodes: is a mapping of node names to nodes, with at least one node")
            nodes_raw = {}
        variables = top.get("vars", {})
        if not isinstance(variables, Mapping):
            self.err(("vars",), "vars: is a mapping of variable names to initial values")
            variables = {}
        for var in variables:
            if not isinstance(var, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", var):
                self.err(("vars", var), f"{var!r} is not a variable name", key=True)
        inputs = top.get("inputs", [])
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            self.err(("inputs",), "inputs: is a list of variable names the caller of this flow provides")
            inputs = []
        language = top.get("language", "en")
        if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}([-_][A-Za-z]{2})?", language):
            self.err(("language",), f"{language!r} is not a language code", "en, es, fr, pt_BR ...")
            language = "en"
        auto_answer = top.get("auto_answer", True)
        if not isinstance(auto_answer, bool):
            self.err(("auto_answer",), "auto_answer is true or false")
            auto_answer = True
        description = top.get("description", "")
        if not isinstance(description, str):
            self.err(("description",), "description is a string")
            description = ""
        record_notice = top.get("record_notice", self.notice_default)
        if record_notice not in NOTICE_MODES:
            self.err(("record_notice",), f"record_notice is required or optional, not {record_notice!r}",
                     "required: no recording starts before the caller heard a record_notice node")
            record_notice = self.notice_default
        prompts_dir = top.get("prompts_dir", ".")
        if not isinstance(prompts_dir, str):
            self.err(("prompts_dir",), "prompts_dir is a folder name")
            prompts_dir = "."
        calendars = dict(self.ext_calendars)
        if "calendars" in top:
            calendars.update(self._calendars(top["calendars"]))
        self.calendars = calendars
        self.prompt_dir = os.path.normpath(os.path.join(self.base_dir, prompts_dir))

        nodes: dict[str, Node] = {}
        for node_name, raw in (nodes_raw or {}).items():
            node = self._node(str(node_name), raw)
            if node is not None:
                nodes[node.name] = node
        names = frozenset(str(n) for n in (nodes_raw or {}))
        if isinstance(start, (str, int)) and not isinstance(start, bool) and names and str(start) not in names:
            self.err(("start",), f"no node named {str(start)!r}", did_you_mean(str(start), sorted(names)))
        for node in nodes.values():
            self._targets(node, names)
        ctx = CheckContext(calendars, names, self.base_dir, self.has_ext_calendars)
        for node in nodes.values():
            for vp in node.verb.check(ctx):
                self.err(self._sub(node, vp.sub), vp.message, vp.hint, warning=vp.warning)
            if isinstance(node.verb, SubflowVerb):
                self._subflow(node)
            self._prompts(node)
        if not isinstance(name, str) or self.errors:
            return None
        flow = Flow(
            name,
            self.doc.file,
            str(start),
            nodes,
            dict(variables),
            tuple(inputs),
            calendars,
            language,
            auto_answer,
            description,
            self.prompt_dir,
            record_notice=record_notice,
        )
        for node in nodes.values():
            if isinstance(node.verb, SubflowVerb) and node.verb.key in self.cache:
                flow.subflows[node.verb.key] = self.cache[node.verb.key]
        self._graph(flow)
        return flow

    def _calendars(self, value: Any) -> dict[str, BusinessCalendar]:
        if isinstance(value, str):
            path = os.path.join(self.base_dir, value)
            if not os.path.isfile(path):
                self.err(("calendars",), f"calendars file {value!r} not found", f"looked for {_display(path)}")
                return {}
            try:
                cals = load_calendars(path, display=_display(path))
            except FlowError as exc:
                self.add(exc.problems)
                return {}
            return cals
        cals, found = parse_calendars(value, self.doc, ("calendars",))
        self.add(found)
        return cals

    # --- nodes -------------------------------------------------------------------------------------
    def _node(self, name: str, raw: Any) -> Node | None:
        path: Path = ("nodes", name)
        if not _NODE_NAME.match(name):
            self.err(path, f"{name!r} is not a node name", "letters (any script), digits, _ . - (at most 64)",
                     key=True)
            return None
        if not isinstance(raw, Mapping):
            self.err(
                path,
                f"a node is a mapping with one verb, not {type(raw).__name__}",
                "e.g. greet: {play: welcome.wav, next: menu}",
            )
            return None
        verbs = [k for k in raw if k in self.registry]
        if not verbs:
            unknown = [k for k in raw if k not in COMMON_KEYS and k != "next"]
            if unknown:
                self.err(
                    (*path, unknown[0]),
                    f"unknown verb {unknown[0]!r}",
                    did_you_mean(str(unknown[0]), list(self.registry)),
                    key=True,
                )
            else:
                self.err(path, "the node has no verb", "one of: " + ", ".join(sorted(self.registry)), key=True)
            return None
        if len(verbs) > 1:
            self.err(
                (*path, verbs[1]),
                f"two verbs in one node: {verbs[0]} and {verbs[1]}",
                "one verb per node; chain nodes with next:",
                key=True,
            )
            return None
        vname = verbs[0]
        cls = self.registry[vname]
        before = self.errors
        opts: dict[str, Any] = {}
        opt_paths: dict[str, Path] = {}
        value = raw[vname]
        vpath: Path = (*path, vname)
        if cls.value_is is not None:
            opts[cls.value_is] = value
            opt_paths[cls.value_is] = vpath
        elif isinstance(value, Mapping):
            for k, v in value.items():
                opts[str(k)] = v
                opt_paths[str(k)] = (*vpath, k)
        elif value is None or (value is True and cls.short is None):
            pass
        elif cls.short is not None:
            opts[cls.short] = value
            opt_paths[cls.short] = vpath
        else:
            self.err(vpath, f"{vname} takes a mapping of options, not {type(value).__name__}", f"{vname}: {{}}")
            return None
        for k, v in raw.items():
            if k == vname:
                continue
            if k in opts:
                self.err((*path, k), f"{k!r} is given twice (in the node and inside {vname}:)", key=True)
                continue
            opts[str(k)] = v
            opt_paths[str(k)] = (*path, k)
        outcome_keys = set(cls.outcomes.values()) | ({"next"} if cls.next_fallback else set())
        allowed = set(cls.fields) | outcome_keys | set(COMMON_KEYS)
        cfg: dict[str, Any] = {}
        for k, v in opts.items():
            if k not in allowed:
                hint = did_you_mean(k, sorted(allowed))
                if k == "next" and cls.terminal:
                    hint = f"{vname} ends the call here; nothing comes after it"
                elif k == "next":
                    hint = f"{vname} goes on by " + ", ".join(sorted(outcome_keys)) + ":"
                self.err(opt_paths[k], f"unknown key {k!r} for {vname}", hint, key=True)
                continue
            fld = cls.fields.get(k) or (NodeRef() if k in outcome_keys else None)
            if k in COMMON_KEYS:
                cfg[k] = v
                continue
            assert fld is not None
            try:
                cfg[k] = fld.convert(v)
            except Invalid as exc:
                self.err((*opt_paths[k], *exc.sub), exc.message, exc.hint)
        for k, fld in cls.fields.items():
            if k in opts:
                continue
            if fld.required:
                example = f"{vname}: {{{k}: ...}}" if cls.short != k else f"{vname}: <{k}>"
                self.err(vpath, f"{vname} needs {k}:", example, key=True)
            elif fld.default is not None:
                cfg[k] = fld.default
        if self.errors > before:
            return None
        verb = cls(cfg, name)
        return Node(name, verb, {}, self.doc.pos(path, key=True), opt_paths)

    def _sub(self, node: Node, sub: tuple[str | int, ...]) -> Path:
        if sub and isinstance(sub[0], str) and sub[0] in node.opt_paths:
            return (*node.opt_paths[sub[0]], *sub[1:])
        return ("nodes", node.name, node.verb.name, *sub)

    def _sorted_names(self, names: frozenset[str]) -> list[str]:
        if self._names_cache is None or self._names_cache[0] is not names:
            self._names_cache = (names, sorted(names))
        return self._names_cache[1]

    def _targets(self, node: Node, names: frozenset[str]) -> None:
        names_sorted = self._sorted_names(names)
        verb = node.verb
        cfg = verb.cfg
        for outcome, key in type(verb).outcomes.items():
            target = cfg.get(key)
            where = self._sub(node, (key,))
            if target is None and type(verb).next_fallback:
                target = cfg.get("next")
                where = self._sub(node, ("next",))
            if target is None:
                also = " nor next:" if type(verb).next_fallback and key != "next" else ""
                self.err(
                    ("nodes", node.name, verb.name),
                    f"{verb.name} can end with {outcome!r} but neither {key}:{also} says where to go",
                    f"add {key}: <node>",
                    key=True,
                )
                continue
            node.transitions[outcome] = target
            if target not in names:
                self.err(where, f"no node named {target!r}", did_you_mean(target, names_sorted))
        for outcome, (target, sub) in verb.extra_targets().items():
            node.transitions[outcome] = target
            if target not in names:
                self.err(self._sub(node, sub), f"no node named {target!r}", did_you_mean(target, names_sorted))
        if "next" in cfg and type(verb).next_fallback and "next" not in type(verb).outcomes.values():
            covered = all(cfg.get(k) is not None for k in type(verb).outcomes.values())
            if covered and type(verb).outcomes and not verb.extra_targets():
                self.err(
                    self._sub(node, ("next",)),
                    "next: is never followed: every outcome has its own target",
                    warning=True,
                )

    def _subflow(self, node: Node) -> None:
        verb = node.verb
        assert isinstance(verb, SubflowVerb)
        target = os.path.normpath(os.path.join(self.base_dir, verb.cfg["flow"]))
        verb.key = target
        where = self._sub(node, ("flow",))
        if target in self.stack:
            self.err(
                where,
                f"subflow {verb.cfg['flow']!r} calls itself (through {len(self.stack)} flow(s))",
                "a subflow cannot call a flow that is running it",
            )
            return
        if len(self.stack) >= _MAX_SUBFLOW_DEPTH:
            self.err(where, f"subflows nested more than {_MAX_SUBFLOW_DEPTH} deep")
            return
        if target not in self.cache:
            if not os.path.isfile(target):
                self.err(where, f"subflow file {verb.cfg['flow']!r} not found", f"looked for {_display(target)}")
                return
            sub, found = _check_path(
                target,
                self.registry,
                self.ext_calendars if self.has_ext_calendars else None,
                (*self.stack, target),
                self.cache,
                self.notice_default,
            )
            self.add(found)
            if sub is None:
                self.err(where, f"subflow {verb.cfg['flow']!r} has errors (reported with its own file name)")
                return
            self.cache[target] = sub
        verb.sub_writes = self.cache[target].may_write()

    def _prompts(self, node: Node) -> None:
        for fname in node.verb.prompt_fields():
            prompts = node.verb.cfg.get(fname)
            if not prompts:
                continue
            resolved: list[Template] = []
            for i, tpl in enumerate(prompts):
                resolved.append(tpl)
                text = tpl.source
                if not tpl.is_constant or "://" in text or text.startswith(("$", "{")):
                    continue
                full = text if os.path.isabs(text) else os.path.join(self.prompt_dir, text)
                if os.path.isfile(full):
                    resolved[-1] = Template(os.path.abspath(full), (os.path.abspath(full),))
                else:
                    sub = (fname, i) if len(prompts) > 1 else (fname,)
                    self.err(
                        self._sub(node, sub),
                        f"prompt file {text!r} not found",
                        f"looked in {_display(self.prompt_dir)}; FreeSWITCH will look for it in its sounds folder",
                        warning=True,
                    )
            node.verb.cfg[fname] = tuple(resolved)

    # --- graph analyses ----------------------------------------------------------------------------
    def _graph(self, flow: Flow) -> None:
        reach = _reachable(flow)
        for node in flow.nodes.values():
            if node.name not in reach:
                self.err(
                    ("nodes", node.name),
                    f"node {node.name!r} is never reached from start {flow.start!r}",
                    "remove it or point a next:/choice at it",
                    key=True,
                    warning=True,
                )
        self._loops(flow, reach)
        self._reads(flow, reach)
        self._answered(flow, reach)
        self._notice(flow)

    def _notice(self, flow: Flow) -> None:
        """Paths on which a recording can start before the caller heard the notice.

        A breadth-first walk from start that does not go past a ``record_notice`` node (nor a subflow that
        plays it on every way back) finds the nodes the call can reach unnotified, each with its shortest
        such path. A ``record_call: start`` among them, or a subflow that starts a recording before its own
        notice, is an error when the notice is required. A subflow is judged where it is called (its callers
        may have played the notice), so it only records what it does (``notice_always``,
        ``unnotified_record``).
        """

        def notifies(node: Node) -> bool:
            verb = node.verb
            if verb.name == "record_notice":
                return True
            sub = flow.subflows.get(verb.key) if isinstance(verb, SubflowVerb) else None
            return sub is not None and sub.notice_always

        parent: dict[str, str | None] = {flow.start: None}
        order = [flow.start]
        for n in order:   # grows while walking: a breadth-first queue
            node = flow.nodes[n]
            if notifies(node):
                continue
            for dst in node.transitions.values():
                if dst in flow.nodes and dst not in parent:
                    parent[dst] = n
                    order.append(dst)

        def path_to(n: str) -> tuple[str, ...]:
            out: list[str] = []
            at: str | None = n
            while at is not None:
                out.append(at)
                at = parent[at]
            return tuple(reversed(out))

        flow.notice_always = not any(flow.nodes[n].verb.name == "return" for n in order)
        subflow = len(self.stack) > 1
        for n in order:
            node = flow.nodes[n]
            verb = node.verb
            sub = flow.subflows.get(verb.key) if isinstance(verb, SubflowVerb) else None
            if verb.name == "record_call" and verb.cfg.get("action") == "start":
                where = path_to(n)
                what = "record_call start"
            elif sub is not None and sub.unnotified_record:
                where = (*path_to(n), *(f"{sub.name}/{s}" for s in sub.unnotified_record))
                what = f"subflow {verb.cfg['flow']!r} starts a recording that"
            else:
                continue
            if not flow.unnotified_record:
                flow.unnotified_record = where
            if subflow or not flow.notice_required:
                continue
            self.err(
                ("nodes", n, verb.name),
                f"{what} may run before the caller heard the recording notice (record_notice: required), "
                f"on the path {' -> '.join(where)}",
                "put a record_notice node on every path before it (e.g. right after start), or make the "
                "notice optional (record_notice: optional)",
                key=True,
            )

    def _loops(self, flow: Flow, reach: set[str]) -> None:
        """Loops that cannot end (error) or that only a hang-up ends (warning).

        A way out counts when its node waits (its outcome comes from outside: an HTTP answer, a key)
        or when it is a decision on a variable that the loop itself changes (``set n: n + 1`` then
        ``branch n > 3``): a counter or a retry limit ends the loop.
        """
        for members in _cycles(flow):
            comp = [n for n in flow.nodes if n in members]  # file order
            if comp[0] not in reach:
                continue
            waits = {flow.nodes[n].verb.waits for n in comp}
            cycle = _shortest_cycle(flow, comp[0], members)
            extra = len(comp) - (len(cycle) - 1)
            ring = " -> ".join(cycle) + (f" (with {extra} more node{'s' if extra > 1 else ''})" if extra else "")
            changed: set[str] = set()
            for n in comp:
                changed |= flow.nodes[n].verb.writes()
            live: list[str] = []  # nodes with a way out that can be taken after some turns
            stuck: set[str] = set()  # variables that decide a way out but that the loop never changes
            for n in comp:
                verb = flow.nodes[n].verb
                if not any(dst not in members for dst in flow.nodes[n].transitions.values()):
                    continue
                reads = verb.reads()
                if verb.waits is not Waits.NO or reads & changed:
                    live.append(n)
                else:
                    stuck |= reads
            if waits == {Waits.NO} and not live:
                why = (f": its way out depends on {', '.join(sorted(stuck))}, which nothing in the loop changes"
                       if stuck else "")
                self.err(
                    ("nodes", comp[0]),
                    f"loop {ring} never waits for the caller and cannot be left{why}: it would spin forever",
                    "put a menu, gather, play or other waiting verb in the loop, or leave it by a branch "
                    "on a variable the loop changes (a counter: set n: n + 1, branch n > 3)",
                    key=True,
                )
            elif waits == {Waits.NO}:
                bound = max((_largest_number(flow.nodes[n].verb.cfg) for n in live), default=0.0)
                if bound * len(comp) >= MAX_STEPS:
                    self.err(
                        ("nodes", comp[0]),
                        f"loop {ring} never waits for the caller and may run {bound:.15g} times: a call is stopped "
                        f"after {MAX_STEPS} nodes without waiting",
                        f"keep a loop that never waits under {MAX_STEPS} nodes, or let it wait (play, gather ...)",
                        key=True,
                        warning=True,
                    )
            elif Waits.INPUT not in waits and not live:
                why = f" (its way out depends on {', '.join(sorted(stuck))}, which nothing in it changes)" if stuck \
                    else ""
                self.err(
                    ("nodes", comp[0]),
                    f"loop {ring} never waits for caller input: only a hang-up ends it{why}",
                    "add a menu or gather to the loop if the caller should be able to leave it, or count the "
                    "turns (set n: n + 1, branch n > 3)",
                    key=True,
                    warning=True,
                )

    def _reads(self, flow: Flow, reach: set[str]) -> None:
        """Must-be-set analysis: a variable counts as set at a node when every path from start sets it.

        Sets are bit masks (one bit per variable) and nodes are visited in reverse post-order, so a
        flow of thousands of nodes is checked in a few passes.
        """
        bits: dict[str, int] = {}

        def mask(names: set[str]) -> int:
            m = 0
            for name in names:
                m |= 1 << bits.setdefault(name, len(bits))
            return m

        initial = mask(set(BUILTIN_VARS) | set(flow.vars) | set(flow.inputs))
        writes = {n: mask(node.verb.writes()) for n, node in flow.nodes.items() if n in reach}
        preds: dict[str, list[str]] = {n: [] for n in reach}
        for src, _, dst in flow.edges():
            if src in reach and dst in preds and src not in preds[dst]:
                preds[dst].append(src)
        order = _reverse_postorder(flow)
        defined: dict[str, int | None] = {n: None for n in order}  # None: no path known yet
        for _ in range(200):
            changed = False
            for n in order:
                new: int | None
                if n == flow.start:
                    new = initial
                else:
                    new = None
                    for p in preds[n]:
                        d = defined[p]
                        if d is not None:
                            new = (d | writes[p]) if new is None else new & (d | writes[p])
                if new != defined[n]:
                    defined[n] = new
                    changed = True
            if not changed:
                break
        else:  # pragma: no cover - needs a pathological graph
            return
        for n in order:
            have = defined[n]
            if have is None:
                continue
            node = flow.nodes[n]
            for var in sorted(node.verb.reads()):
                if var in bits and have >> bits[var] & 1:
                    continue
                self.err(
                    ("nodes", node.name, node.verb.name),
                    f"reads variable {var!r} before any node is sure to have set it",
                    "set it on every path before this node, give it a default under vars:, or list it in inputs:",
                    key=True,
                    warning=True,
                )

    def _answered(self, flow: Flow, reach: set[str]) -> None:
        states: dict[str, set[str]] = {n: set() for n in flow.nodes}
        states[flow.start] = {"unanswered"}
        work = [flow.start]
        while work:
            n = work.pop()
            verb = flow.nodes[n].verb
            out = set(states[n])
            if verb.name == "answer" or (verb.precondition is Precondition.ANSWERED and flow.auto_answer):
                out = {"answered"}
            for _, dst in flow.nodes[n].transitions.items():
                if dst in states and not out <= states[dst]:
                    states[dst] |= out
                    work.append(dst)
        for node in flow.nodes.values():
            verb = node.verb
            if node.name not in reach:
                continue
            if (
                verb.precondition is Precondition.ANSWERED
                and not flow.auto_answer
                and "unanswered" in states[node.name]
            ):
                self.err(
                    ("nodes", node.name, verb.name),
                    f"{verb.name} needs an answered call, and the call may not be answered here",
                    "add an answer node before it, or drop auto_answer: false",
                    key=True,
                )
            if verb.precondition is Precondition.UNANSWERED and "answered" in states[node.name]:
                self.err(
                    ("nodes", node.name, verb.name),
                    f"{verb.name} needs a call that is not answered yet, and it may be answered here",
                    "move it before the first answer, play, menu ...",
                    key=True,
                )


def _reverse_postorder(flow: Flow) -> list[str]:
    """Nodes reachable from start, in reverse post-order of a depth-first walk (iterative)."""
    seen = {flow.start}
    post: list[str] = []
    stack: list[tuple[str, int]] = [(flow.start, 0)]
    while stack:
        n, i = stack.pop()
        succ = [d for d in flow.nodes[n].transitions.values() if d in flow.nodes]
        if i < len(succ):
            stack.append((n, i + 1))
            if succ[i] not in seen:
                seen.add(succ[i])
                stack.append((succ[i], 0))
        else:
            post.append(n)
    return post[::-1]


def _shortest_cycle(flow: Flow, start: str, members: set[str]) -> list[str]:
    """The shortest path start -> ... -> start inside one strongly connected component."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt: list[str] = []
        for n in frontier:
            for d in flow.nodes[n].transitions.values():
                if d == start:
                    path = [n]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if d in members and d not in parent and d != start:
                    parent[d] = n
                    nxt.append(d)
        frontier = nxt
    return [start, start]  # pragma: no cover - members always hold a cycle through start


def _reachable(flow: Flow) -> set[str]:
    seen = {flow.start}
    todo = [flow.start]
    while todo:
        n = todo.pop()
        for dst in flow.nodes[n].transitions.values():
            if dst in flow.nodes and dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return seen


_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


def _largest_number(value: Any) -> float:
    """The largest number written in a verb's expressions (a loop's likely bound), 0 when there is none."""
    best = 0.0
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        for v in value:
            best = max(best, _largest_number(v))
        return best
    source = getattr(value, "source", None)
    if isinstance(source, str):
        for m in _NUMBER.finditer(source):
            best = max(best, float(m.group()))
    return best


def _cycles(flow: Flow) -> list[set[str]]:
    """Strongly connected components that contain a cycle (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[set[str]] = []
    counter = 0
    succ = {n: [d for d in node.transitions.values() if d in flow.nodes] for n, node in flow.nodes.items()}
    for root in flow.nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on.add(v)
            recurse = False
            for j in range(i, len(succ[v])):
                w = succ[v][j]
                if w not in index:
                    work.append((v, j + 1))
                    work.append((w, 0))
                    recurse = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                comp: set[str] = set()
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.add(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in succ[v]:
                    out.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return out


def _notice_mode(value: str | None) -> str:
    """The default notice mode a caller passed (None: optional); anything else is a programming error."""
    if value is None:
        return "optional"
    if value not in NOTICE_MODES:
        raise InvalidValue("record_notice", value, "expected required or optional")
    return value


def _display(path: str) -> str:
    rel = os.path.relpath(path)
    return rel if not rel.startswith("..") else path


def _check_doc(
    doc: Doc,
    problems: list[Problem],
    registry: Registry | None,
    base_dir: str,
    calendars: Mapping[str, BusinessCalendar] | None,
    stack: tuple[str, ...],
    cache: dict[str, Flow],
    notice_default: str | None = None,
) -> tuple[Flow | None, list[Problem]]:
    if any(p.is_error for p in problems):
        return None, problems
    checker = _Checker(doc, registry if registry is not None else default_registry(), base_dir, calendars, stack, cache,
                       notice_default)
    flow = checker.run()
    found = sorted(
        problems + checker.problems,
        key=lambda p: (p.file != doc.file, p.file, p.line, p.col, p.severity is Severity.WARNING),
    )
    if any(p.is_error for p in found):
        return None, found
    if flow is not None:
        flow.problems = found
    return flow, found


def _check_path(
    path: str,
    registry: Registry | None,
    calendars: Mapping[str, BusinessCalendar] | None,
    stack: tuple[str, ...],
    cache: dict[str, Flow],
    notice_default: str | None = None,
) -> tuple[Flow | None, list[Problem]]:
    doc, problems = read_yaml_file(path, _display(path))
    return _check_doc(doc, problems, registry, os.path.dirname(os.path.abspath(path)), calendars, stack, cache,
                      notice_default)


def check_file(
    path: str,
    *,
    registry: Registry | None = None,
    calendars: Mapping[str, BusinessCalendar] | None = None,
    record_notice: str | None = None,
) -> tuple[Flow | None, list[Problem]]:
    """Load and check a flow file: the flow (None when there are errors) and every problem found.

    ``calendars`` adds calendars known elsewhere (the store, a --calendars file); when given, a
    business_hours node naming a calendar that is in neither place is only a warning. ``record_notice``
    (required | optional, default optional) applies to flows without their own ``record_notice:`` key.
    """
    target = os.path.normpath(os.path.abspath(path))
    return _check_path(target, registry, calendars, (target,), {}, _notice_mode(record_notice))


def check_text(
    text: str | bytes,
    *,
    file: str = "<flow>",
    base_dir: str = ".",
    registry: Registry | None = None,
    calendars: Mapping[str, BusinessCalendar] | None = None,
    record_notice: str | None = None,
) -> tuple[Flow | None, list[Problem]]:
    """Like check_file for a string; relative prompt and subflow paths resolve against ``base_dir``."""
    doc, problems = read_yaml(text, file)
    return _check_doc(doc, problems, registry, os.path.abspath(base_dir), calendars, (), {},
                      _notice_mode(record_notice))


def load_flow(
    path: str,
    *,
    registry: Registry | None = None,
    calendars: Mapping[str, BusinessCalendar] | None = None,
    record_notice: str | None = None,
) -> Flow:
    """Load a flow file; raises FlowError (with ``problems``) when it has any error."""
    flow, problems = check_file(path, registry=registry, calendars=calendars, record_notice=record_notice)
    raise_if_errors(problems)
    assert flow is not None
    return flow


def load_flow_text(
    text: str | bytes,
    *,
    file: str = "<flow>",
    base_dir: str = ".",
    registry: Registry | None = None,
    calendars: Mapping[str, BusinessCalendar] | None = None,
    record_notice: str | None = None,
) -> Flow:
    """Load a flow from a string; raises FlowError when it has any error."""
    flow, problems = check_text(text, file=file, base_dir=base_dir, registry=registry, calendars=calendars,
                                record_notice=record_notice)
    raise_if_errors(problems)
    if flow is None:  # pragma: no cover - an error was raised above
        raise FlowError(f"{file}: flow did not load", file=file)
    return flow


def load_calendars(path: str, *, display: str | None = None) -> dict[str, BusinessCalendar]:
    """Read a calendars file (a top-level ``calendars:`` mapping); raises FlowError on any error."""
    name = display or _display(path)
    doc, problems = read_yaml_file(path, name)
    cals: dict[str, BusinessCalendar] = {}
    if not any(p.is_error for p in problems):
        if not isinstance(doc.value, Mapping) or set(doc.value) != {"calendars"}:
            problems.append(
                doc.problem(
                    (),
                    "a calendars file has one top-level key, calendars:",
                    hint="calendars: {office: {timezone: Europe/Paris, hours: {...}}}",
                )
            )
        else:
            cals, found = parse_calendars(doc.value["calendars"], doc, ("calendars",))
            problems.extend(found)
    raise_if_errors(problems)
    return cals
