"""Field types of verb schemas: each converts a YAML value into what the interpreter uses, or says why not.

A verb's schema is a dict ``{key: Field}``. ``convert`` returns the converted value or raises
:class:`Invalid` with a message, an optional hint and a sub-path below the key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cc.ivr_dsl.expr import Expr, ExprSyntaxError, Template, parse_expr, parse_template

__all__ = [
    "Bool",
    "Choice",
    "Custom",
    "Duration",
    "ExprField",
    "Field",
    "Int",
    "Invalid",
    "ListOf",
    "MapOf",
    "Name",
    "NodeRef",
    "Number",
    "Prompts",
    "Str",
    "TemplateField",
    "did_you_mean",
    "parse_duration",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class Invalid(ValueError):
    """A value does not fit its field; ``sub`` is the path below the field where it went wrong."""

    def __init__(self, message: str, hint: str = "", sub: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.sub = sub


def did_you_mean(word: str, options: Sequence[str]) -> str:
    """A hint naming the closest option, or listing them all when none is close (no search in big sets)."""
    if len(options) > 300 or len(word) > 100:
        return ""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    listed = ", ".join(sorted(options))
    return f"known: {listed}" if len(listed) < 200 else ""


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def parse_duration(value: Any) -> float:
    """Seconds from ``5``, ``2.5``, ``"500ms"``, ``"5s"``, ``"2m"``, ``"1h"``; raises Invalid otherwise."""
    if isinstance(value, bool) or value is None:
        raise Invalid(f"{_type(value)} is not a duration", "write 5s, 2m, 1h, 500ms or a number of seconds")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}[m.group(2)]
    else:
        raise Invalid(f"{value!r} is not a duration", "write 5s, 2m, 1h, 500ms or a number of seconds")
    if seconds < 0 or seconds > 86_400:
        raise Invalid(f"{value!r} is out of range", "a duration is between 0s and 24h")
    return seconds


@dataclass(frozen=True)
class Field:
    """Base field: ``required``, a ``default`` used when absent, and ``doc`` for the language reference."""

    required: bool = False
    default: Any = None
    doc: str = ""

    def convert(self, value: Any) -> Any:
        """Return the converted value (the base accepts anything)."""
        return value

    def describe(self) -> str:
        """A short type name for docs and messages."""
        return "any"


@dataclass(frozen=True)
class Str(Field):
    """A string (numbers are accepted and turned into strings: ``extension: 1001``)."""

    pattern: str = ""
    pattern_hint: str = ""

    def convert(self, value: Any) -> Any:
        """Accept strings and plain numbers."""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise Invalid(f"expected a string, got {_type(value)}")
        text = str(value)
        if self.pattern and not re.fullmatch(self.pattern, text):
            raise Invalid(f"{text!r} is not valid here", self.pattern_hint)
        return text

    def describe(self) -> str:
        """Type name."""
        return "string"


@dataclass(frozen=True)
class Name(Field):
    """A variable name: letters, digits and underscores, not starting with a digit."""

    def convert(self, value: Any) -> Any:
        """Accept a valid variable name."""
        if not isinstance(value, str) or not _NAME.match(value):
            raise Invalid(f"{value!r} is not a variable name", "letters, digits and _, e.g. account_id")
        return value

    def describe(self) -> str:
        """Type name."""
        return "variable name"


@dataclass(frozen=True)
class NodeRef(Field):
    """The name of another node (checked to exist once all nodes are known)."""

    def convert(self, value: Any) -> Any:
        """Accept a node name."""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise Invalid(f"expected a node name, got {_type(value)}")
        return str(value)

    def describe(self) -> str:
        """Type name."""
        return "node"


@dataclass(frozen=True)
class Int(Field):
    """A whole number in [lo, hi]."""

    lo: int = -(2**31)
    hi: int = 2**31

    def convert(self, value: Any) -> Any:
        """Accept an int (or a string of digits) in range."""
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,10}", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(f"expected a whole number, got {_type(value)} {value!r}")
        if not self.lo <= value <= self.hi:
            raise Invalid(f"{value} is out of range", f"between {self.lo} and {self.hi}")
        return value

    def describe(self) -> str:
        """Type name."""
        return f"integer {self.lo}..{self.hi}"


@dataclass(frozen=True)
class Number(Field):
    """A number in [lo, hi]."""

    lo: float = -1e12
    hi: float = 1e12

    def convert(self, value: Any) -> Any:
        """Accept an int or a float in range."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise Invalid(f"expected a number, got {_type(value)}")
        if not self.lo <= value <= self.hi:
            raise Invalid(f"{value} is out of range", f"between {self.lo:g} and {self.hi:g}")
        return value

    def describe(self) -> str:
        """Type name."""
        return "number"


@dataclass(frozen=True)
class Bool(Field):
    """true or false."""

    def convert(self, value: Any) -> Any:
        """Accept a YAML boolean."""
        if not isinstance(value, bool):
            raise Invalid(f"expected true or false, got {_type(value)} {value!r}")
        return value

    def describe(self) -> str:
        """Type name."""
        return "boolean"


@dataclass(frozen=True)
class Duration(Field):
    """A duration (5s, 2m, 1h, 500ms or seconds) between lo and hi seconds, as float seconds."""

    lo: float = 0.0
    hi: float = 86_400.0

    def convert(self, value: Any) -> Any:
        """Accept a duration in range."""
        seconds = parse_duration(value)
        if not self.lo <= seconds <= self.hi:
            raise Invalid(f"{value!r} is out of range", f"between {self.lo:g}s and {self.hi:g}s")
        return seconds

    def describe(self) -> str:
        """Type name."""
        return "duration"


@dataclass(frozen=True)
class Choice(Field):
    """One of a fixed set of strings."""

    options: tuple[str, ...] = ()

    def convert(self, value: Any) -> Any:
        """Accept one of the options."""
        text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
        if text not in self.options:
            allowed = ", ".join(self.options) if len(self.options) <= 6 else f"the {len(self.options)} allowed values"
            raise Invalid(f"{value!r} is not one of {allowed}", did_you_mean(str(value), self.options))
        return text

    def describe(self) -> str:
        """Type name."""
        return " | ".join(self.options)


@dataclass(frozen=True)
class ExprField(Field):
    """An expression of the safe expression language (a YAML number or boolean is a literal)."""

    def convert(self, value: Any) -> Any:
        """Parse a string into an Expr; wrap literals."""
        if isinstance(value, (bool, int, float)) or value is None:
            return Expr(repr(value), ("lit", value))
        if not isinstance(value, str):
            raise Invalid(f"expected an expression, got {_type(value)}")
        try:
            expr = parse_expr(value)
        except ExprSyntaxError as exc:
            raise Invalid(
                f"bad expression {value!r}: {exc} (at character {exc.offset + 1})",
                "strings are quoted inside expressions: lang == 'es'",
            ) from None
        bad = expr.bad_regexes()
        if bad:
            raise Invalid(f"bad regular expression {bad[0]!r} in {value!r}")
        return expr

    def describe(self) -> str:
        """Type name."""
        return "expression"


@dataclass(frozen=True)
class TemplateField(Field):
    """A string that may contain ``{{ expression }}`` holes."""

    def convert(self, value: Any) -> Any:
        """Parse into a Template."""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise Invalid(f"expected a string, got {_type(value)}")
        try:
            return parse_template(str(value))
        except ExprSyntaxError as exc:
            raise Invalid(f"bad template {value!r}: {exc}") from None

    def describe(self) -> str:
        """Type name."""
        return "text with {{ }}"


@dataclass(frozen=True)
class Prompts(Field):
    """One prompt file or a list of them (each may hold ``{{ }}`` holes), as a tuple of Templates."""

    def convert(self, value: Any) -> Any:
        """Accept a string or a non-empty list of strings."""
        items = value if isinstance(value, list) else [value]
        if not items:
            raise Invalid("expected at least one prompt file")
        out: list[Template] = []
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                raise Invalid(
                    f"expected a prompt file name, got {_type(item)}",
                    sub=(i,) if isinstance(value, list) else (),
                )
            try:
                out.append(parse_template(item))
            except ExprSyntaxError as exc:
                raise Invalid(f"bad prompt {item!r}: {exc}", sub=(i,) if isinstance(value, list) else ()) from None
        return tuple(out)

    def describe(self) -> str:
        """Type name."""
        return "file or [files]"


@dataclass(frozen=True)
class ListOf(Field):
    """A list whose items all fit ``item``."""

    item: Field = Field()
    min_len: int = 0
    max_len: int = 1000

    def convert(self, value: Any) -> Any:
        """Convert every item."""
        if not isinstance(value, list):
            raise Invalid(f"expected a list, got {_type(value)}")
        if not self.min_len <= len(value) <= self.max_len:
            raise Invalid(f"expected {self.min_len} to {self.max_len} items, got {len(value)}")
        out = []
        for i, item in enumerate(value):
            try:
                out.append(self.item.convert(item))
            except Invalid as exc:
                raise Invalid(exc.message, exc.hint, (i, *exc.sub)) from None
        return tuple(out)

    def describe(self) -> str:
        """Type name."""
        return f"[{self.item.describe()}]"


@dataclass(frozen=True)
class MapOf(Field):
    """A mapping whose keys fit ``key`` and values fit ``value``."""

    key: Field = Str()
    value: Field = Field()
    min_len: int = 0

    def convert(self, value: Any) -> Any:
        """Convert every key and value."""
        if not isinstance(value, Mapping):
            raise Invalid(f"expected a mapping, got {_type(value)}")
        if len(value) < self.min_len:
            raise Invalid(f"expected at least {self.min_len} entr{'y' if self.min_len == 1 else 'ies'}")
        out: dict[Any, Any] = {}
        for k, v in value.items():
            try:
                ck = self.key.convert(k)
            except Invalid as exc:
                raise Invalid(exc.message, exc.hint, (k,)) from None
            try:
                out[ck] = self.value.convert(v)
            except Invalid as exc:
                raise Invalid(exc.message, exc.hint, (k, *exc.sub)) from None
        return out

    def describe(self) -> str:
        """Type name."""
        return f"{{{self.key.describe()}: {self.value.describe()}}}"


@dataclass(frozen=True)
class Custom(Field):
    """A field converted by a function (which raises Invalid); ``type_name`` documents it."""

    fn: Callable[[Any], Any] = lambda v: v
    type_name: str = "any"

    def convert(self, value: Any) -> Any:
        """Run the function."""
        return self.fn(value)

    def describe(self) -> str:
        """Type name."""
        return self.type_name
