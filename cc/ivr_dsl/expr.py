"""The safe expression language of `set`, `branch` and ``{{ }}`` templates: parsed here, never eval'd.

Values are null, booleans, numbers, strings, lists and mappings (http bodies). Evaluation is total:
it never raises. A missing variable or key is null; an operation on values it does not fit gives null
(arithmetic) or false (comparisons); a string of digits compares equal to the number it spells,
because DTMF digits arrive as strings (``choice == 1`` is true for ``"1"``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_EXPR_CHARS",
    "Expr",
    "ExprSyntaxError",
    "Template",
    "parse_expr",
    "parse_template",
    "to_text",
]

#: Longest expression accepted (characters).
MAX_EXPR_CHARS = 2000
_MAX_DEPTH = 40
_MAX_STR = 10_000

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|[<>+\-*/%().,\[\]])
""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "matches", "true", "false", "null"}


class ExprSyntaxError(ValueError):
    """An expression that does not parse; ``offset`` is the 0-based character where it went wrong."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


Node = tuple[Any, ...]


def _num(value: Any) -> float | int | None:
    """A number, or a string spelling one, as a number; anything else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        s = value.strip()
        if re.fullmatch(r"-?\d{1,30}", s):
            return int(s)
        if re.fullmatch(r"-?\d{1,30}\.\d{1,30}", s):
            return float(s)
    return None


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        na, nb = _num(a), _num(b)
        return na is not None and nb is not None and na == nb
    try:
        return bool(a == b)
    except Exception:
        return False


def _cmp(op: str, a: Any, b: Any) -> bool:
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None and not (isinstance(a, str) and isinstance(b, str)):
        x: Any = na
        y: Any = nb
    elif isinstance(a, str) and isinstance(b, str):
        x, y = a, b
    else:
        return False
    if op == "<":
        return bool(x < y)
    if op == "<=":
        return bool(x <= y)
    if op == ">":
        return bool(x > y)
    return bool(x >= y)


_REGEX_CACHE: dict[str, re.Pattern[str] | None] = {}


def _regex(pattern: str) -> re.Pattern[str] | None:
    if pattern not in _REGEX_CACHE:
        if len(_REGEX_CACHE) > 512:
            _REGEX_CACHE.clear()
        try:
            _REGEX_CACHE[pattern] = re.compile(pattern)
        except (re.error, RecursionError, OverflowError):
            _REGEX_CACHE[pattern] = None
    return _REGEX_CACHE[pattern]


def to_text(value: Any) -> str:
    """How a value reads in a template or string concatenation (null is empty, 3.0 is 3)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _truth(value: Any) -> bool:
    return bool(value)


def _fn_int(x: Any) -> Any:
    n = _num(x)
    if n is None or (isinstance(n, float) and not math.isfinite(n)):
        return None
    return int(n)


def _fn_len(x: Any) -> Any:
    return len(x) if isinstance(x, (str, list, dict)) else None


def _fn_round(x: Any, nd: Any = 0) -> Any:
    n, d = _num(x), _num(nd)
    if n is None or not isinstance(d, int) or not 0 <= d <= 10:
        return None
    return round(n, d) if d else round(n)


FUNCTIONS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "len": (1, 1, _fn_len),
    "lower": (1, 1, lambda x: x.lower() if isinstance(x, str) else None),
    "upper": (1, 1, lambda x: x.upper() if isinstance(x, str) else None),
    "str": (1, 1, to_text),
    "int": (1, 1, _fn_int),
    "number": (1, 1, _num),
    "digits": (1, 1, lambda x: "".join(c for c in to_text(x) if c.isdigit())),
    "default": (2, 2, lambda x, y: y if x is None or x == "" else x),
    "round": (1, 2, _fn_round),
    "if": (3, 3, lambda c, a, b: a if _truth(c) else b),
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise ExprSyntaxError(f"unexpected character {text[pos]!r}", pos)
            kind = m.lastgroup or ""
            if kind != "ws":
                value = m.group()
                if kind == "name" and value in _KEYWORDS:
                    kind = "kw"
                if kind == "num" and len(value) > 30:
                    raise ExprSyntaxError("number too long", pos)
                self.toks.append((kind, value, pos))
            pos = m.end()
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "", len(self.text))

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if value is not None and tok[1] != value:
            got = "the end" if tok[0] == "end" else repr(tok[1])
            raise ExprSyntaxError(f"expected {value!r}, found {got}", tok[2])
        self.i += 1
        return tok

    def at(self, *values: str) -> bool:
        tok = self.peek()
        return tok[0] in ("op", "kw") and tok[1] in values

    def parse(self) -> Node:
        node = self.or_()
        tok = self.peek()
        if tok[0] != "end":
            raise ExprSyntaxError(f"unexpected {tok[1]!r}", tok[2])
        return node

    def nest(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise ExprSyntaxError("expression nested too deeply", self.peek()[2])

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("and"):
            self.take()
            node = ("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.at("not"):
            self.take()
            self.nest()
            inner = self.not_()
            self.depth -= 1
            return ("not", inner)
        return self.cmp()

    def cmp(self) -> Node:
        left = self.add()
        if self.at("==", "!=", "<", "<=", ">", ">=", "in", "matches"):
            op = self.take()[1]
            return ("cmp", op, left, self.add())
        if self.at("not"):
            nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else ("end", "", 0)
            if nxt[1] == "in":
                self.take()
                self.take()
                return ("not", ("cmp", "in", left, self.add()))
        return left

    def add(self) -> Node:
        node = self.mul()
        while self.at("+", "-"):
            op = self.take()[1]
            node = ("arith", op, node, self.mul())
        return node

    def mul(self) -> Node:
        node = self.unary()
        while self.at("*", "/", "%"):
            op = self.take()[1]
            node = ("arith", op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("-"):
            self.take()
            self.nest()
            inner = self.unary()
            self.depth -= 1
            return ("neg", inner)
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while self.at(".", "["):
            if self.take()[1] == ".":
                kind, value, pos = self.take()
                if kind not in ("name", "num", "kw"):
                    raise ExprSyntaxError("expected a name after '.'", pos)
                node = ("get", node, ("lit", int(value) if kind == "num" and value.isdigit() else value))
            else:
                self.nest()
                index = self.or_()
                self.depth -= 1
                self.take("]")
                node = ("get", node, index)
        return node

    def primary(self) -> Node:
        kind, value, pos = self.take()
        if kind == "num":
            return ("lit", float(value) if "." in value else int(value))
        if kind == "str":
            body = value[1:-1]
            return ("lit", re.sub(r"\\(['\"\\\\])", r"\1", body))  # only \' \" \\ are escapes
        if kind == "kw" and value in ("true", "false", "null"):
            return ("lit", {"true": True, "false": False, "null": None}[value])
        if kind == "name":
            if self.at("("):
                if value not in FUNCTIONS:
                    raise ExprSyntaxError(f"unknown function {value}() (known: {', '.join(sorted(FUNCTIONS))})", pos)
                self.take("(")
                args: list[Node] = []
                self.nest()
                if not self.at(")"):
                    args.append(self.or_())
                    while self.at(","):
                        self.take()
                        args.append(self.or_())
                self.depth -= 1
                self.take(")")
                lo, hi, _ = FUNCTIONS[value]
                if not lo <= len(args) <= hi:
                    raise ExprSyntaxError(
                        f"{value}() takes {lo if lo == hi else f'{lo}-{hi}'} argument(s), got {len(args)}",
                        pos,
                    )
                return ("call", value, tuple(args))
            return ("var", value)
        if kind == "op" and value == "(":
            self.nest()
            node = self.or_()
            self.depth -= 1
            self.take(")")
            return node
        if kind == "op" and value == "[":
            items: list[Node] = []
            self.nest()
            if not self.at("]"):
                items.append(self.or_())
                while self.at(","):
                    self.take()
                    items.append(self.or_())
            self.depth -= 1
            self.take("]")
            return ("list", tuple(items))
        got = "the end" if kind == "end" else repr(value)
        raise ExprSyntaxError(f"expected a value, found {got}", pos)


def _eval(node: Node, env: Mapping[str, Any]) -> Any:
    tag = node[0]
    if tag == "lit":
        return node[1]
    if tag == "var":
        return env.get(node[1])
    if tag == "get":
        base, key = _eval(node[1], env), _eval(node[2], env)
        if isinstance(base, Mapping):
            return base.get(key) if isinstance(key, str) else base.get(to_text(key))
        if isinstance(base, (list, tuple, str)) and isinstance(key, int) and not isinstance(key, bool):
            return base[key] if -len(base) <= key < len(base) else None
        return None
    if tag == "list":
        return [_eval(item, env) for item in node[1]]
    if tag == "not":
        return not _truth(_eval(node[1], env))
    if tag == "and":
        return _truth(_eval(node[1], env)) and _truth(_eval(node[2], env))
    if tag == "or":
        return _truth(_eval(node[1], env)) or _truth(_eval(node[2], env))
    if tag == "neg":
        n = _num(_eval(node[1], env))
        return None if n is None else -n
    if tag == "call":
        fn = FUNCTIONS[node[1]][2]
        try:
            return fn(*[_eval(a, env) for a in node[2]])
        except Exception:
            return None
    if tag == "cmp":
        op, a, b = node[1], _eval(node[2], env), _eval(node[3], env)
        if op == "==":
            return _eq(a, b)
        if op == "!=":
            return not _eq(a, b)
        if op == "in":
            if isinstance(b, (list, tuple)):
                return any(_eq(a, x) for x in b)
            if isinstance(b, str) and isinstance(a, (str, int)) and not isinstance(a, bool):
                return to_text(a) in b
            if isinstance(b, Mapping):
                return to_text(a) in b
            return False
        if op == "matches":
            if a is None or not isinstance(b, str):
                return False
            rx = _regex(b)
            return rx is not None and rx.fullmatch(to_text(a)[:_MAX_STR]) is not None
        return _cmp(op, a, b)
    if tag == "arith":
        op, a, b = node[1], _eval(node[2], env), _eval(node[3], env)
        if (
            op == "+"
            and (isinstance(a, str) or isinstance(b, str))
            and not (_num(a) is not None and _num(b) is not None and not (isinstance(a, str) and isinstance(b, str)))
        ):
            text = to_text(a) + to_text(b)
            return text if len(text) <= _MAX_STR else None
        x, y = _num(a), _num(b)
        if x is None or y is None:
            return None
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            result = x * y
            return result if abs(result) < 1e300 else None
        if y == 0:
            return None
        if op == "/":
            return x / y
        return x % y
    raise AssertionError(tag)


def _names(node: Node, out: set[str]) -> None:
    if node[0] == "var":
        out.add(node[1])
        return
    for part in node[1:]:
        if isinstance(part, tuple):
            if part and isinstance(part[0], str):
                _names(part, out)
            else:
                for sub in part:
                    if isinstance(sub, tuple):
                        _names(sub, out)


def _literal_regexes(node: Node, out: list[str]) -> None:
    if node[0] == "cmp" and node[1] == "matches" and node[3][0] == "lit" and isinstance(node[3][1], str):
        out.append(node[3][1])
    for part in node[1:]:
        if isinstance(part, tuple) and part and isinstance(part[0], str):
            _literal_regexes(part, out)
        elif isinstance(part, tuple):
            for sub in part:
                if isinstance(sub, tuple):
                    _literal_regexes(sub, out)


@dataclass(frozen=True)
class Expr:
    """A parsed expression: ``evaluate(vars)`` never raises; ``names`` are the variables it reads."""

    source: str
    tree: Node

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """Evaluate against the variables ``env``."""
        return _eval(self.tree, env)

    @property
    def names(self) -> frozenset[str]:
        """The variables this expression reads (top-level names only)."""
        out: set[str] = set()
        _names(self.tree, out)
        return frozenset(out)

    def bad_regexes(self) -> list[str]:
        """Literal patterns after ``matches`` that do not compile."""
        found: list[str] = []
        _literal_regexes(self.tree, found)
        return [p for p in found if _regex(p) is None]


def parse_expr(text: str) -> Expr:
    """Parse an expression; raises ExprSyntaxError (with the offset) when it does not parse."""
    if not isinstance(text, str):
        raise ExprSyntaxError("an expression must be a string", 0)
    if len(text) > MAX_EXPR_CHARS:
        raise ExprSyntaxError(f"expression longer than {MAX_EXPR_CHARS} characters", MAX_EXPR_CHARS)
    if not text.strip():
        raise ExprSyntaxError("empty expression", 0)
    return Expr(text, _Parser(text).parse())


_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


@dataclass(frozen=True)
class Template:
    """A string with ``{{ expression }}`` holes, rendered against the variables."""

    source: str
    parts: tuple[str | Expr, ...]

    def render(self, env: Mapping[str, Any]) -> str:
        """Fill the holes (null renders as an empty string)."""
        out = [p if isinstance(p, str) else to_text(p.evaluate(env)) for p in self.parts]
        return "".join(out)[:_MAX_STR]

    @property
    def names(self) -> frozenset[str]:
        """The variables the holes read."""
        out: set[str] = set()
        for p in self.parts:
            if isinstance(p, Expr):
                out |= p.names
        return frozenset(out)

    @property
    def is_constant(self) -> bool:
        """True when the template has no holes."""
        return all(isinstance(p, str) for p in self.parts)

    def __str__(self) -> str:
        """The template's source text."""
        return self.source


def parse_template(text: str) -> Template:
    """Parse ``"text {{ expr }} text"``; raises ExprSyntaxError for a bad hole."""
    parts: list[str | Expr] = []
    pos = 0
    for m in _TEMPLATE.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        try:
            parts.append(parse_expr(m.group(1)))
        except ExprSyntaxError as exc:
            raise ExprSyntaxError(f"in {{{{{m.group(1).strip()}}}}}: {exc}", m.start(1) + exc.offset) from None
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return Template(text, tuple(parts))
