"""Safe YAML reading with line numbers kept: events in, plain values plus a position table out.

PyYAML's composer is recursive and expands aliases lazily, so this module builds values itself from
the parser's event stream, without recursion, with limits on file size, nesting depth and the number
of values (aliases count with their full size, so an alias bomb stops early). Every problem becomes
a :class:`~cc.ivr_dsl.problems.Problem` with ``file:line:col``; nothing here raises anything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from cc.ivr_dsl.problems import Pos, Problem
from cc.textdecode import decode_text

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VALUES",
    "Doc",
    "Path",
    "format_path",
    "read_yaml",
    "read_yaml_file",
]

#: A flow file larger than this is refused before it is parsed.
MAX_BYTES = 1_000_000
#: Deepest nesting of mappings and sequences accepted.
MAX_DEPTH = 48
#: Most values (counting every alias with the size of what it repeats) accepted in one file.
MAX_VALUES = 100_000

Path = tuple[str | int, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


def format_path(path: Path) -> str:
    """Return a YAML path as ``nodes.menu.choices[0]`` (a very deep one shortened with ``...``)."""
    if len(path) > 12:
        path = (*path[:6], "...", *path[-3:])
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


@dataclass
class Doc:
    """A YAML document read with positions: ``value`` and where every key and value starts."""

    file: str
    value: Any = None
    key_pos: dict[Path, Pos] = field(default_factory=dict)
    val_pos: dict[Path, Pos] = field(default_factory=dict)

    def pos(self, path: Path, *, key: bool = False) -> Pos:
        """Where ``path`` is written: its key (``key=True``) or its value; else the nearest parent."""
        table = self.key_pos if key else self.val_pos
        p = path
        while True:
            if p in table:
                return table[p]
            if p in self.key_pos:
                return self.key_pos[p]
            if not p:
                return Pos(1, 1)
            p = p[:-1]

    def problem(self, path: Path, message: str, *, key: bool = False, hint: str = "", warning: bool = False) -> Problem:
        """Build a Problem located at ``path``."""
        from cc.ivr_dsl.problems import Severity

        where = self.pos(path, key=key)
        return Problem(
            self.file,
            where.line,
            where.col,
            format_path(path),
            message,
            Severity.WARNING if warning else Severity.ERROR,
            hint,
        )


def _mark(event: Any) -> Pos:
    mark = event.start_mark
    return Pos(mark.line + 1, mark.column + 1)


def _scalar(event: Any, resolver: Any, constructor: Any) -> Any:
    tag = resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag not in _PLAIN_TAGS or (":" in event.value and tag != "tag:yaml.org,2002:null"):
        return event.value  # no YAML 1.1 sexagesimals: 9:30 stays the string "9:30"
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    return constructor.construct_object(node, deep=True)


class _Frame:
    __slots__ = ("anchor", "container", "key", "key_pos", "path", "size", "start")

    def __init__(self, container: Any, path: Path, anchor: str | None, start: Pos) -> None:
        self.container = container
        self.path = path
        self.anchor = anchor
        self.start = start
        self.key: str | None = None
        self.key_pos: Pos | None = None
        self.size = 1


def read_yaml(text: str | bytes, file: str = "<flow>") -> tuple[Doc, list[Problem]]:
    """Parse one YAML document safely; return it with positions and the problems found (maybe none)."""
    doc = Doc(file)
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            return doc, [
                Problem(
                    file,
                    1,
                    1,
                    "",
                    f"file is {len(text)} bytes; a flow file may have at most {MAX_BYTES} bytes",
                )
            ]
        decoded = decode_text(text)  # UTF-8 (BOM or not), UTF-16 with a BOM, GBK/GB18030 from a Chinese editor
        if decoded.text is None:
            return doc, [Problem(file, decoded.line, decoded.col, "", decoded.problem, hint="save the file as UTF-8")]
        text = decoded.text
    if len(text) > MAX_BYTES:
        return doc, [
            Problem(file, 1, 1, "", f"file is {len(text)} characters; a flow file may have at most {MAX_BYTES}")
        ]
    try:
        return _build(text, doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        hint = "the mistake may be on an earlier line (an unclosed bracket or quote, a bad indent)"
        return doc, [Problem(file, line, col, "", f"malformed YAML: {what}", hint=hint)]
    except yaml.YAMLError as exc:
        return doc, [Problem(file, 1, 1, "", f"malformed YAML: {exc}")]
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        return doc, [Problem(file, 1, 1, "", f"YAML cannot be read: {type(exc).__name__}")]


def _build(text: str, doc: Doc) -> tuple[Doc, list[Problem]]:
    loader = _Loader(text)
    resolver = yaml.resolver.Resolver()
    constructor = yaml.constructor.SafeConstructor()
    problems: list[Problem] = []
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Frame] = []
    total = 0
    documents = 0
    file = doc.file

    def fail(pos: Pos, path: Path, message: str, hint: str = "") -> tuple[Doc, list[Problem]]:
        problems.append(Problem(file, pos.line, pos.col, format_path(path), message, hint=hint))
        return doc, problems

    def place(value: Any, pos: Pos, size: int) -> str | None:
        """Attach a finished value to its parent; returns an error message or None."""
        nonlocal total
        total += size
        if not stack:
            doc.value = value
            doc.val_pos[()] = pos
            return None
        top = stack[-1]
        top.size += size
        if isinstance(top.container, list):
            path = (*top.path, len(top.container))
            top.container.append(value)
            doc.val_pos.setdefault(path, pos)
            return None
        if top.key is None:
            if not isinstance(value, (str, int, float, bool)) and value is not None:
                return "a mapping key must be a plain scalar"
            return None  # handled by the caller (keys are taken from the raw event)
        path = (*top.path, top.key)
        top.container[top.key] = value
        doc.val_pos.setdefault(path, pos)
        top.key = None
        return None

    try:
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, yaml.StreamEndEvent):
                break
            if isinstance(event, (yaml.StreamStartEvent, yaml.DocumentEndEvent)):
                continue
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    return fail(
                        _mark(event),
                        (),
                        "more than one YAML document in the file",
                        "a flow file holds one document; remove the `---`",
                    )
                continue
            pos = _mark(event)
            top = stack[-1] if stack else None
            is_key = top is not None and isinstance(top.container, dict) and top.key is None
            path: Path = top.path if top is not None else ()
            if top is not None and not is_key:
                last: str | int = top.key if top.key is not None else len(top.container)
                path = (*top.path, last)
            tag = getattr(event, "tag", None)
            if tag not in (None, "!") and not isinstance(event, yaml.AliasEvent):
                return fail(pos, path, f"YAML tag {tag} is not allowed", "flows use plain YAML values only")
            if is_key:
                assert top is not None
                if isinstance(event, yaml.ScalarEvent):
                    key = event.value
                    if key == "<<" and event.implicit[0]:
                        return fail(
                            pos,
                            top.path,
                            "merge keys (<<) are not supported",
                            "write the keys out, or use an alias for a whole value",
                        )
                    if key in top.container:
                        return fail(
                            pos,
                            (*top.path, key),
                            f"key {key!r} is given twice",
                            f"first at line {doc.key_pos[(*top.path, key)].line}",
                        )
                    top.key = key
                    doc.key_pos[(*top.path, key)] = pos
                    continue
                if isinstance(event, yaml.MappingEndEvent):
                    pass  # falls through to the end handling below
                else:
                    return fail(
                        pos,
                        top.path,
                        "a mapping key must be a plain scalar",
                        "keys like [a, b] or {a: b} are not allowed",
                    )
            if isinstance(event, yaml.ScalarEvent):
                value = _scalar(event, resolver, constructor)
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                place(value, pos, 1)
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    return fail(pos, path, f"alias *{event.anchor} refers to no finished anchor")
                value, size = anchors[event.anchor]
                place(value, pos, size)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    return fail(pos, path, f"nested more than {MAX_DEPTH} levels deep")
                container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
                stack.append(_Frame(container, path, event.anchor, pos))
                doc.val_pos.setdefault(path, pos)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = stack.pop()
                if frame.anchor:
                    anchors[frame.anchor] = (frame.container, frame.size)
                place(frame.container, frame.start, frame.size)
            if total > MAX_VALUES:
                return fail(
                    pos,
                    path,
                    f"more than {MAX_VALUES} values (aliases count with what they repeat)",
                    "a YAML alias bomb, or a file far too big for a flow",
                )
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()
    if documents == 0 or doc.value is None:
        problems.append(Problem(file, 1, 1, "", "the file is empty", hint="a flow needs flow:, start: and nodes:"))
    return doc, problems


def read_yaml_file(path: str, display: str | None = None) -> tuple[Doc, list[Problem]]:
    """Read and parse a YAML file (at most MAX_BYTES); missing or unreadable files are problems too."""
    name = display or path
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return Doc(name), [Problem(name, 1, 1, "", f"cannot read the file: {exc.strerror or exc}")]
    if len(data) > MAX_BYTES:
        return Doc(name), [
            Problem(name, 1, 1, "", f"file is larger than {MAX_BYTES} bytes; a flow file may not be that big")
        ]
    return read_yaml(data, name)
